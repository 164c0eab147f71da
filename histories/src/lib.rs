//! Operation and history types of faultline (ARCHITECTURE.md, Contract 1): the JSONL journal,
//! its streaming reader and appending writer, well-formedness validation, pairing of invocations
//! and completions into operations, and importers for other tools' histories (Jepsen
//! `history.edn`, Porcupine's etcd and kv logs).

mod builder;
pub mod edn;
mod error;
mod event;
mod format;
mod history;
mod jepsen;
mod jsonl;
mod operation;
mod porcupine;

pub use builder::HistoryBuilder;
pub use error::{HistoryError, LineError, TornLine};
pub use event::{Event, EventType, Process};
pub use format::{detect_format, load_file, load_str, Format};
pub use history::{History, TimeReversals};
pub use jepsen::parse_jepsen_edn;
pub use jsonl::{parse_jsonl, read_jsonl, JournalWriter};
pub use operation::{OpStatus, Operation, NEVER};
pub use porcupine::parse_porcupine_etcd;
