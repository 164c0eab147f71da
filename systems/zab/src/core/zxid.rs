//! ZooKeeper transaction ids: `epoch << 32 | counter`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A transaction id. Totally ordered; the high 32 bits are the epoch of the leader that proposed
/// it, the low 32 bits a counter within that epoch (0 is the epoch's NEWLEADER marker).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Zxid(pub u64);

impl Zxid {
    pub const ZERO: Zxid = Zxid(0);

    pub fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as u64) << 32) | counter as u64)
    }

    pub fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_counter_round_trip_and_order() {
        let z = Zxid::new(3, 7);
        assert_eq!((z.epoch(), z.counter()), (3, 7));
        assert!(Zxid::new(2, u32::MAX) < Zxid::new(3, 0));
        assert_eq!(z.to_string(), "0x300000007");
    }
}
