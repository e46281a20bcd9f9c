//! Tix box office: a Tauri 2 desktop app for staff at a venue's counter. It talks to the venue
//! node on the LAN, or runs a node inside itself (standalone), and sells through the node's API:
//! find, lock, take card or cash, print the pass, release, refund, look up a buyer's orders, watch
//! the locks and the day's takings; and sell a show's tickets to a party (best available or picked
//! on the seat map), one payment and one pass per ticket; and check passes in at the door, on
//! through an outage of the node (door mode). The node enforces the staff role; the app only
//! asks.

pub mod commands;
pub mod desk;
pub mod door;
pub mod error;
pub mod node_client;
pub mod pass;
pub mod settings;
pub mod shows;
#[cfg(feature = "standalone")]
pub mod standalone;

use std::path::PathBuf;

use tauri::{Manager, RunEvent, Runtime};

use crate::desk::Desk;

/// Registers the app's commands on a builder (the real runtime, or Tauri's mock one in tests).
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::connection,
        commands::connect,
        commands::forget_node,
        commands::sign_in,
        commands::sign_out,
        commands::status,
        commands::find_tickets,
        commands::lock_ticket,
        commands::release,
        commands::pay_cash,
        commands::pay_card,
        commands::ticket_pass,
        commands::order_passes,
        commands::refund,
        commands::orders_by_email,
        commands::locks,
        commands::summary,
        shows::shows,
        shows::show_seats,
        shows::order_best,
        shows::order_seats,
        shows::order_by_number,
        door::commands::door_shows,
        door::commands::door_open,
        door::commands::door_scan,
        door::commands::door_tick,
        door::commands::door_close,
    ])
}

/// Runs the app until its window closes. `dir` replaces the per-user config and data
/// directories (settings in `dir`, a standalone node's stores in `dir/node`, the door scanner's
/// files in `dir/door`).
pub fn run(dir: Option<PathBuf>) -> anyhow::Result<()> {
    let app = with_commands(tauri::Builder::default())
        .setup(move |app| {
            let (config_dir, data_dir) = match &dir {
                Some(dir) => (dir.clone(), dir.clone()),
                None => (app.path().app_config_dir()?, app.path().app_data_dir()?),
            };
            tracing::info!(settings = %config_dir.display(), data = %data_dir.display(), "box office starting");
            app.manage(Desk::new(config_dir, data_dir));
            Ok(())
        })
        .build(tauri::generate_context!())?;
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            // A standalone node closes its stores before the process ends.
            let desk = handle.state::<Desk>();
            tauri::async_runtime::block_on(desk.shut_down());
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests;
