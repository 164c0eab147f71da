//! Fuzzes the client line reader: arbitrary bytes fed in chunks whose sizes come from the
//! input; no panic, no line over the limit, and every line parsed as a request or answered
//! with a bad_request.
#![no_main]

use wire::lines::{Line, LineSplitter};

const MAX: usize = 64;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    let step = (step as usize % 17) + 1;
    let mut s = LineSplitter::new(MAX);
    let mut lines = Vec::new();
    for chunk in bytes.chunks(step) {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let (took, line) = s.push(chunk);
            assert!(took > 0 && took <= chunk.len());
            chunk = &chunk[took..];
            lines.extend(line);
        }
    }
    lines.extend(s.finish());
    for l in lines {
        if let Line::Request(b) = &l {
            assert!(b.len() <= MAX);
        }
        let _ = l.into_request();
    }
    let _ = wire::parse_request(bytes);
    let _ = wire::parse_response(bytes);
});
