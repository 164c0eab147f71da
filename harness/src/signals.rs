//! Ctrl-C and SIGTERM for the commands that run things (`faultline test`, `faultline campaign`):
//! one watch channel that turns true on the first interrupt.

use tokio::sync::watch;

/// What a command does on an interrupt besides turning the channel true.
#[derive(Debug, Clone, Copy)]
pub struct OnInterrupt {
    /// Printed to stderr on the first interrupt, if given.
    pub announce: Option<&'static str>,
    /// Whether a second Ctrl-C exits the process at once (with the harness's exit code) instead
    /// of waiting for the orderly shutdown.
    pub exit_on_second: bool,
}

/// Turns true on the first Ctrl-C or SIGTERM (announcing it as `on` says); with
/// `on.exit_on_second`, a second Ctrl-C exits at once. Must be called inside a tokio runtime.
pub fn interrupt_signal(on: OnInterrupt) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term_fut = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_fut => {}
        }
        if let Some(msg) = on.announce {
            eprintln!("{msg}");
        }
        let _ = tx.send(true);
        // A second Ctrl-C does not wait for the orderly shutdown: exit now. The nodes die with
        // the harness (parent-death signal); the journal keeps every complete line.
        if on.exit_on_second && tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("faultline: interrupted again; exiting without checking");
            std::process::exit(crate::EXIT_HARNESS as i32);
        }
    });
    rx
}

/// Returns once `rx` turns true; never, if its sender is gone first.
pub async fn wait_true(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}
