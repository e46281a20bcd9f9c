//! A mail relay for tests: a plain SMTP server (RFC 5321, no TLS, no auth) on a free loopback
//! port that takes every message and keeps it, so the node's real SMTP client (lettre) is tested
//! against the protocol it speaks to a venue's relay. It can be told to refuse messages.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A message as the relay received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, as sent (dot-stuffing undone).
    pub data: String,
}

#[derive(Default)]
struct Shared {
    mails: Vec<Mail>,
    refusing: bool,
}

pub struct SmtpServer {
    /// `smtp://127.0.0.1:PORT`, for `--smtp-url`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    task: JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, serving.clone()));
            }
        });
        SmtpServer {
            url: format!("smtp://127.0.0.1:{port}"),
            shared,
            task,
        }
    }

    /// Every message taken so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.shared.lock().expect("the relay's state").mails.clone()
    }

    /// From now on, answer every message with a permanent failure (554).
    pub fn refuse(&self, refusing: bool) {
        self.shared.lock().expect("the relay's state").refusing = refusing;
    }

    /// Waits up to `limit` for `count` messages.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mails = self.mails();
            if mails.len() >= count || tokio::time::Instant::now() > deadline {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client's conversation: greeting, EHLO, MAIL, RCPT, DATA, QUIT (RSET and NOOP answered).
async fn session(socket: tokio::net::TcpStream, shared: Arc<Mutex<Shared>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write
        .write_all(b"220 tix-test-relay ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-tix-test-relay\r\n250 8BITMIME".to_owned(),
            "HELO" => "250 tix-test-relay".to_owned(),
            "MAIL" => {
                from = address(&line);
                to.clear();
                "250 OK".to_owned()
            }
            "RCPT" => {
                to.push(address(&line));
                "250 OK".to_owned()
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                let mut ended = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        ended = true;
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                // A message cut off before its final dot (the sender killed mid-send) is no
                // message: a relay discards it, and so does this one.
                if !ended {
                    return;
                }
                let mut state = shared.lock().expect("the relay's state");
                if state.refusing {
                    "554 Transaction failed: the test relay was told to refuse".to_owned()
                } else {
                    state.mails.push(Mail {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    "250 OK: queued".to_owned()
                }
            }
            "RSET" | "NOOP" => "250 OK".to_owned(),
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => "502 Command not implemented".to_owned(),
        };
        if write
            .write_all(format!("{answer}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a@b> ...` or `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}
