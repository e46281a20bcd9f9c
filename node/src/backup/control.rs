//! The node's control socket, `DATA_DIR/control.sock` (mode 0600): how `tix-node backup` gets a
//! backup from a node that is running (and so holds its stores).
//!
//! The wire form, one request a connection: the client sends `backup\n`; the node answers
//! `ok <bytes>\n` and then the archive's bytes, or `error: <why>\n`. The client keeps the archive
//! only once it has all of it and `Manifest::verify` passed.
//!
//! The server is an owned task: it stops taking connections when the node shuts down, and a backup
//! being made then is abandoned (its work files removed) rather than holding the stop up.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::{Manifest, write_archive};
use crate::clock::Clock;
use crate::priority::lower_this_thread;
use crate::writer::WriterHandle;

/// The socket's name in the data dir.
pub const SOCKET: &str = "control.sock";
/// The one request there is.
const BACKUP: &str = "backup";
/// How long a client has to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Listens on the control socket until `shutdown` turns true.
pub fn start(
    data_dir: PathBuf,
    writer: WriterHandle,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let path = data_dir.join(SOCKET);
    // A socket file left by a node that was killed: no node answers it (the stores' lock, taken
    // before this, shows no other node runs on this data dir).
    super::remove_if_there(&path)?;
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    warn!(error = %e, "control socket: accepting failed");
                    continue;
                }
            };
            tokio::select! {
                () = serve_one(stream, &data_dir, &writer, &clock) => {}
                _ = shutdown.changed() => break,
            }
        }
        let _ = std::fs::remove_file(&path);
    }))
}

async fn serve_one(
    stream: UnixStream,
    data_dir: &Path,
    writer: &WriterHandle,
    clock: &Arc<dyn Clock>,
) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut read = BufReader::new(read.take(64));
    let request = tokio::time::timeout(REQUEST_TIMEOUT, read.read_line(&mut line)).await;
    let answer = match request {
        Ok(Ok(_)) if line.trim_end() == BACKUP => make_backup(data_dir, writer, clock).await,
        Ok(Ok(_)) => Err(anyhow::anyhow!("unknown request {:?}", line.trim_end())),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(anyhow::anyhow!("no request within {REQUEST_TIMEOUT:?}")),
    };
    let sent = match answer {
        Ok(archive) => send_archive(&mut write, &archive).await,
        Err(e) => {
            warn!(error = format!("{e:#}"), "control socket: request failed");
            write.write_all(format!("error: {e:#}\n").as_bytes()).await
        }
    };
    if let Err(e) = sent {
        warn!(error = %e, "control socket: the client went away");
    }
}

/// Makes a backup into a work file in the data dir (removed when dropped).
async fn make_backup(
    data_dir: &Path,
    writer: &WriterHandle,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<tempfile::TempPath> {
    let snapshot = writer.snapshot().await?;
    let out = tempfile::Builder::new()
        .prefix(".backup-out-")
        .tempfile_in(data_dir)?
        .into_temp_path();
    let (dir, now) = (data_dir.to_owned(), clock.now());
    // The work file goes with the blocking task, so that a backup abandoned at shutdown still
    // removes it when the task ends. The copying runs on a thread of its own at the lowest CPU
    // priority, so that sales (the writer, the HTTP workers) go first while it runs.
    let (manifest, out) = tokio::task::spawn_blocking(move || {
        let manifest = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("tix-backup".into())
                .spawn_scoped(scope, || {
                    lower_this_thread(19, "backup");
                    write_archive(snapshot, &dir, now, &out)
                })?
                .join()
                .map_err(|_| anyhow::anyhow!("the backup thread panicked"))?
        })?;
        anyhow::Ok((manifest, out))
    })
    .await??;
    info!(
        epoch = manifest.epoch,
        last_seq = manifest.last_seq,
        "backup made for the control socket"
    );
    Ok(out)
}

async fn send_archive(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    archive: &Path,
) -> io::Result<()> {
    let mut file = tokio::fs::File::open(archive).await?;
    let bytes = file.metadata().await?.len();
    write.write_all(format!("ok {bytes}\n").as_bytes()).await?;
    tokio::io::copy(&mut file, write).await?;
    write.shutdown().await
}

/// Asks the node running on `data_dir` for a backup and keeps it at `to` once verified. `None`
/// when no node answers on the control socket.
pub async fn request_backup(data_dir: &Path, to: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = data_dir.join(SOCKET);
    let stream = match UnixStream::connect(&path).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e).with_context(|| format!("connecting to {}", path.display())),
    };
    let (read, mut write) = stream.into_split();
    write.write_all(format!("{BACKUP}\n").as_bytes()).await?;
    let mut read = BufReader::new(read);
    let mut header = String::new();
    read.read_line(&mut header).await?;
    let header = header.trim_end();
    let bytes: u64 = match header.strip_prefix("ok ") {
        Some(bytes) => bytes.parse().context("the node's answer is garbled")?,
        None => match header.strip_prefix("error: ") {
            Some(why) => bail!("the node could not make a backup: {why}"),
            None => bail!("the node's answer is garbled: {header:?}"),
        },
    };
    let dir = to.parent().filter(|p| !p.as_os_str().is_empty());
    let partial = tempfile::Builder::new()
        .prefix(".tix-backup-")
        .tempfile_in(dir.unwrap_or(Path::new(".")))
        .with_context(|| format!("making a file beside {}", to.display()))?;
    let mut file = tokio::fs::File::from_std(partial.reopen()?);
    let got = tokio::io::copy(&mut read, &mut file).await?;
    file.sync_all().await?;
    if got != bytes {
        bail!("the node's backup ended after {got} of {bytes} bytes; nothing was kept");
    }
    let check = partial.path().to_owned();
    let manifest = tokio::task::spawn_blocking(move || Manifest::verify(&check)).await??;
    partial
        .persist(to)
        .with_context(|| format!("moving the backup to {}", to.display()))?;
    Ok(Some(manifest))
}
