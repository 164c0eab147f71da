//! `faultline cluster down`: removes everything of the lab in a folder — its sshds and every
//! other process in its namespaces, the namespaces, veths and bridge, the iptables rules tagged
//! with its comment, and its keys and files — found by the names and tag derived from the
//! folder, so it works after a crash and when nothing is there.

use super::error::LabError;
use super::keys::remove_if_there;
use super::network;
use super::plan::Lab;
use super::preflight::Tools;
use super::sshd;

/// What a removal found and removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removed {
    pub sshds: usize,
    pub processes: usize,
    pub namespaces: usize,
    pub links: usize,
    pub rules: usize,
    pub files: usize,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        *self == Removed::default()
    }

    /// `3 namespaces, 3 sshds, …` (the non-zero counts).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.namespaces, "namespace", "namespaces"),
            (self.sshds, "sshd", "sshds"),
            (self.processes, "other process", "other processes"),
            (self.links, "link (bridge, veths)", "links (bridge, veths)"),
            (self.rules, "iptables rule", "iptables rules"),
            (self.files, "file", "files"),
        ]
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
        parts.join(", ")
    }
}

/// Removes the lab (whatever of it exists).
pub fn remove(lab: &Lab, tools: &Tools) -> Result<Removed, LabError> {
    let mut r = Removed {
        sshds: sshd::stop_all(lab),
        ..Removed::default()
    };
    for ns in network::namespaces(&tools.ip, &lab.namespace_prefix())? {
        r.processes += network::kill_namespace_processes(&tools.ip, &ns)?;
        network::delete_namespace(&tools.ip, &ns)?;
        r.namespaces += 1;
    }
    r.processes = r.processes.saturating_sub(r.sshds);
    for veth in network::links(&tools.ip, &lab.veth_prefix())? {
        r.links += usize::from(network::delete_link(&tools.ip, &veth)?);
    }
    if network::links(&tools.ip, &lab.bridge())?.contains(&lab.bridge()) {
        r.links += usize::from(network::delete_link(&tools.ip, &lab.bridge())?);
    }
    r.rules = network::remove_tagged_rules(&tools.iptables, lab)?;
    r.files = remove_files(lab)?;
    Ok(r)
}

/// The lab's files: keys, hosts file, known_hosts, each host's folder; then the folder itself if
/// that left it empty.
fn remove_files(lab: &Lab) -> Result<usize, LabError> {
    let mut n = 0;
    let id_pub = super::keys::public_of(&lab.key());
    for p in [
        lab.hosts_file(),
        lab.known_hosts(),
        lab.key(),
        id_pub,
        lab.authorized_keys(),
    ] {
        n += usize::from(remove_if_there(&p)?);
    }
    let Ok(entries) = std::fs::read_dir(&lab.dir) else {
        return Ok(n);
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let is_host = name
            .strip_prefix('n')
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
        if is_host && e.path().join("sshd_config").exists() {
            std::fs::remove_dir_all(e.path()).map_err(|source| LabError::Io {
                action: "remove",
                path: e.path(),
                source,
            })?;
            n += 1;
        }
    }
    if std::fs::read_dir(&lab.dir).is_ok_and(|mut d| d.next().is_none()) {
        let _ = std::fs::remove_dir(&lab.dir);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::Removed;

    #[test]
    fn summaries_name_the_counts() {
        assert_eq!(Removed::default().summary(), "");
        let r = Removed {
            sshds: 3,
            namespaces: 3,
            links: 4,
            rules: 1,
            files: 8,
            processes: 0,
        };
        assert_eq!(
            r.summary(),
            "3 namespaces, 3 sshds, 4 links (bridge, veths), 1 iptables rule, 8 files"
        );
    }
}
