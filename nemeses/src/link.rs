//! Link faults short of a partition: slow links (delay with jitter, a bandwidth limit) and flaky
//! links (connections reset at random), each applied to the directed links of a grudge, so that
//! every partition shape also shapes slow and flaky links.

use crate::Grudge;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A slow direction: every byte is delivered `delay_ms` plus a uniform `0..=jitter_ms` late (in
/// order: a byte is never delivered before one sent earlier), and at most `bytes_per_sec` flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slow {
    pub delay_ms: u64,
    pub jitter_ms: u64,
    /// `None`: no bandwidth limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_sec: Option<u64>,
}

/// A flaky link: each connection on it is reset (RST to both ends) after an exponentially
/// distributed time with this mean, counted from when it opened or the link turned flaky.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flaky {
    pub reset_mean_ms: u64,
}

/// What is wrong with a set of directed links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LinkFault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<Slow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flaky: Option<Flaky>,
}

/// One link fault on the directed links of a grudge (`links.blocks(from, to)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRule {
    pub links: Grudge,
    pub fault: LinkFault,
}

impl Slow {
    /// A slow direction drawn from `rng`: delay 1 ms to 1 s (log-uniform), jitter up to half
    /// the delay, and a bandwidth limit (16 KiB/s to 1 MiB/s) one time in three.
    pub fn draw<R: Rng>(rng: &mut R) -> Slow {
        let delay_ms = (10f64.powf(rng.gen_range(0.0..3.0))).round() as u64;
        let jitter_ms = rng.gen_range(0..=delay_ms / 2);
        let bytes_per_sec = rng.gen_ratio(1, 3).then(|| 1u64 << rng.gen_range(14..=20));
        Slow {
            delay_ms,
            jitter_ms,
            bytes_per_sec,
        }
    }
}

impl Flaky {
    /// A reset rate drawn from `rng`: a mean of 50 ms to 5 s between resets (log-uniform).
    pub fn draw<R: Rng>(rng: &mut R) -> Flaky {
        Flaky {
            reset_mean_ms: (50.0 * 10f64.powf(rng.gen_range(0.0..2.0))).round() as u64,
        }
    }
}

/// Splits `g`'s directed links in two by direction: those from a node to a node later in name
/// order, and the rest. With two different faults on the halves, the two directions of every
/// cut link differ.
pub fn split_by_direction(g: &Grudge) -> (Grudge, Grudge) {
    let mut up = Grudge::none();
    let mut down = Grudge::none();
    for (from, to) in g.links() {
        let half = if from < to { &mut up } else { &mut down };
        half.0.entry(to).or_default().insert(from);
    }
    (up, down)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_stay_in_their_ranges_and_split_covers_each_link_once() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let s = Slow::draw(&mut rng);
            assert!((1..=1000).contains(&s.delay_ms) && s.jitter_ms <= s.delay_ms / 2);
            assert!(s
                .bytes_per_sec
                .is_none_or(|b| (16384..=1 << 20).contains(&b)));
            let f = Flaky::draw(&mut rng);
            assert!((50..=5000).contains(&f.reset_mean_ms));
        }
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let g = Grudge::complete(&[names(&["n1", "n2"]), names(&["n3"])]);
        let (up, down) = split_by_direction(&g);
        assert_eq!(up.links().len() + down.links().len(), g.links().len());
        assert!(up.blocks("n1", "n3") && down.blocks("n3", "n1"));
        assert!(!up.blocks("n3", "n1") && !down.blocks("n1", "n3"));
    }
}
