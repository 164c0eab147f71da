//! A fault schedule: quiet spells and faults alternating, every kind, target and parameter drawn
//! from the seed before the run starts.

use crate::{
    ClockChange, Crash, FaultKind, Flaky, Grudge, LeaderSchedule, NodeChoice, NodeTarget,
    PartitionShape, Restart, Slow,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One fault, its targets and parameters fixed as far as the seed can fix them.
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
        #[serde(default)]
        restart: Restart,
    },
    Pause {
        target: NodeTarget,
        nodes: NodeChoice,
        /// How the paused nodes are resumed.
        #[serde(default)]
        restart: Restart,
    },
    LoseUnsynced {
        target: NodeTarget,
        nodes: NodeChoice,
        #[serde(default)]
        restart: Restart,
        /// Keep a torn prefix of each file's unsynced tail, drawn from this seed (`None`: drop
        /// all of it).
        torn: Option<u64>,
    },
    Clock {
        target: NodeTarget,
        nodes: NodeChoice,
        /// The i-th node hit (in name order) gets the i-th change.
        changes: Vec<ClockChange>,
    },
    SlowLink {
        shape: PartitionShape,
        /// The slowed directed links; `None` when the shape needs the leader.
        links: Option<Grudge>,
        /// The fault of links from a node to one later in name order…
        up: Slow,
        /// …and of the other direction.
        down: Slow,
    },
    FlakyLink {
        shape: PartitionShape,
        links: Option<Grudge>,
        flaky: Flaky,
    },
    Leader {
        schedule: LeaderSchedule,
        #[serde(default)]
        crash: Crash,
    },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::Kill { .. } => FaultKind::Kill,
            Fault::Pause { .. } => FaultKind::Pause,
            Fault::LoseUnsynced { .. } => FaultKind::LoseUnsynced,
            Fault::Clock { .. } => FaultKind::Clock,
            Fault::SlowLink { .. } => FaultKind::SlowLink,
            Fault::FlakyLink { .. } => FaultKind::FlakyLink,
            Fault::Leader {
                schedule:
                    LeaderSchedule::CrashDuringSync { .. } | LeaderSchedule::RestartStaleQuorum { .. },
                ..
            } => FaultKind::SyncCrash,
            Fault::Leader { .. } => FaultKind::Leader,
        }
    }

    /// A short description for the progress line: `partition majorities-ring`, `kill leader`.
    pub fn describe(&self) -> String {
        match self {
            Fault::Partition { shape, .. } => format!("partition {}", shape.name()),
            Fault::Kill { target, .. }
            | Fault::Pause { target, .. }
            | Fault::LoseUnsynced { target, .. }
            | Fault::Clock { target, .. } => {
                format!("{} {}", self.kind().name(), target.name())
            }
            Fault::SlowLink { shape, .. } | Fault::FlakyLink { shape, .. } => {
                format!("{} {}", self.kind().name(), shape.name())
            }
            Fault::Leader { schedule, .. } => format!("leader {}", schedule.name()),
        }
    }

    /// How long the fault's own actions take at most (leader schedules), 0 for the others.
    pub fn duration_ms(&self) -> u64 {
        match self {
            Fault::Leader { schedule, .. } => schedule.duration_ms(),
            _ => 0,
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

/// What a plan is drawn from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    pub kinds: Vec<FaultKind>,
    pub nodes: Vec<String>,
    pub seed: u64,
    /// Length of each fault and of each quiet spell.
    pub interval_ms: u64,
    /// Length of the run; no fault starts after it.
    pub duration_ms: u64,
    /// The system's election timeout (the most a follower waits for its leader): leader
    /// schedules time themselves in it.
    pub election_timeout_ms: u64,
    /// How long a client waits for one request before it gives up (records `info`) and goes
    /// on with a fresh request: some leader pauses outlast it.
    pub client_timeout_ms: u64,
    /// The only schedules the `leader` kind draws (names of [`LeaderSchedule::NAMES`]);
    /// empty: every one.
    pub leader_schedules: Vec<String>,
}

/// The whole schedule of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub kinds: Vec<FaultKind>,
    pub interval_ms: u64,
    #[serde(default)]
    pub election_timeout_ms: u64,
    pub steps: Vec<Step>,
}

