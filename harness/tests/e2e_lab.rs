//! `faultline cluster up|status|down` and the SSH layer against it, end to end (root only; prints
//! "skipped: …" and passes otherwise): a lab of 3 network-namespace hosts, each with its own sshd;
//! commands on each host over ssh2; an upload sent once and skipped the second time by its
//! checksum; a daemon spawned detached with a pidfile; a wrong host key, a wrong user key and an
//! unreachable address each refused in one sentence; and after `cluster down`, no namespace,
//! bridge, veth, iptables rule or process of the test left.

use harness::remote::{
    HostSpec, HostsFile, RemoteError, RemoteHost, RetryPolicy, SshOptions, Upload,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testkit::faultline::faultline;

/// This test's own subnet (issue 14), used by nothing else.
const SUBNET: &str = "10.213.14.0/24";

fn cluster(args: &[&str]) -> Output {
    Command::new(faultline())
        .arg("cluster")
        .args(args)
        .output()
        .expect("faultline runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sh(cmd: &str) -> String {
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Why the lab cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces and sshd need root)".into());
    }
    for (tool, package) in [
        ("/usr/sbin/sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
        ("ip", "iproute2"),
        ("iptables", "iptables"),
    ] {
        let found = if tool.starts_with('/') {
            Path::new(tool).exists()
        } else {
            harness::lab::preflight::which(tool).is_some()
        };
        if !found {
            return Some(format!("{tool} is missing (apt-get install {package})"));
        }
    }
    None
}

/// Takes the lab down however the test ends.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = cluster(&["down", "--dir", &self.0.to_string_lossy()]);
    }
}

/// Every pid whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(i32, String)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let c = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            c.contains(needle).then_some((pid, c))
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    // A zombie (already dead, not yet reaped) does not count.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

fn fingerprint_of(pubkey: &Path) -> String {
    let out = sh(&format!("ssh-keygen -lf {}", pubkey.display()));
    out.split_whitespace()
        .nth(1)
        .expect("ssh-keygen -l prints a fingerprint")
        .to_string()
}

fn one_sentence(e: &RemoteError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "not one line: {s}");
    s
}

