//! Errors of workload configuration.

#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("unknown workload {0:?}: use register, set, kv, list-append, rw-register or bank")]
    UnknownWorkload(String),
    #[error("bad operation mix {0:?}: give read,write,cas weights such as 50,30,20")]
    BadMix(String),
}
