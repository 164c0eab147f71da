//! Clock faults seen from inside a real process: a probe (this test binary, re-run under
//! libfaketime with a node's control file) prints its wall and monotonic clocks every 20 ms while
//! the harness rewrites the control file. Prints "skipped: <why>" without libfaketime.

use harness::control::{libfaketime, NodeClock};
use nemeses::ClockChange;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ms(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain syscall into a valid timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// The probe: wall and monotonic milliseconds, one line every 20 ms, for 30 s at most.
#[test]
#[ignore = "helper: run by the other tests under libfaketime"]
fn helper_clock_probe() {
    if std::env::var_os("FAULTLINE_CLOCK_PROBE").is_none() {
        return;
    }
    for _ in 0..1500 {
        println!(
            "probe {} {}",
            now_ms(libc::CLOCK_REALTIME),
            now_ms(libc::CLOCK_MONOTONIC)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One probe line: (our real wall clock when read, the probe's wall clock, its monotonic clock).
type Sample = (i64, i64, i64);

struct Probe {
    child: std::process::Child,
    rx: mpsc::Receiver<Sample>,
}

impl Probe {
    fn start(clock: &NodeClock) -> Probe {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "helper_clock_probe", "--ignored", "--nocapture"])
            .env("FAULTLINE_CLOCK_PROBE", "1")
            .envs(clock.env())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() == 3 && f[0] == "probe" {
                    let real = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap()
                        .as_millis() as i64;
                    if tx
                        .send((real, f[1].parse().unwrap(), f[2].parse().unwrap()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        // The probe is this test binary started again: on a fresh build its first start reads
        // it from disk, which can take longer than any sampling window. Wait for its first line.
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!("the probe printed nothing within 30 s of its start");
        }
        Probe { child, rx }
    }

    /// Samples printed during the next `d`.
    fn samples(&self, d: Duration) -> Vec<Sample> {
        while self.rx.try_recv().is_ok() {}
        let end = Instant::now() + d;
        let mut v = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if let Ok(s) = self.rx.recv_timeout(left) {
                v.push(s);
            }
        }
        assert!(!v.is_empty(), "the probe printed nothing");
        v
    }

    /// The probe's wall clock minus the real one, in ms, once the change has taken.
    fn offset(&self) -> i64 {
        let s = self.samples(Duration::from_millis(300));
        let (real, fake, _) = s[s.len() - 1];
        fake - real
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> Option<(tempfile::TempDir, NodeClock)> {
    let lib = match libfaketime() {
        Ok(l) => l,
        Err(e) => {
            println!("skipped: {e}");
            return None;
        }
    };
    let d = tempfile::tempdir().unwrap();
    let c = NodeClock::new(&d.path().join("n1.faketime"), &lib).unwrap();
    Some((d, c))
}

fn near(x: i64, want: i64, slack: i64) -> bool {
    (x - want).abs() <= slack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jumps_and_strobes_are_visible_to_a_running_process_on_both_clocks() {
    let Some((_d, mut clock)) = setup() else {
        return;
    };
    let probe = Probe::start(&clock);
    assert!(near(probe.offset(), 0, 500), "an untouched clock is right");
    let before = probe.samples(Duration::from_millis(100));
    clock
        .set(Some(&ClockChange::Jump { offset_ms: 120_000 }))
        .unwrap();
    assert!(near(probe.offset(), 120_000, 500));
    let after = probe.samples(Duration::from_millis(100));
    // The monotonic clock jumped forward with the wall clock.
    let (b, a) = (before[before.len() - 1], after[after.len() - 1]);
    let mono_jump = (a.2 - b.2) - (a.0 - b.0);
    assert!(
        near(mono_jump, 120_000, 500),
        "monotonic moved {mono_jump} ms"
    );
    clock
        .set(Some(&ClockChange::Jump { offset_ms: -30_500 }))
        .unwrap();
    assert!(near(probe.offset(), -30_500, 500));
    clock
        .set(Some(&ClockChange::Strobe {
            delta_ms: 5_000,
            period_ms: 50,
        }))
        .unwrap();
    let s = probe.samples(Duration::from_millis(800));
    let ahead = s.iter().filter(|x| near(x.1 - x.0, 5_000, 500)).count();
    let right = s.iter().filter(|x| near(x.1 - x.0, 0, 500)).count();
    assert!(
        ahead >= 3 && right >= 3,
        "strobe: {ahead} ahead, {right} right of {}",
        s.len()
    );
    clock.set(None).unwrap();
    assert!(near(probe.offset(), 0, 500), "healed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skewed_clock_runs_at_its_rate_and_new_processes_see_jumps() {
    let Some((_d, mut clock)) = setup() else {
        return;
    };
    let probe = Probe::start(&clock);
    probe.samples(Duration::from_millis(200));
    clock
        .set(Some(&ClockChange::Skew {
            rate_permille: 2000,
        }))
        .unwrap();
    probe.samples(Duration::from_millis(200));
    let s = probe.samples(Duration::from_millis(1000));
    let (first, last) = (s[0], s[s.len() - 1]);
    let rate = (last.1 - first.1) as f64 / (last.0 - first.0) as f64;
    assert!((1.6..2.4).contains(&rate), "wall clock ran at {rate}x");
    let mono_rate = (last.2 - first.2) as f64 / (last.0 - first.0) as f64;
    assert!(
        (1.6..2.4).contains(&mono_rate),
        "monotonic ran at {mono_rate}x"
    );
    // A process started later (date) reads the same control file.
    clock
        .set(Some(&ClockChange::Jump {
            offset_ms: -3_600_000,
        }))
        .unwrap();
    let out = Command::new("date")
        .arg("+%s")
        .envs(clock.env())
        .output()
        .unwrap();
    let fake: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(near(fake, real - 3600, 2), "date said {fake}, real {real}");
}
