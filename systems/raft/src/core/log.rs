//! The in-memory Raft log: a snapshot point followed by entries, with the commit, applied and
//! stable (persisted) marks.

use super::types::{Entry, Index, Snapshot, Term};
use crate::bugs::{Bug, Bugs};

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

    /// Cuts every entry after `index` (never a committed one). Returns whether it did.
    fn truncate_after(&mut self, index: Index) -> bool {
        if index < self.commit || index < self.snap_index {
            return false;
        }
        self.entries.truncate((index - self.snap_index) as usize);
        self.stable = self.stable.min(index);
        true
    }

    /// Advances commit to the leader's commit index, bounded by `verified`: the prefix of our
    /// log known to match the leader's (copycat#265). `--bug follower-overcommit` bounds it by
    /// our own last index only, so a stale tail past the verified prefix can commit.
    pub fn commit_from_leader(&mut self, leader_commit: Index, verified: Index, bugs: Bugs) {
        let bound = if bugs.has(Bug::FollowerOvercommit) {
            self.last_index()
        } else {
            verified.min(self.last_index())
        };
        let c = leader_commit.min(bound);
        if c > self.commit {
            self.commit = c;
        }
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
        bugs: Bugs,
    ) -> Option<Index> {
        if self.term(prev_index) != Some(prev_term) {
            return None;
        }
        let last_new = prev_index + entries.len() as u64;
        // Only a conflict cuts the log: entries that match stay, and so does anything past the
        // message (it may be newer than the message). `--bug truncate-matching` cuts after
        // `prev_index` on every append (raftos#26).
        let conflict = if bugs.has(Bug::TruncateMatching) && self.last_index() > prev_index {
            if !self.truncate_after(prev_index) {
                return None;
            }
            (!entries.is_empty()).then_some(0)
        } else {
            entries
                .iter()
                .position(|e| self.term(e.index) != Some(e.term))
        };
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
        self.commit_from_leader(leader_commit, last_new, bugs);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn e(index: Index, term: Term) -> Entry {
        Entry {
            term,
            index,
            data: vec![index as u8],
        }
    }

    fn snap(index: Index, term: Term) -> Snapshot {
        Snapshot {
            index,
            term,
            data: vec![],
        }
    }

    #[test]
    fn restore_drops_entries_that_do_not_continue_the_snapshot() {
        let l = RaftLog::restore(Some(snap(5, 2)), vec![e(4, 1), e(5, 1), e(6, 1)]);
        assert_eq!(
            l.last_index(),
            5,
            "a conflict at the snapshot point drops the rest"
        );
        let l = RaftLog::restore(Some(snap(5, 2)), vec![e(5, 2), e(6, 2), e(8, 2)]);
        assert_eq!(l.last_index(), 6, "entries after a gap are dropped");
        assert_eq!((l.commit, l.applied, l.stable), (5, 5, 6));
    }

    #[test]
    fn conflicts_are_overwritten_but_never_at_or_below_commit() {
        let mut l = RaftLog::restore(None, vec![e(1, 1), e(2, 1), e(3, 1), e(4, 1)]);
        l.commit = 2;
        // A conflict at 3 (above commit) cuts the suffix.
        assert_eq!(l.maybe_append(2, 1, &[e(3, 2)], 3, Bugs::NONE), Some(3));
        assert_eq!((l.last_index(), l.term(3), l.commit), (3, Some(2), 3));
        // Matching entries are not rewritten, and a shorter message does not cut the log.
        l.push(2, vec![9]);
        assert_eq!(l.maybe_append(2, 1, &[e(3, 2)], 3, Bugs::NONE), Some(3));
        assert_eq!(l.last_index(), 4);
        // A "conflict" at or below commit is refused and changes nothing.
        assert_eq!(l.maybe_append(1, 1, &[e(2, 5)], 9, Bugs::NONE), None);
        assert_eq!((l.term(2), l.last_index(), l.commit), (Some(1), 4, 3));
        // A mismatching prev entry is rejected.
        assert_eq!(l.maybe_append(4, 7, &[e(5, 7)], 9, Bugs::NONE), None);
    }

    #[test]
    fn find_conflict_by_term_skips_newer_terms() {
        let l = RaftLog::restore(None, vec![e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 5)]);
        assert_eq!(l.find_conflict_by_term(5, 4), 4);
        assert_eq!(l.find_conflict_by_term(5, 2), 2);
        assert_eq!(l.find_conflict_by_term(9, 5), 5);
        assert_eq!(l.find_conflict_by_term(5, 0), 0);
    }

    #[test]
    fn compact_and_install() {
        let mut l = RaftLog::restore(None, vec![e(1, 1), e(2, 1), e(3, 2)]);
        l.commit = 3;
        l.applied = 2;
        l.compact(snap(3, 2)); // beyond applied: refused
        assert_eq!(l.snapshot_index(), 0);
        l.compact(snap(2, 1));
        assert_eq!(
            (l.snapshot_index(), l.first_index(), l.term(2), l.term(1)),
            (2, 3, Some(1), None)
        );
        assert_eq!(l.slice(1, 3), vec![e(3, 2)]);
        l.install(snap(10, 4));
        assert_eq!(
            (l.last_index(), l.last_term(), l.commit, l.applied),
            (10, 4, 10, 10)
        );
        assert!(l.pending_snapshot);
    }
}
