//! Node-to-node channel over real sockets on 127.0.0.1: mutual TLS with service-endorsed
//! certificates, framing limits, bounded queues, reconnects and unreachability notices.
use cairn_ledger::ServiceIdentity;
use cairn_server::node_channel::{
    ChannelEvent, DEFAULT_MAX_FRAME_BYTES, DropReason, InboundFrame, NodeChannel, NodeChannelConfig, NodeIdentity,
    NodeTls, PeerAddress, SendOutcome,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(8);

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn new_service() -> ServiceIdentity {
    ServiceIdentity::create(now() - 86_400, 30).unwrap()
}

/// A node certificate endorsed by `endorser`, trusting peers endorsed by `trusted`.
fn identity(endorser: &ServiceIdentity, trusted: &ServiceIdentity) -> NodeIdentity {
    let signer = endorser.new_local_node(now() - 3_600, 30).unwrap();
    NodeIdentity {
        cert_pem: signer.cert_pem,
        key_pem: signer.key.to_pem(),
        service_cert_pem: trusted.cert.pem().into(),
    }
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A port nobody listens on (bound, then released).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

async fn start(identity: &NodeIdentity, bind: SocketAddr) -> (NodeChannel, mpsc::Receiver<ChannelEvent>) {
    let (tx, rx) = mpsc::channel(256);
    let channel = NodeChannel::start(identity, NodeChannelConfig::new(bind), tx).await.unwrap();
    (channel, rx)
}

fn peer(channel: &NodeChannel) -> PeerAddress {
    PeerAddress { node_id: channel.node_id().to_string(), address: channel.local_addr().to_string() }
}

/// The next frame (unreachability notices skipped), or `None` after `wait`.
async fn next_frame(rx: &mut mpsc::Receiver<ChannelEvent>, wait: Duration) -> Option<InboundFrame> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ChannelEvent::Frame(frame))) => return Some(frame),
            Ok(Some(ChannelEvent::Unreachable { .. })) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Frame `i` from raft id `from` to `to`: sizes vary, including 0 and 1 MiB.
fn frame(from: u64, to: u64, i: usize) -> Vec<u8> {
    let len = match i % 100 {
        0 => 0,
        50 => 1024 * 1024,
        _ => (i * 37) % 5_000 + 1,
    };
    (0..len).map(|k| (k as u64 ^ (i as u64 * 31) ^ (from << 4) ^ (to << 6)) as u8).collect()
}

fn tagged(seq: u32) -> Vec<u8> {
    seq.to_le_bytes().to_vec()
}

