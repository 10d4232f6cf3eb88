use anyhow::Context;
use cairn_fs::{Durability, FsStorage};
use cairn_kv::WriteSet;
use cairn_ledger::chunk::{ChunkName, frame_chunk};
use cairn_ledger::format::{EntryView, TxId};
use cairn_ledger::storage::Storage;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct ShowArgs {
    /// Ledger directory.
    dir: PathBuf,
    /// Show only this transaction (VIEW.SEQNO), with its keys and values.
    #[arg(long)]
    tx: Option<TxId>,
    /// Decrypt private tables: a 32-byte ledger secret file or a node's `ledger_secrets.json`.
    #[arg(long)]
    ledger_secret: Option<PathBuf>,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
}

fn printable(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c == '\n') => s.to_string(),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

fn tables_json(ws: &WriteSet, with_values: bool) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (name, map) in &ws.maps {
        let v = if with_values {
            let rows: serde_json::Map<String, serde_json::Value> = map
                .writes
                .iter()
                .map(|(k, v)| {
                    (
                        printable(k),
                        v.as_ref().map_or(serde_json::Value::Null, |v| serde_json::Value::String(printable(v))),
                    )
                })
                .collect();
            serde_json::Value::Object(rows)
        } else {
            serde_json::json!({"writes": map.writes.values().filter(|v| v.is_some()).count(), "removes": map.writes.values().filter(|v| v.is_none()).count()})
        };
        out.insert(name.clone(), v);
    }
    serde_json::Value::Object(out)
}

pub fn run(a: ShowArgs) -> anyhow::Result<ExitCode> {
    let secrets = match &a.ledger_secret {
        Some(p) => super::verify::read_ledger_secrets(p)?,
        None => Default::default(),
    };
    let storage =
        FsStorage::open(&a.dir, Durability::Flush, true).with_context(|| format!("opening {}", a.dir.display()))?;
    let mut chunks: Vec<(ChunkName, String)> =
        storage.list()?.into_iter().filter_map(|f| ChunkName::parse(&f).map(|n| (n, f))).collect();
    chunks.sort_by_key(|(n, _)| (n.start, !n.committed));
    let mut found = false;
    let mut out = std::io::stdout().lock();
    for (name, file) in chunks {
        if let Some(tx) = a.tx
            && (tx.seqno < name.start || name.end.is_some_and(|e| tx.seqno > e))
        {
            continue;
        }
        let bytes = storage.read_all(&file)?;
        let frame = frame_chunk(&file, &name, &bytes, false).with_context(|| format!("framing {file}"))?;
        if a.tx.is_none() && !a.json {
            writeln!(out, "# {file} ({} entries, {} bytes)", frame.positions.len(), bytes.len())?;
        }
        for i in 0..frame.positions.len() {
            let range = frame.entry_range(i);
            let offset = range.start;
            let view = EntryView::parse(&bytes[range]).with_context(|| format!("{file} at offset {offset}"))?;
            let tx = view.tx_id();
            if a.tx.is_some_and(|want| want != tx) {
                continue;
            }
            found = true;
            let (_, public) = view.decode_public().with_context(|| format!("{file} at offset {offset}"))?;
            let secret = secrets.secret_for(tx.seqno);
            let private = match secret {
                Some(s) => Some(
                    view.decrypt_private(s.key())
                        .with_context(|| format!("{file} at offset {offset}: private domain"))?,
                ),
                None => None,
            };
            let with_values = a.tx.is_some();
            let mut all = public.clone();
            if let Some(p) = &private {
                all = all.merged(p.clone());
            }
            if a.json {
                let v = serde_json::json!({
                    "txid": tx.to_string(), "file": file, "offset": offset, "size": view.bytes.len(),
                    "flags": view.header.flags.0, "private_bytes": view.private.len(),
                    "tables": tables_json(&all, with_values),
                });
                writeln!(out, "{v}")?;
            } else {
                let names: Vec<String> = all.maps.iter().map(|(n, m)| format!("{n}({})", m.writes.len())).collect();
                let private_note = if private.is_none() && !view.private.is_empty() {
                    format!(" +{} encrypted bytes", view.private.len())
                } else {
                    String::new()
                };
                writeln!(out, "{tx:>12}  {:>8} B  {}{private_note}", view.bytes.len(), names.join(" "))?;
                if with_values {
                    writeln!(out, "{}", serde_json::to_string_pretty(&tables_json(&all, true))?)?;
                }
            }
        }
    }
    if let Some(tx) = a.tx
        && !found
    {
        eprintln!("transaction {tx} is not in {}", a.dir.display());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
