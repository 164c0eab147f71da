//! The run's journal: every invocation, completion and nemesis action appended to
//! `history.jsonl` as it happens (Contract 1).
//!
//! Recording is two steps. On the caller's thread, under one short lock, the event gets its index
//! and its time (so file order and time order agree, and an invocation is stamped before its
//! request is sent) and is queued. A writer thread drains the queue every few milliseconds,
//! serializes the events (through histories' one encoder of Contract 1 lines,
//! [`histories::Event::write_line`]) and appends them with one `write` per batch of whole lines, so a harness
//! killed at any moment leaves a history whose complete lines are all valid; at most the last
//! few milliseconds are lost. The writer thread's CPU time is measured: it is the cost of
//! journaling.

use histories::{Event, EventType, Process};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Queue {
    recs: Vec<Event>,
    next_index: u64,
    last_time: u64,
    closed: bool,
}

/// Live counters for the progress line and the summary.
#[derive(Default)]
pub struct Counters {
    pub invocations: AtomicU64,
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    pub fault: Mutex<Option<String>>,
}

/// What the writer thread reports at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct JournalStats {
    pub events: u64,
    pub bytes: u64,
    /// CPU time of the writer thread.
    pub writer_cpu: Duration,
    /// Largest number of events queued at once.
    pub max_queued: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Signalled when the writer has taken a batch (for producers held at the high-water mark).
    drained: Condvar,
    start: Instant,
    failed: AtomicBool,
}

pub struct Journal {
    shared: Arc<Shared>,
    pub counters: Counters,
    writer: Mutex<Option<JoinHandle<std::io::Result<JournalStats>>>>,
}

/// Events queued at which producers wait for the writer.
const HIGH_WATER: usize = 1 << 15;

