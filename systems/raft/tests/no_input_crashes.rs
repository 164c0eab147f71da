//! raft's byte parsers on random and corrupted input, with a fixed proptest budget: peer
//! frames (random bytes, random payloads in a well-formed frame, damaged real messages) and
//! recovery of a real write-ahead log and snapshot file after truncation, byte flips and
//! splices. Never a panic; the log recovers the state of its intact prefix and a damaged
//! snapshot is a one-sentence error naming the file.

use proptest::prelude::*;
use raft::core::{Body, Entry, HardState, Message, Snapshot};
use raft::frame;
use raft::storage::{snapshot, wal::Wal};
use std::path::Path;
use testkit::damage::{apply, damage, Damage};

const CASES: u32 = 1000;

/// A frame around `payload` with a correct length and checksum, so the decoder itself runs.
fn framed(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    Entry {
        term,
        index,
        data: data.to_vec(),
    }
}

fn message(kind: u8, n: u64, data: &[u8]) -> Message {
    let body = match kind % 5 {
        0 => Body::Append {
            prev_index: n,
            prev_term: n / 2,
            entries: vec![entry(n + 1, n, data), entry(n + 2, n, b"")],
            commit: n,
        },
        1 => Body::InstallSnapshot {
            snapshot: Snapshot {
                index: n,
                term: 3,
                data: data.to_vec(),
            },
        },
        2 => Body::Propose {
            entries: vec![data.to_vec(), vec![]],
        },
        3 => Body::Heartbeat {
            commit: n,
            matched: n,
            read_seq: 7,
        },
        _ => Body::AppendResp {
            success: false,
            index: n,
            hint_index: 1,
            hint_term: 1,
        },
    };
    Message {
        from: 1,
        to: 2,
        term: n,
        body,
    }
}

/// One write to the log: a hard state, or a batch of entries starting at an index.
#[derive(Clone, Debug)]
enum Write {
    Hs(u64, Option<u64>),
    Entries(u64, u64, Vec<Vec<u8>>),
}

fn writes() -> impl Strategy<Value = Vec<Write>> {
    let w = prop_oneof![
        (0u64..5, prop::option::of(0u64..4)).prop_map(|(t, v)| Write::Hs(t, v)),
        (
            1u64..8,
            0u64..5,
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 1..4)
        )
            .prop_map(|(i, t, d)| Write::Entries(i, t, d)),
    ];
    prop::collection::vec(w, 1..10)
}

/// Where each record of a clean log starts, and its end.
fn bounds(clean: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    let mut off = 0;
    while off < clean.len() {
        let len = u32::from_le_bytes(clean[off..off + 4].try_into().unwrap()) as usize;
        off += frame::HEADER + len;
        out.push(off);
    }
    out
}

/// Writes the log with the real code, fsyncing after each write.
fn write_log(dir: &Path, ws: &[Write]) {
    let (mut w, _) = Wal::open(dir).unwrap();
    for x in ws {
        match x {
            Write::Hs(term, vote) => w.put_hard_state(HardState {
                term: *term,
                vote: *vote,
            }),
            Write::Entries(i, t, d) => {
                let es: Vec<Entry> = d
                    .iter()
                    .enumerate()
                    .map(|(k, d)| entry(i + k as u64, *t, d))
                    .collect();
                w.put_entries(&es);
            }
        }
        w.sync().unwrap();
    }
}

type State = (HardState, Vec<Entry>);

fn recover(dir: &Path) -> (State, u64) {
    let (_, r) = Wal::open(dir).unwrap_or_else(|e| panic!("recovery failed: {e}"));
    ((r.hard_state, r.entries), r.truncated_bytes)
}

