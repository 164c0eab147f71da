//! Each node's clock control for the `clock` fault: a libfaketime control file per node
//! (`nodes/<node>/faketime`), and the environment that makes the node's clocks follow it from
//! its first start.

use crate::control::{libfaketime, ControlError, NodeClock, NodeLayout};
use nemeses::ClockChange;
use std::sync::{Mutex, MutexGuard};

/// The clocks of a cluster, one per node, in node order.
pub struct NodeClocks {
    clocks: Vec<Mutex<NodeClock>>,
}

impl NodeClocks {
    /// A control file for every node, written right (`+0`). Fails with one sentence when
    /// libfaketime is not installed.
    pub fn create(layouts: &[NodeLayout]) -> Result<NodeClocks, ControlError> {
        let lib = libfaketime()?;
        let clocks = layouts
            .iter()
            .map(|l| NodeClock::new(&l.dir.join("faketime"), &lib).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NodeClocks { clocks })
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, NodeClock> {
        self.clocks[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The environment node `i` runs with.
    pub fn env(&self, i: usize) -> Vec<(String, String)> {
        self.lock(i).env()
    }

    /// Applies a change to node `i`'s clock (`None`: right again); returns the spec written.
    pub fn set(&self, i: usize, change: Option<&ClockChange>) -> Result<String, ControlError> {
        self.lock(i).set(change)
    }
}
