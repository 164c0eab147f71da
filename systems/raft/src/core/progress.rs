//! The leader's view of one follower's replication: match and next index, and whether it is
//! probing, streaming (pipelining appends) or waiting for a snapshot.

use std::collections::VecDeque;

use super::types::Index;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Send one append at a time and wait for the answer (`paused` while one is out).
    Probe { paused: bool },
    /// Stream appends optimistically, up to the in-flight limit.
    Replicate,
    /// A snapshot at `index` was sent `ticks` ticks ago.
    Snapshot { index: Index, ticks: u32 },
}

#[derive(Clone, Debug)]
pub struct Progress {
    pub matched: Index,
    pub next: Index,
    pub state: State,
    /// Last index of each append in flight (Replicate only).
    pub inflight: VecDeque<Index>,
    /// Heard from since the last check-quorum round.
    pub active: bool,
    /// The highest ReadIndex round it confirmed.
    pub read_ack: u64,
}

impl Progress {
    pub fn new(next: Index) -> Self {
        Progress {
            matched: 0,
            next,
            state: State::Probe { paused: false },
            inflight: VecDeque::new(),
            active: true,
            read_ack: 0,
        }
    }

    pub fn become_probe(&mut self) {
        self.state = State::Probe { paused: false };
        self.next = self.matched + 1;
        self.inflight.clear();
    }

    pub fn become_replicate(&mut self) {
        self.state = State::Replicate;
        self.next = self.next.max(self.matched + 1);
        self.inflight.clear();
    }

    /// Whether the leader may send it another append now.
    pub fn can_send(&self, max_inflight: usize) -> bool {
        match self.state {
            State::Probe { paused } => !paused,
            State::Replicate => self.inflight.len() < max_inflight,
            State::Snapshot { .. } => false,
        }
    }

    /// A successful append up to `index`. Returns whether `matched` advanced.
    pub fn on_success(&mut self, index: Index) -> bool {
        while self.inflight.front().is_some_and(|&i| i <= index) {
            self.inflight.pop_front();
        }
        if index <= self.matched {
            if let State::Probe { .. } = self.state {
                self.state = State::Probe { paused: false };
            }
            return false;
        }
        self.matched = index;
        self.next = self.next.max(index + 1);
        match self.state {
            State::Probe { .. } => self.become_replicate(),
            State::Snapshot { index: s, .. } if self.matched >= s => self.become_replicate(),
            _ => {}
        }
        true
    }

    /// A rejected append whose prev index was `rejected`; `hint` is the leader's guess of the
    /// last matching index. Returns false when the rejection is stale.
    pub fn on_reject(&mut self, rejected: Index, hint: Index) -> bool {
        match self.state {
            State::Replicate => {
                if rejected <= self.matched {
                    return false;
                }
                self.become_probe();
                self.next = (hint + 1).min(rejected).max(self.matched + 1);
                true
            }
            State::Probe { .. } => {
                if self.next.saturating_sub(1) != rejected {
                    return false;
                }
                self.next = (hint + 1).min(rejected).max(self.matched + 1).max(1);
                self.state = State::Probe { paused: false };
                true
            }
            State::Snapshot { .. } => false,
        }
    }
}
