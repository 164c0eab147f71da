//! `raft-node`: one member of a Raft replicated key-value store.

use std::process::ExitCode;

use anyhow::Context;
use raft::cli::{Args, Invocation};
use raft::node::{Input, Node};
use raft::transport::{self, Outbound};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let args = match raft::cli::parse() {
        Invocation::Run(args) => args,
        Invocation::ListBugs => {
            print!("{}", raft::bugs::listing());
            return ExitCode::SUCCESS;
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cfg = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raft-node: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args, cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-node: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args, cfg: raft::node::NodeConfig) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let node = Node::open(cfg.clone())?;
    rt.block_on(async move {
        let clients = TcpListener::bind(&args.client_addr)
            .await
            .with_context(|| format!("cannot listen for clients on {}", args.client_addr))?;
        let peers = TcpListener::bind(&args.peer_addr)
            .await
            .with_context(|| format!("cannot listen for peers on {}", args.peer_addr))?;
        tracing::info!(
            id = %cfg.name,
            client = %args.client_addr,
            peer = %args.peer_addr,
            members = cfg.names.len(),
            "raft-node starting"
        );
        let (tx, rx) = std::sync::mpsc::channel::<Input>();
        let out = Outbound::start(&cfg.peers);
        let deliver_tx = tx.clone();
        tokio::spawn(transport::accept(peers, move |m| {
            let _ = deliver_tx.send(Input::Peer(m));
        }));
        tokio::spawn(wire::server::serve_into(clients, tx, |req, reply| {
            Input::Client { req, reply }
        }));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("raft-core".into())
            .spawn(move || {
                let r = node.run(rx, out);
                let _ = done_tx.send(r);
            })
            .context("cannot start the core thread")?;
        tokio::select! {
            r = done_rx => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.context("stable storage failed; stopping")),
                Err(_) => Err(anyhow::anyhow!("the core thread died")),
            },
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("interrupted; stopping");
                Ok(())
            }
        }
    })
}
