//! The read/write/cas mix of the register and kv workloads.

use crate::WorkloadError;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Relative weights of reads, writes and cas operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub read: u32,
    pub write: u32,
    pub cas: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            read: 50,
            write: 30,
            cas: 20,
        }
    }
}

impl FromStr for Mix {
    type Err = WorkloadError;
    /// `read,write,cas` weights: `50,30,20`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || WorkloadError::BadMix(s.to_string());
        if parts.len() != 3 {
            return Err(bad());
        }
        let mut w = [0u32; 3];
        for (i, p) in parts.iter().enumerate() {
            w[i] = p.parse().map_err(|_| bad())?;
        }
        if w.iter().sum::<u32>() == 0 {
            return Err(bad());
        }
        Ok(Mix {
            read: w[0],
            write: w[1],
            cas: w[2],
        })
    }
}

impl Mix {
    /// Draws `read`, `write` or `cas`.
    pub fn draw<R: Rng>(&self, rng: &mut R) -> &'static str {
        let total = self.read + self.write + self.cas;
        let x = rng.gen_range(0..total.max(1));
        if x < self.read {
            "read"
        } else if x < self.read + self.write {
            "write"
        } else {
            "cas"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "1,2,3".parse::<Mix>().unwrap(),
            Mix {
                read: 1,
                write: 2,
                cas: 3
            }
        );
        assert!("1,2".parse::<Mix>().is_err());
        assert!("0,0,0".parse::<Mix>().is_err());
        assert!("a,b,c".parse::<Mix>().is_err());
    }
}
