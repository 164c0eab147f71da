//! The filesystem's state: inodes; each directory's live entries (what processes see) and durable
//! entries (what survives a crash); each file's live content and its unsynced changes. fsync makes
//! a file's changes durable, fsync of a directory makes its entries durable, and a crash puts the
//! live state back to the durable one (keeping, if asked, a random prefix of each file's unsynced
//! changes: a torn write). Errors are errno values, for the FUSE adapter to return.

use crate::names::Names;
use crate::pending::{self, Pending};
use crate::store::Store;
use rand::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::SystemTime;

pub type Ino = u64;
/// The root directory's inode number (FUSE's).
pub const ROOT: Ino = 1;
/// An errno value.
pub type FsResult<T> = Result<T, i32>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// What `stat` shows of an inode.
#[derive(Debug, Clone)]
pub struct Attr {
    pub ino: Ino,
    pub kind: Kind,
    pub size: u64,
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: SystemTime,
    pub mtime: SystemTime,
    pub ctime: SystemTime,
}

#[derive(Debug)]
enum Body {
    File {
        live: Vec<u8>,
        pending: Vec<Pending>,
    },
    Dir {
        live: BTreeMap<OsString, Ino>,
        durable: BTreeMap<OsString, Ino>,
    },
}

#[derive(Debug)]
struct Node {
    body: Body,
    perm: u16,
    uid: u32,
    gid: u32,
    atime: SystemTime,
    mtime: SystemTime,
    ctime: SystemTime,
    /// Entries naming this inode in live directories.
    live_links: u32,
    /// Entries naming this inode in durable directory entries.
    durable_links: u32,
    /// Open file handles.
    open: u32,
}

impl Node {
    fn new(body: Body, perm: u16, uid: u32, gid: u32) -> Node {
        let now = SystemTime::now();
        Node {
            body,
            perm,
            uid,
            gid,
            atime: now,
            mtime: now,
            ctime: now,
            live_links: 0,
            durable_links: 0,
            open: 0,
        }
    }
}

#[derive(Debug)]
struct Handle {
    ino: Ino,
    append: bool,
}

/// A file whose unsynced changes a crash dropped (wholly or but for a torn prefix).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RevertedFile {
    /// Its path before the crash (relative to the mount).
    pub path: String,
    pub unsynced_bytes: u64,
    /// Of those, how many the torn write kept (0 without tearing).
    pub kept_bytes: u64,
}

/// What a crash dropped.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CrashReport {
    /// Files with unsynced changes, each put back to its durable content.
    pub reverted: Vec<RevertedFile>,
    /// Data bytes written and never fsynced, dropped.
    pub bytes_dropped: u64,
    /// Directory entries (creates, renames, unlinks) not made durable, undone.
    pub entries_reverted: u64,
    /// Paths that existed before the crash and are gone after it (never made durable).
    pub vanished: Vec<String>,
}

/// The whole filesystem.
#[derive(Debug)]
pub struct Tree {
    nodes: HashMap<Ino, Node>,
    next_ino: Ino,
    store: Store,
    handles: HashMap<u64, Handle>,
    next_fh: u64,
    names: Names,
}

fn os(s: &OsStr) -> OsString {
    s.to_os_string()
}

