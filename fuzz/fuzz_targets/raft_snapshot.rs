//! Fuzzes raft's snapshot recovery: arbitrary bytes as `snapshot`; loading returns a snapshot or
//! an error whose sentence names the file, never a panic, and a second load agrees.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snapshot"), data).unwrap();
    let a = raft::storage::snapshot::load(dir.path());
    let b = raft::storage::snapshot::load(dir.path());
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            assert!(a.to_string().contains("snapshot"), "{a}");
        }
        (a, b) => panic!("two loads disagree: {a:?} / {b:?}"),
    }
});
