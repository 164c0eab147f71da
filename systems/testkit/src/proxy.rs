//! A TCP proxy for one directed peer link (node A dials node B through it) that can black-hole
//! the link without resetting anything.
//!
//! While [`Proxy::cut`], every byte in either direction is read and dropped: no connection is
//! closed or refused, the ends just hear nothing (a partition as a switch makes it, not one that
//! sends resets). Connections made during the cut pass once it heals. The connections that
//! existed when the link was cut never carry a byte again; how a heal treats them is the test's
//! choice:
//! - [`Proxy::heal`] leaves them black holes forever (a close is not passed on either), so only a
//!   node that notices the stall and redials gets through again;
//! - [`Proxy::heal_with_reset`] closes them, as a peer's restart or a middlebox's reset would.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub struct Proxy {
    /// Where the dialing node connects.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    target: SocketAddr,
    cut: AtomicBool,
    /// Advanced by every cut (and reset): a connection born in an earlier epoch passes nothing.
    epoch: AtomicU64,
    stop: AtomicBool,
    /// The open connections by number, so that a reset or the proxy's end can close them.
    conns: Mutex<BTreeMap<u64, Conn>>,
    next_conn: AtomicU64,
}

struct Conn {
    /// The dialer's side and the target's side.
    ends: [TcpStream; 2],
}

impl Shared {
    fn conns(&self) -> MutexGuard<'_, BTreeMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn passes(&self, born: u64) -> bool {
        !self.cut.load(Ordering::SeqCst) && born == self.epoch.load(Ordering::SeqCst)
    }

    /// Closes every connection there is.
    fn reset_all(&self) {
        let mut conns = self.conns();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for (_, c) in std::mem::take(&mut *conns) {
            for s in &c.ends {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Proxy {
    /// Listens on a fresh port of 127.0.0.1 and forwards each connection to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a proxy port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let shared = Arc::new(Shared {
            target,
            cut: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            conns: Mutex::new(BTreeMap::new()),
            next_conn: AtomicU64::new(0),
        });
        let sh = shared.clone();
        std::thread::spawn(move || accept_loop(listener, sh));
        Proxy { addr, shared }
    }

    /// Black-holes the link from now on; the connections open now never recover.
    pub fn cut(&self) {
        let _conns = self.shared.conns();
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        self.shared.cut.store(true, Ordering::SeqCst);
    }

    /// New connections pass again; those from before the cut stay black holes.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Closes every connection the cut held, then lets new ones pass.
    pub fn heal_with_reset(&self) {
        self.shared.reset_all();
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.reset_all();
        // Wake the accept loop so that it sees the stop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn accept_loop(listener: TcpListener, sh: Arc<Shared>) {
    for conn in listener.incoming() {
        if sh.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(dialer) = conn else { continue };
        let Ok(target) = TcpStream::connect_timeout(&sh.target, Duration::from_secs(1)) else {
            let _ = dialer.shutdown(Shutdown::Both);
            continue;
        };
        let _ = dialer.set_nodelay(true);
        let _ = target.set_nodelay(true);
        let (Ok(d2), Ok(t2), Ok(d3), Ok(t3)) = (
            dialer.try_clone(),
            target.try_clone(),
            dialer.try_clone(),
            target.try_clone(),
        ) else {
            continue;
        };
        let id = sh.next_conn.fetch_add(1, Ordering::SeqCst);
        let born = {
            // Under the lock, so that a cut or reset sees this connection with its epoch.
            let mut conns = sh.conns();
            let born = sh.epoch.load(Ordering::SeqCst);
            conns.insert(id, Conn { ends: [d3, t3] });
            born
        };
        for (from, to) in [(dialer, t2), (target, d2)] {
            let sh = sh.clone();
            std::thread::spawn(move || pump(from, to, born, id, sh));
        }
    }
}

/// Copies `from` to `to` while the connection's link passes, dropping bytes while it does not.
fn pump(mut from: TcpStream, mut to: TcpStream, born: u64, id: u64, sh: Arc<Shared>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if sh.passes(born) && to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let mut conns = sh.conns();
    if sh.passes(born) {
        // A live link passes the close on; a cut one does not.
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
        conns.remove(&id);
    }
    // A black hole stays open and silent: the registry keeps its sockets until a reset.
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    /// An echo server of lines; returns its address.
    fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut w = s.try_clone().unwrap();
                    for line in BufReader::new(s).lines().map_while(Result::ok) {
                        if writeln!(w, "{line}").is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn dial(p: &Proxy) -> (TcpStream, BufReader<TcpStream>) {
        let s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let r = BufReader::new(s.try_clone().unwrap());
        (s, r)
    }

    fn round_trip(s: &mut TcpStream, r: &mut BufReader<TcpStream>, msg: &str) -> Option<String> {
        writeln!(s, "{msg}").ok()?;
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end().to_string()),
            _ => None,
        }
    }

    /// The read times out: neither a byte nor the end of the stream arrives.
    fn assert_silent(r: &mut BufReader<TcpStream>, what: &str) {
        let mut line = String::new();
        let e = r.read_line(&mut line).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{what}: {e}"
        );
    }

    #[test]
    fn a_cut_black_holes_old_connections_for_good_and_new_ones_pass_after_heal() {
        let p = Proxy::start(echo());
        let (mut a, mut ar) = dial(&p);
        assert_eq!(round_trip(&mut a, &mut ar, "one").as_deref(), Some("one"));
        p.cut();
        assert_eq!(
            round_trip(&mut a, &mut ar, "two"),
            None,
            "a cut link passed"
        );
        let (mut b, mut br) = dial(&p);
        assert_eq!(round_trip(&mut b, &mut br, "three"), None);
        p.heal();
        assert_eq!(
            round_trip(&mut a, &mut ar, "four"),
            None,
            "an old connection recovered"
        );
        // Not closed either: the read timed out rather than seeing the end of the stream.
        assert_silent(&mut ar, "an old connection was closed");
        let (mut c, mut cr) = dial(&p);
        assert_eq!(round_trip(&mut c, &mut cr, "five").as_deref(), Some("five"));
        assert_eq!(round_trip(&mut b, &mut br, "six").as_deref(), Some("six"));
    }

    #[test]
    fn a_cut_link_does_not_pass_the_target_closing_a_connection() {
        // A target that hangs up on every connection at once.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                drop(s);
            }
        });
        let p = Proxy::start(target);
        p.cut();
        let (_s, mut r) = dial(&p);
        assert_silent(&mut r, "the close passed a cut link");
        p.heal_with_reset();
        let mut line = String::new();
        assert_eq!(r.read_line(&mut line).unwrap(), 0, "not closed: {line}");
    }

    #[test]
    fn a_heal_with_reset_closes_what_the_cut_held() {
        let p = Proxy::start(echo());
        let (mut a, mut ar) = dial(&p);
        assert_eq!(round_trip(&mut a, &mut ar, "one").as_deref(), Some("one"));
        p.cut();
        let (mut b, mut br) = dial(&p);
        assert_eq!(round_trip(&mut b, &mut br, "held"), None);
        p.heal_with_reset();
        let mut line = String::new();
        assert_eq!(ar.read_line(&mut line).unwrap(), 0, "not closed: {line}");
        assert_eq!(round_trip(&mut b, &mut br, "two"), None);
        let (mut c, mut cr) = dial(&p);
        assert_eq!(
            round_trip(&mut c, &mut cr, "three").as_deref(),
            Some("three")
        );
    }
}
