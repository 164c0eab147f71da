//! The proxy's tests, against real echo servers standing in for nodes.

use super::*;
use std::time::Duration;
use tokio::time::timeout;

/// A real echo server standing in for a node's peer port.
async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
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

fn names() -> Vec<String> {
    vec!["n1".into(), "n2".into(), "n3".into()]
}

#[tokio::test]
async fn partition_stalls_without_reset_and_heal_delivers_in_order() {
    let peers = vec![
        echo_server().await,
        echo_server().await,
        echo_server().await,
    ];
    let p = Proxy::start(&names(), &peers).await.unwrap();
    assert_eq!(p.links().len(), 6);
    let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    s.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    timeout(Duration::from_secs(5), s.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"hello");

    // n2 drops traffic from n1: the n1–n2 connection freezes both ways.
    let g = Grudge::complete(&[vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
    p.set_grudge(&g).unwrap();
    assert!(p.is_frozen(0, 1) && p.is_frozen(1, 0) && !p.is_frozen(1, 2));
    s.write_all(b"during").await.unwrap();
    let mut buf = [0u8; 6];
    // Nothing comes back, and the connection is not closed or reset either.
    assert!(timeout(Duration::from_millis(300), s.read_exact(&mut buf))
        .await
        .is_err());
    // A link not in the grudge still works.
    let mut t = TcpStream::connect(p.address(1, 2).unwrap()).await.unwrap();
    t.write_all(b"ok").await.unwrap();
    let mut two = [0u8; 2];
    timeout(Duration::from_secs(5), t.read_exact(&mut two))
        .await
        .unwrap()
        .unwrap();
    // A new connection on a frozen link is accepted but carries nothing.
    let mut u = TcpStream::connect(p.address(0, 2).unwrap()).await.unwrap();
    u.write_all(b"new").await.unwrap();
    let mut three = [0u8; 3];
    assert!(
        timeout(Duration::from_millis(200), u.read_exact(&mut three))
            .await
            .is_err()
    );

    p.heal();
    s.write_all(b"after").await.unwrap();
    let mut all = [0u8; 11];
    timeout(Duration::from_secs(5), s.read_exact(&mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&all, b"duringafter");
    timeout(Duration::from_secs(5), u.read_exact(&mut three))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&three, b"new");
}

#[tokio::test]
async fn dead_target_closes_the_accepted_connection() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let p = Proxy::start(&["a".into(), "b".into()], &[dead, dead])
        .await
        .unwrap();
    let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    let mut buf = [0u8; 1];
    let r = timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(r, Ok(0) | Err(_)));
    assert!(p
        .set_grudge(&Grudge::complete(&[vec!["zz".into()], vec!["a".into()]]))
        .is_err());
}

fn slow_rule(links: Grudge, delay_ms: u64, jitter_ms: u64, bps: Option<u64>) -> LinkRule {
    LinkRule {
        links,
        fault: nemeses::LinkFault {
            slow: Some(Slow {
                delay_ms,
                jitter_ms,
                bytes_per_sec: bps,
            }),
            flaky: None,
        },
    }
}

