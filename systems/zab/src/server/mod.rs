//! The tokio shell around the pure peer: peer network, client sessions and the event loop.

pub mod client;
pub mod event_loop;
pub mod peer_net;

pub use event_loop::{run, NodeConfig};
