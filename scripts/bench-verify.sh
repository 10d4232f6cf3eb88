#!/usr/bin/env bash
# Replay benchmark (issue: foundation): generates >= 1 GB ledgers with CCF's default signature
# interval (5000), then times `cairn ledger verify --level signatures` on them next to the
# machine's limits measured in the same run (`cairn ledger limits`).
# Usage: scripts/bench-verify.sh [WORKDIR]   (default /tmp/cairn-bench; needs ~2.5 GB free)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-/tmp/cairn-bench}"
mkdir -p "$work"
cargo build --release -p cairn >&2
cairn=target/release/cairn

gen() { # name value_size transactions
  local dir="$work/$1"
  if [ ! -f "$dir/ledger_secret.bin" ]; then
    rm -rf "$dir"
    $cairn ledger generate --out "$dir" --value-size "$2" --transactions "$3" \
      --signature-interval 5000 --chunk-size 5MB --private-percent 50 --durability flush >&2
  fi
  echo "$dir"
}

run() { # name value_size transactions
  local dir; dir=$(gen "$@")
  local size; size=$(du -sb "$dir" | cut -f1)
  echo "## $1: $(( size / 1000000 )) MB, values of $2 bytes"
  echo "limits:  $($cairn ledger limits "$dir")"
  $cairn ledger verify "$dir" --level signatures --json >/dev/null   # warm
  echo "verify:  $($cairn ledger verify "$dir" --level signatures --json)"
  echo "private: $($cairn ledger verify "$dir" --level private --ledger-secret "$dir/ledger_secret.bin" --json)"
}

run values-4KiB 4096 250000
run values-100B 100 3600000
