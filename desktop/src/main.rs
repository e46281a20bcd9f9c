//! `tix-box-office`: the box office desktop app.

use std::path::PathBuf;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "tix-box-office",
    version,
    about = "Tix box office: sell at the counter"
)]
struct Options {
    /// Keep the settings (and a standalone node's stores, in `node/`) here instead of the
    /// per-user directories.
    #[arg(long, env = "TIX_BOX_OFFICE_DIR")]
    dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    tix_desktop::run(options.dir)
}