/// The election timeout assumed when none is given: one second.
pub const DEFAULT_ELECTION_TIMEOUT_MS: u64 = 1000;
/// The clients' request timeout assumed when none is given: `faultline test`'s default, 2 s.
pub const DEFAULT_CLIENT_TIMEOUT_MS: u64 = 2000;

impl Plan {
    /// [`Plan::generate_with`] with a one-second election timeout.
    pub fn generate(
        kinds: &[FaultKind],
        nodes: &[String],
        seed: u64,
        interval_ms: u64,
        duration_ms: u64,
    ) -> Plan {
        Plan::generate_with(&PlanConfig {
            kinds: kinds.to_vec(),
            nodes: nodes.to_vec(),
            seed,
            interval_ms,
            duration_ms,
            election_timeout_ms: DEFAULT_ELECTION_TIMEOUT_MS,
            client_timeout_ms: DEFAULT_CLIENT_TIMEOUT_MS,
            leader_schedules: Vec::new(),
        })
    }

    /// Draws a schedule: `interval_ms` of quiet, then a fault, then its heal `interval_ms`
    /// later (or, for a leader schedule that needs longer, its duration plus an election
    /// timeout later), and so on while the run lasts. Each fault's kind is drawn uniformly from
    /// the kinds, its shape or target uniformly from those of the kind, its parameters from
    /// their ranges. The same configuration gives the same plan.
    pub fn generate_with(c: &PlanConfig) -> Plan {
        let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0x6e65_6d65_7369_7321);
        let mut steps = Vec::new();
        let interval_ms = c.interval_ms.max(1);
        let election_ms = c.election_timeout_ms.max(1);
        let mut t = interval_ms;
        while !c.kinds.is_empty() && t < c.duration_ms {
            let kind = *c.kinds.choose(&mut rng).expect("kinds is not empty");
            let fault = draw_fault(kind, c, interval_ms, &mut rng);
            let window = interval_ms
                .max(fault.duration_ms() + election_ms * u64::from(fault.duration_ms() > 0));
            steps.push(Step {
                at_ms: t,
                action: StepAction::Fault(fault),
            });
            steps.push(Step {
                at_ms: t + window,
                action: StepAction::Heal,
            });
            t += window + interval_ms;
        }
        Plan {
            kinds: c.kinds.clone(),
            interval_ms,
            election_timeout_ms: election_ms,
            steps,
        }
    }
}

fn torn<R: Rng>(rng: &mut R) -> Option<u64> {
    rng.gen_bool(0.5).then(|| rng.gen())
}