impl Tree {
    /// An empty filesystem (an empty root directory, durable) over `store`.
    pub fn new(store: Store) -> Tree {
        let mut nodes = HashMap::new();
        let mut root = Node::new(
            Body::Dir {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
            0o755,
            0,
            0,
        );
        root.live_links = 1;
        root.durable_links = 1;
        nodes.insert(ROOT, root);
        Tree {
            nodes,
            next_ino: ROOT + 1,
            store,
            handles: HashMap::new(),
            next_fh: 1,
            names: Names::default(),
        }
    }

    /// From now on, names become durable as `names` says.
    pub fn set_names(&mut self, names: Names) {
        self.names = names;
    }

    /// Under [`Names::AtOnce`], makes the entries of the directories a name operation changed
    /// durable (every other entry of theirs already is).
    fn names_changed(&mut self, dirs: &[Ino]) {
        if self.names == Names::AtOnce {
            for &d in dirs {
                self.sync_entries(d);
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn node(&self, ino: Ino) -> FsResult<&Node> {
        self.nodes.get(&ino).ok_or(libc::ENOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> FsResult<&mut Node> {
        self.nodes.get_mut(&ino).ok_or(libc::ENOENT)
    }

    fn live_entries(&self, dir: Ino) -> FsResult<&BTreeMap<OsString, Ino>> {
        match &self.node(dir)?.body {
            Body::Dir { live, .. } => Ok(live),
            Body::File { .. } => Err(libc::ENOTDIR),
        }
    }

    fn live_entries_mut(&mut self, dir: Ino) -> FsResult<&mut BTreeMap<OsString, Ino>> {
        let n = self.node_mut(dir)?;
        n.mtime = SystemTime::now();
        n.ctime = n.mtime;
        match &mut n.body {
            Body::Dir { live, .. } => Ok(live),
            Body::File { .. } => Err(libc::ENOTDIR),
        }
    }

    pub fn attr(&self, ino: Ino) -> FsResult<Attr> {
        let n = self.node(ino)?;
        let (kind, size, nlink) = match &n.body {
            Body::File { live, .. } => (Kind::File, live.len() as u64, n.live_links),
            Body::Dir { .. } => (Kind::Dir, 4096, 2),
        };
        Ok(Attr {
            ino,
            kind,
            size,
            perm: n.perm,
            nlink,
            uid: n.uid,
            gid: n.gid,
            atime: n.atime,
            mtime: n.mtime,
            ctime: n.ctime,
        })
    }

    pub fn lookup(&self, parent: Ino, name: &OsStr) -> FsResult<Attr> {
        let ino = *self.live_entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        self.attr(ino)
    }

    /// Creates a file or directory named `name` in `parent` (live only: durable once `parent`
    /// is fsynced).
    pub fn make(
        &mut self,
        parent: Ino,
        name: &OsStr,
        kind: Kind,
        perm: u16,
        uid: u32,
        gid: u32,
    ) -> FsResult<Attr> {
        if self.live_entries(parent)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        let body = match kind {
            Kind::File => Body::File {
                live: Vec::new(),
                pending: Vec::new(),
            },
            Kind::Dir => Body::Dir {
                live: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
        };
        let ino = self.next_ino;
        self.next_ino += 1;
        let mut node = Node::new(body, perm, uid, gid);
        node.live_links = 1;
        self.nodes.insert(ino, node);
        self.live_entries_mut(parent)?.insert(os(name), ino);
        self.names_changed(&[parent]);
        self.attr(ino)
    }

    /// Opens inode `ino`; returns the handle.
    pub fn open(&mut self, ino: Ino, append: bool) -> FsResult<u64> {
        self.node_mut(ino)?.open += 1;
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, Handle { ino, append });
        Ok(fh)
    }

    /// Closes a handle. Handles from before a crash are unknown and ignored.
    pub fn release(&mut self, fh: u64) {
        if let Some(h) = self.handles.remove(&fh) {
            if let Some(n) = self.nodes.get_mut(&h.ino) {
                n.open = n.open.saturating_sub(1);
            }
            self.collect(h.ino);
        }
    }

    pub fn read(&mut self, ino: Ino, offset: u64, size: u32) -> FsResult<Vec<u8>> {
        let n = self.node_mut(ino)?;
        n.atime = SystemTime::now();
        match &n.body {
            Body::File { live, .. } => {
                let start = (offset as usize).min(live.len());
                let end = (start + size as usize).min(live.len());
                Ok(live[start..end].to_vec())
            }
            Body::Dir { .. } => Err(libc::EISDIR),
        }
    }

    /// Writes through handle `fh` (at the end of the file if it was opened to append). The
    /// change is live at once and durable once the file is fsynced.
    pub fn write(&mut self, fh: u64, offset: u64, data: &[u8]) -> FsResult<u32> {
        let h = self.handles.get(&fh).ok_or(libc::EBADF)?;
        let append = h.append;
        let n = self.node_mut(h.ino)?;
        n.mtime = SystemTime::now();
        n.ctime = n.mtime;
        let Body::File { live, pending } = &mut n.body else {
            return Err(libc::EISDIR);
        };
        let offset = if append { live.len() as u64 } else { offset };
        let op = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        pending::apply(live, std::slice::from_ref(&op));
        // Contiguous writes merge into one change: the same bytes in the same order.
        match pending.last_mut() {
            Some(Pending::Write { offset: o, data: d }) if *o + d.len() as u64 == offset => {
                d.extend_from_slice(data)
            }
            _ => pending.push(op),
        }
        Ok(data.len() as u32)
    }

    /// chmod, chown, truncate, utimes.
    #[allow(clippy::too_many_arguments)]
    pub fn set_attr(
        &mut self,
        ino: Ino,
        perm: Option<u16>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<SystemTime>,
        mtime: Option<SystemTime>,
    ) -> FsResult<Attr> {
        let n = self.node_mut(ino)?;
        if let Some(len) = size {
            let Body::File { live, pending } = &mut n.body else {
                return Err(libc::EISDIR);
            };
            live.resize(len as usize, 0);
            pending.push(Pending::SetLen(len));
            n.mtime = SystemTime::now();
        }
        if let Some(p) = perm {
            n.perm = p;
        }
        if let Some(u) = uid {
            n.uid = u;
        }
        if let Some(g) = gid {
            n.gid = g;
        }
        if let Some(t) = atime {
            n.atime = t;
        }
        if let Some(t) = mtime {
            n.mtime = t;
        }
        n.ctime = SystemTime::now();
        self.attr(ino)
    }

    /// Removes the entry `name` of `parent` (a file for unlink, an empty directory for rmdir).
    pub fn remove(&mut self, parent: Ino, name: &OsStr, dir: bool) -> FsResult<()> {
        let ino = *self.live_entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        match (&self.node(ino)?.body, dir) {
            (Body::Dir { .. }, false) => return Err(libc::EISDIR),
            (Body::File { .. }, true) => return Err(libc::ENOTDIR),
            (Body::Dir { live, .. }, true) if !live.is_empty() => return Err(libc::ENOTEMPTY),
            _ => {}
        }
        self.live_entries_mut(parent)?.remove(name);
        self.names_changed(&[parent]);
        self.unlink_live(ino);
        Ok(())
    }

    fn unlink_live(&mut self, ino: Ino) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.live_links = n.live_links.saturating_sub(1);
            n.ctime = SystemTime::now();
        }
        self.collect(ino);
    }

    /// Renames `parent/name` to `new_parent/new_name`, replacing a file there (or an empty
    /// directory, if the source is one). Live only: durable once both directories are fsynced.
    pub fn rename(
        &mut self,
        parent: Ino,
        name: &OsStr,
        new_parent: Ino,
        new_name: &OsStr,
        no_replace: bool,
    ) -> FsResult<()> {
        let src = *self.live_entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        let src_dir = matches!(self.node(src)?.body, Body::Dir { .. });
        if let Some(&dst) = self.live_entries(new_parent)?.get(new_name) {
            if dst == src {
                return Ok(());
            }
            if no_replace {
                return Err(libc::EEXIST);
            }
            match (&self.node(dst)?.body, src_dir) {
                (Body::Dir { .. }, false) => return Err(libc::EISDIR),
                (Body::File { .. }, true) => return Err(libc::ENOTDIR),
                (Body::Dir { live, .. }, true) if !live.is_empty() => return Err(libc::ENOTEMPTY),
                _ => {}
            }
            self.live_entries_mut(new_parent)?.remove(new_name);
            self.unlink_live(dst);
        }
        self.live_entries_mut(parent)?.remove(name);
        self.live_entries_mut(new_parent)?.insert(os(new_name), src);
        self.names_changed(&[parent, new_parent]);
        Ok(())
    }

    /// The live entries of a directory, with `.` and `..` first.
    pub fn list(&self, dir: Ino) -> FsResult<Vec<(Ino, Kind, OsString)>> {
        let entries = self.live_entries(dir)?;
        let mut out = vec![
            (dir, Kind::Dir, OsString::from(".")),
            (dir, Kind::Dir, OsString::from("..")),
        ];
        for (name, &ino) in entries {
            let kind = match self.node(ino)?.body {
                Body::File { .. } => Kind::File,
                Body::Dir { .. } => Kind::Dir,
            };
            out.push((ino, kind, name.clone()));
        }
        Ok(out)
    }

    /// fsync or fdatasync: of a file, its unsynced changes are written to the store and
    /// fdatasynced there; of a directory, its live entries become its durable entries.
    pub fn sync(&mut self, ino: Ino) -> FsResult<()> {
        if matches!(self.node(ino)?.body, Body::Dir { .. }) {
            self.sync_entries(ino);
            return Ok(());
        }
        let Body::File { pending, .. } = &mut self.node_mut(ino)?.body else {
            unreachable!("checked above");
        };
        if pending.is_empty() {
            return Ok(());
        }
        let ops = std::mem::take(pending);
        let r = self
            .store
            .apply(ino, &ops)
            .and_then(|_| self.store.sync(ino));
        r.map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    }

    fn sync_entries(&mut self, ino: Ino) {
        let Some(Node {
            body: Body::Dir { live, durable },
            ..
        }) = self.nodes.get_mut(&ino)
        else {
            return;
        };
        if live == durable {
            return;
        }
        let old = std::mem::replace(durable, live.clone());
        let new = live.clone();
        for (name, i) in &new {
            if old.get(name) != Some(i) {
                if let Some(c) = self.nodes.get_mut(i) {
                    c.durable_links += 1;
                }
            }
        }
        for (name, i) in &old {
            if new.get(name) != Some(i) {
                if let Some(c) = self.nodes.get_mut(i) {
                    c.durable_links = c.durable_links.saturating_sub(1);
                }
                self.collect(*i);
            }
        }
    }

    /// Frees inode `ino` if nothing names it, live or durable, and nothing has it open; a freed
    /// directory releases its entries in turn.
    fn collect(&mut self, ino: Ino) {
        let mut queue = VecDeque::from([ino]);
        while let Some(i) = queue.pop_front() {
            let dead = self.nodes.get(&i).is_some_and(|n| {
                i != ROOT && n.live_links == 0 && n.durable_links == 0 && n.open == 0
            });
            if !dead {
                continue;
            }
            let n = self.nodes.remove(&i).expect("checked above");
            match n.body {
                Body::File { .. } => {
                    if let Err(e) = self.store.remove(i) {
                        tracing::warn!("faultfs: cannot remove inode {i}'s store file: {e}");
                    }
                }
                Body::Dir { live, durable } => {
                    for c in live.values() {
                        if let Some(cn) = self.nodes.get_mut(c) {
                            cn.live_links = cn.live_links.saturating_sub(1);
                        }
                        queue.push_back(*c);
                    }
                    for c in durable.values() {
                        if let Some(cn) = self.nodes.get_mut(c) {
                            cn.durable_links = cn.durable_links.saturating_sub(1);
                        }
                        queue.push_back(*c);
                    }
                }
            }
        }
    }

    /// Every inode reachable from the root through `durable` (or live) entries, with its path.
    fn paths(&self, durable: bool) -> HashMap<Ino, String> {
        let mut out = HashMap::from([(ROOT, String::new())]);
        let mut queue = VecDeque::from([ROOT]);
        while let Some(d) = queue.pop_front() {
            let Some(Body::Dir { live, durable: dur }) = self.nodes.get(&d).map(|n| &n.body) else {
                continue;
            };
            let entries = if durable { dur } else { live };
            let base = out[&d].clone();
            for (name, &i) in entries {
                if out.contains_key(&i) {
                    continue;
                }
                let p = format!("{base}/{}", name.to_string_lossy());
                out.insert(i, p);
                queue.push_back(i);
            }
        }
        out
    }

    /// Every file's inode number.
    pub fn file_inos(&self) -> Vec<Ino> {
        self.nodes
            .iter()
            .filter(|(_, n)| matches!(n.body, Body::File { .. }))
            .map(|(&ino, _)| ino)
            .collect()
    }

    /// Bytes written and not yet fsynced, over all files.
    pub fn unsynced_bytes(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| match &n.body {
                Body::File { pending, .. } => pending::total_bytes(pending),
                Body::Dir { .. } => 0,
            })
            .sum()
    }

    /// The crash of the filesystem's user and of the page cache under it: every file goes back
    /// to its durable content and every directory to its durable entries; inodes no durable
    /// entry reaches are gone; every handle is closed. With `torn`, each file with unsynced
    /// changes keeps a random prefix of them (uniform over 0..=its unsynced bytes, in the order
    /// they were written), which becomes durable.
    pub fn crash<R: Rng>(&mut self, mut torn: Option<&mut R>) -> std::io::Result<CrashReport> {
        let mut report = CrashReport::default();
        let live_paths = self.paths(false);
        // Files: drop unsynced changes, or keep a torn prefix of them.
        let mut inos: Vec<Ino> = self.nodes.keys().copied().collect();
        inos.sort_unstable();
        for &ino in &inos {
            let Some(Node {
                body: Body::File { pending, .. },
                ..
            }) = self.nodes.get_mut(&ino)
            else {
                continue;
            };
            if pending.is_empty() {
                continue;
            }
            let ops = std::mem::take(pending);
            let total = pending::total_bytes(&ops);
            let keep = match torn.as_deref_mut() {
                Some(rng) => rng.gen_range(0..=total),
                None => 0,
            };
            let kept = pending::prefix(&ops, keep);
            if !kept.is_empty() {
                self.store.apply(ino, &kept)?;
                self.store.sync(ino)?;
            }
            report.bytes_dropped += total - keep;
            if let Some(path) = live_paths.get(&ino) {
                report.reverted.push(RevertedFile {
                    path: path.clone(),
                    unsynced_bytes: total,
                    kept_bytes: keep,
                });
            }
        }
        // Directories: back to their durable entries; what they no longer reach is gone.
        for n in self.nodes.values() {
            if let Body::Dir { live, durable } = &n.body {
                let changed = live.iter().filter(|(k, v)| durable.get(*k) != Some(v));
                let removed = durable.keys().filter(|k| !live.contains_key(*k));
                report.entries_reverted += (changed.count() + removed.count()) as u64;
            }
        }
        let durable_paths = self.paths(true);
        let reachable: HashSet<Ino> = durable_paths.keys().copied().collect();
        let mut vanished: Vec<String> = live_paths
            .iter()
            .filter(|(i, _)| !reachable.contains(i))
            .map(|(_, p)| p.clone())
            .collect();
        vanished.sort();
        report.vanished = vanished;
        let dead: Vec<Ino> = inos
            .iter()
            .copied()
            .filter(|i| !reachable.contains(i))
            .collect();
        for i in dead {
            if let Some(Node {
                body: Body::File { .. },
                ..
            }) = self.nodes.remove(&i)
            {
                self.store.remove(i)?;
            }
        }
        let mut links: HashMap<Ino, u32> = HashMap::new();
        for n in self.nodes.values_mut() {
            if let Body::Dir { live, durable } = &mut n.body {
                *live = durable.clone();
                for i in durable.values() {
                    *links.entry(*i).or_default() += 1;
                }
            }
        }
        let files: Vec<Ino> = self.nodes.keys().copied().collect();
        for ino in files {
            let content = match self.nodes[&ino].body {
                Body::File { .. } => Some(self.store.read_all(ino)?),
                Body::Dir { .. } => None,
            };
            let n = self.nodes.get_mut(&ino).expect("listed above");
            if let (Some(c), Body::File { live, .. }) = (content, &mut n.body) {
                *live = c;
            }
            let l = if ino == ROOT {
                1
            } else {
                links.get(&ino).copied().unwrap_or(0)
            };
            n.live_links = l;
            n.durable_links = l;
            n.open = 0;
        }
        self.handles.clear();
        report.reverted.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(report)
    }

    /// A clean shutdown: every file's changes and every directory's entries made durable.
    pub fn sync_all(&mut self) -> FsResult<()> {
        let mut inos: Vec<Ino> = self.nodes.keys().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            if self.nodes.contains_key(&ino) {
                self.sync(ino)?;
            }
        }
        Ok(())
    }

    /// Writes the live tree out as real files and directories under `dest` (after the mount is
    /// gone; call [`Tree::sync_all`] first), moving each file's store content into place.
    pub fn materialize(&mut self, dest: &Path) -> std::io::Result<()> {
        let paths = self.paths(false);
        let mut by_path: Vec<(&Ino, &String)> = paths.iter().collect();
        by_path.sort_by(|a, b| a.1.cmp(b.1));
        for (ino, p) in by_path {
            let target = dest.join(p.trim_start_matches('/'));
            match self.nodes[ino].body {
                Body::Dir { .. } => std::fs::create_dir_all(&target)?,
                Body::File { .. } => self.store.move_out(*ino, &target)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tree() -> (tempfile::TempDir, Tree) {
        let d = tempfile::tempdir().unwrap();
        let store = Store::create(&d.path().join("store")).unwrap();
        (d, Tree::new(store))
    }

    fn file(t: &mut Tree, parent: Ino, name: &str) -> (Ino, u64) {
        let a = t
            .make(parent, OsStr::new(name), Kind::File, 0o644, 0, 0)
            .unwrap();
        (a.ino, t.open(a.ino, false).unwrap())
    }

    fn content(t: &mut Tree, parent: Ino, name: &str) -> Option<Vec<u8>> {
        let a = t.lookup(parent, OsStr::new(name)).ok()?;
        Some(t.read(a.ino, 0, u32::MAX).unwrap())
    }

    fn none() -> Option<&'static mut rand::rngs::StdRng> {
        None
    }

    #[test]
    fn unsynced_writes_and_unsynced_names_are_lost_synced_ones_survive() {
        let (_d, mut t) = tree();
        let (a, fa) = file(&mut t, ROOT, "a");
        t.write(fa, 0, b"durable").unwrap();
        t.sync(a).unwrap();
        t.sync(ROOT).unwrap();
        t.write(fa, 7, b" lost").unwrap();
        // b's content is synced but its name never is.
        let (b, fb) = file(&mut t, ROOT, "b");
        t.write(fb, 0, b"nameless").unwrap();
        t.sync(b).unwrap();
        assert_eq!(t.unsynced_bytes(), 5);
        let r = t.crash(none()).unwrap();
        assert_eq!(content(&mut t, ROOT, "a").unwrap(), b"durable");
        assert!(content(&mut t, ROOT, "b").is_none());
        assert_eq!(r.bytes_dropped, 5);
        assert_eq!(r.vanished, vec!["/b".to_string()]);
        assert_eq!(r.entries_reverted, 1);
        // b's store file is gone with it; a's handle is closed by the crash.
        assert!(!t.store().path(b).exists());
        assert_eq!(t.write(fa, 0, b"x"), Err(libc::EBADF));
    }

    #[test]
    fn rename_and_unlink_wait_for_the_directory_fsync() {
        let (_d, mut t) = tree();
        let (a, fa) = file(&mut t, ROOT, "old");
        t.write(fa, 0, b"v1").unwrap();
        t.sync(a).unwrap();
        t.sync(ROOT).unwrap();
        let (n, fnew) = file(&mut t, ROOT, "tmp");
        t.write(fnew, 0, b"v2").unwrap();
        t.sync(n).unwrap();
        t.rename(ROOT, OsStr::new("tmp"), ROOT, OsStr::new("old"), false)
            .unwrap();
        assert_eq!(content(&mut t, ROOT, "old").unwrap(), b"v2");
        t.crash(none()).unwrap();
        // The rename was never made durable: the old file is back, the new one gone.
        assert_eq!(content(&mut t, ROOT, "old").unwrap(), b"v1");
        assert!(content(&mut t, ROOT, "tmp").is_none());

        // Made durable this time; an unlink after it is undone by the crash.
        let (n, fnew) = file(&mut t, ROOT, "tmp");
        t.write(fnew, 0, b"v3").unwrap();
        t.sync(n).unwrap();
        t.rename(ROOT, OsStr::new("tmp"), ROOT, OsStr::new("old"), false)
            .unwrap();
        t.sync(ROOT).unwrap();
        t.remove(ROOT, OsStr::new("old"), false).unwrap();
        assert!(content(&mut t, ROOT, "old").is_none());
        t.crash(none()).unwrap();
        assert_eq!(content(&mut t, ROOT, "old").unwrap(), b"v3");
    }

    #[test]
    fn a_directory_and_its_entries_need_their_own_fsyncs() {
        let (_d, mut t) = tree();
        let d = t
            .make(ROOT, OsStr::new("d"), Kind::Dir, 0o755, 0, 0)
            .unwrap()
            .ino;
        let (f, ff) = file(&mut t, d, "f");
        t.write(ff, 0, b"x").unwrap();
        t.sync(f).unwrap();
        t.sync(d).unwrap();
        // d's entry in the root is not durable: all of it goes.
        let r = t.crash(none()).unwrap();
        assert!(t.lookup(ROOT, OsStr::new("d")).is_err());
        assert_eq!(r.vanished, vec!["/d".to_string(), "/d/f".to_string()]);
        let d = t
            .make(ROOT, OsStr::new("d"), Kind::Dir, 0o755, 0, 0)
            .unwrap()
            .ino;
        t.sync(ROOT).unwrap();
        let (f, ff) = file(&mut t, d, "f");
        t.write(ff, 0, b"x").unwrap();
        t.sync(f).unwrap();
        // The root is durable, d's entry for f is not: d survives, empty.
        t.crash(none()).unwrap();
        let d = t.lookup(ROOT, OsStr::new("d")).unwrap().ino;
        assert_eq!(t.list(d).unwrap().len(), 2);
    }

    #[test]
    fn names_at_once_survive_without_directory_fsyncs_while_unsynced_content_still_goes() {
        let (_d, mut t) = tree();
        t.set_names(Names::AtOnce);
        // etcd's start: a directory, a file in it, written and fsynced, renamed into place;
        // no directory is ever fsynced.
        let d = t
            .make(ROOT, OsStr::new("member"), Kind::Dir, 0o755, 0, 0)
            .unwrap()
            .ino;
        let (f, ff) = file(&mut t, d, "wal.tmp");
        t.write(ff, 0, b"synced").unwrap();
        t.sync(f).unwrap();
        t.rename(d, OsStr::new("wal.tmp"), d, OsStr::new("wal"), false)
            .unwrap();
        t.write(ff, 6, b"+lost").unwrap();
        let (_g, gf) = file(&mut t, d, "gone");
        t.write(gf, 0, b"never synced").unwrap();
        let (_h, _hf) = file(&mut t, d, "unlinked");
        t.remove(d, OsStr::new("unlinked"), false).unwrap();
        let r = t.crash(none()).unwrap();
        assert_eq!(r.entries_reverted, 0);
        assert!(r.vanished.is_empty(), "{:?}", r.vanished);
        let d = t.lookup(ROOT, OsStr::new("member")).unwrap().ino;
        assert_eq!(content(&mut t, d, "wal").unwrap(), b"synced");
        assert!(content(&mut t, d, "wal.tmp").is_none());
        assert!(content(&mut t, d, "unlinked").is_none());
        // The name survived; its content, never fsynced, did not.
        assert_eq!(content(&mut t, d, "gone").unwrap(), b"");
        // The same steps under the default policy lose the directory and all in it.
        let (_d2, mut strict) = tree();
        let d = strict
            .make(ROOT, OsStr::new("member"), Kind::Dir, 0o755, 0, 0)
            .unwrap()
            .ino;
        let (f, ff) = file(&mut strict, d, "wal");
        strict.write(ff, 0, b"synced").unwrap();
        strict.sync(f).unwrap();
        let r = strict.crash(none()).unwrap();
        assert_eq!(
            r.vanished,
            vec!["/member".to_string(), "/member/wal".to_string()]
        );
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_the_unsynced_tail() {
        let mut seen = HashSet::new();
        for seed in 0..40 {
            let (_d, mut t) = tree();
            let (a, fa) = file(&mut t, ROOT, "log");
            t.write(fa, 0, b"head:").unwrap();
            t.sync(a).unwrap();
            t.sync(ROOT).unwrap();
            t.write(fa, 5, b"0123").unwrap();
            t.write(fa, 9, b"456789").unwrap();
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let r = t.crash(Some(&mut rng)).unwrap();
            let c = content(&mut t, ROOT, "log").unwrap();
            let full = b"head:0123456789";
            assert!(c.len() >= 5 && full.starts_with(&c), "{c:?}");
            assert_eq!(r.reverted[0].kept_bytes, c.len() as u64 - 5);
            assert_eq!(r.bytes_dropped, 15 - c.len() as u64);
            // What a torn crash keeps is durable: a second crash keeps it.
            t.crash(none()).unwrap();
            assert_eq!(content(&mut t, ROOT, "log").unwrap(), c);
            seen.insert(c.len());
        }
        assert!(seen.len() > 4, "tearing is random: {seen:?}");
    }

    #[test]
    fn truncation_is_unsynced_until_fsync_and_inodes_are_freed() {
        let (_d, mut t) = tree();
        let (a, fa) = file(&mut t, ROOT, "a");
        t.write(fa, 0, b"0123456789").unwrap();
        t.sync(a).unwrap();
        t.sync(ROOT).unwrap();
        t.set_attr(a, None, None, None, Some(3), None, None)
            .unwrap();
        assert_eq!(t.attr(a).unwrap().size, 3);
        t.crash(none()).unwrap();
        assert_eq!(content(&mut t, ROOT, "a").unwrap(), b"0123456789");
        let fa = t.open(a, true).unwrap();
        t.set_attr(a, None, None, None, Some(3), None, None)
            .unwrap();
        t.write(fa, 0, b"!").unwrap(); // appended
        t.sync(a).unwrap();
        t.crash(none()).unwrap();
        assert_eq!(content(&mut t, ROOT, "a").unwrap(), b"012!");
        // Unlinked, synced and closed: the inode and its store file are gone.
        let fa = t.open(a, false).unwrap();
        t.remove(ROOT, OsStr::new("a"), false).unwrap();
        t.sync(ROOT).unwrap();
        assert!(t.attr(a).is_ok(), "still open");
        t.release(fa);
        assert!(t.attr(a).is_err());
        assert!(!t.store().path(a).exists());
    }

    #[test]
    fn sync_all_and_materialize_write_the_live_tree_out() {
        let (d, mut t) = tree();
        let sub = t
            .make(ROOT, OsStr::new("sub"), Kind::Dir, 0o755, 0, 0)
            .unwrap()
            .ino;
        let (_, f) = file(&mut t, sub, "x");
        t.write(f, 0, b"hello").unwrap();
        t.release(f);
        t.sync_all().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        t.materialize(&out).unwrap();
        assert_eq!(std::fs::read(out.join("sub/x")).unwrap(), b"hello");
    }
}
