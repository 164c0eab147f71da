//! Fuzzes the parser of Porcupine etcd logs (and format detection) on arbitrary text: it must return a
//! history or an error sentence, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = histories::parse_porcupine_etcd(text) {
            assert!(!e.to_string().is_empty());
        }
        let _ = histories::load_str(text, None);
    }
});
