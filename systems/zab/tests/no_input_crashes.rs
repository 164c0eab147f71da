//! zab's byte parsers on random and corrupted input, with a fixed proptest budget: peer frames
//! (random bytes, reframed garbage read as a message), and recovery of a real transaction log,
//! snapshot directory and epoch files after truncation, byte flips, inserts and splices. Never
//! a panic; the log recovers exactly its intact prefix, a damaged snapshot is skipped, and a
//! damaged epoch file is a one-sentence error naming the file.

use proptest::prelude::*;
use std::path::Path;
use testkit::damage::{apply, damage, Damage};
use zab::frame;
use zab::storage::txnlog::TxnLog;
use zab::storage::{epoch_file, snapshot, DataDir};
use zab::{DataTree, Entry, Message, Txn, Zxid};

const CASES: u32 = 1000;

fn framed(body: &[u8]) -> Vec<u8> {
    frame::encode(body)
}

fn entry(c: u32, kind: u8) -> Entry {
    let txn = match kind % 3 {
        0 => Txn::Sync,
        1 => Txn::Create {
            path: format!("/n{c}"),
            data: c.into(),
            sequential: c.is_multiple_of(2),
        },
        _ => Txn::Set {
            path: "/a".into(),
            data: serde_json::json!({"k": [c, "v"]}),
            version: -1,
        },
    };
    Entry {
        zxid: Zxid::new(1, c),
        txn,
        origin: None,
        rid: (kind % 2 == 1).then(|| format!("r{c}")),
    }
}

/// Writes `batches` of entries with the real log, starting a new segment where `roll` says.
fn write_log(dir: &Path, batches: &[(u8, bool, u8)]) -> Vec<Entry> {
    let (mut log, got) = TxnLog::open(dir).unwrap();
    assert!(got.is_empty());
    let mut all = Vec::new();
    let mut c = 1;
    for &(n, roll, kind) in batches {
        if roll {
            log.roll();
        }
        let es: Vec<Entry> = (0..n as u32).map(|k| entry(c + k, kind)).collect();
        c += n as u32;
        log.append(&es).unwrap();
        log.sync().unwrap();
        all.extend(es);
    }
    all
}

/// The segment files, oldest first.
fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// How many records lie wholly within the first `upto` bytes of a clean segment.
fn records_within(clean: &[u8], upto: usize) -> usize {
    let mut off = 0;
    let mut n = 0;
    while off < clean.len() {
        let len = u32::from_le_bytes(clean[off..off + 4].try_into().unwrap()) as usize;
        off += frame::HEADER + len;
        if off > upto {
            break;
        }
        n += 1;
    }
    n
}

/// Where record `k` of a clean segment starts.
fn boundary(clean: &[u8], k: usize) -> usize {
    let mut off = 0;
    for _ in 0..k {
        let len = u32::from_le_bytes(clean[off..off + 4].try_into().unwrap()) as usize;
        off += frame::HEADER + len;
    }
    off
}

