//! Shared listeners: telling a connection's sending node from the bytes it sends.
//!
//! Some systems cannot be told a different address for the same peer on every node: etcd's
//! member ids are a hash of the `--initial-cluster` peer URLs, which every member must agree on.
//! For those the proxy has one listener per target node, shared by every sender, and it learns
//! which node opened a connection from a request header the system puts on its peer traffic
//! (etcd's rafthttp sets `X-Server-From: <member id, hex>` on every stream, pipeline and snapshot
//! request). On loopback the source address cannot tell (every connection comes from
//! 127.0.0.1).
//!
//! - The proxy scans what the connection's opener sends, as it passes, for `\r\n<header>:` and
//!   the value after it; a value naming a node makes the connection the link (sender, target)
//!   for good, and from then on grudges, slow and flaky links act on it as on any other.
//! - Until then its sender is unknown and its bytes flow unfrozen: probes and version or member
//!   queries carry no consensus traffic. A connection first used for such a query and kept alive
//!   for raft traffic later is identified by its first request that carries the header, before
//!   that request's bytes are forwarded.
//! - A value naming no node (or a connection that never sends the header) leaves it unknown.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The two nodes of one proxied connection: `to` is the listener's target; `from` is fixed by a
/// per-pair listener, or learnt from the bytes on a shared one.
#[derive(Debug, Clone)]
pub(super) struct Ends {
    pub from: Arc<OnceLock<usize>>,
    pub to: usize,
}

impl Ends {
    pub fn known(from: usize, to: usize) -> Ends {
        let f = OnceLock::new();
        let _ = f.set(from);
        Ends {
            from: Arc::new(f),
            to,
        }
    }

    pub fn unknown(to: usize) -> Ends {
        Ends {
            from: Arc::new(OnceLock::new()),
            to,
        }
    }

    /// (sender, target), once the sender is known.
    pub fn pair(&self) -> Option<(usize, usize)> {
        self.from.get().map(|&f| (f, self.to))
    }
}

/// How the senders on shared listeners name themselves: a header and each node's value of it.
#[derive(Debug)]
pub struct Senders {
    /// `\r\n` and the header's name, lower-case, and `:`.
    needle: Vec<u8>,
    /// Each node's header value, lower-case, to its index.
    ids: HashMap<String, usize>,
}

impl Senders {
    /// Senders that send `header: ids[i]` (compared without regard to case) are node i.
    pub fn new(header: &str, ids: &[String]) -> Senders {
        let mut needle = b"\r\n".to_vec();
        needle.extend(header.to_ascii_lowercase().bytes());
        needle.push(b':');
        Senders {
            needle,
            ids: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.to_ascii_lowercase(), i))
                .collect(),
        }
    }
}

/// The longest header value looked at (ids are short).
const MAX_VALUE: usize = 64;

/// The scan of one connection's sent bytes, chunk by chunk.
pub(super) struct SenderScan {
    senders: Arc<Senders>,
    /// The end of the bytes seen so far: enough to find a header cut between two chunks.
    tail: Vec<u8>,
}

impl SenderScan {
    pub fn new(senders: Arc<Senders>) -> SenderScan {
        SenderScan {
            senders,
            tail: Vec::new(),
        }
    }

    /// Looks at the next bytes sent; answers with the sender's index once a header names one.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        let mut hay = std::mem::take(&mut self.tail);
        hay.extend_from_slice(chunk);
        let needle = &self.senders.needle;
        let lower: Vec<u8> = hay.iter().map(u8::to_ascii_lowercase).collect();
        let mut from = 0;
        while let Some(p) = find(&lower[from..], needle) {
            let start = from + p + needle.len();
            let rest = &hay[start..];
            match rest.iter().position(|&c| c == b'\r') {
                Some(end) => {
                    let value = String::from_utf8_lossy(&rest[..end]);
                    let value = value.trim().to_ascii_lowercase();
                    if let Some(&i) = self.senders.ids.get(&value) {
                        return Some(i);
                    }
                    from = start;
                }
                None if rest.len() <= MAX_VALUE => {
                    // The value is cut off: keep the header for the next chunk.
                    self.tail = hay[from + p..].to_vec();
                    return None;
                }
                None => from = start,
            }
        }
        let keep = needle.len() + MAX_VALUE;
        self.tail = hay[hay.len().saturating_sub(keep)..].to_vec();
        None
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn senders() -> Arc<Senders> {
        Arc::new(Senders::new(
            "X-Server-From",
            &["8e9e05c52164694d".into(), "91bc3c398fb3c146".into()],
        ))
    }

    const STREAM: &[u8] = b"GET /raft/stream/msgappv2/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1:4000\r\nUser-Agent: Go-http-client/1.1\r\nX-Etcd-Cluster-Id: cdf818194e3a8c32\r\nX-Raft-To: 8e9e05c52164694d\r\nX-Server-From: 91bc3c398fb3c146\r\nX-Server-Version: 3.4.23\r\n\r\n";

    #[test]
    fn the_header_names_the_sender_wherever_the_chunks_cut_it() {
        for cut in 0..STREAM.len() {
            let mut s = SenderScan::new(senders());
            let first = s.feed(&STREAM[..cut]);
            let second = s.feed(&STREAM[cut..]);
            assert_eq!(first.or(second), Some(1), "cut at {cut}");
        }
        // Byte by byte, and in any case of the header's name.
        let mut s = SenderScan::new(senders());
        let lower = String::from_utf8_lossy(STREAM).replace("X-Server-From", "x-server-from");
        let found: Vec<_> = lower
            .as_bytes()
            .iter()
            .filter_map(|b| s.feed(&[*b]))
            .collect();
        assert_eq!(found, vec![1]);
    }

    #[test]
    fn requests_without_the_header_or_with_a_stranger_stay_unknown() {
        let mut s = SenderScan::new(senders());
        // A prober's request, then a request from an id no node has, and bulk bytes.
        assert_eq!(
            s.feed(b"GET /raft/probing HTTP/1.1\r\nHost: x\r\nUser-Agent: Go\r\n\r\n"),
            None
        );
        assert_eq!(
            s.feed(b"POST /raft HTTP/1.1\r\nX-Server-From: 1234\r\n\r\n"),
            None
        );
        assert_eq!(s.feed(&[b'x'; 100_000]), None);
        assert!(s.tail.len() <= 100, "the scan keeps a short tail only");
        // The same connection kept alive for raft traffic later: identified then.
        assert_eq!(s.feed(STREAM), Some(1));
    }

    #[test]
    fn ends_of_a_shared_listener_learn_their_sender_once() {
        let e = Ends::unknown(2);
        assert_eq!(e.pair(), None);
        let _ = e.clone().from.set(0);
        assert_eq!(e.pair(), Some((0, 2)));
        assert!(e.from.set(1).is_err());
        assert_eq!(Ends::known(1, 0).pair(), Some((1, 0)));
    }
}
