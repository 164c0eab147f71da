//! The kinds of fault a run may use, parsed from `--nemesis`.

use crate::NemesisError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Network partitions through the harness's proxy.
    Partition,
    /// kill -9 and restart.
    Kill,
    /// SIGSTOP and SIGCONT.
    Pause,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
        }
    }
}

/// Parses `none`, one kind, or a comma-separated list (`partition,kill,pause`). Duplicates are
/// ignored; the order is normalised so that the same set always gives the same plan.
pub fn parse_kinds(s: &str) -> Result<Vec<FaultKind>, NemesisError> {
    let mut kinds = Vec::new();
    for part in s.split(',').map(str::trim) {
        let k = match part {
            "none" | "" => continue,
            "partition" | "partitions" => FaultKind::Partition,
            "kill" | "crash" => FaultKind::Kill,
            "pause" => FaultKind::Pause,
            other => return Err(NemesisError::UnknownKind(other.to_string())),
        };
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    kinds.sort();
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_rejects_unknown_kinds() {
        assert_eq!(parse_kinds("none").unwrap(), vec![]);
        assert_eq!(
            parse_kinds("pause,partition,kill,pause").unwrap(),
            vec![FaultKind::Partition, FaultKind::Kill, FaultKind::Pause]
        );
        let e = parse_kinds("partition,flood").unwrap_err();
        assert!(e.to_string().contains("\"flood\""));
    }
}
