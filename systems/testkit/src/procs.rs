//! Looking at processes through /proc: whether one is alive, and whose children are whose.

/// The state letter and the parent pid of `pid`, from /proc/PID/stat.
fn stat(pid: u32) -> Option<(String, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (in parentheses) may hold spaces: the fields start after its last ')'.
    let mut fields = s.rsplit(')').next()?.split_whitespace();
    let state = fields.next()?.to_string();
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether a process with this pid exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != "Z" && state != "X")
}

/// Pids of the direct children of `parent`.
pub fn children(parent: u32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|(_, ppid)| ppid == parent))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_seen_alive_then_gone() {
        let mut c = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(alive(c.id()));
        assert!(children(std::process::id()).contains(&c.id()));
        c.kill().unwrap();
        c.wait().unwrap();
        assert!(!alive(c.id()));
        assert!(!children(std::process::id()).contains(&c.id()));
    }
}