fn open_log(dir: &Path) -> Vec<Entry> {
    TxnLog::open(dir)
        .unwrap_or_else(|e| panic!("recovery failed: {e}"))
        .1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn peer_frames_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300), max in 0usize..400) {
        if let Ok((body, used)) = frame::decode(&bytes, max) {
            prop_assert!(used <= bytes.len() && body.len() <= max);
            let _ = serde_json::from_slice::<Message>(body);
        }
        let f = framed(&bytes);
        let (body, _) = frame::decode(&f, usize::MAX).unwrap();
        let _ = serde_json::from_slice::<Message>(body);
    }

    #[test]
    fn json_like_peer_messages(s in r#"\{"[A-Za-z]{0,12}":(\{|\[|"|[0-9]|null|true|\}|\]|,|:| ){0,30}"#) {
        let f = framed(s.as_bytes());
        let (body, _) = frame::decode(&f, 1 << 20).unwrap();
        let _ = serde_json::from_slice::<Message>(body);
    }

    #[test]
    fn txnlog_recovers_the_intact_prefix(
        batches in prop::collection::vec((1u8..5, any::<bool>(), any::<u8>()), 1..6),
        which in any::<prop::sample::Index>(),
        d in damage(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written = write_log(dir.path(), &batches);
        let segs = segments(dir.path());
        let k = which.index(segs.len());
        let before: usize = segs[..k]
            .iter()
            .map(|p| records_within(&std::fs::read(p).unwrap(), usize::MAX))
            .sum();
        let clean = std::fs::read(&segs[k]).unwrap();
        let mut bytes = clean.clone();
        apply(&mut bytes, &d);
        std::fs::write(&segs[k], &bytes).unwrap();
        let got = open_log(dir.path());
        match &d {
            Damage::Truncate(_) | Damage::Flip(..) => {
                let first_bad = match &d {
                    Damage::Truncate(_) => bytes.len(),
                    _ => clean.iter().zip(&bytes).take_while(|(a, b)| a == b).count(),
                };
                let kept = records_within(&clean, first_bad);
                let intact = before + kept;
                let all_in_seg = records_within(&clean, usize::MAX);
                let on_boundary = records_within(&clean, bytes.len()) == kept
                    && matches!(d, Damage::Truncate(_))
                    && (kept == 0 && bytes.is_empty() || bytes.len() == boundary(&clean, kept));
                if bytes == clean {
                    prop_assert_eq!(&got[..], &written[..]);
                } else if on_boundary {
                    // A segment cut exactly between records reads as a segment that ended
                    // there, so later segments stay (see the report on issue 15: the log
                    // cannot tell this hole from an epoch change).
                    let mut expect = written[..intact].to_vec();
                    expect.extend_from_slice(&written[before + all_in_seg..]);
                    prop_assert_eq!(&got[..], &expect[..]);
                } else {
                    prop_assert_eq!(&got[..], &written[..intact]);
                }
            }
            _ => {
                // Inserted bytes may be whole records; what survives is still in zxid order.
                prop_assert!(got.windows(2).all(|w| w[0].zxid < w[1].zxid));
            }
        }
        // Recovery repaired the files: a second open agrees, and appends go on after.
        prop_assert_eq!(&open_log(dir.path()), &got);
        let next = got.last().map(|e| e.zxid.0 as u32 + 1).unwrap_or(1);
        {
            let (mut log, _) = TxnLog::open(dir.path()).unwrap();
            log.append(&[entry(next, 0)]).unwrap();
            log.sync().unwrap();
        }
        let after = open_log(dir.path());
        prop_assert_eq!(after.len(), got.len() + 1);
        prop_assert_eq!(&after[..got.len()], &got[..]);
    }

    #[test]
    fn txnlog_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), reframe in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = if reframe { framed(&bytes) } else { bytes };
        std::fs::write(dir.path().join(format!("log.{:016x}", 1)), &bytes).unwrap();
        let got = open_log(dir.path());
        prop_assert_eq!(open_log(dir.path()), got);
    }

    #[test]
    fn damaged_snapshot_is_skipped(
        creates in 0u32..6,
        d in damage(),
        reframe in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let older = DataTree::default();
        snapshot::write(dir.path(), Zxid::new(1, 1), &older).unwrap();
        let mut t = older.clone();
        for c in 0..creates {
            let _ = t.apply(Zxid::new(1, 2 + c), &entry(c, 1).txn);
        }
        let z = Zxid::new(1, 2 + creates);
        snapshot::write(dir.path(), z, &t).unwrap();
        let path = dir.path().join(format!("snapshot.{:016x}", z.0));
        let clean = std::fs::read(&path).unwrap();
        let mut bytes = clean.clone();
        if reframe {
            let mut body = clean[frame::HEADER..].to_vec();
            apply(&mut body, &d);
            bytes = framed(&body);
        } else {
            apply(&mut bytes, &d);
        }
        std::fs::write(&path, &bytes).unwrap();
        let (got_z, got) = snapshot::load_newest(dir.path())
            .unwrap()
            .expect("the older snapshot is intact");
        if bytes == clean {
            prop_assert_eq!((got_z, &got), (z, &t));
        } else if got_z == z {
            // Only a reframed body (correct checksum) can still be read, as whatever JSON it is.
            prop_assert!(reframe);
        } else {
            prop_assert_eq!((got_z, &got), (Zxid::new(1, 1), &older));
        }
    }

    #[test]
    fn damaged_data_dir_opens_or_names_the_file(
        accepted in prop::collection::vec(any::<u8>(), 0..12),
        current in prop::collection::vec(any::<u8>(), 0..12),
        updating in prop::option::of(prop::collection::vec(any::<u8>(), 0..12)),
        log in prop::collection::vec(any::<u8>(), 0..200),
        snap in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["log", "snap"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        std::fs::write(root.join(epoch_file::ACCEPTED), &accepted).unwrap();
        std::fs::write(root.join(epoch_file::CURRENT), &current).unwrap();
        if let Some(u) = &updating {
            std::fs::write(root.join(epoch_file::UPDATING), u).unwrap();
        }
        std::fs::write(root.join("log").join(format!("log.{:016x}", 1)), &log).unwrap();
        std::fs::write(root.join("snap").join(format!("snapshot.{:016x}", 1)), framed(&snap)).unwrap();
        match DataDir::open(root) {
            Ok((_, durable)) => {
                let parse = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| s.trim().parse::<u32>().ok());
                prop_assert_eq!(Some(durable.accepted_epoch), parse(&accepted));
                prop_assert_eq!(Some(durable.current_epoch), parse(&current));
            }
            Err(e) => {
                let msg = e.to_string();
                let names_one = [epoch_file::ACCEPTED, epoch_file::CURRENT, epoch_file::UPDATING]
                    .iter()
                    .any(|n| msg.contains(&root.join(n).display().to_string()));
                prop_assert!(names_one, "{msg}");
                prop_assert!(!msg.contains('\n'), "{msg}");
            }
        }
    }
}
