//! Email: a paid order's passes sent through the SMTP relay `--smtp-url` names: once by itself
//! after payment to the buyer's address (`crate::deliveries`), and on request to an address the
//! buyer gives (a kiosk's guest has no account to find them in later, so the kiosk offers it).
//! Without a relay nothing is sent or offered.
//!
//! Invariants:
//! - at most [`PER_ORDER`] requested emails per order, so a public screen cannot be made to send
//!   mail in bulk;
//! - the relay's answer is waited for: the page says "sent" only once the relay took the message;
//! - the email sent after payment carries a Message-ID fixed by the order, so if a crash makes the
//!   node send it again, mail programs show it once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use tix_core::ids::OrderId;

/// Most emails one order's tickets may be sent in.
pub const PER_ORDER: u32 = 3;
/// How long the relay may take to take a message.
const RELAY_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("That is not an email address we can send to.")]
    BadAddress,
    #[error("These tickets have been emailed {PER_ORDER} times already.")]
    TooMany,
    #[error("We could not send the email just now; your tickets are on this page.")]
    Relay(String),
}

/// What is sent: a subject, a plain-text body and, when there is one, a PDF.
pub struct Letter {
    pub subject: String,
    pub body: String,
    /// A file name and the PDF's bytes.
    pub pdf: Option<(String, Vec<u8>)>,
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    sent: Mutex<HashMap<OrderId, u32>>,
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:port`, `smtps://user:password@host`, `smtp://host?tls=required`)
    /// sending as `from` (`Venue Tickets <tickets@venue.example>`).
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp-url is not an SMTP URL: {e}"))?
            .timeout(Some(RELAY_TIMEOUT))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("--mail-from {from:?} is not an address: {e}"))?;
        Ok(Mailer {
            transport,
            from,
            sent: Mutex::new(HashMap::new()),
        })
    }

    /// Sends `letter` about `order` to `to`, counting it against the order's allowance.
    pub async fn send(&self, order: OrderId, to: &str, letter: Letter) -> Result<(), MailError> {
        let to: Mailbox = to.trim().parse().map_err(|_| MailError::BadAddress)?;
        self.take_one(order)?;
        let sent = self.relay(self.message(to, letter, None)?).await;
        if sent.is_err() {
            self.give_back(order);
        }
        sent
    }

    /// Sends a letter about an account (a password reset code) to its address.
    pub async fn send_to_member(&self, to: &str, letter: Letter) -> Result<(), MailError> {
        let to: Mailbox = to.trim().parse().map_err(|_| MailError::BadAddress)?;
        self.relay(self.message(to, letter, None)?).await
    }

    /// Sends the passes of a paid `order` to its buyer (not counted against the allowance), under
    /// a Message-ID fixed by the order.
    pub async fn deliver(&self, order: OrderId, to: &str, letter: Letter) -> Result<(), MailError> {
        let to: Mailbox = to.trim().parse().map_err(|_| MailError::BadAddress)?;
        let id = format!("<passes-{order}@{}>", self.from.email.domain());
        self.relay(self.message(to, letter, Some(id))?).await
    }

    fn message(
        &self,
        to: Mailbox,
        letter: Letter,
        message_id: Option<String>,
    ) -> Result<Message, MailError> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject)
            .message_id(message_id);
        let built = match letter.pdf {
            None => builder.header(ContentType::TEXT_PLAIN).body(letter.body),
            Some((name, pdf)) => {
                let pdf_type = ContentType::parse("application/pdf")
                    .map_err(|e| MailError::Relay(e.to_string()))?;
                builder.multipart(
                    MultiPart::mixed()
                        .singlepart(SinglePart::plain(letter.body))
                        .singlepart(Attachment::new(name).body(pdf, pdf_type)),
                )
            }
        };
        built.map_err(|e| MailError::Relay(e.to_string()))
    }

    async fn relay(&self, message: Message) -> Result<(), MailError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "the SMTP relay did not take an email");
                Err(MailError::Relay(e.to_string()))
            }
        }
    }

    fn take_one(&self, order: OrderId) -> Result<(), MailError> {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let count = sent.entry(order).or_default();
        if *count >= PER_ORDER {
            return Err(MailError::TooMany);
        }
        *count += 1;
        Ok(())
    }

    fn give_back(&self, order: OrderId) {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = sent.get_mut(&order) {
            *count = count.saturating_sub(1);
        }
    }
}
