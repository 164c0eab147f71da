//! Deliberately re-introducible bugs, switched on only by `--bug NAME` (ARCHITECTURE.md). None
//! exist yet; the flag is in place so that adding one is a one-line switch in the core.

/// A bug that can be switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {}

/// The names `--bug` accepts.
pub const KNOWN: &[&str] = &[];

/// Parses a `--bug` value.
pub fn parse(name: &str) -> Result<Bug, String> {
    let known = if KNOWN.is_empty() {
        "none exist yet".to_string()
    } else {
        KNOWN.join(", ")
    };
    Err(format!("unknown bug {name:?} (known bugs: {known})"))
}
