//! `faultline cluster status`: for each host of the lab's hosts file, whether its namespace is
//! there and whether its sshd answers — by a real SSH login (the hosts file's user, key and
//! known_hosts, host key checked) running `true`, all hosts at once.

use super::error::LabError;
use super::network;
use super::plan::Lab;
use super::preflight;
use crate::remote::{HostsFile, RemoteHost, RetryPolicy, SshOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// One host's state.
#[derive(Debug)]
pub struct HostStatus {
    pub name: String,
    pub address: String,
    /// `None`: the host is not one of the lab's namespaces (named otherwise in the file).
    pub namespace: Option<(String, bool)>,
    /// How long `true` took over SSH, or why it failed.
    pub ssh: Result<Duration, String>,
}

impl HostStatus {
    pub fn is_up(&self) -> bool {
        self.ssh.is_ok() && self.namespace.as_ref().is_none_or(|(_, present)| *present)
    }

    /// One line for people.
    pub fn line(&self) -> String {
        let ns = match &self.namespace {
            Some((ns, true)) => format!("namespace {ns} present"),
            Some((ns, false)) => format!("namespace {ns} MISSING"),
            None => "no namespace of this lab".to_string(),
        };
        let ssh = match &self.ssh {
            Ok(d) => format!("sshd up (`true` over ssh in {} ms)", d.as_millis()),
            Err(e) => format!("sshd DOWN: {e}"),
        };
        format!("{}\t{}\t{ns}\t{ssh}", self.name, self.address)
    }
}

/// The state of every host of the lab in `dir`.
pub fn status(dir: &Path) -> Result<Vec<HostStatus>, LabError> {
    let lab = Lab::at(dir)?;
    let ip = preflight::ip()?;
    if !lab.hosts_file().exists() {
        return Err(LabError::NoLab { dir: lab.dir });
    }
    let file = HostsFile::read(&lab.hosts_file())?;
    let present = network::namespaces(&ip, &lab.namespace_prefix())?;
    let opts = file.options(SshOptions {
        connect_timeout: Duration::from_secs(3),
        io_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            attempts: 2,
            ..RetryPolicy::default()
        },
        ..SshOptions::default()
    });
    // One login per host, side by side (each takes a few hundred ms on the sshd side).
    let out = std::thread::scope(|scope| {
        let handles: Vec<_> = file
            .hosts
            .iter()
            .map(|spec| {
                let (lab, present, opts) = (&lab, &present, &opts);
                scope.spawn(move || {
                    let k = spec
                        .name
                        .strip_prefix('n')
                        .and_then(|k| k.parse::<usize>().ok());
                    let namespace = k.map(|k| {
                        let ns = lab.namespace(k);
                        let here = present.contains(&ns);
                        (ns, here)
                    });
                    let host = RemoteHost::new(spec.clone(), opts.clone());
                    let started = Instant::now();
                    let ssh = host
                        .run("true")
                        .map(|_| started.elapsed())
                        .map_err(|e| e.to_string());
                    HostStatus {
                        name: spec.name.clone(),
                        address: host.addr(),
                        namespace,
                        ssh,
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(&file.hosts)
            .map(|(h, spec)| {
                h.join().unwrap_or_else(|_| HostStatus {
                    name: spec.name.clone(),
                    address: spec.address.clone(),
                    namespace: None,
                    ssh: Err("the status check of this host panicked".into()),
                })
            })
            .collect::<Vec<_>>()
    });
    Ok(out)
}
