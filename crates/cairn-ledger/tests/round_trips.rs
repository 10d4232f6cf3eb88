//! Round-trip properties of the encoders and decoders not covered next to their code.
use cairn_crypto::{Sha256, SigningKey};
use cairn_kv::WriteSet;
use cairn_ledger::chunk::{ChunkName, frame_chunk, positions_table};
use cairn_ledger::format::{EntryFlags, EntryView, PublicHeader, TxId, encode_entry};
use cairn_ledger::tables::{NodeInfo, NodeStatus, ServiceInfo, ServiceStatus};
use cairn_ledger::{LedgerSecret, SignatureRecord};
use proptest::prelude::*;

proptest! {
    #[test]
    fn chunk_names_round_trip(start in 1u64..u64::MAX / 2, len in proptest::option::of(0u64..1_000_000), committed: bool, recovery: bool) {
        let name = ChunkName { start, end: len.map(|l| start + l), committed: committed && len.is_some(), recovery };
        prop_assert_eq!(ChunkName::parse(&name.to_string()), Some(name));
    }

    #[test]
    fn tx_ids_round_trip(view: u64, seqno: u64) {
        let tx = TxId::new(view, seqno);
        prop_assert_eq!(tx.to_string().parse::<TxId>(), Ok(tx));
    }

    #[test]
    fn public_headers_round_trip(seqno: u64, claims: [u8; 32], ce: [u8; 32]) {
        let h = PublicHeader::new(seqno, Sha256(claims), Sha256(ce));
        let mut buf = Vec::new();
        h.encode_into(&mut buf);
        prop_assert_eq!(PublicHeader::decode(&mut cairn_ledger::format::ByteReader::new(&buf)).unwrap(), h);
    }

    /// A chunk assembled from encoded entries frames back to the same entries, with and without
    /// its positions table.
    #[test]
    fn chunks_frame_back_to_their_entries(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..20), complete: bool) {
        let secret = LedgerSecret::new([5; 32]);
        let mut file = vec![0u8; 8];
        let mut positions = Vec::new();
        let mut entries = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let tx = TxId::new(2, 10 + i as u64);
            let mut ws = WriteSet::new();
            ws.put(if i % 2 == 0 { "t" } else { "public:t" }, b"k".to_vec(), v.clone());
            let h = PublicHeader::new(tx.seqno, Sha256::ZERO, secret.commit_evidence_digest(tx));
            let e = encode_entry(tx, EntryFlags::default(), &h, &ws, secret.key());
            positions.push(file.len() as u64);
            file.extend_from_slice(&e.bytes);
            entries.push((e, ws));
        }
        let mut name = ChunkName::open(10);
        if complete {
            let table_at = file.len() as u64;
            file.extend_from_slice(&positions_table(&positions));
            file[..8].copy_from_slice(&table_at.to_le_bytes());
            name = name.completed(9 + values.len() as u64);
        }
        let frame = frame_chunk("c", &name, &file, true).unwrap();
        prop_assert_eq!(&frame.positions, &positions);
        prop_assert_eq!(frame.torn_tail, None);
        for (i, (e, ws)) in entries.iter().enumerate() {
            let bytes = &file[frame.entry_range(i)];
            prop_assert_eq!(bytes, &e.bytes[..]);
            let (_, back) = EntryView::parse(bytes).unwrap().decode_all(secret.key()).unwrap();
            prop_assert_eq!(&back, ws);
        }
    }
}

#[test]
fn service_table_values_round_trip_through_json() {
    let info = ServiceInfo {
        cert: "pem".into(),
        status: ServiceStatus::WaitingForRecoveryShares,
        recovery_count: 3,
        previous_service_identity_version: Some(7),
        create_txid: Some("4.1".into()),
    };
    assert_eq!(serde_json::from_slice::<ServiceInfo>(&serde_json::to_vec(&info).unwrap()).unwrap(), info);
    let node = NodeInfo {
        status: NodeStatus::Retired,
        public_key: None,
        rpc_address: Some("127.0.0.1:8000".into()),
        ledger_secret_seqno: 5,
        retired_committed: true,
        encryption_pub_key: Some("pem".into()),
    };
    assert_eq!(serde_json::from_slice::<NodeInfo>(&serde_json::to_vec(&node).unwrap()).unwrap(), node);
}

#[test]
fn signature_records_round_trip_and_verify_only_their_root() {
    let key = SigningKey::generate().unwrap();
    let root = cairn_crypto::sha256(b"root");
    let rec = SignatureRecord::sign(&key, "n1", "cert", TxId::new(2, 9), TxId::new(2, 5), &root, &Sha256::ZERO);
    let back: SignatureRecord = serde_json::from_slice(&serde_json::to_vec(&rec).unwrap()).unwrap();
    assert_eq!(back, rec);
    back.verify(&key.verifying_key()).unwrap();
    let forged = SignatureRecord { root: cairn_crypto::sha256(b"other").to_hex(), ..back };
    assert!(forged.verify(&key.verifying_key()).is_err());
}
