//! Micro-benchmarks of the ledger's hot kernels: entry encode/decode, AES-256-GCM, SHA-256,
//! Merkle frontier append/root and ECDSA P-384 prehashed sign/verify.
//!
//! Run with `cargo bench -p cairn-ledger --bench ledger_kernels`. Measurement times are kept
//! short so the whole run finishes in a few minutes on a 2-core machine.

use cairn_crypto::{AesGcmKey, Sha256, SigningKey, sha256};
use cairn_kv::WriteSet;
use cairn_ledger::format::{EntryFlags, EntryView, PUBLIC_HEADER_BYTES, PublicHeader, TxId, encode_entry};
use cairn_ledger::merkle::MerkleFrontier;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// A typical user transaction: one public record (32-byte value) and one private record of
/// `private_len` bytes.
fn sample_write_set(private_len: usize) -> WriteSet {
    let mut ws = WriteSet::new();
    ws.put("public:records", b"key-000042".to_vec(), vec![0x5a; 32]);
    ws.put("records", b"key-000042".to_vec(), vec![0xa5; private_len]);
    ws.with_read_version(41)
}

fn sample_header(tx: TxId) -> PublicHeader {
    PublicHeader::new(tx.seqno, Sha256::ZERO, sha256(b"commit evidence"))
}

fn bench_entry(c: &mut Criterion) {
    let key = AesGcmKey::new([7; 32]);
    let tx = TxId::new(2, 42);
    let header = sample_header(tx);
    let mut group = c.benchmark_group("entry");
    for (label, len) in [("100B", 100), ("4KiB", 4 * KIB)] {
        let ws = sample_write_set(len);
        let encoded = encode_entry(tx, EntryFlags::default(), &header, &ws, &key);
        group.throughput(Throughput::Bytes(encoded.bytes.len() as u64));
        group.bench_function(format!("encode/{label}"), |b| {
            b.iter(|| encode_entry(black_box(tx), EntryFlags::default(), black_box(&header), black_box(&ws), &key))
        });
        group.bench_function(format!("decode/{label}"), |b| {
            b.iter(|| {
                let view = EntryView::parse(black_box(&encoded.bytes)).expect("valid entry");
                let public = view.decode_public().expect("valid public domain");
                let private = view.decrypt_private(&key).expect("valid private domain");
                (public, private)
            })
        });
    }
    group.finish();
}

fn bench_aes_gcm(c: &mut Criterion) {
    let key = AesGcmKey::new([7; 32]);
    let iv = [1u8; 12];
    let aad = vec![0x33u8; PUBLIC_HEADER_BYTES];
    let plain = vec![0xa5u8; 4 * KIB];
    let mut sealed = plain.clone();
    let tag = key.seal(iv, &aad, &mut sealed);

    let mut group = c.benchmark_group("aes256gcm");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("seal/4KiB", |b| {
        let mut buf = plain.clone();
        b.iter(|| key.seal(black_box(iv), black_box(&aad), black_box(&mut buf)))
    });
    group.bench_function("open/4KiB", |b| {
        b.iter_batched_ref(
            || sealed.clone(),
            |buf| key.open(black_box(iv), black_box(&aad), buf, black_box(&tag)).expect("authentic"),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bench_sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for (label, len) in [("4KiB", 4 * KIB), ("1MiB", MIB)] {
        let data = vec![0x5au8; len];
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(label, |b| b.iter(|| sha256(black_box(&data))));
    }
    group.finish();
}

fn bench_merkle(c: &mut Criterion) {
    const BATCH: u64 = 1024;
    let leaves: Vec<Sha256> = (0..BATCH).map(|i| sha256(&i.to_le_bytes())).collect();
    let mut group = c.benchmark_group("merkle");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("append/1024", |b| {
        b.iter(|| {
            let mut f = MerkleFrontier::new();
            for leaf in &leaves {
                f.append(black_box(*leaf));
            }
            f
        })
    });

    // 2^20 - 1 leaves: 20 peaks, the most a tree of about a million leaves can have.
    let mut big = MerkleFrontier::empty();
    let leaf = sha256(b"leaf");
    for _ in 0..(1u64 << 20) - 1 {
        big.append(leaf);
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("root/1048575_leaves_20_peaks", |b| b.iter(|| black_box(&big).root()));
    group.finish();
}

fn bench_ecdsa(c: &mut Criterion) {
    let key = SigningKey::generate().expect("key generation");
    let vk = key.verifying_key();
    let root = sha256(b"merkle root");
    let sig = key.sign_prehashed_sha256(&root);
    vk.verify_prehashed_sha256(&root, &sig).expect("signature verifies");

    let mut group = c.benchmark_group("ecdsa_p384");
    group.bench_function("sign_prehashed_sha256", |b| b.iter(|| key.sign_prehashed_sha256(black_box(&root))));
    group.bench_function("verify_prehashed_sha256", |b| {
        b.iter(|| vk.verify_prehashed_sha256(black_box(&root), black_box(&sig)).expect("valid"))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = kernels;
    config = config();
    targets = bench_entry, bench_aes_gcm, bench_sha256, bench_merkle, bench_ecdsa
}
criterion_main!(kernels);
