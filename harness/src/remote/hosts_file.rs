//! The hosts file: which hosts a run controls and how to log in to them, so that
//! `--hosts-file FILE` needs no other option.
//!
//! ```text
//! # comments and blank lines are ignored
//! user = root                        # settings: `key = value`, before or between hosts
//! key = id                           # relative paths are relative to the file's folder
//! known_hosts = known_hosts
//! port = 22
//! n1 10.77.0.2                       # a host: `name address[:port]`
//! n2 10.77.0.3:2222
//! 10.77.0.4                          # an address alone is its own name
//! ```
//!
//! Settings: `user`, `key`, `known_hosts`, `port`. Names and addresses are unique.

use super::error::RemoteError;
use super::options::SshOptions;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One host: the name the harness calls it by and where it listens for SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    /// An IP address or a DNS name.
    pub address: String,
    /// `None`: the options' port.
    pub port: Option<u16>,
}

/// A parsed hosts file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsFile {
    pub hosts: Vec<HostSpec>,
    pub user: Option<String>,
    pub key: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    pub port: Option<u16>,
}

impl HostsFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<HostsFile, RemoteError> {
        let text = std::fs::read_to_string(path).map_err(|source| RemoteError::Local {
            action: "read the hosts file",
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        HostsFile::parse(&text, path, base)
    }

    /// Parses `text` (read from `path`, for messages); relative paths are taken from `base`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<HostsFile, RemoteError> {
        let mut f = HostsFile::default();
        let mut names = BTreeSet::new();
        let mut addrs = BTreeSet::new();
        for (i, raw) in text.lines().enumerate() {
            let err = |reason: String| RemoteError::HostsFile {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let (k, v) = (k.trim(), v.trim());
                if v.is_empty() {
                    return Err(err(format!("the setting {k:?} has no value")));
                }
                let rel = |v: &str| {
                    let p = PathBuf::from(v);
                    if p.is_absolute() {
                        p
                    } else {
                        base.join(p)
                    }
                };
                match k {
                    "user" => f.user = Some(v.to_string()),
                    "key" => f.key = Some(rel(v)),
                    "known_hosts" => f.known_hosts = Some(rel(v)),
                    "port" => f.port = Some(parse_port(v).map_err(err)?),
                    _ => {
                        return Err(err(format!(
                            "unknown setting {k:?} (known: user, key, known_hosts, port)"
                        )))
                    }
                }
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let (name, addr) = match words[..] {
                [a] => (a, a),
                [n, a] => (n, a),
                _ => {
                    return Err(err(format!(
                        "expected `name address[:port]` or `setting = value`, found {line:?}"
                    )))
                }
            };
            let (address, port) = split_port(addr).map_err(err)?;
            if !names.insert(name.to_string()) {
                return Err(err(format!("the host name {name:?} appears twice")));
            }
            if !addrs.insert((address.clone(), port)) {
                return Err(err(format!("the address {addr:?} appears twice")));
            }
            f.hosts.push(HostSpec {
                name: name.to_string(),
                address,
                port,
            });
        }
        if f.hosts.is_empty() {
            return Err(RemoteError::HostsFile {
                path: path.to_path_buf(),
                line: text.lines().count().max(1),
                reason: "the file names no host (add lines `name address`)".into(),
            });
        }
        Ok(f)
    }

    /// The file's text, with a header saying what it is.
    pub fn render(&self, header: &str) -> String {
        let mut s = String::new();
        for l in header.lines() {
            let _ = writeln!(s, "# {l}");
        }
        if let Some(u) = &self.user {
            let _ = writeln!(s, "user = {u}");
        }
        if let Some(k) = &self.key {
            let _ = writeln!(s, "key = {}", k.display());
        }
        if let Some(k) = &self.known_hosts {
            let _ = writeln!(s, "known_hosts = {}", k.display());
        }
        if let Some(p) = self.port {
            let _ = writeln!(s, "port = {p}");
        }
        for h in &self.hosts {
            match h.port {
                Some(p) => {
                    let _ = writeln!(s, "{} {}:{p}", h.name, h.address);
                }
                None => {
                    let _ = writeln!(s, "{} {}", h.name, h.address);
                }
            }
        }
        s
    }

    /// `defaults` with this file's settings laid over them.
    pub fn options(&self, defaults: SshOptions) -> SshOptions {
        SshOptions {
            user: self.user.clone().unwrap_or(defaults.user),
            key: self.key.clone().or(defaults.key),
            known_hosts: self.known_hosts.clone().or(defaults.known_hosts),
            port: self.port.unwrap_or(defaults.port),
            ..defaults
        }
    }
}

fn parse_port(v: &str) -> Result<u16, String> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{v:?} is not a port (1-65535)")),
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_port(addr: &str) -> Result<(String, Option<u16>), String> {
    if let Some(rest) = addr.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("{addr:?} has no closing ]"))?;
        return match tail.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), Some(parse_port(p)?))),
            None if tail.is_empty() => Ok((host.to_string(), None)),
            None => Err(format!("{addr:?}: unexpected {tail:?} after ]")),
        };
    }
    match addr.split_once(':') {
        Some((h, p)) if !p.contains(':') => Ok((h.to_string(), Some(parse_port(p)?))),
        _ => Ok((addr.to_string(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HostsFile, RemoteError> {
        HostsFile::parse(text, Path::new("/lab/hosts"), Path::new("/lab"))
    }

    #[test]
    fn parses_settings_and_hosts() {
        let f = parse(
            "# lab\nuser = root\nkey = id\nknown_hosts = /etc/kh # abs\nport = 2200\n\
             n1 10.77.0.2\nn2 10.77.0.3:22\n10.77.0.4\n[::1]:23\n",
        )
        .unwrap();
        assert_eq!(f.user.as_deref(), Some("root"));
        assert_eq!(f.key.as_deref(), Some(Path::new("/lab/id")));
        assert_eq!(f.known_hosts.as_deref(), Some(Path::new("/etc/kh")));
        assert_eq!(f.port, Some(2200));
        let names: Vec<_> = f.hosts.iter().map(|h| (h.name.as_str(), h.port)).collect();
        assert_eq!(
            names,
            [
                ("n1", None),
                ("n2", Some(22)),
                ("10.77.0.4", None),
                ("[::1]:23", Some(23))
            ]
        );
        assert_eq!(f.hosts[3].address, "::1");
        let o = f.options(SshOptions::default());
        assert_eq!((o.user.as_str(), o.port), ("root", 2200));
    }

    #[test]
    fn renders_what_it_parses() {
        let f = parse("user = u\nkey = /k\nknown_hosts = /kh\nn1 10.0.0.2\nn2 10.0.0.3:2222\n")
            .unwrap();
        let again = parse(&f.render("a lab\nof two")).unwrap();
        assert_eq!(f, again);
    }

    #[test]
    fn bad_lines_are_one_sentence_with_the_line() {
        for (text, want) in [
            ("n1 a b\n", "/lab/hosts:1: expected `name address[:port]`"),
            (
                "user = u\ncolour = red\n",
                "/lab/hosts:2: unknown setting \"colour\"",
            ),
            (
                "n1 10.0.0.2:99999\n",
                "/lab/hosts:1: \"99999\" is not a port",
            ),
            (
                "n1 a\nn1 b\n",
                "/lab/hosts:2: the host name \"n1\" appears twice",
            ),
            (
                "n1 a\nn2 a\n",
                "/lab/hosts:2: the address \"a\" appears twice",
            ),
            ("# nothing\n", "/lab/hosts:1: the file names no host"),
            (
                "key =\nn1 a\n",
                "/lab/hosts:1: the setting \"key\" has no value",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert!(!e.contains('\n'));
        }
    }
}
