//! Which nodes a node fault (kill, pause, lose-unsynced, clock) hits, and how the nodes it took
//! down come back: all at once or one after another.
//!
//! A target is drawn from the seed; so are the nodes it names, except the leader, which only the
//! cluster knows at the time of the fault ([`NodeChoice`] keeps what the seed could fix).

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Which nodes a node fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeTarget {
    /// One random node.
    #[serde(alias = "random")]
    One,
    /// The current leader (resolved at run time).
    Leader,
    /// A random minority: ⌊(n−1)/2⌋ nodes (at least one).
    Minority,
    /// A random majority: ⌊n/2⌋ + 1 nodes.
    Majority,
    /// Every node at once.
    All,
    /// The current leader and ⌊n/2⌋ other random nodes: a majority that holds the leader.
    LeaderAndMajority,
}

impl NodeTarget {
    pub const ALL: [NodeTarget; 6] = [
        NodeTarget::One,
        NodeTarget::Leader,
        NodeTarget::Minority,
        NodeTarget::Majority,
        NodeTarget::All,
        NodeTarget::LeaderAndMajority,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeTarget::One => "one",
            NodeTarget::Leader => "leader",
            NodeTarget::Minority => "minority",
            NodeTarget::Majority => "majority",
            NodeTarget::All => "all",
            NodeTarget::LeaderAndMajority => "leader-and-majority",
        }
    }

    /// What the seed can fix of this target over `nodes`.
    pub fn draw<R: Rng>(self, nodes: &[String], rng: &mut R) -> NodeChoice {
        let n = nodes.len();
        let mut shuffled = nodes.to_vec();
        shuffled.shuffle(rng);
        let count = match self {
            NodeTarget::One => 1,
            NodeTarget::Leader => return NodeChoice::Leader,
            NodeTarget::Minority => (n.saturating_sub(1) / 2).max(1),
            NodeTarget::Majority => n / 2 + 1,
            NodeTarget::All => n,
            NodeTarget::LeaderAndMajority => {
                return NodeChoice::LeaderPlus {
                    others: shuffled,
                    count: n / 2,
                }
            }
        };
        shuffled.truncate(count.min(n));
        shuffled.sort();
        NodeChoice::Nodes(shuffled)
    }
}

/// The nodes a node fault hits, as far as the seed fixes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeChoice {
    /// Exactly these nodes.
    Nodes(Vec<String>),
    /// The leader at the time of the fault.
    Leader,
    /// The leader at the time of the fault and the first `count` nodes of `others` (a
    /// seed-drawn order) that are not the leader.
    LeaderPlus { others: Vec<String>, count: usize },
}

impl NodeChoice {
    /// Whether resolving this choice needs the leader.
    pub fn needs_leader(&self) -> bool {
        !matches!(self, NodeChoice::Nodes(_))
    }

    /// The nodes hit, given the leader now (`None`: no node says it leads). Without a leader,
    /// [`NodeChoice::Leader`] hits nothing and [`NodeChoice::LeaderPlus`] hits its `count + 1`
    /// other nodes (still a majority).
    pub fn resolve(&self, leader: Option<&str>) -> Vec<String> {
        let mut v = match (self, leader) {
            (NodeChoice::Nodes(v), _) => v.clone(),
            (NodeChoice::Leader, l) => l.into_iter().map(str::to_string).collect(),
            (NodeChoice::LeaderPlus { others, count }, l) => {
                let extra = count + usize::from(l.is_none());
                let mut v: Vec<String> = l.into_iter().map(str::to_string).collect();
                v.extend(
                    others
                        .iter()
                        .filter(|o| Some(o.as_str()) != l)
                        .take(extra)
                        .cloned(),
                );
                v
            }
        };
        v.sort();
        v
    }
}

/// How nodes a fault took down (killed, crashed, paused) come back when it heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// All at once.
    #[default]
    Together,
    /// One after another, `gap_ms` apart, in name order.
    Staggered { gap_ms: u64 },
}

impl Restart {
    /// Together or staggered, even odds; a stagger gap of a twentieth to a fifth of `interval_ms`
    /// (at least 50 ms), so that a staggered restart of five nodes ends within the quiet spell.
    pub fn draw<R: Rng>(interval_ms: u64, rng: &mut R) -> Restart {
        if rng.gen_bool(0.5) {
            Restart::Together
        } else {
            let lo = (interval_ms / 20).max(50);
            let hi = (interval_ms / 5).max(lo);
            Restart::Staggered {
                gap_ms: rng.gen_range(lo..=hi),
            }
        }
    }

    /// The gap between two restarts (0 when together).
    pub fn gap_ms(self) -> u64 {
        match self {
            Restart::Together => 0,
            Restart::Staggered { gap_ms } => gap_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn count(t: NodeTarget, n: usize, leader: Option<&str>) -> usize {
        let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
        t.draw(&nodes(n), &mut rng).resolve(leader).len()
    }

    #[test]
    fn every_target_hits_the_number_of_nodes_it_names() {
        for (n, minority, majority) in [(1, 1, 1), (3, 1, 2), (5, 2, 3), (7, 3, 4)] {
            assert_eq!(count(NodeTarget::One, n, None), 1);
            assert_eq!(count(NodeTarget::Minority, n, None), minority);
            assert_eq!(count(NodeTarget::Majority, n, None), majority);
            assert_eq!(count(NodeTarget::All, n, None), n);
            assert_eq!(count(NodeTarget::Leader, n, Some("n1")), 1);
            assert_eq!(count(NodeTarget::Leader, n, None), 0);
            assert_eq!(
                count(NodeTarget::LeaderAndMajority, n, Some("n1")),
                majority
            );
            assert_eq!(count(NodeTarget::LeaderAndMajority, n, None), majority);
        }
    }

    #[test]
    fn leader_and_majority_holds_the_leader_once() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let c = NodeTarget::LeaderAndMajority.draw(&nodes(5), &mut rng);
        assert!(c.needs_leader());
        for l in nodes(5) {
            let hit = c.resolve(Some(&l));
            assert!(hit.contains(&l), "{hit:?}");
            let distinct: std::collections::BTreeSet<_> = hit.iter().collect();
            assert_eq!(distinct.len(), 3, "{hit:?}");
        }
    }

    #[test]
    fn restarts_are_drawn_both_ways_and_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let draws: Vec<Restart> = (0..100).map(|_| Restart::draw(10_000, &mut rng)).collect();
        assert!(draws.contains(&Restart::Together));
        for r in &draws {
            assert!(
                r.gap_ms() == 0 || (500..=2000).contains(&r.gap_ms()),
                "{r:?}"
            );
            let j = serde_json::to_value(r).unwrap();
            assert_eq!(serde_json::from_value::<Restart>(j).unwrap(), *r);
        }
        assert!(draws.iter().any(|r| r.gap_ms() > 0));
        let old: NodeTarget = serde_json::from_str("\"random\"").unwrap();
        assert_eq!(old, NodeTarget::One);
    }
}
