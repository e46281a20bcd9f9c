//! A venue node inside the box office, for a counter or kiosk with no server: the same code as
//! `tix-node`, on a loopback port, with its stores in the app's data directory. The first account
//! made on it is staff.

use std::path::Path;

use clap::Parser;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use tix_node::app::App;
use tix_node::config::Config;

use crate::error::DeskError;

/// The running embedded node; stop it before the app exits so its stores close cleanly.
pub struct Standalone {
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Standalone {
    /// Opens (or creates) the stores in `data_dir` and serves on a free loopback port. Settings
    /// such as `STRIPE_SECRET_KEY` come from the environment, as for `tix-node`.
    pub async fn start(data_dir: &Path) -> Result<Standalone, DeskError> {
        Standalone::start_with(data_dir, &[]).await
    }

    /// The same, with more of `tix-node`'s flags (the tests use this).
    pub async fn start_with(data_dir: &Path, flags: &[&str]) -> Result<Standalone, DeskError> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "tix-node".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.into(),
            "--first-user-is-staff".into(),
        ];
        args.extend(flags.iter().map(Into::into));
        let config = Config::try_parse_from(args)
            .map_err(|e| DeskError::Local(format!("standalone node settings: {e}")))?;
        let app = App::build(config).await.map_err(|e| {
            DeskError::Local(format!(
                "starting the standalone node in {}: {e:#}",
                data_dir.display()
            ))
        })?;
        let addr = app
            .local_addr()
            .map_err(|e| DeskError::Local(format!("standalone node address: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(Standalone {
            url: format!("http://{addr}"),
            stop,
            task,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops serving, lets the writer finish, closes the stores; what went wrong if it did not
    /// stop cleanly.
    pub async fn stop(self) -> Result<(), DeskError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DeskError::Local(format!(
                "the standalone node stopped with an error: {e:#}"
            ))),
            Err(e) => Err(DeskError::Local(format!(
                "the standalone node's task failed: {e}"
            ))),
        }
    }
}