#[test]
fn a_lab_of_three_hosts_over_ssh_and_nothing_left_after_down() {
    if let Some(why) = unavailable() {
        println!("skipped: {why}");
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("faultline-e2e-lab-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("lab");
    let d = dir.to_string_lossy().into_owned();
    let _down = Down(dir.clone());

    // Not root: one sentence, exit 254 (when the binary can be run as nobody here).
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(faultline())
        .args(["cluster", "up", "--dir", "/nonexistent/lab"])
        .output();
    if let Ok(o) = o {
        if o.status.code() == Some(254) {
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(e.contains("needs root"), "{}", text(&o));
            assert_eq!(e.trim().lines().count(), 1, "{}", text(&o));
        }
    }
    // A subnet that is not private: refused before anything is made.
    let o = cluster(&["up", "--hosts", "2", "--dir", &d, "--subnet", "8.8.8.0/24"]);
    assert_eq!(o.status.code(), Some(254), "{}", text(&o));
    assert!(text(&o).contains("not a private range"), "{}", text(&o));

    // up over an existing lab replaces it: 2 hosts, then 3.
    let o = cluster(&["up", "--hosts", "2", "--dir", &d, "--subnet", SUBNET]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cluster(&["up", "--hosts", "3", "--dir", &d, "--subnet", SUBNET]);
    assert!(o.status.success(), "{}", text(&o));
    let up = String::from_utf8_lossy(&o.stdout).into_owned();
    let namespaces: Vec<String> = up
        .split_whitespace()
        .filter(|w| w.starts_with("fl-"))
        .map(str::to_string)
        .collect();
    assert_eq!(namespaces.len(), 3, "{up}");
    let bridge = up
        .split_whitespace()
        .find(|w| w.starts_with("flbr-"))
        .expect("up names its bridge")
        .to_string();
    let tag = bridge.trim_start_matches("flbr-").to_string();
    let listed = sh("ip netns list");
    for ns in &namespaces {
        assert!(listed.contains(ns.as_str()), "{ns} not in {listed}");
    }
    // One sshd listener per host after replacing the lab (polled: a new sshd names itself
    // `[listener]` a moment after it accepts connections, and a probe's fork carries the title
    // until it renames itself).
    let listeners = || {
        processes_mentioning(&format!("{d}/"))
            .into_iter()
            .filter(|(p, c)| c.contains("[listener]") && alive(*p))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while listeners() != 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(listeners(), 3, "{:?}", processes_mentioning(&d));

    // status: all up, by an actual SSH login.
    let o = cluster(&["status", "--dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    let st = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(st.matches("present").count(), 3, "{st}");
    assert_eq!(st.matches("sshd up").count(), 3, "{st}");
    assert!(st.contains("all 3 hosts up"), "{st}");

    // The hosts file alone says how to log in.
    let file = HostsFile::read(&dir.join("hosts")).unwrap();
    assert_eq!(file.hosts.len(), 3);
    let opts = file.options(SshOptions::default());
    let hosts: Vec<RemoteHost> = file
        .hosts
        .iter()
        .map(|h| RemoteHost::new(h.clone(), opts.clone()))
        .collect();

    // A command on each host runs in that host's namespace.
    for h in &hosts {
        let o = h.run("ip -4 -o addr show dev eth0").unwrap();
        assert!(
            o.stdout.contains(&format!("{}/24", h.spec().address)),
            "{}: {o:?}",
            h.name()
        );
        let o = h.exec("echo out; echo err >&2; exit 3").unwrap();
        assert_eq!(
            (o.status, o.stdout.as_str(), o.stderr.as_str()),
            (3, "out\n", "err\n")
        );
    }
    let e = hosts[0].run("ls /nonexistent-faultline").unwrap_err();
    let s = one_sentence(&e);
    assert!(
        s.starts_with("`ls /nonexistent-faultline` on n1 exited with status 2: ")
            && s.contains("No such file"),
        "{s}"
    );

    // Upload a binary twice: sent, then skipped by the checksum; changed, sent again.
    let local = tmp.path().join("payload");
    std::fs::copy(faultline(), &local).unwrap();
    let size = std::fs::metadata(&local).unwrap().len();
    let remote = dir
        .join("remote/n2/bin/payload")
        .to_string_lossy()
        .into_owned();
    let first = hosts[1].upload(&local, &remote, 0o755).unwrap();
    assert!(
        matches!(first, Upload::Sent { bytes, .. } if bytes == size),
        "{first:?}"
    );
    let second = hosts[1].upload(&local, &remote, 0o755).unwrap();
    assert!(matches!(second, Upload::Unchanged { .. }), "{second:?}");
    let o = hosts[1].run(&format!("{remote} --version")).unwrap();
    assert!(o.stdout.starts_with("faultline"), "{o:?}");
    std::fs::write(&local, b"changed").unwrap();
    let third = hosts[1].upload(&local, &remote, 0o644).unwrap();
    assert!(matches!(third, Upload::Sent { bytes: 7, .. }), "{third:?}");
    let back = tmp.path().join("back/payload");
    assert_eq!(hosts[1].download(&remote, &back).unwrap(), 7);
    assert_eq!(std::fs::read(&back).unwrap(), b"changed");

    // A daemon spawned detached lives in its host's namespace, outlives the connection, and is
    // signalled through its pidfile; one more is left running for `down` to remove.
    let run_dir = dir.join("remote/n3/run").to_string_lossy().into_owned();
    let pidfile = format!("{run_dir}/sleeper.pid");
    let pid = hosts[2]
        .spawn_detached(
            &run_dir,
            "sleep 300",
            &pidfile,
            &format!("{run_dir}/sleeper.log"),
        )
        .unwrap();
    hosts[2].disconnect();
    assert!(hosts[2].is_alive(&pidfile).unwrap());
    let in_ns = sh(&format!("ip netns pids {}", namespaces[2]));
    assert!(
        in_ns.split_whitespace().any(|p| p == pid.to_string()),
        "{pid} not in {in_ns}"
    );
    assert!(hosts[2].signal(&pidfile, "TERM").unwrap());
    let deadline = Instant::now() + Duration::from_secs(5);
    while hosts[2].is_alive(&pidfile).unwrap() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!hosts[2].is_alive(&pidfile).unwrap());
    let left = hosts[0]
        .spawn_detached(
            &run_dir,
            "sleep 300",
            &format!("{run_dir}/left.pid"),
            "/dev/null",
        )
        .unwrap() as i32;
    assert!(alive(left));

    // A wrong known_hosts entry: n1's address with n2's key. Refused, naming n1 and the
    // fingerprint of the key n1 offered.
    let n1_key = std::fs::read_to_string(dir.join("n1/ssh_host_ed25519_key.pub")).unwrap();
    let n2_key = std::fs::read_to_string(dir.join("n2/ssh_host_ed25519_key.pub")).unwrap();
    let n1_fp = fingerprint_of(&dir.join("n1/ssh_host_ed25519_key.pub"));
    let n2_blob: Vec<&str> = n2_key.split_whitespace().take(2).collect();
    let wrong = tmp.path().join("wrong_known_hosts");
    std::fs::write(
        &wrong,
        format!("{} {}\n", file.hosts[0].address, n2_blob.join(" ")),
    )
    .unwrap();
    let strict = SshOptions {
        known_hosts: Some(wrong.clone()),
        ..opts.clone()
    };
    let e = RemoteHost::new(file.hosts[0].clone(), strict.clone())
        .run("true")
        .unwrap_err();
    let s = one_sentence(&e);
    assert!(matches!(e, RemoteError::HostKeyMismatch { .. }), "{s}");
    assert!(s.contains("n1") && s.contains(&n1_fp), "{s} (want {n1_fp})");
    // Not in the file at all: refused, naming the host and the fingerprint.
    std::fs::write(&wrong, "").unwrap();
    let e = RemoteHost::new(file.hosts[0].clone(), strict.clone())
        .run("true")
        .unwrap_err();
    let s = one_sentence(&e);
    assert!(matches!(e, RemoteError::UnknownHostKey { .. }), "{s}");
    assert!(
        s.contains("n1") && s.contains(&n1_fp) && s.contains("ssh-ed25519"),
        "{s}"
    );
    // Unless strictness is off.
    let lax = SshOptions {
        strict_host_keys: false,
        ..strict
    };
    RemoteHost::new(file.hosts[0].clone(), lax)
        .run("true")
        .unwrap();
    assert!(n1_key.starts_with("ssh-ed25519 "));

    // A wrong user key: one sentence naming the host, the user and the key.
    let other = tmp.path().join("other_id");
    sh(&format!(
        "ssh-keygen -q -t ed25519 -N '' -f {}",
        other.display()
    ));
    let e = RemoteHost::new(
        file.hosts[0].clone(),
        SshOptions {
            key: Some(other.clone()),
            ..opts.clone()
        },
    )
    .run("true")
    .unwrap_err();
    let s = one_sentence(&e);
    assert!(matches!(e, RemoteError::AuthFailed { .. }), "{s}");
    assert!(
        s.starts_with("cannot log in to n1 (") && s.contains(&other.display().to_string()),
        "{s}"
    );

    // An address of the subnet where no host is: fails within a bounded time, naming it.
    let ghost = HostSpec {
        name: "ghost".into(),
        address: "10.213.14.200".into(),
        port: None,
    };
    let started = Instant::now();
    let e = RemoteHost::new(
        ghost,
        SshOptions {
            connect_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                attempts: 2,
                base: Duration::from_millis(100),
                max: Duration::from_millis(200),
            },
            ..opts.clone()
        },
    )
    .run("true")
    .unwrap_err();
    let took = started.elapsed();
    let s = one_sentence(&e);
    assert!(matches!(e, RemoteError::Unreachable { .. }), "{s}");
    assert!(s.contains("ghost") && s.contains("10.213.14.200"), "{s}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {s}");

    // A host whose sshd died: status says which, and exits 255.
    let sshd_pid: i32 = std::fs::read_to_string(dir.join("n3/sshd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill has no memory preconditions.
    unsafe {
        libc::kill(sshd_pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(sshd_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = cluster(&["status", "--dir", &d]);
    assert_eq!(o.status.code(), Some(255), "{}", text(&o));
    let st = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(st.matches("sshd up").count(), 2, "{st}");
    assert!(
        st.lines()
            .any(|l| l.starts_with("n3\t") && l.contains("sshd DOWN: cannot reach n3")),
        "{st}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 of 3 hosts"),
        "{}",
        text(&o)
    );

    // down: nothing of the test is left.
    drop(hosts);
    let o = cluster(&["down", "--dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("3 namespaces") && out.contains("2 sshds"),
        "{out}"
    );
    let listed = sh("ip netns list");
    assert!(!listed.contains(&format!("fl-{tag}-")), "{listed}");
    let links = sh("ip -o link show");
    assert!(
        !links.contains(&bridge) && !links.contains(&format!("flv{tag}-")),
        "{links}"
    );
    let rules = sh("iptables -w -S");
    assert!(!rules.contains(&format!("faultline-lab-{tag}")), "{rules}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(left) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(left), "the daemon left on n1 survived down");
    let procs: Vec<_> = processes_mentioning(&format!("{d}/"))
        .into_iter()
        .filter(|(p, _)| alive(*p))
        .collect();
    assert!(procs.is_empty(), "processes of the lab remain: {procs:?}");
    assert!(!dir.join("id").exists() && !dir.join("hosts").exists());

    // down with nothing there says so and exits 0.
    let o = cluster(&["down", "--dir", &d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing to remove"),
        "{}",
        text(&o)
    );
    // status with no lab: one sentence, 254.
    let o = cluster(&["status", "--dir", &d]);
    assert_eq!(o.status.code(), Some(254), "{}", text(&o));
    assert!(text(&o).contains("there is no lab in"), "{}", text(&o));
}