/// The state a log holding exactly `bytes` recovers (no damage: nothing cut).
fn state_of(bytes: &[u8]) -> State {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("wal"), bytes).unwrap();
    let (s, cut) = recover(d.path());
    assert_eq!(cut, 0, "an undamaged prefix lost bytes");
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn peer_frames_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = frame::decode::<Message>(&bytes);
        let _ = frame::decode::<Message>(&framed(&bytes));
        if bytes.len() >= frame::HEADER {
            let h: [u8; frame::HEADER] = bytes[..frame::HEADER].try_into().unwrap();
            let _ = frame::header(&h);
        }
    }

    #[test]
    fn damaged_peer_messages(
        kind in any::<u8>(),
        n in any::<u64>(),
        data in prop::collection::vec(any::<u8>(), 0..40),
        d in damage(),
        reframe in any::<bool>(),
    ) {
        let m = message(kind, n, &data);
        let mut bytes = frame::encode(&m);
        if reframe {
            // Damage the payload but give it a correct checksum: the decoder sees the garbage.
            let mut payload = bytes[frame::HEADER..].to_vec();
            apply(&mut payload, &d);
            bytes = framed(&payload);
        } else {
            apply(&mut bytes, &d);
        }
        match frame::decode::<Message>(&bytes) {
            Ok((back, used)) => prop_assert!(used <= bytes.len() && (reframe || back == m)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn wal_recovers_the_intact_prefix(ws in writes(), d in damage()) {
        let dir = tempfile::tempdir().unwrap();
        write_log(dir.path(), &ws);
        let path = dir.path().join("wal");
        let clean = std::fs::read(&path).unwrap();
        let bounds = bounds(&clean);
        let mut bytes = clean.clone();
        apply(&mut bytes, &d);
        std::fs::write(&path, &bytes).unwrap();
        let (got, cut) = recover(dir.path());
        // Where the damage starts: every record wholly before it is intact.
        let first_bad = match &d {
            Damage::Truncate(_) => bytes.len(),
            _ => clean.iter().zip(&bytes).take_while(|(a, b)| a == b).count(),
        };
        let intact = *bounds.iter().rev().find(|&&b| b <= first_bad).unwrap();
        match &d {
            Damage::Truncate(_) | Damage::Flip(..) => {
                // A checksum catches the damaged record, so exactly the intact prefix survives.
                prop_assert_eq!(&got, &state_of(&clean[..intact]));
                prop_assert_eq!(cut as usize, bytes.len() - intact);
            }
            _ => {
                // Inserted bytes may themselves be whole records; the intact prefix is at
                // least read (it never errs), and what is cut is cut for good.
                prop_assert!(cut as usize <= bytes.len());
            }
        }
        // Recovery cut the file: a second open agrees and cuts nothing more.
        let (again, cut2) = recover(dir.path());
        prop_assert_eq!(cut2, 0);
        prop_assert_eq!(&again, &got);
        // And the log takes appends after the cut.
        {
            let (mut w, _) = Wal::open(dir.path()).unwrap();
            w.put_hard_state(HardState { term: 99, vote: Some(1) });
            w.sync().unwrap();
        }
        let ((hs, es), cut3) = recover(dir.path());
        prop_assert_eq!(cut3, 0);
        prop_assert_eq!(hs, HardState { term: 99, vote: Some(1) });
        prop_assert_eq!(es, got.1);
    }

    #[test]
    fn wal_of_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400), reframe in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = if reframe { framed(&bytes) } else { bytes };
        std::fs::write(dir.path().join("wal"), &bytes).unwrap();
        let (got, cut) = recover(dir.path());
        prop_assert!(cut as usize <= bytes.len());
        prop_assert_eq!(recover(dir.path()), (got, 0));
    }

    #[test]
    fn damaged_snapshot_is_an_error_naming_the_file(
        index in any::<u64>(),
        data in prop::collection::vec(any::<u8>(), 0..200),
        d in damage(),
        reframe in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = Snapshot { index, term: 4, data };
        snapshot::save(dir.path(), &s).unwrap();
        let path = dir.path().join("snapshot");
        let clean = std::fs::read(&path).unwrap();
        let mut bytes = clean.clone();
        if reframe {
            let mut payload = bytes[frame::HEADER..].to_vec();
            apply(&mut payload, &d);
            bytes = framed(&payload);
        } else {
            apply(&mut bytes, &d);
        }
        std::fs::write(&path, &bytes).unwrap();
        match snapshot::load(dir.path()) {
            Ok(Some(back)) => prop_assert!(reframe || back == s, "a damaged snapshot read back as {back:?}"),
            Ok(None) => prop_assert!(false, "the snapshot file vanished"),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains(&path.display().to_string()), "{msg}");
                prop_assert!(!msg.contains('\n'), "{msg}");
            }
        }
    }
}