fn tag(frame: &InboundFrame) -> u32 {
    u32::from_le_bytes(frame.frame[..4].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_exchange_frames_in_order_both_ways() {
    const COUNT: usize = 1_000;
    let service = new_service();
    let mut channels = Vec::new();
    for _ in 0..3 {
        channels.push(start(&identity(&service, &service), localhost()).await);
    }
    let peers: HashMap<u64, PeerAddress> =
        channels.iter().enumerate().map(|(i, (c, _))| (i as u64 + 1, peer(c))).collect();
    for (channel, _) in &channels {
        channel.set_peers(peers.clone());
    }
    let mut receivers = Vec::new();
    for (me, (_, rx)) in channels.iter_mut().enumerate() {
        let me = me as u64 + 1;
        let mut rx = std::mem::replace(rx, mpsc::channel(1).1);
        let peers = peers.clone();
        receivers.push(tokio::spawn(async move {
            let mut next: HashMap<u64, usize> = HashMap::new();
            for _ in 0..2 * COUNT {
                let got = next_frame(&mut rx, Duration::from_secs(20)).await.expect("a frame");
                let from = got.from_raft_id.expect("known peer");
                assert_eq!(got.from_node_id, peers[&from].node_id);
                let i = next.entry(from).or_default();
                assert_eq!(got.frame, frame(from, me, *i), "frame {i} from {from} to {me}");
                *i += 1;
            }
            next
        }));
    }
    for i in 0..COUNT {
        for (me, (channel, _)) in channels.iter().enumerate() {
            let me = me as u64 + 1;
            for to in (1..=3).filter(|to| *to != me) {
                // Bounded queues: wait for room rather than overflow (overflow has its own test).
                let mut outcome = channel.send(to, frame(me, to, i));
                while outcome == SendOutcome::Dropped(DropReason::QueueFull) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    outcome = channel.send(to, frame(me, to, i));
                }
                assert_eq!(outcome, SendOutcome::Queued);
            }
        }
    }
    for (me, receiver) in receivers.into_iter().enumerate() {
        let next = timeout(Duration::from_secs(30), receiver).await.unwrap().unwrap();
        let me = me as u64 + 1;
        for from in (1..=3).filter(|from| *from != me) {
            assert_eq!(next[&from], COUNT);
        }
    }
    for (channel, _) in &channels {
        assert!(channel.status().peers.iter().all(|p| p.connected && p.dropped_frames == 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_endorsed_by_another_service_are_refused_both_ways() {
    let service = new_service();
    let other = new_service();
    let (good, mut good_rx) = start(&identity(&service, &service), localhost()).await;
    // Trusts our service, but its own certificate comes from the other one.
    let (foreign, mut foreign_rx) = start(&identity(&other, &service), localhost()).await;

    // As a client: the foreign node connects to us and is refused during the handshake.
    foreign.set_peers([(1, peer(&good))]);
    assert_eq!(foreign.send(1, b"hello".to_vec()), SendOutcome::Queued);
    wait_for("the inbound refusal", || good.status().inbound_refused >= 1).await;
    let status = good.status();
    let error = status.last_inbound_error.unwrap();
    assert!(error.contains("handshake") && error.contains("UnknownIssuer"), "{error}");

    // As a server: we connect to the foreign node and refuse its certificate.
    good.set_peers([(9, peer(&foreign))]);
    assert_eq!(good.send(9, b"secret".to_vec()), SendOutcome::Queued);
    wait_for("the outbound refusal", || {
        good.status().peers[0].last_error.as_deref().is_some_and(|e| e.contains("UnknownIssuer"))
    })
    .await;
    let status = good.status();
    assert!(!status.peers[0].connected);
    assert!(status.peers[0].connect_failures >= 1);
    assert_eq!(status.peers[0].queued_frames, 1, "the frame stays queued, never sent");

    assert_eq!(next_frame(&mut good_rx, Duration::from_millis(500)).await, None);
    assert_eq!(next_frame(&mut foreign_rx, Duration::from_millis(100)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificates_are_refused_both_ways() {
    let service = new_service();
    let (good, mut good_rx) = start(&identity(&service, &service), localhost()).await;
    let signer = service.new_local_node(now() - 10 * 86_400, 1).unwrap();
    let expired = NodeIdentity {
        cert_pem: signer.cert_pem,
        key_pem: signer.key.to_pem(),
        service_cert_pem: service.cert.pem().into(),
    };
    let (stale, mut stale_rx) = start(&expired, localhost()).await;

    stale.set_peers([(1, peer(&good))]);
    assert_eq!(stale.send(1, b"hello".to_vec()), SendOutcome::Queued);
    wait_for("the inbound refusal", || good.status().inbound_refused >= 1).await;
    let error = good.status().last_inbound_error.unwrap();
    assert!(error.contains("Expired"), "{error}");

    good.set_peers([(2, peer(&stale))]);
    assert_eq!(good.send(2, b"hello".to_vec()), SendOutcome::Queued);
    wait_for("the outbound refusal", || {
        good.status().peers[0].last_error.as_deref().is_some_and(|e| e.contains("Expired"))
    })
    .await;
    assert_eq!(next_frame(&mut good_rx, Duration::from_millis(300)).await, None);
    assert_eq!(next_frame(&mut stale_rx, Duration::from_millis(100)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_length_closes_the_connection() {
    let service = new_service();
    let (server, mut rx) = start(&identity(&service, &service), localhost()).await;
    let client_identity = identity(&service, &service);
    let tls = NodeTls::new(&client_identity).unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls.client);
    let tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await.unwrap();

    // A valid frame first: the raw client is a legitimate peer.
    stream.write_all(&3u32.to_le_bytes()).await.unwrap();
    stream.write_all(b"abc").await.unwrap();
    stream.flush().await.unwrap();
    let got = next_frame(&mut rx, PATIENCE).await.unwrap();
    assert_eq!((got.frame.as_slice(), got.from_raft_id), (&b"abc"[..], None));
    assert_eq!(got.from_node_id, tls.node_id);

    let too_long = u32::try_from(DEFAULT_MAX_FRAME_BYTES + 1).unwrap();
    stream.write_all(&too_long.to_le_bytes()).await.unwrap();
    stream.write_all(&[7u8; 1024]).await.unwrap();
    stream.flush().await.unwrap();
    let mut buf = [0u8; 16];
    let read = timeout(PATIENCE, stream.read(&mut buf)).await.expect("the server closes the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // Anything written afterwards is never delivered.
    let _ = stream.write_all(&1u32.to_le_bytes()).await;
    let _ = stream.write_all(b"z").await;
    let _ = stream.flush().await;
    assert_eq!(next_frame(&mut rx, Duration::from_millis(500)).await, None);
    let error = server.status().last_inbound_error.unwrap();
    assert!(error.contains(&tls.node_id) && error.contains(&too_long.to_string()), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow_drops_the_excess_and_keeps_the_rest_in_order() {
    let service = new_service();
    let (sender, _sender_rx) = start(&identity(&service, &service), localhost()).await;
    let receiver_identity = identity(&service, &service);
    let port = free_port();
    let receiver_node_id = NodeTls::new(&receiver_identity).unwrap().node_id;
    sender.set_peers([(2, PeerAddress { node_id: receiver_node_id, address: port.to_string() })]);
    let bound = NodeChannelConfig::new(localhost()).queue_frames;
    let mut dropped = 0;
    for seq in 0..bound as u32 + 10 {
        match sender.send(2, tagged(seq)) {
            SendOutcome::Queued => assert!((seq as usize) < bound),
            SendOutcome::Dropped(reason) => {
                assert_eq!(reason, DropReason::QueueFull);
                assert!(seq as usize >= bound);
                dropped += 1;
            }
        }
    }
    assert_eq!(dropped, 10);
    let status = sender.status();
    assert_eq!((status.peers[0].queued_frames, status.peers[0].dropped_frames), (bound, 10));

    let (_receiver, mut rx) = start(&receiver_identity, port).await;
    for seq in 0..bound as u32 {
        let got = next_frame(&mut rx, PATIENCE).await.expect("queued frame delivered");
        assert_eq!(tag(&got), seq);
    }
    assert_eq!(next_frame(&mut rx, Duration::from_millis(300)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refuses_what_does_not_fit() {
    let service = new_service();
    let mut config = NodeChannelConfig::new(localhost());
    config.queue_bytes = 1_000;
    config.max_frame_bytes = 2_000;
    let (tx, _rx) = mpsc::channel(16);
    let channel = NodeChannel::start(&identity(&service, &service), config, tx).await.unwrap();
    let down = NodeTls::new(&identity(&service, &service)).unwrap().node_id;
    channel.set_peers([(2, PeerAddress { node_id: down, address: free_port().to_string() })]);
    assert_eq!(channel.send(2, vec![1; 600]), SendOutcome::Queued);
    assert_eq!(channel.send(2, vec![2; 600]), SendOutcome::Dropped(DropReason::QueueFull));
    assert_eq!(channel.send(2, vec![3; 400]), SendOutcome::Queued);
    assert_eq!(channel.send(2, vec![4; 2_001]), SendOutcome::Dropped(DropReason::TooLarge));
    assert_eq!(channel.send(3, vec![5; 1]), SendOutcome::Dropped(DropReason::UnknownPeer));
    let status = channel.status();
    let p = &status.peers[0];
    assert_eq!((p.queued_frames, p.queued_bytes, p.dropped_frames), (2, 1_000, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_on_the_same_port_receives_again() {
    let service = new_service();
    let (sender, _sender_rx) = start(&identity(&service, &service), localhost()).await;
    let receiver_identity = identity(&service, &service);
    let (receiver, mut rx) = start(&receiver_identity, localhost()).await;
    let port = receiver.local_addr();
    sender.set_peers([(2, peer(&receiver))]);
    assert_eq!(sender.send(2, tagged(0)), SendOutcome::Queued);
    assert_eq!(tag(&next_frame(&mut rx, PATIENCE).await.unwrap()), 0);

    receiver.close().await;
    drop(rx);
    wait_for("the sender to notice", || !sender.status().peers[0].connected).await;
    for seq in 1..=20 {
        assert_eq!(sender.send(2, tagged(seq)), SendOutcome::Queued);
    }
    let (_receiver, mut rx) = start(&receiver_identity, port).await;
    wait_for("the reconnection", || {
        let p = &sender.status().peers[0];
        p.connected && p.reconnects >= 1
    })
    .await;
    for seq in 21..=40 {
        assert_eq!(sender.send(2, tagged(seq)), SendOutcome::Queued);
    }
    // Frames queued while the peer was down arrive; at most one in flight may be lost.
    let mut seen = Vec::new();
    while seen.last() != Some(&40) {
        let got = next_frame(&mut rx, PATIENCE).await.expect("frames after the restart");
        seen.push(tag(&got));
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in order: {seen:?}");
    assert!(seen.len() >= 39, "at most one frame lost: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_peer_is_reported() {
    let service = new_service();
    let (channel, mut rx) = start(&identity(&service, &service), localhost()).await;
    let down = identity(&service, &service);
    let down_id = NodeTls::new(&down).unwrap().node_id;
    channel.set_peers([(7, PeerAddress { node_id: down_id, address: free_port().to_string() })]);
    let event = timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert_eq!(event, ChannelEvent::Unreachable { raft_id: 7 });
    let status = channel.status();
    assert!(!status.peers[0].connected && status.peers[0].connect_failures >= 1);
    assert!(status.peers[0].last_error.as_deref().unwrap().contains("raft id 7"));

    // A connection that drops is reported too.
    let (up, _up_rx) = start(&identity(&service, &service), localhost()).await;
    channel.set_peers([(8, peer(&up))]);
    wait_for("the connection", || channel.status().peers[0].connected).await;
    while rx.try_recv().is_ok() {}
    up.close().await;
    let event = timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert_eq!(event, ChannelEvent::Unreachable { raft_id: 8 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_presented_on_the_next_connection() {
    let service = new_service();
    let (good, mut good_rx) = start(&identity(&service, &service), localhost()).await;
    // A node whose certificate expired: refused.
    let signer = service.new_local_node(now() - 10 * 86_400, 1).unwrap();
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let expired = NodeIdentity {
        cert_pem: signer.cert_pem,
        key_pem: signer.key.to_pem(),
        service_cert_pem: service.cert.pem().into(),
    };
    let (stale, _stale_rx) = start(&expired, localhost()).await;
    stale.set_peers([(1, peer(&good))]);
    assert_eq!(stale.send(1, tagged(0)), SendOutcome::Queued);
    wait_for("the refusal of the expired certificate", || good.status().inbound_refused >= 1).await;

    // Members renewed it: the same key, new dates. Another key is not a renewal.
    let other = service.new_local_node(now() - 60, 30).unwrap();
    assert!(stale.present_certificate(&other.cert_pem).is_err(), "a certificate for another key");
    let renewed = service.endorse_node(&signer.key, names, now() - 60, 30).unwrap();
    stale.present_certificate(renewed.pem()).unwrap();
    assert_eq!(stale.presented_certificate(), renewed.der());
    // The next connection presents it and is accepted: frames flow.
    assert_eq!(stale.send(1, tagged(1)), SendOutcome::Queued);
    let got = next_frame(&mut good_rx, PATIENCE).await.expect("a frame over the renewed certificate");
    assert!(tag(&got) <= 1);
}
