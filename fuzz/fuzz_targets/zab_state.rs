//! Fuzzes zab's snapshot and epoch-file recovery: arbitrary bytes as a snapshot file and as
//! both epoch files. Loading the newest snapshot skips a damaged one or returns an error; an
//! epoch file reads as a number or an error naming it; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snapshot.0000000100000005"), data).unwrap();
    let _ = zab::storage::snapshot::load_newest(dir.path());
    let _ = zab::storage::snapshot::list(dir.path());
    std::fs::write(dir.path().join("acceptedEpoch"), data).unwrap();
    std::fs::write(dir.path().join("currentEpoch"), data).unwrap();
    for r in [
        zab::storage::epoch_file::read_accepted(dir.path()),
        zab::storage::epoch_file::read_current(dir.path()),
    ] {
        if let Err(e) = r {
            assert!(e.to_string().contains("Epoch"), "{e}");
        }
    }
    let _ = zab::storage::epoch_file::read_updating(dir.path());
});