fn draw_fault<R: Rng>(kind: FaultKind, c: &PlanConfig, interval_ms: u64, rng: &mut R) -> Fault {
    let nodes = &c.nodes;
    let node_fault = |rng: &mut R| {
        let target = *NodeTarget::ALL.choose(rng).expect("targets");
        (
            target,
            target.draw(nodes, rng),
            Restart::draw(interval_ms, rng),
        )
    };
    match kind {
        FaultKind::Partition => {
            let shape = *PartitionShape::ALL.choose(rng).expect("shapes");
            let grudge = shape.grudge(nodes, rng);
            Fault::Partition { shape, grudge }
        }
        FaultKind::Kill => {
            let (target, nodes, restart) = node_fault(rng);
            Fault::Kill {
                target,
                nodes,
                restart,
            }
        }
        FaultKind::Pause => {
            let (target, nodes, restart) = node_fault(rng);
            Fault::Pause {
                target,
                nodes,
                restart,
            }
        }
        FaultKind::LoseUnsynced => {
            let (target, nodes, restart) = node_fault(rng);
            Fault::LoseUnsynced {
                target,
                nodes,
                restart,
                torn: torn(rng),
            }
        }
        FaultKind::Clock => {
            let target = *NodeTarget::ALL.choose(rng).expect("targets");
            let nodes_hit = target.draw(nodes, rng);
            let changes = (0..nodes.len()).map(|_| ClockChange::draw(rng)).collect();
            Fault::Clock {
                target,
                nodes: nodes_hit,
                changes,
            }
        }
        FaultKind::SlowLink => {
            let shape = *PartitionShape::ALL.choose(rng).expect("shapes");
            Fault::SlowLink {
                shape,
                links: shape.grudge(nodes, rng),
                up: Slow::draw(rng),
                down: Slow::draw(rng),
            }
        }
        FaultKind::FlakyLink => {
            let shape = *PartitionShape::ALL.choose(rng).expect("shapes");
            Fault::FlakyLink {
                shape,
                links: shape.grudge(nodes, rng),
                flaky: Flaky::draw(rng),
            }
        }
        FaultKind::Leader | FaultKind::SyncCrash => {
            let e = c.election_timeout_ms.max(1);
            let schedule = if kind == FaultKind::SyncCrash {
                LeaderSchedule::draw_sync(nodes, e, rng)
            } else {
                LeaderSchedule::draw_only(&c.leader_schedules, nodes, e, c.client_timeout_ms, rng)
            };
            let crash = if c.kinds.contains(&FaultKind::LoseUnsynced) {
                Crash::LoseUnsynced { torn: torn(rng) }
            } else {
                Crash::Kill
            };
            Fault::Leader { schedule, crash }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn used(p: &Plan) -> std::collections::BTreeSet<FaultKind> {
        p.steps
            .iter()
            .filter_map(|s| match &s.action {
                StepAction::Fault(f) => Some(f.kind()),
                StepAction::Heal => None,
            })
            .collect()
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
        assert_eq!(used(&a).len(), 3);
    }

    #[test]
    fn every_kind_and_target_is_drawn_and_leader_schedules_get_their_time() {
        let c = PlanConfig {
            kinds: FaultKind::ALL.to_vec(),
            nodes: nodes(5),
            seed: 9,
            interval_ms: 1000,
            duration_ms: 2_000_000,
            election_timeout_ms: 1000,
            client_timeout_ms: 2000,
            leader_schedules: Vec::new(),
        };
        let p = Plan::generate_with(&c);
        assert_eq!(used(&p), FaultKind::ALL.into_iter().collect());
        let mut targets = std::collections::BTreeSet::new();
        let mut restarts = std::collections::BTreeSet::new();
        for w in p.steps.chunks(2) {
            let StepAction::Fault(f) = &w[0].action else {
                panic!("a fault first: {w:?}")
            };
            assert_eq!(w[1].action, StepAction::Heal);
            // The window holds the schedule's own actions and an election timeout after them.
            let window = w[1].at_ms - w[0].at_ms;
            assert!(
                window >= 1000 && window >= f.duration_ms(),
                "{f:?}: {window}"
            );
            if f.duration_ms() > 0 {
                assert_eq!(window, (f.duration_ms() + 1000).max(1000));
            }
            match f {
                Fault::Kill {
                    target, restart, ..
                } => {
                    targets.insert(target.name());
                    restarts.insert(restart.gap_ms() > 0);
                }
                Fault::Clock { changes, .. } => assert_eq!(changes.len(), 5),
                Fault::Leader { crash, .. } => {
                    assert!(matches!(crash, Crash::LoseUnsynced { .. }))
                }
                _ => {}
            }
        }
        assert_eq!(targets.len(), NodeTarget::ALL.len(), "{targets:?}");
        assert_eq!(restarts.len(), 2);
        assert_eq!(p, Plan::generate_with(&c));
    }

    #[test]
    fn no_kinds_no_steps() {
        assert!(Plan::generate(&[], &nodes(3), 1, 1000, 60_000)
            .steps
            .is_empty());
    }

    #[test]
    fn plan_round_trips_through_json() {
        let a = Plan::generate(&FaultKind::ALL, &nodes(5), 7, 500, 100_000);
        let j = serde_json::to_string(&a).unwrap();
        let b: Plan = serde_json::from_str(&j).unwrap();
        assert_eq!(a, b);
    }
}
