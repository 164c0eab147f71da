//! Partition shapes, and how a seeded random source turns them into grudges.

use crate::Grudge;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How a partition cuts the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartitionShape {
    /// Two random halves (the smaller has ⌊n/2⌋ nodes).
    RandomHalves,
    /// One random node cut off from all others.
    IsolateOne,
    /// The current leader cut off from all others (resolved at run time).
    IsolateLeader,
    /// Every node sees a majority, but no two nodes see the same majority (Jepsen's
    /// majorities-ring): a shuffled ring where each node sees only its nearest neighbours.
    MajoritiesRing,
    /// Two halves joined by one bridge node that sees both.
    Bridge,
}

impl PartitionShape {
    pub const ALL: [PartitionShape; 5] = [
        PartitionShape::RandomHalves,
        PartitionShape::IsolateOne,
        PartitionShape::IsolateLeader,
        PartitionShape::MajoritiesRing,
        PartitionShape::Bridge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PartitionShape::RandomHalves => "random-halves",
            PartitionShape::IsolateOne => "isolate-one",
            PartitionShape::IsolateLeader => "isolate-leader",
            PartitionShape::MajoritiesRing => "majorities-ring",
            PartitionShape::Bridge => "bridge",
        }
    }

    /// The grudge of this shape over `nodes`, drawn from `rng`; `None` for
    /// [`PartitionShape::IsolateLeader`], which needs the leader.
    pub fn grudge<R: Rng>(self, nodes: &[String], rng: &mut R) -> Option<Grudge> {
        let mut shuffled = nodes.to_vec();
        shuffled.shuffle(rng);
        let n = shuffled.len();
        Some(match self {
            PartitionShape::RandomHalves => {
                let (a, b) = shuffled.split_at(n / 2);
                Grudge::complete(&[a.to_vec(), b.to_vec()])
            }
            PartitionShape::IsolateOne => isolate(&shuffled[0], nodes),
            PartitionShape::IsolateLeader => return None,
            PartitionShape::MajoritiesRing => majorities_ring(&shuffled),
            PartitionShape::Bridge => {
                let mid = n / 2;
                let a = shuffled[..=mid].to_vec();
                let b = shuffled[mid..].to_vec();
                Grudge::complete(&[a, b])
            }
        })
    }
}

/// `node` cut off from every other node of `nodes`.
pub fn isolate(node: &str, nodes: &[String]) -> Grudge {
    let rest: Vec<String> = nodes.iter().filter(|n| *n != node).cloned().collect();
    Grudge::complete(&[vec![node.to_string()], rest])
}

/// Jepsen's majorities ring over an already shuffled ring: the node in the middle of each window
/// of a majority of consecutive nodes sees exactly that window.
fn majorities_ring(ring: &[String]) -> Grudge {
    let n = ring.len();
    let m = n / 2 + 1;
    let mut g = Grudge::default();
    if n < 3 {
        return g;
    }
    for start in 0..n {
        let window: Vec<&String> = (0..m).map(|k| &ring[(start + k) % n]).collect();
        let me = window[m / 2];
        let dropped = ring
            .iter()
            .filter(|x| !window.contains(x))
            .cloned()
            .collect();
        g.0.insert(me.clone(), dropped);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn majorities_ring_gives_every_node_a_distinct_majority() {
        let ns = nodes(5);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let g = PartitionShape::MajoritiesRing
            .grudge(&ns, &mut rng)
            .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for n in &ns {
            let vis = g.visible_from(n, &ns);
            assert_eq!(vis.len(), 3, "{n} sees {vis:?}");
            assert!(seen.insert(vis));
        }
    }

    #[test]
    fn halves_and_isolation_and_bridge_have_expected_sizes() {
        let ns = nodes(5);
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let g = PartitionShape::RandomHalves.grudge(&ns, &mut rng).unwrap();
        let sizes: Vec<usize> = ns.iter().map(|n| g.visible_from(n, &ns).len()).collect();
        assert_eq!(sizes.iter().filter(|&&s| s == 2).count(), 2);
        assert_eq!(sizes.iter().filter(|&&s| s == 3).count(), 3);
        let g = PartitionShape::IsolateOne.grudge(&ns, &mut rng).unwrap();
        let sizes: Vec<usize> = ns.iter().map(|n| g.visible_from(n, &ns).len()).collect();
        assert_eq!(sizes.iter().filter(|&&s| s == 1).count(), 1);
        let g = PartitionShape::Bridge.grudge(&ns, &mut rng).unwrap();
        let sizes: Vec<usize> = ns.iter().map(|n| g.visible_from(n, &ns).len()).collect();
        assert_eq!(sizes.iter().filter(|&&s| s == 5).count(), 1, "{sizes:?}");
        assert!(PartitionShape::IsolateLeader
            .grudge(&ns, &mut rng)
            .is_none());
    }
}
