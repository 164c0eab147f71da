//! The lab's network in the kernel: a bridge in the root namespace with the subnet's first
//! address, one namespace per host joined to it by a veth pair (the host's address on `eth0`,
//! loopback up, no default route, so nothing leaves the machine; no NAT), and one iptables rule,
//! tagged with the lab's comment, that lets the bridge forward between its ports even under a
//! FORWARD policy of DROP. Removal finds everything by the lab's names and tag.

use super::error::LabError;
use super::plan::{host_addr, Lab, Subnet};
use super::shell::run;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The namespaces that exist whose name starts with `prefix`.
pub fn namespaces(ip: &Path, prefix: &str) -> Result<Vec<String>, LabError> {
    let out = run(ip, &["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// The links of the root namespace whose name starts with `prefix` (without `@peer`).
pub fn links(ip: &Path, prefix: &str) -> Result<Vec<String>, LabError> {
    let out = run(ip, &["-o", "link", "show"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .filter(|n| n.starts_with(prefix))
        .collect())
}

/// The IPv4 addresses of the root namespace as (device, address, prefix).
pub fn addresses(ip: &Path) -> Result<Vec<(String, Ipv4Addr, u8)>, LabError> {
    let out = run(ip, &["-o", "-4", "addr", "show"])?;
    let mut v = Vec::new();
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let (Some(dev), Some(pos)) = (w.get(1), w.iter().position(|x| *x == "inet")) {
            if let Some((a, p)) = w.get(pos + 1).and_then(|c| c.split_once('/')) {
                if let (Ok(a), Ok(p)) = (a.parse(), p.parse()) {
                    v.push((dev.to_string(), a, p));
                }
            }
        }
    }
    Ok(v)
}

/// Refuses a subnet that overlaps an address of the root namespace (outside this lab's bridge).
pub fn check_free(ip: &Path, lab: &Lab, subnet: &Subnet) -> Result<(), LabError> {
    for (dev, a, p) in addresses(ip)? {
        if dev != lab.bridge() && subnet.overlaps(a, p) {
            return Err(LabError::Overlap {
                subnet: subnet.to_string(),
                addr: format!("{a}/{p}"),
                dev,
            });
        }
    }
    Ok(())
}

/// The bridge, with the subnet's first address, up.
pub fn add_bridge(ip: &Path, lab: &Lab, subnet: &Subnet) -> Result<(), LabError> {
    let br = lab.bridge();
    let addr = format!("{}/{}", subnet.nth(1), subnet.prefix);
    run(ip, &["link", "add", &br, "type", "bridge"])?;
    run(ip, &["addr", "add", &addr, "dev", &br])?;
    run(ip, &["link", "set", &br, "up"])?;
    Ok(())
}

/// Host k's namespace, its veth pair on the bridge, its address and loopback.
pub fn add_host(ip: &Path, lab: &Lab, subnet: &Subnet, k: usize) -> Result<(), LabError> {
    let ns = lab.namespace(k);
    let veth = lab.veth(k);
    let addr = format!("{}/{}", host_addr(subnet, k), subnet.prefix);
    run(ip, &["netns", "add", &ns])?;
    run(
        ip,
        &[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ],
    )?;
    run(ip, &["link", "set", &veth, "master", &lab.bridge()])?;
    run(ip, &["link", "set", &veth, "up"])?;
    run(ip, &["-n", &ns, "link", "set", "lo", "up"])?;
    run(ip, &["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
    run(ip, &["-n", &ns, "link", "set", "eth0", "up"])?;
    Ok(())
}

/// The tagged rule that lets the bridge forward between its own ports.
pub fn add_forward_rule(iptables: &Path, lab: &Lab) -> Result<(), LabError> {
    let br = lab.bridge();
    let tag = lab.rule_tag();
    run(
        iptables,
        &[
            "-w",
            "-I",
            "FORWARD",
            "-i",
            &br,
            "-o",
            &br,
            "-m",
            "comment",
            "--comment",
            &tag,
            "-j",
            "ACCEPT",
        ],
    )?;
    Ok(())
}

/// Removes every rule of the root namespace's filter table that carries the lab's comment;
/// returns how many.
pub fn remove_tagged_rules(iptables: &Path, lab: &Lab) -> Result<usize, LabError> {
    let tag = lab.rule_tag();
    let rules = run(iptables, &["-w", "-S"])?;
    let mut n = 0;
    for rule in rules.lines() {
        let words: Vec<&str> = rule.split_whitespace().collect();
        if words.first() != Some(&"-A") || !words.contains(&tag.as_str()) {
            continue;
        }
        let mut args = vec!["-w", "-D"];
        args.extend(&words[1..]);
        run(iptables, &args)?;
        n += 1;
    }
    Ok(n)
}

/// Kills every process in namespace `ns` and waits (up to 5 s) until none is left; returns how
/// many there were.
pub fn kill_namespace_processes(ip: &Path, ns: &str) -> Result<usize, LabError> {
    let pids = |ns: &str| -> Result<Vec<i32>, LabError> {
        Ok(run(ip, &["netns", "pids", ns])?
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    };
    let first = pids(ns)?;
    for &p in &first {
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids(ns)?.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(first.len())
}

/// Deletes namespace `ns`.
pub fn delete_namespace(ip: &Path, ns: &str) -> Result<(), LabError> {
    run(ip, &["netns", "delete", ns]).map(|_| ())
}

/// Deletes link `name` of the root namespace; false when it was already gone (a veth goes with
/// its peer's namespace, a moment after the namespace is deleted).
pub fn delete_link(ip: &Path, name: &str) -> Result<bool, LabError> {
    match run(ip, &["link", "delete", name]) {
        Ok(_) => Ok(true),
        Err(LabError::Command { stderr, .. }) if stderr.contains("Cannot find device") => Ok(false),
        Err(e) => Err(e),
    }
}
