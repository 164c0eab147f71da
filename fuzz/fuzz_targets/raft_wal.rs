//! Fuzzes raft's write-ahead log recovery: arbitrary bytes as `wal`; opening must succeed
//! (cutting what is not intact), and a second open must agree and cut nothing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wal"), data).unwrap();
    let (_, a) = raft::storage::wal::Wal::open(dir.path()).unwrap();
    let (_, b) = raft::storage::wal::Wal::open(dir.path()).unwrap();
    assert_eq!(b.truncated_bytes, 0);
    assert_eq!((a.hard_state, a.entries), (b.hard_state, b.entries));
    let _ = raft::frame::decode::<raft::core::Message>(data);
});