/// How often the writer drains the queue.
const FLUSH_EVERY: Duration = Duration::from_millis(5);

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain syscall writing into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Journal {
    /// Creates `path` and starts the writer; times count from `start`.
    pub fn create(path: &Path, start: Instant) -> std::io::Result<Journal> {
        let file = File::create(path)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            drained: Condvar::new(),
            start,
            failed: AtomicBool::new(false),
        });
        let s2 = shared.clone();
        let writer = std::thread::Builder::new()
            .name("faultline-journal".into())
            .spawn(move || writer_loop(s2, file))?;
        Ok(Journal {
            shared,
            counters: Counters::default(),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Nanoseconds since the test started.
    pub fn now(&self) -> u64 {
        self.shared.start.elapsed().as_nanos() as u64
    }

    /// Stamps `ev` with the next index and the time now, and queues it for the writer.
    fn push(&self, mut ev: Event) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed {
            return;
        }
        let time = (self.shared.start.elapsed().as_nanos() as u64).max(q.last_time);
        q.last_time = time;
        ev.time = time;
        ev.index = q.next_index;
        q.next_index += 1;
        q.recs.push(ev);
        // Backpressure: when the writer falls behind, producers wait for it, so memory stays
        // bounded whatever the operation rate.
        if q.recs.len() >= HIGH_WATER {
            self.shared.wake.notify_one();
            while q.recs.len() >= HIGH_WATER && !q.closed {
                q = self
                    .shared
                    .drained
                    .wait(q)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Stops accepting events, writes everything queued, fsyncs, and reports.
    pub fn close(&self) -> std::io::Result<JournalStats> {
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.closed = true;
        }
        self.shared.wake.notify_all();
        let h = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        match h {
            Some(h) => h
                .join()
                .map_err(|_| std::io::Error::other("the journal writer panicked"))?,
            None => Err(std::io::Error::other("the journal was already closed")),
        }
    }

    /// Whether writing the journal has failed (the run must then stop).
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }
}

impl Drop for Journal {
    /// A journal dropped without [`Journal::close`] (an error path) still writes out what was
    /// queued: the writer sees the queue closed, drains it and fsyncs.
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.closed = true;
        }
        self.shared.wake.notify_all();
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

fn writer_loop(shared: Arc<Shared>, mut file: File) -> std::io::Result<JournalStats> {
    let mut stats = JournalStats::default();
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut batch: Vec<Event> = Vec::new();
    loop {
        let closed = {
            let q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            let (mut q, _) = shared
                .wake
                .wait_timeout_while(q, FLUSH_EVERY, |q| !q.closed && q.recs.len() < HIGH_WATER)
                .unwrap_or_else(|e| e.into_inner());
            stats.max_queued = stats.max_queued.max(q.recs.len());
            std::mem::swap(&mut q.recs, &mut batch);
            q.closed
        };
        shared.drained.notify_all();
        if !batch.is_empty() {
            out.clear();
            for ev in batch.drain(..) {
                ev.write_line(&mut out);
            }
            if let Err(e) = file.write_all(&out) {
                shared.failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
            stats.bytes += out.len() as u64;
            // Keep the batch buffers from growing without bound after a burst.
            if out.capacity() > 8 << 20 {
                out = Vec::with_capacity(1 << 20);
            }
            if batch.capacity() > 1 << 16 {
                batch = Vec::new();
            }
        }
        if closed {
            file.sync_all()?;
            stats.events = shared
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .next_index;
            stats.writer_cpu = thread_cpu_time();
            return Ok(stats);
        }
    }
}

impl workloads::Recorder for Journal {
    fn append(&self, ev: Event) {
        let counter = match ev.kind {
            EventType::Invoke => &self.counters.invocations,
            EventType::Ok => &self.counters.ok,
            EventType::Fail => &self.counters.fail,
            EventType::Info => &self.counters.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.push(ev);
    }
}

impl nemeses::NemesisLog for Journal {
    fn record(&self, f: &str, value: Value, error: Option<String>) {
        match &error {
            Some(e) => tracing::warn!("nemesis {f} {value}: {e}"),
            None => tracing::info!("nemesis {f} {value}"),
        }
        self.push(Event {
            index: 0,
            time: 0,
            kind: EventType::Info,
            process: Process::Nemesis,
            f: f.to_string(),
            key: None,
            value,
            node: None,
            error,
            extra: Map::new(),
        });
    }

    fn active(&self, fault: Option<String>) {
        *self
            .counters
            .fault
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = fault;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nemeses::NemesisLog;
    use serde_json::json;
    use workloads::Recorder;

    #[test]
    fn journal_lines_are_contract_1_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let j = Journal::create(&path, Instant::now()).unwrap();
        let w = Event::invoke(0, "write", Some("k \"q\"".into()), json!(42));
        j.append(w.clone());
        NemesisLog::record(
            &j,
            "start-partition",
            json!({"grudge": {"n1": ["n2"]}}),
            None,
        );
        let mut done = w.ok(json!(42)).on("n1");
        done.extra.insert("term".into(), json!(3));
        j.append(done);
        let r = Event::invoke(1, "read", Some("k \"q\"".into()), Value::Null);
        j.append(r.clone());
        j.append(r.info("timeout"));
        let r11 = Event::invoke(11, "read", Some("k \"q\"".into()), Value::Null);
        j.append(r11.clone());
        let stats = j.close().unwrap();
        assert_eq!(stats.events, 6);
        let h = histories::read_jsonl(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(h.ops.len(), 3);
        assert_eq!(h.nemesis.len(), 1);
        assert_eq!(h.ops[0].key.as_deref(), Some("k \"q\""));
        assert_eq!(h.ops[0].meta.get("term"), Some(&json!(3)));
        assert_eq!(h.ops[0].node.as_deref(), Some("n1"));
        assert_eq!(h.ops[1].error.as_deref(), Some("timeout"));
        assert_eq!(h.ops[2].status, histories::OpStatus::Info);
        // Closed: later events are ignored rather than written after the fsync.
        j.append(r11);
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 6);
    }

    #[test]
    fn concurrent_writers_keep_index_and_time_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let j = Arc::new(Journal::create(&path, Instant::now()).unwrap());
        let hs: Vec<_> = (0..4u64)
            .map(|p| {
                let j = j.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        let inv = Event::invoke(p, "read", Some(format!("{}", i % 7)), Value::Null);
                        j.append(inv.clone());
                        j.append(inv.ok(json!(i)));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let stats = j.close().unwrap();
        let h = histories::read_jsonl(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(h.ops.len(), 8000);
        // Producers never queue more than the high-water mark (plus one event each).
        assert!(stats.max_queued <= HIGH_WATER + 4, "{}", stats.max_queued);
    }

    #[test]
    fn a_fast_producer_is_held_at_the_high_water_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let j = Journal::create(&path, Instant::now()).unwrap();
        let inv = Event::invoke(0, "read", Some("k".into()), Value::Null);
        for _ in 0..(3 * HIGH_WATER) {
            j.append(inv.clone());
            j.append(inv.ok(json!(1)));
        }
        let stats = j.close().unwrap();
        assert_eq!(stats.events, 6 * HIGH_WATER as u64);
        assert!(stats.max_queued <= HIGH_WATER, "{}", stats.max_queued);
    }
}
