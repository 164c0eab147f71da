//! A lab's names and addresses, all derived from its folder and subnet so that `status` and
//! `down` find what `up` made: a tag (6 hex digits of the sha256 of the folder's absolute path),
//! namespaces `fl-<tag>-n<k>`, a bridge `flbr-<tag>` holding the subnet's first address, veths
//! `flv<tag>-<k>` (the peer in host k's namespace is `eth0`), host k at the subnet's address
//! k + 1, and the iptables comment `faultline-lab-<tag>`.

use super::error::LabError;
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The default subnet of `cluster up`.
pub const DEFAULT_SUBNET: &str = "10.77.0.0/24";
/// The default folder of a lab.
pub const DEFAULT_DIR: &str = "faultline-lab";

/// An IPv4 subnet in a private range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// `a.b.c.d/p`: aligned, prefix 8–29, inside 10/8, 172.16/12 or 192.168/16 (so nothing of
    /// the outside world is shadowed).
    pub fn parse(s: &str) -> Result<Subnet, LabError> {
        let bad = |reason: &str| LabError::BadSubnet {
            subnet: s.to_string(),
            reason: reason.to_string(),
        };
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| bad("expected an IPv4 CIDR such as 10.77.0.0/24"))?;
        let network: Ipv4Addr = addr
            .parse()
            .map_err(|_| bad("expected an IPv4 CIDR such as 10.77.0.0/24"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=29).contains(p))
            .ok_or_else(|| bad("the prefix length must be between 8 and 29"))?;
        let mask = u32::MAX << (32 - prefix);
        if u32::from(network) & !mask != 0 {
            return Err(bad(&format!(
                "host bits are set; the network is {}/{prefix}",
                Ipv4Addr::from(u32::from(network) & mask)
            )));
        }
        if !network.is_private() {
            return Err(bad(
                "not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); a lab must not shadow real addresses",
            ));
        }
        Ok(Subnet { network, prefix })
    }

    /// Hosts the subnet holds beside the bridge (no network or broadcast address).
    pub fn capacity(&self) -> usize {
        (1usize << (32 - self.prefix)) - 3
    }

    /// The n-th address (0 = the network's).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + n)
    }

    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let mask = u32::MAX << (32 - self.prefix);
        u32::from(a) & mask == u32::from(self.network)
    }

    /// Whether `other` (an address with its prefix) and this subnet overlap.
    pub fn overlaps(&self, addr: Ipv4Addr, prefix: u8) -> bool {
        let p = prefix.min(self.prefix);
        let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
        u32::from(addr) & mask == u32::from(self.network) & mask
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A lab's folder and the tag its names carry.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    pub tag: String,
}

impl Lab {
    /// The lab in `dir` (made absolute; its parent's symlinks resolved when it exists).
    pub fn at(dir: &Path) -> Result<Lab, LabError> {
        let abs = std::path::absolute(dir).map_err(|source| LabError::Io {
            action: "resolve",
            path: dir.to_path_buf(),
            source,
        })?;
        let abs = match (abs.parent(), abs.file_name()) {
            (Some(p), Some(name)) => p
                .canonicalize()
                .map(|p| p.join(name))
                .unwrap_or(abs.clone()),
            _ => abs,
        };
        let digest = Sha256::digest(abs.as_os_str().as_encoded_bytes());
        let tag = digest[..3].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Lab { dir: abs, tag })
    }

    pub fn namespace(&self, k: usize) -> String {
        format!("{}n{k}", self.namespace_prefix())
    }

    /// What every namespace of this lab begins with.
    pub fn namespace_prefix(&self) -> String {
        format!("fl-{}-", self.tag)
    }

    pub fn bridge(&self) -> String {
        format!("flbr-{}", self.tag)
    }

    pub fn veth(&self, k: usize) -> String {
        format!("{}{k}", self.veth_prefix())
    }

    pub fn veth_prefix(&self) -> String {
        format!("flv{}-", self.tag)
    }

    /// The comment on this lab's iptables rules.
    pub fn rule_tag(&self) -> String {
        format!("faultline-lab-{}", self.tag)
    }

    pub fn host_name(k: usize) -> String {
        format!("n{k}")
    }

    /// Host k's folder (keys, sshd_config, pidfile, log).
    pub fn host_dir(&self, k: usize) -> PathBuf {
        self.dir.join(Lab::host_name(k))
    }

    pub fn hosts_file(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The harness's private key (its public half is `id.pub`).
    pub fn key(&self) -> PathBuf {
        self.dir.join("id")
    }

    pub fn authorized_keys(&self) -> PathBuf {
        self.dir.join("authorized_keys")
    }
}

/// Host k's address (k from 1): the subnet's address k + 1, after the bridge's.
pub fn host_addr(subnet: &Subnet, k: usize) -> Ipv4Addr {
    subnet.nth(k as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_checked() {
        let s = Subnet::parse("10.77.0.0/24").unwrap();
        assert_eq!(s.capacity(), 253);
        assert_eq!(s.nth(1), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(host_addr(&s, 3), Ipv4Addr::new(10, 77, 0, 4));
        assert!(s.contains(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!s.contains(Ipv4Addr::new(10, 77, 1, 2)));
        assert!(s.overlaps(Ipv4Addr::new(10, 0, 0, 5), 8));
        assert!(!s.overlaps(Ipv4Addr::new(10, 78, 0, 5), 24));
        assert_eq!(Subnet::parse("192.168.4.0/29").unwrap().capacity(), 5);
        for (bad, why) in [
            (
                "10.77.0.1/24",
                "host bits are set; the network is 10.77.0.0/24",
            ),
            ("8.8.8.0/24", "not a private range"),
            ("10.77.0.0", "expected an IPv4 CIDR"),
            ("10.77.0.0/30", "the prefix length must be between 8 and 29"),
            ("banana/24", "expected an IPv4 CIDR"),
        ] {
            let e = Subnet::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn names_fit_linux_interface_names_and_differ_per_folder() {
        let a = Lab::at(Path::new("/tmp/lab-a")).unwrap();
        let b = Lab::at(Path::new("/tmp/lab-b")).unwrap();
        assert_ne!(a.tag, b.tag);
        assert_eq!(a.tag, Lab::at(Path::new("/tmp/lab-a")).unwrap().tag);
        assert!(a.bridge().len() <= 15);
        assert!(a.veth(253).len() <= 15, "{}", a.veth(253));
        assert!(a.namespace(1).starts_with(&a.namespace_prefix()));
    }
}
