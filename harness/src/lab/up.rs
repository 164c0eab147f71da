//! `faultline cluster up`: replaces any lab in the folder, then makes the bridge, the hosts
//! (namespace, veth, address, host key, sshd), the harness's key, and writes DIR/hosts,
//! DIR/known_hosts and DIR/id. If any step fails, what was made is removed again.

use super::down::remove;
use super::error::LabError;
use super::keys::{generate, public_of, read_public};
use super::network;
use super::plan::{host_addr, Lab, Subnet};
use super::preflight::{require_root, tools, Tools};
use super::sshd::{self, SshdFiles};
use crate::remote::{HostSpec, HostsFile};
use std::path::Path;
use std::time::Instant;

/// What `up` made.
#[derive(Debug)]
pub struct Made {
    pub lab: Lab,
    pub subnet: Subnet,
    pub hosts: Vec<HostSpec>,
}

/// Makes a lab of `n` hosts in `dir` on `subnet`.
pub fn up(n: usize, dir: &Path, subnet: &str) -> Result<Made, LabError> {
    require_root()?;
    let tools = tools()?;
    let subnet = Subnet::parse(subnet)?;
    if n == 0 || n > subnet.capacity() {
        return Err(LabError::BadHosts {
            hosts: n,
            reason: format!("a lab on {subnet} holds 1 to {} hosts", subnet.capacity()),
        });
    }
    let lab = Lab::at(dir)?;
    let old = remove(&lab, &tools)?;
    if !old.is_empty() {
        tracing::info!(
            "replaced the old lab in {}: {}",
            lab.dir.display(),
            old.summary()
        );
    }
    network::check_free(&tools.ip, &lab, &subnet)?;
    let started = Instant::now();
    match make(&lab, &tools, &subnet, n) {
        Ok(hosts) => {
            tracing::info!("lab of {n} hosts up in {:?}", started.elapsed());
            Ok(Made { lab, subnet, hosts })
        }
        Err(e) => {
            if let Err(cleanup) = remove(&lab, &tools) {
                tracing::warn!("cleaning up the half-made lab failed too: {cleanup}");
            }
            Err(e)
        }
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LabError + 'a {
    move |source| LabError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(io("write", path))
}

fn make(lab: &Lab, tools: &Tools, subnet: &Subnet, n: usize) -> Result<Vec<HostSpec>, LabError> {
    std::fs::create_dir_all(&lab.dir).map_err(io("create", &lab.dir))?;
    sshd::ensure_privsep_dir()?;
    generate(&tools.ssh_keygen, &lab.key(), "faultline-lab harness")?;
    let authorized = read_public(&public_of(&lab.key()))?;
    write(&lab.authorized_keys(), &format!("{authorized}\n"))?;

    network::add_bridge(&tools.ip, lab, subnet)?;
    network::add_forward_rule(&tools.iptables, lab)?;
    let mut known_hosts = String::new();
    let mut hosts = Vec::with_capacity(n);
    for k in 1..=n {
        let addr = host_addr(subnet, k);
        let dir = lab.host_dir(k);
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        network::add_host(&tools.ip, lab, subnet, k)?;
        let files = SshdFiles::of(lab, k);
        generate(
            &tools.ssh_keygen,
            &files.host_key,
            &format!("faultline-lab host {}", Lab::host_name(k)),
        )?;
        write(&files.config, &sshd::config_text(lab, &files, addr))?;
        sshd::start(&tools.ip, &tools.sshd, lab, k)?;
        let host_key = read_public(&public_of(&files.host_key))?;
        known_hosts.push_str(&format!("{addr} {host_key}\n"));
        hosts.push(HostSpec {
            name: Lab::host_name(k),
            address: addr.to_string(),
            port: None,
        });
    }
    for k in 1..=n {
        sshd::wait_ready(lab, k, host_addr(subnet, k))?;
    }
    write(&lab.known_hosts(), &known_hosts)?;
    let file = HostsFile {
        hosts: hosts.clone(),
        user: Some("root".to_string()),
        key: Some(lab.key()),
        known_hosts: Some(lab.known_hosts()),
        port: Some(22),
    };
    let header = format!(
        "faultline lab of {n} hosts on {subnet} (faultline cluster up; removed by faultline cluster down --dir {dir}).\n\
         Format: `setting = value` lines (user, key, known_hosts, port), then one host a line: `name address[:port]`.\n\
         Use it with --hosts-file {hosts}",
        dir = lab.dir.display(),
        hosts = lab.hosts_file().display(),
    );
    write(&lab.hosts_file(), &file.render(&header))?;
    Ok(hosts)
}
