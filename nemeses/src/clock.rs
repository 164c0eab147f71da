//! Clock faults: per-node changes of what the node's clocks read (never the machine's clock).
//! The harness applies them through libfaketime; here is what they are and how a seed draws them.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a node's clock is made wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum ClockChange {
    /// The clock jumps by this much (either direction) and stays off by it.
    Jump { offset_ms: i64 },
    /// The clock alternates, every `period_ms`, between `delta_ms` off and right.
    Strobe { delta_ms: i64, period_ms: u64 },
    /// The clock runs at `rate_permille`/1000 of real speed from now on.
    Skew { rate_permille: u32 },
}

impl ClockChange {
    /// A change drawn from `rng`: jumps of 1 ms to 10 min either way (log-uniform), strobes of
    /// 10 ms to 10 s every 10 to 200 ms, skews of half to double speed.
    pub fn draw<R: Rng>(rng: &mut R) -> ClockChange {
        let sign = if rng.gen_bool(0.5) { 1 } else { -1 };
        match rng.gen_range(0..3) {
            0 => ClockChange::Jump {
                offset_ms: sign * 10f64.powf(rng.gen_range(0.0..5.78)).round() as i64,
            },
            1 => ClockChange::Strobe {
                delta_ms: sign * 10f64.powf(rng.gen_range(1.0..4.0)).round() as i64,
                period_ms: rng.gen_range(10..=200),
            },
            _ => ClockChange::Skew {
                rate_permille: *[500, 800, 1250, 2000]
                    .get(rng.gen_range(0..4))
                    .expect("in range"),
            },
        }
    }

    /// `jump`, `strobe` or `skew`.
    pub fn name(&self) -> &'static str {
        match self {
            ClockChange::Jump { .. } => "jump",
            ClockChange::Strobe { .. } => "strobe",
            ClockChange::Skew { .. } => "skew",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_cover_every_change_within_bounds_and_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let c = ClockChange::draw(&mut rng);
            names.insert(c.name());
            match c {
                ClockChange::Jump { offset_ms } => {
                    assert!((1..=600_000).contains(&offset_ms.abs()))
                }
                ClockChange::Strobe {
                    delta_ms,
                    period_ms,
                } => assert!((10..=10_000).contains(&delta_ms.abs()) && period_ms >= 10),
                ClockChange::Skew { rate_permille } => assert!(rate_permille >= 500),
            }
            let j = serde_json::to_value(c).unwrap();
            assert_eq!(serde_json::from_value::<ClockChange>(j).unwrap(), c);
        }
        assert_eq!(names.len(), 3);
    }
}
