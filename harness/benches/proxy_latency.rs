//! The latency the proxy adds to a node-to-node link with no fault on it: round trips of a
//! 100-byte message to a real echo server on loopback, directly and through the proxy, in
//! alternating batches (so drift in machine load hits both alike).
//!
//! Run: `cargo bench -p harness --bench proxy_latency` (PROXY_BENCH_ROUND_TRIPS, default 20000
//! each way).

use harness::proxy::Proxy;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn batch(s: &mut TcpStream, n: usize, out: &mut Vec<Duration>) {
    let msg = [42u8; 100];
    let mut back = [0u8; 100];
    for _ in 0..n {
        let t = Instant::now();
        s.write_all(&msg).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
        out.push(t.elapsed());
    }
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn quantiles(v: &mut [Duration]) -> (Duration, Duration) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn main() {
    let n: usize = std::env::var("PROXY_BENCH_ROUND_TRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let peers = vec![echo_server().await, echo_server().await];
        let proxy = Proxy::start(&["a".into(), "b".into()], &peers)
            .await
            .unwrap();
        let mut direct = TcpStream::connect(peers[1]).await.unwrap();
        let mut proxied = TcpStream::connect(proxy.address(0, 1).unwrap())
            .await
            .unwrap();
        direct.set_nodelay(true).unwrap();
        proxied.set_nodelay(true).unwrap();
        let (mut d, mut p) = (Vec::new(), Vec::new());
        // Warm up, then alternate batches of 1000.
        batch(&mut direct, 1000, &mut Vec::new()).await;
        batch(&mut proxied, 1000, &mut Vec::new()).await;
        for _ in 0..n.div_ceil(1000) {
            batch(&mut direct, 1000, &mut d).await;
            batch(&mut proxied, 1000, &mut p).await;
        }
        let (d50, d99) = quantiles(&mut d);
        let (p50, p99) = quantiles(&mut p);
        println!("round trips of 100 bytes on loopback, {} each", d.len());
        println!("direct:        p50 {} us  p99 {} us", us(d50), us(d99));
        println!("through proxy: p50 {} us  p99 {} us", us(p50), us(p99));
        println!(
            "added by the proxy (no link fault): p50 {} us  p99 {} us",
            us(p50.saturating_sub(d50)),
            us(p99.saturating_sub(d99))
        );
    });
}
