//! What the consistency checkers (sequential, ZooKeeper, causal) return, and the ladder of
//! models that says which is the strongest one a history satisfies.
//!
//! What `faultline check --consistency LIST` does with them:
//!
//! ```
//! use checkers::consistency::{applicable, check_model, parse_models, Ladder, Model};
//! use checkers::sequential::Budget;
//! use checkers::Validity;
//!
//! let jsonl = r#"{"index":0,"time":0,"type":"invoke","process":1,"f":"write","key":"x","value":1}
//! {"index":1,"time":1,"type":"ok","process":1,"f":"write","key":"x","value":1}
//! {"index":2,"time":2,"type":"invoke","process":2,"f":"read","key":"x","value":null}
//! {"index":3,"time":3,"type":"ok","process":2,"f":"read","key":"x","value":null}
//! "#;
//! let h = histories::parse_jsonl(jsonl).unwrap();
//! let models = parse_models("zookeeper,sequential,causal").unwrap(); // or applicable(&h)
//! assert_eq!(applicable(&h).len(), 6);
//! let budget = Budget::default(); // time and search-state budget for sequential / zookeeper
//! let mut verdicts = Vec::new();
//! for m in models {
//!     // Model::Linearizable: run crate::linear::check and push (m, its valid) instead
//!     let report = check_model(&h, m, &budget).unwrap();
//!     // results.json: "checkers": { m.name(): report.to_json() }; text: report.to_text()
//!     verdicts.push((m, report.valid));
//! }
//! let ladder = Ladder::from_verdicts(&verdicts);
//! assert_eq!(ladder.strongest, vec![Model::Zookeeper]);
//! println!("{}", ladder.summary); // "strongest model satisfied: zookeeper"
//! let exit = verdicts.iter().fold(Validity::Valid, |a, (_, v)| a.and(*v)).exit_code();
//! assert_eq!(exit, 0);
//! ```

mod ladder;
mod report;
mod run;

pub use ladder::{Ladder, LadderEntry};
pub use report::{anomaly, Model, ModelReport};
pub use run::{applicable, check_model, parse_models};
