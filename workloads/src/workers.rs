//! The generator: client workers with Jepsen's process model, a shared rate limit, a time limit,
//! and the final phase's reads.

use crate::client::Client;
use crate::{OpGen, RateLimiter, Recorder, WorkloadSpec};
use histories::{Event, EventType, Process};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the main phase runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkerConfig {
    pub concurrency: u64,
    pub seed: u64,
    /// Workers invoke nothing new after this much time (operations in flight finish).
    pub time_limit: Duration,
    /// Invocations per second across all workers; 0 = unlimited.
    pub rate: f64,
}

/// What the main phase leaves behind.
pub struct WorkerReport {
    /// Every worker's generator, in worker order, as it stood at the end.
    pub gens: Vec<Box<dyn OpGen>>,
    /// A process id above every id used so far.
    pub next_process: u64,
    /// Invocations issued.
    pub invocations: u64,
}

/// Runs `concurrency` workers until the time limit or until `abort` turns true. Worker `w` starts
/// as process `w`, draws its invocations from `spec.generator(seed, w)`, talks to the client
/// `make_client(w)`, and after each `info` continues as process + concurrency. On abort, an
/// operation in flight is left without completion (it reads as `info`).
pub async fn run_workers<C, F, R>(
    cfg: &WorkerConfig,
    spec: &WorkloadSpec,
    mut make_client: F,
    recorder: Arc<R>,
    start: Instant,
    abort: watch::Receiver<bool>,
) -> WorkerReport
where
    C: Client + 'static,
    F: FnMut(u64) -> C,
    R: Recorder,
{
    let rate = Arc::new(RateLimiter::new(cfg.rate));
    let deadline = start + cfg.time_limit;
    let invocations = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    for w in 0..cfg.concurrency {
        let mut gen = spec.generator(cfg.seed, w);
        let mut client = make_client(w);
        let rate = rate.clone();
        let recorder = recorder.clone();
        let mut abort = abort.clone();
        let invocations = invocations.clone();
        let concurrency = cfg.concurrency;
        set.spawn(async move {
            let mut process = w;
            loop {
                if *abort.borrow() || Instant::now() >= deadline {
                    break;
                }
                tokio::select! {
                    _ = rate.acquire() => {}
                    _ = abort.wait_for(|a| *a) => break,
                }
                if Instant::now() >= deadline {
                    break;
                }
                let mut inv = gen.next_op();
                inv.process = Process::Client(process);
                recorder.append(inv.clone());
                invocations.fetch_add(1, Ordering::Relaxed);
                let done = tokio::select! {
                    d = client.invoke(&inv) => d,
                    _ = abort.wait_for(|a| *a) => break,
                };
                let retire = done.kind == EventType::Info;
                recorder.append(done);
                if retire {
                    process += concurrency;
                }
            }
            (w, gen, process)
        });
    }
    let mut results: Vec<(u64, Box<dyn OpGen>, u64)> = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(x) => results.push(x),
            Err(e) => tracing::error!("a client worker died: {e}"),
        }
    }
    results.sort_by_key(|r| r.0);
    let next_process = results
        .iter()
        .map(|r| r.2 + 1)
        .max()
        .unwrap_or(0)
        .max(cfg.concurrency);
    WorkerReport {
        gens: results.into_iter().map(|r| r.1).collect(),
        next_process,
        invocations: invocations.load(Ordering::Relaxed),
    }
}

/// One final read and how it ended (the last attempt).
#[derive(Debug, Clone)]
pub struct FinalRead {
    pub node: usize,
    pub invocation: Event,
    pub completion: Option<Event>,
}

