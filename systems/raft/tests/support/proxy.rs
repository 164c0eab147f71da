//! A TCP proxy for one directed peer link that can black-hole traffic without resetting
//! connections: while cut, it reads and discards everything; connections that existed before a
//! cut stay black holes forever (even after healing), so only a node that notices the stall and
//! redials gets through again.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub struct Proxy {
    pub addr: String,
    cut: Arc<AtomicBool>,
    epoch: Arc<AtomicU64>,
}

impl Proxy {
    /// Listens on a fresh loopback port and forwards to `target`.
    pub fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let (c, e, target) = (cut.clone(), epoch.clone(), target.to_string());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(inbound) = conn else { continue };
                let Ok(outbound) = TcpStream::connect(&target) else {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                };
                let born = e.load(Ordering::SeqCst);
                for (mut from, mut to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    let (c, e) = (c.clone(), e.clone());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let pass =
                                !c.load(Ordering::SeqCst) && born == e.load(Ordering::SeqCst);
                            if pass && to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        // A black-holed connection stays open: the far end learns nothing.
                        if born == e.load(Ordering::SeqCst) {
                            let _ = to.shutdown(Shutdown::Both);
                        } else {
                            std::mem::forget(to);
                        }
                    });
                }
            }
        });
        Proxy { addr, cut, epoch }
    }

    /// Starts black-holing; existing connections never recover.
    pub fn cut(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.cut.store(true, Ordering::SeqCst);
    }

    /// New connections forward again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}
