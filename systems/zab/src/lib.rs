//! A ZooKeeper-style ensemble replicated by ZAB: the system under test `zab-node`.
//!
//! - [`core`]: pure state machines (fast leader election and the ZAB peer: discovery,
//!   synchronization, broadcast) plus the znode tree they replicate. No I/O, no clock.
//! - [`storage`]: the data directory: checksummed transaction log, snapshots, epoch files.
//! - [`server`]: the tokio shell: peer network, client sessions, the event loop.

pub mod bug;
pub mod core;
pub mod frame;
pub mod server;
pub mod storage;

pub use crate::core::{
    election::{Notification, ServerState, Vote},
    message::{Forwarded, LeadPacket, LearnPacket, Message},
    peer::{After, Config, Durable, Effect, Input, Peer, StartError},
    sync_plan::{SyncMode, SyncPlan},
    tree::{DataTree, Stat, TxnError, TxnOk},
    txn::{Entry, NodeId, Origin, Txn},
    zxid::Zxid,
};