/// Performs the final reads, all at once, each against its node; a read that does not succeed
/// is retried up to `attempts` times, `retry_delay` apart, each attempt under a fresh process id
/// starting at `first_process`.
pub async fn run_final_reads<C, F, R>(
    reads: Vec<(usize, Event)>,
    mut make_client: F,
    recorder: Arc<R>,
    first_process: u64,
    attempts: u32,
    retry_delay: Duration,
    abort: watch::Receiver<bool>,
) -> Vec<FinalRead>
where
    C: Client + 'static,
    F: FnMut(usize) -> C,
    R: Recorder,
{
    let next = Arc::new(AtomicU64::new(first_process));
    let mut set = JoinSet::new();
    for (i, (node, mut inv)) in reads.into_iter().enumerate() {
        let mut client = make_client(node);
        let recorder = recorder.clone();
        let next = next.clone();
        let mut abort = abort.clone();
        set.spawn(async move {
            let mut last = None;
            for attempt in 0..attempts.max(1) {
                if *abort.borrow() {
                    break;
                }
                if attempt > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(retry_delay) => {}
                        _ = abort.wait_for(|a| *a) => break,
                    }
                }
                inv.process = Process::Client(next.fetch_add(1, Ordering::Relaxed));
                recorder.append(inv.clone());
                let done = tokio::select! {
                    d = client.invoke(&inv) => d,
                    _ = abort.wait_for(|a| *a) => break,
                };
                recorder.append(done.clone());
                let ok = done.kind == EventType::Ok;
                last = Some(done);
                if ok {
                    break;
                }
            }
            (
                i,
                FinalRead {
                    node,
                    invocation: inv,
                    completion: last,
                },
            )
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(x) = r {
            out.push(x);
        }
    }
    out.sort_by_key(|x| x.0);
    out.into_iter().map(|x| x.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, MemorySystem};
    use crate::WorkloadKind;
    use std::sync::Mutex;

    /// (process, f, completion kind or `None` for the invocation) of each recorded event.
    #[derive(Default)]
    struct Rec(Mutex<Vec<(u64, String, Option<EventType>)>>);
    impl Recorder for Rec {
        fn append(&self, ev: Event) {
            let Process::Client(p) = ev.process else {
                panic!("workers record client events only")
            };
            let kind = ev.is_completion().then_some(ev.kind);
            self.0.lock().unwrap().push((p, ev.f, kind));
        }
    }

    /// A client that answers `info` to every third operation, to exercise process retirement.
    struct Flaky(u64, crate::client::MemoryClient);
    impl Client for Flaky {
        async fn invoke(&mut self, inv: &Event) -> Event {
            self.0 += 1;
            if self.0.is_multiple_of(3) {
                return inv.info("timeout");
            }
            self.1.invoke(inv).await
        }
    }

    #[tokio::test]
    async fn info_retires_the_process_and_time_limit_stops_workers() {
        let sys = MemorySystem::default();
        let rec = Arc::new(Rec::default());
        let cfg = WorkerConfig {
            concurrency: 3,
            seed: 1,
            time_limit: Duration::from_millis(200),
            rate: 300.0,
        };
        let spec = WorkloadSpec::new(WorkloadKind::Register, 3);
        let (_tx, rx) = watch::channel(false);
        let rep = run_workers(
            &cfg,
            &spec,
            |_| Flaky(0, sys.client()),
            rec.clone(),
            Instant::now(),
            rx,
        )
        .await;
        let evs = rec.0.lock().unwrap().clone();
        assert!(rep.invocations >= 10, "{}", rep.invocations);
        // At most 300/s for 0.2 s (plus the first slot).
        assert!(rep.invocations <= 62, "{}", rep.invocations);
        // Every process has at most one outstanding op, and processes used are w + k*3.
        let mut outstanding = std::collections::HashSet::new();
        for (p, _, c) in &evs {
            match c {
                None => assert!(outstanding.insert(*p)),
                Some(_) => assert!(outstanding.remove(p)),
            }
        }
        // After an info, its process never invokes again.
        for (i, e) in evs.iter().enumerate() {
            if e.2 == Some(EventType::Info) {
                assert!(!evs[i + 1..].iter().any(|x| x.0 == e.0 && x.2.is_none()));
            }
        }
        assert!(evs.iter().any(|e| e.2 == Some(EventType::Info)));
        assert!(evs.iter().any(|e| e.0 >= 3));
        assert!(rep.next_process > evs.iter().map(|e| e.0).max().unwrap());
    }

    #[tokio::test]
    async fn abort_stops_promptly_and_final_reads_retry_until_ok() {
        let sys = MemorySystem::default();
        let rec = Arc::new(Rec::default());
        let (tx, rx) = watch::channel(false);
        let cfg = WorkerConfig {
            concurrency: 2,
            seed: 1,
            time_limit: Duration::from_secs(3600),
            rate: 0.0,
        };
        let spec = WorkloadSpec::new(WorkloadKind::Set, 2);
        let s2 = sys.clone();
        let h = tokio::spawn({
            let rec = rec.clone();
            async move { run_workers(&cfg, &spec, move |_| s2.client(), rec, Instant::now(), rx).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(true).unwrap();
        let rep = h.await.unwrap();
        assert!(rep.invocations > 0);
        let adds = rec
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, f, kind)| f == "add" && kind.is_none())
            .count() as u64;
        let (_tx2, rx2) = watch::channel(false);
        let reads = WorkloadSpec::new(WorkloadKind::Set, 2).final_reads(&rep.gens, 3);
        assert_eq!(reads.len(), 3);
        let mut n = 0;
        let out = run_final_reads(
            reads,
            |_| {
                n += 1;
                Flaky(if n == 1 { 2 } else { 0 }, sys.client())
            },
            rec.clone(),
            rep.next_process,
            3,
            Duration::from_millis(1),
            rx2,
        )
        .await;
        assert_eq!(out.len(), 3);
        for r in &out {
            let c = r.completion.as_ref().unwrap();
            assert_eq!(c.kind, EventType::Ok);
            assert!(c.value.as_array().unwrap().len() as u64 >= adds - 2);
        }
    }
}
