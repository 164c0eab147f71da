//! A fault schedule: faults and heals alternating at a fixed interval, every kind and target
//! drawn from the seed before the run starts.

use crate::{FaultKind, Grudge, NodeTarget, PartitionShape};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The nodes a kill or pause hits: drawn from the seed, or the leader at the time of the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeChoice {
    Nodes(Vec<String>),
    Leader,
}

/// One fault, its targets fixed as far as the seed can fix them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    Partition {
        shape: PartitionShape,
        /// `None` when the shape needs the leader.
        grudge: Option<Grudge>,
    },
    Kill {
        target: NodeTarget,
        nodes: NodeChoice,
    },
    Pause {
        target: NodeTarget,
        nodes: NodeChoice,
    },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::Kill { .. } => FaultKind::Kill,
            Fault::Pause { .. } => FaultKind::Pause,
        }
    }

    /// A short description for the progress line: `partition majorities-ring`, `kill leader`.
    pub fn describe(&self) -> String {
        match self {
            Fault::Partition { shape, .. } => format!("partition {}", shape.name()),
            Fault::Kill { target, .. } => format!("kill {}", target.name()),
            Fault::Pause { target, .. } => format!("pause {}", target.name()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum StepAction {
    Fault(Fault),
    Heal,
}

/// One scheduled action, `at_ms` milliseconds after the test started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub at_ms: u64,
    #[serde(flatten)]
    pub action: StepAction,
}

/// The whole schedule of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub kinds: Vec<FaultKind>,
    pub interval_ms: u64,
    pub steps: Vec<Step>,
}

impl Plan {
    /// Draws a schedule for a run of `duration_ms`: `interval_ms` of quiet, then a fault for
    /// `interval_ms`, then its heal, and so on while the run lasts. Each fault's kind is drawn
    /// uniformly from `kinds`, its shape or target uniformly from those of the kind. The same
    /// seed, kinds, nodes and times give the same plan.
    pub fn generate(
        kinds: &[FaultKind],
        nodes: &[String],
        seed: u64,
        interval_ms: u64,
        duration_ms: u64,
    ) -> Plan {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6d65_7369_7321);
        let mut steps = Vec::new();
        let interval_ms = interval_ms.max(1);
        let mut t = interval_ms;
        while !kinds.is_empty() && t < duration_ms {
            let kind = *kinds.choose(&mut rng).expect("kinds is not empty");
            let fault = match kind {
                FaultKind::Partition => {
                    let shape = *PartitionShape::ALL.choose(&mut rng).expect("shapes");
                    let grudge = shape.grudge(nodes, &mut rng);
                    Fault::Partition { shape, grudge }
                }
                FaultKind::Kill | FaultKind::Pause => {
                    let target = *NodeTarget::ALL.choose(&mut rng).expect("targets");
                    let nodes = match target.draw(nodes, &mut rng) {
                        Some(v) => NodeChoice::Nodes(v),
                        None => NodeChoice::Leader,
                    };
                    if kind == FaultKind::Kill {
                        Fault::Kill { target, nodes }
                    } else {
                        Fault::Pause { target, nodes }
                    }
                }
            };
            steps.push(Step {
                at_ms: t,
                action: StepAction::Fault(fault),
            });
            steps.push(Step {
                at_ms: t + interval_ms,
                action: StepAction::Heal,
            });
            t += 2 * interval_ms;
        }
        Plan {
            kinds: kinds.to_vec(),
            interval_ms,
            steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn same_seed_same_plan_and_different_seed_differs() {
        let kinds = [FaultKind::Partition, FaultKind::Kill, FaultKind::Pause];
        let a = Plan::generate(&kinds, &nodes(5), 42, 1000, 60_000);
        let b = Plan::generate(&kinds, &nodes(5), 42, 1000, 60_000);
        assert_eq!(a, b);
        let c = Plan::generate(&kinds, &nodes(5), 43, 1000, 60_000);
        assert_ne!(a, c);
        assert_eq!(a.steps.len(), 60);
        assert_eq!(a.steps[0].at_ms, 1000);
        assert_eq!(a.steps[1].action, StepAction::Heal);
        let used: std::collections::BTreeSet<FaultKind> = a
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                StepAction::Fault(f) => Some(f.kind()),
                StepAction::Heal => None,
            })
            .collect();
        assert_eq!(used.len(), 3);
    }

    #[test]
    fn no_kinds_no_steps() {
        assert!(Plan::generate(&[], &nodes(3), 1, 1000, 60_000)
            .steps
            .is_empty());
    }

    #[test]
    fn plan_round_trips_through_json() {
        let kinds = [FaultKind::Partition, FaultKind::Kill];
        let a = Plan::generate(&kinds, &nodes(5), 7, 500, 10_000);
        let j = serde_json::to_string(&a).unwrap();
        let b: Plan = serde_json::from_str(&j).unwrap();
        assert_eq!(a, b);
    }
}
