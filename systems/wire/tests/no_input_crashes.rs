//! The client protocol's line reader and request/response parsers on random bytes, random
//! chunkings and corrupted requests, with a fixed proptest budget: no panic, every line that
//! cannot be a request answered by a `bad_request` with a message, and no line handed out
//! longer than the limit.

use proptest::prelude::*;
use wire::lines::{Line, LineSplitter};
use wire::{parse_request, parse_response};

const MAX: usize = 64;

/// Feeds `bytes` in chunks of the given sizes; returns every line, and the leftover's at the end.
fn split(bytes: &[u8], sizes: &[usize]) -> Vec<Line> {
    let mut s = LineSplitter::new(MAX);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut k = 0;
    while !rest.is_empty() {
        let n = sizes[k % sizes.len()].clamp(1, rest.len());
        k += 1;
        let mut chunk = &rest[..n];
        while !chunk.is_empty() {
            let (took, line) = s.push(chunk);
            assert!(took > 0 && took <= chunk.len());
            chunk = &chunk[took..];
            out.extend(line);
        }
        rest = &rest[n..];
    }
    out.extend(s.finish());
    out
}

fn check_lines(lines: Vec<Line>) {
    for l in lines {
        let resp = match l {
            Line::Request(b) => {
                assert!(
                    b.len() <= MAX,
                    "a line of {} bytes over the limit {MAX}",
                    b.len()
                );
                match Line::Request(b).into_request() {
                    Ok(_) => continue,
                    Err(resp) => resp,
                }
            }
            Line::Bad(resp) => resp,
        };
        let e = resp.error.expect("a bad request carries an error");
        assert!(!e.message.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_in_random_chunks(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        sizes in prop::collection::vec(1usize..80, 1..6),
    ) {
        check_lines(split(&bytes, &sizes));
        let _ = parse_request(&bytes);
        let _ = parse_response(&bytes);
    }

    #[test]
    fn corrupted_requests(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        let mut b = br#"{"id":2,"op":"set","path":"/a","data":"v"}"#.to_vec();
        for (at, byte) in edits {
            let i = at % b.len();
            b[i] = byte;
        }
        b.truncate(cut % (b.len() + 1));
        let _ = parse_request(&b);
        let _ = parse_response(&b);
        let mut stream = b.clone();
        stream.extend_from_slice(b"\n");
        stream.extend_from_slice(&b);
        check_lines(split(&stream, &[3, 11]));
    }
}
