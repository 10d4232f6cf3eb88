//! `cairn ledger limits DIR...`: the machine's limits for verifying these chunk files: warm
//! sequential read of every chunk `verify` would read, then SHA-256 and AES-256-GCM throughput
//! of one core over a resident buffer of the same total size (so the read is not counted twice).
//! Benchmarks compare `verify` against these.
use anyhow::Context;
use cairn_crypto::{AesGcmKey, sha256};
use cairn_ledger::chunk::ChunkName;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Args)]
pub struct LimitsArgs {
    /// Ledger directories.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
}

pub fn run(a: LimitsArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for d in &a.dirs {
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let p = e?.path();
            if p.file_name().and_then(|n| n.to_str()).and_then(ChunkName::parse).is_some() {
                files.push(p);
            }
        }
    }
    files.sort();
    let read_all = || -> anyhow::Result<(u64, f64)> {
        let t = Instant::now();
        let mut total = 0u64;
        for f in &files {
            total += std::fs::read(f).with_context(|| format!("reading {}", f.display()))?.len() as u64;
        }
        Ok((total, t.elapsed().as_secs_f64()))
    };
    read_all()?; // warm the page cache
    let (bytes, read_s) = read_all()?;
    // Time SHA-256 alone over a resident buffer the size of the largest chunk, repeated to cover
    // the same number of bytes (excludes the read, which is measured above).
    let largest =
        files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).max().unwrap_or(0).max(1 << 20)
            as usize;
    let buf = vec![0x5au8; largest];
    let rounds = (bytes as usize).div_ceil(largest).max(1);
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(sha256(std::hint::black_box(&buf)));
    }
    let sha_s = t.elapsed().as_secs_f64();
    let sha_total = (rounds * largest) as f64;
    let key = AesGcmKey::new([7; 32]);
    let mut block = vec![0u8; 1 << 20];
    let aes_rounds = (bytes as usize).div_ceil(block.len()).clamp(1, 1024);
    let t = Instant::now();
    for i in 0..aes_rounds {
        let mut iv = [0u8; 12];
        iv[..8].copy_from_slice(&(i as u64).to_le_bytes());
        std::hint::black_box(key.seal(iv, b"", &mut block));
    }
    let aes_s = t.elapsed().as_secs_f64();
    let v = serde_json::json!({
        "files": files.len(),
        "bytes": bytes,
        "sequential_read_warm_mb_per_s": bytes as f64 / read_s / 1e6,
        "sha256_one_core_mb_per_s": sha_total / sha_s / 1e6,
        "aes256gcm_one_core_mb_per_s": (aes_rounds * block.len()) as f64 / aes_s / 1e6,
    });
    println!("{v}");
    Ok(ExitCode::SUCCESS)
}
