//! The in-memory Raft log: a snapshot point followed by entries, with the commit, applied and
//! stable (persisted) marks.

use super::types::{Entry, Index, Snapshot, Term};

/// The log as the core sees it. Entries up to `stable` are on the node's stable storage; the
/// rest are handed to the shell by the next `Ready`.
#[derive(Debug, Clone)]
pub struct RaftLog {
    snap_index: Index,
    snap_term: Term,
    /// `entries[k].index == snap_index + 1 + k`.
    entries: Vec<Entry>,
    /// The highest index known committed.
    pub commit: Index,
    /// The highest index handed to the state machine.
    pub applied: Index,
    /// The highest index known persisted.
    pub stable: Index,
    /// The newest snapshot (taken locally or received), kept to send to lagging followers.
    snapshot: Option<Snapshot>,
    /// A received snapshot the shell has not yet persisted and restored.
    pub(crate) pending_snapshot: bool,
}

impl RaftLog {
    /// Rebuilds the log from stable storage. Entries that do not continue the snapshot
    /// contiguously are dropped (they can only be left over from before a snapshot install).
    pub fn restore(snapshot: Option<Snapshot>, entries: Vec<Entry>) -> Self {
        let (snap_index, snap_term) = snapshot.as_ref().map_or((0, 0), |s| (s.index, s.term));
        let mut kept: Vec<Entry> = Vec::new();
        let mut consistent = true;
        for e in entries {
            if e.index < snap_index {
                continue;
            }
            if e.index == snap_index {
                if e.term != snap_term {
                    consistent = false;
                }
                continue;
            }
            let expected = snap_index + 1 + kept.len() as u64;
            if e.index != expected {
                break;
            }
            kept.push(e);
        }
        if !consistent {
            kept.clear();
        }
        let last = snap_index + kept.len() as u64;
        RaftLog {
            snap_index,
            snap_term,
            entries: kept,
            commit: snap_index,
            applied: snap_index,
            stable: last,
            snapshot,
            pending_snapshot: false,
        }
    }

    pub fn snapshot_index(&self) -> Index {
        self.snap_index
    }

    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    pub fn first_index(&self) -> Index {
        self.snap_index + 1
    }

    pub fn last_index(&self) -> Index {
        self.snap_index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snap_term, |e| e.term)
    }

    /// The term of the entry at `index`, if the log still knows it.
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == self.snap_index {
            return Some(self.snap_term);
        }
        if index < self.snap_index || index > self.last_index() {
            return None;
        }
        Some(self.entries[(index - self.snap_index - 1) as usize].term)
    }

    /// The entry at `index`, if present (not compacted).
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        if index <= self.snap_index || index > self.last_index() {
            return None;
        }
        Some(&self.entries[(index - self.snap_index - 1) as usize])
    }

    /// Entries `lo..=hi` (clamped to what the log holds).
    pub fn slice(&self, lo: Index, hi: Index) -> Vec<Entry> {
        let lo = lo.max(self.first_index());
        let hi = hi.min(self.last_index());
        if lo > hi {
            return Vec::new();
        }
        let a = (lo - self.snap_index - 1) as usize;
        let b = (hi - self.snap_index) as usize;
        self.entries[a..b].to_vec()
    }

    /// All entries after the snapshot point.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether a candidate's log (`last_index`, `last_term`) is at least as up to date as ours.
    pub fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// Appends one entry at the end.
    pub fn push(&mut self, term: Term, data: Vec<u8>) -> Index {
        let index = self.last_index() + 1;
        self.entries.push(Entry { term, index, data });
        index
    }

    /// Writes `entries` (contiguous) into the log, cutting any suffix from `entries[0].index`.
    /// Returns `false` (and changes nothing) if that would cut a committed entry or leave a gap.
    fn overwrite(&mut self, entries: &[Entry]) -> bool {
        let Some(first) = entries.first() else {
            return true;
        };
        if first.index <= self.commit || first.index > self.last_index() + 1 {
            return false;
        }
        let keep = (first.index - self.snap_index - 1) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        self.stable = self.stable.min(first.index - 1);
        true
    }

    /// The follower side of AppendEntries: if our log holds (`prev_index`, `prev_term`), write the
    /// new entries over any conflicting suffix (never at or below commit) and advance commit.
    /// Returns the index of the last entry of the message, or `None` on a mismatch.
    pub fn maybe_append(
        &mut self,
        prev_index: Index,
        prev_term: Term,
        entries: &[Entry],
        leader_commit: Index,
    ) -> Option<Index> {
        if self.term(prev_index) != Some(prev_term) {
            return None;
        }
        let last_new = prev_index + entries.len() as u64;
        let conflict = entries
            .iter()
            .position(|e| self.term(e.index) != Some(e.term));
        if let Some(k) = conflict {
            if !self.overwrite(&entries[k..]) {
                tracing::error!(
                    index = entries[k].index,
                    commit = self.commit,
                    "refusing to overwrite a committed entry"
                );
                return None;
            }
        }
        let new_commit = leader_commit.min(last_new);
        if new_commit > self.commit {
            self.commit = new_commit;
        }
        Some(last_new)
    }

    /// The largest index `<= index` whose term is `<= term` (etcd's findConflictByTerm): where a
    /// log whose entry at `index` has a term no newer than `term` may match ours.
    pub fn find_conflict_by_term(&self, index: Index, term: Term) -> Index {
        let mut i = index.min(self.last_index());
        while i > self.snap_index {
            match self.term(i) {
                Some(t) if t > term => i -= 1,
                _ => break,
            }
        }
        i
    }

    /// Drops the entries up to `index`, which the snapshot `snapshot` now covers.
    pub fn compact(&mut self, snapshot: Snapshot) {
        let index = snapshot.index;
        if index <= self.snap_index || index > self.applied {
            return;
        }
        let drop = (index - self.snap_index) as usize;
        self.entries.drain(..drop);
        self.snap_index = index;
        self.snap_term = snapshot.term;
        self.snapshot = Some(snapshot);
    }

    /// Replaces the whole log by a received snapshot.
    pub fn install(&mut self, snapshot: Snapshot) {
        self.entries.clear();
        self.snap_index = snapshot.index;
        self.snap_term = snapshot.term;
        self.commit = snapshot.index;
        self.applied = snapshot.index;
        self.stable = snapshot.index;
        self.snapshot = Some(snapshot);
        self.pending_snapshot = true;
    }
}