/// Round trips of one byte through `s`, each timed.
async fn round_trips(s: &mut TcpStream, n: usize) -> Vec<Duration> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    for _ in 0..n {
        let t = std::time::Instant::now();
        s.write_all(b"x").await.unwrap();
        timeout(Duration::from_secs(5), s.read_exact(&mut b))
            .await
            .unwrap()
            .unwrap();
        out.push(t.elapsed());
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_slow_link_adds_its_delay_in_one_direction_only_and_heals() {
    let peers = vec![echo_server().await, echo_server().await];
    let p = Proxy::start(&["a".into(), "b".into()], &peers)
        .await
        .unwrap();
    let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    let base = round_trips(&mut s, 5).await;
    // b drops nothing, but a → b is slow: 80 ms each way it is crossed (once per round trip).
    let mut g = Grudge::none();
    g.0.entry("b".into()).or_default().insert("a".into());
    p.set_link_faults(&[slow_rule(g.clone(), 80, 20, None)])
        .unwrap();
    let slow = round_trips(&mut s, 5).await;
    for d in &slow {
        assert!(
            *d >= Duration::from_millis(80) && *d < Duration::from_millis(400),
            "{slow:?}"
        );
    }
    // The reverse direction (b → a) alone: the same added delay, measured on the echo.
    let mut rev = Grudge::none();
    rev.0.entry("a".into()).or_default().insert("b".into());
    p.set_link_faults(&[slow_rule(rev, 50, 0, None)]).unwrap();
    let back = round_trips(&mut s, 3).await;
    assert!(
        back.iter().all(|d| *d >= Duration::from_millis(50)),
        "{back:?}"
    );
    p.heal();
    let healed = round_trips(&mut s, 5).await;
    assert!(
        healed[2] < Duration::from_millis(40),
        "{healed:?} (before: {base:?})"
    );
    // Order is kept under jitter: a burst of numbered writes comes back in order.
    p.set_link_faults(&[slow_rule(g, 5, 30, None)]).unwrap();
    let mut sent = Vec::new();
    for i in 0..200u32 {
        let bytes = i.to_be_bytes();
        s.write_all(&bytes).await.unwrap();
        sent.extend_from_slice(&bytes);
    }
    let mut got = vec![0u8; sent.len()];
    timeout(Duration::from_secs(10), s.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn a_bandwidth_limit_paces_a_bulk_transfer() {
    let peers = vec![echo_server().await, echo_server().await];
    let p = Proxy::start(&["a".into(), "b".into()], &peers)
        .await
        .unwrap();
    let mut g = Grudge::none();
    g.0.entry("b".into()).or_default().insert("a".into());
    p.set_link_faults(&[slow_rule(g, 0, 0, Some(200_000))])
        .unwrap();
    let s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let data = vec![7u8; 100_000];
    let t = std::time::Instant::now();
    let writer = tokio::spawn(async move { w.write_all(&data).await.map(|_| w) });
    let mut got = vec![0u8; 100_000];
    timeout(Duration::from_secs(10), r.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    let took = t.elapsed();
    let _w = writer.await.unwrap().unwrap();
    // 100 kB at 200 kB/s: about half a second, never much less.
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_flaky_link_resets_connections_and_new_ones_too() {
    let peers = vec![echo_server().await, echo_server().await];
    let p = Proxy::start(&["a".into(), "b".into()], &peers)
        .await
        .unwrap();
    let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    round_trips(&mut s, 2).await;
    let mut g = Grudge::none();
    g.0.entry("b".into()).or_default().insert("a".into());
    let rule = LinkRule {
        links: g,
        fault: nemeses::LinkFault {
            slow: None,
            flaky: Some(nemeses::Flaky { reset_mean_ms: 50 }),
        },
    };
    p.set_link_faults(&[rule]).unwrap();
    let mut reset_seen = 0;
    for _ in 0..5 {
        // Keep talking until the proxy resets the connection.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let err = loop {
            let mut b = [0u8; 1];
            let r = async {
                s.write_all(b"y").await?;
                s.read_exact(&mut b).await.map(|_| ())
            };
            match timeout(Duration::from_secs(1), r).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break e,
                Err(_) => panic!("the flaky link stalled instead of resetting"),
            }
            assert!(std::time::Instant::now() < deadline, "never reset");
        };
        if matches!(
            err.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        ) {
            reset_seen += 1;
        }
        s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    }
    assert!(reset_seen >= 4, "{reset_seen} of 5 ended with a reset");
    assert!(p.resets() >= 5);
    // Healed: the link stays up.
    p.set_link_faults(&[]).unwrap();
    let mut s = TcpStream::connect(p.address(0, 1).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    round_trips(&mut s, 20).await;
}

/// Writes `msg` and reads its echo, within `wait`; `false` if nothing came back.
async fn echoes(s: &mut TcpStream, msg: &[u8], wait: Duration) -> bool {
    s.write_all(msg).await.unwrap();
    let mut buf = vec![0u8; msg.len()];
    match timeout(wait, s.read_exact(&mut buf)).await {
        Ok(r) => {
            r.unwrap();
            assert_eq!(buf, msg);
            true
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_shared_listener_learns_each_sender_and_freezes_only_its_links() {
    let peers = vec![
        echo_server().await,
        echo_server().await,
        echo_server().await,
    ];
    // Node i names itself by its listener's port, in hex.
    let ids = |l: &[SocketAddr]| l.iter().map(|a| format!("{:X}", a.port())).collect();
    let p = Proxy::start_shared(&names(), &peers, "X-Server-From", ids)
        .await
        .unwrap();
    assert_eq!(p.links().len(), 6);
    let to_n2 = p.shared_address(1).unwrap();
    assert_eq!(p.address(0, 1), Some(to_n2));
    assert_eq!(p.address(2, 1), Some(to_n2));
    assert_ne!(p.shared_address(0), Some(to_n2));
    let from = |i: usize| {
        let id = format!("{:x}", p.shared_address(i).unwrap().port());
        format!("POST /raft HTTP/1.1\r\nHost: x\r\nX-Server-From: {id}\r\n\r\n").into_bytes()
    };
    let probe = b"GET /raft/probing HTTP/1.1\r\nHost: x\r\n\r\n";
    let long = Duration::from_secs(5);
    let short = Duration::from_millis(300);
    let mut n1 = TcpStream::connect(to_n2).await.unwrap();
    let mut n3 = TcpStream::connect(to_n2).await.unwrap();
    let mut unknown = TcpStream::connect(to_n2).await.unwrap();
    assert!(echoes(&mut n1, &from(0), long).await);
    assert!(echoes(&mut n3, &from(2), long).await);
    assert!(echoes(&mut unknown, probe, long).await);

    // n1 is cut off: its connection to n2 freezes; n3's and the unidentified one flow.
    let g = Grudge::complete(&[vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
    p.set_grudge(&g).unwrap();
    assert!(!echoes(&mut n1, b"held", short).await);
    assert!(echoes(&mut n3, b"flows", long).await);
    assert!(echoes(&mut unknown, probe, long).await);
    // The kept-alive probe connection now carries n1's raft request: held from its first byte.
    assert!(!echoes(&mut unknown, &from(0), short).await);
    // A new connection from n1 is accepted, and held once it names its sender.
    let mut late = TcpStream::connect(to_n2).await.unwrap();
    assert!(!echoes(&mut late, &from(0), short).await);

    p.heal();
    let mut buf = [0u8; 4];
    timeout(long, n1.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"held");
    for s in [&mut unknown, &mut late] {
        let mut buf = vec![0u8; from(0).len()];
        timeout(long, s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(buf, from(0));
    }
}
