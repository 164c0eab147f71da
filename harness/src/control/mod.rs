//! Control of local node processes: locating binaries, laying out each node's address, ports and
//! directories, starting, signalling and stopping nodes, and the cluster they form with the proxy.

mod binary;
mod clock;
mod cluster;
mod error;
pub mod faults;
mod layout;
mod process;
mod spawn;

pub use binary::{locate_binary, locate_installed};
pub use clock::{libfaketime, NodeClock};
pub use cluster::LocalCluster;
pub use error::ControlError;
pub use faults::FaultCluster;
pub use layout::{NodeLayout, NET_ENV};
pub use process::NodeProcess;
pub use spawn::signal_group;
