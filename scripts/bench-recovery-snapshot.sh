#!/usr/bin/env bash
# Disaster recovery from a committed snapshot that holds KEYS private keys, through a real
# Recover node (SPEC §7): how long from the last share to `Open` (issue target: ≤ 3 s), and from
# process start to `PartOfPublicNetwork`.
#
# 1. One node (`Start`, member m0 with threshold 1, user u0) is opened and written to with
#    `cairn bench write` (64 clients, 16-byte values, private table) in runs whose record ids do
#    not overlap (`--first-write`), until at least KEYS writes committed: KEYS distinct private
#    keys. A `trigger_snapshot` proposal makes it take a snapshot; once that snapshot is
#    committed the node is stopped (SIGTERM).
# 2. A `Recover` node starts on a copy of the ledger and the snapshots: process start →
#    `PartOfPublicNetwork` (its public read starts from the snapshot).
# 3. m0 opens the service and submits its share: submission → `Open` (the private phase decrypts
#    the snapshot's private domain and the entries after it). One record written in step 1 is
#    read back.
#
# Usage: scripts/bench-recovery-snapshot.sh
# Environment (defaults in brackets):
#   KEYS      private keys to write before the snapshot [1000000]
#   WORKDIR   parent of the temp workspace [${TMPDIR:-/tmp}]
#   KEEP      1 keeps the workspace [0]
# Needs jq, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=lib/node-process.sh
. "$root/scripts/lib/node-process.sh"
# shellcheck source=lib/recovery-bench.sh
. "$root/scripts/lib/recovery-bench.sh"
KEYS="${KEYS:-1000000}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}}"
KEEP="${KEEP:-0}"
for tool in jq curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-recovery-snapshot.sh: needs $tool" >&2; exit 2; }
done
echo "Command: KEYS=$KEYS scripts/bench-recovery-snapshot.sh"
echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$root" log -1 --format='%h "%s"' 2>/dev/null || echo unknown)"
cargo build --release -p cairn >&2
cairn="$root/target/release/cairn"
work=$(mktemp -d "$WORKDIR/cairn-bench-recovery-snapshot.XXXXXX")
node_pid=""

cleanup() {
  stop_node || true
  if [ "$KEEP" = 1 ]; then echo "workspace kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The service, KEYS private keys, a committed snapshot.
old="$work/old"
mkdir -p "$old"
(cd "$old" && "$cairn" keygen member --name m0 >/dev/null && "$cairn" keygen user --name u0 >/dev/null)
read -r rpc n2n < <(free_ports)
config '{"type": "Start", "service_certificate_file": "service_cert.pem", "start": {"members": [{"certificate_file": "m0_cert.pem", "encryption_public_key_file": "m0_enc_pubk.pem"}], "service_configuration": {"recovery_threshold": 1}}}' "$rpc" "$n2n" >"$old/node.json"
url="https://127.0.0.1:$rpc"
start_node "$old"
wait_state "$old" PartOfNetwork 60
pass "$old" set_user "$(jq -n --rawfile c "$old/u0_cert.pem" '{cert: $c}')"
member "$old" open-service --next-identity "$old/service_cert.pem" >/dev/null
written=0
run=0
echo "writing $KEYS private keys (64 clients, 16-byte values)" >&2
while [ "$written" -lt "$KEYS" ]; do
  report=$("$cairn" bench write --url "$url" --service-cert "$old/service_cert.pem" --user-cert "$old/u0_cert.pem" \
    --user-key "$old/u0_privk.pem" --table private --clients 64 --duration 30s --warmup 0s --value-bytes 16 \
    --first-write $((run * 100000000)) --json)
  written=$((written + $(jq .committed_tx <<<"$report")))
  run=$((run + 1))
  echo "  $written committed" >&2
done
pass "$old" trigger_snapshot '{}'
for _ in $(seq 600); do
  ls "$old/snapshots/"*.committed >/dev/null 2>&1 && break
  sleep 0.1
done
snapshot=$(basename "$(ls "$old/snapshots/"*.committed | tail -1)")
stop_node
snapshot_bytes=$(stat -c %s "$old/snapshots/$snapshot")
ledger_bytes=$(du -sb "$old/ledger" | cut -f1)
echo "snapshot $snapshot: $snapshot_bytes bytes; ledger $ledger_bytes bytes" >&2

# 2. Recover from it.
rec="$work/recover"
mkdir -p "$rec"
cp -a "$old/ledger" "$rec/ledger"
cp -a "$old/snapshots" "$rec/snapshots"
cp "$old/service_cert.pem" "$rec/previous_service_cert.pem"
cp "$old"/m0_* "$old"/u0_* "$rec/"
read -r rpc n2n < <(free_ports)
config '{"type": "Recover", "service_certificate_file": "service_cert.pem", "recover": {"previous_service_identity_file": "previous_service_cert.pem"}}' "$rpc" "$n2n" >"$rec/node.json"
url="https://127.0.0.1:$rpc"
sync
t0=$(date +%s.%N)
start_node "$rec"
wait_state "$rec" PartOfPublicNetwork 600
t1=$(date +%s.%N)
sed 's/\x1b\[[0-9;]*m//g' "$rec/node.log" | grep -q "reading the public ledger from a committed snapshot" \
  || { echo "the recovery did not start from the snapshot" >&2; exit 1; }
member "$rec" open-service --next-identity "$rec/service_cert.pem" --previous-identity "$rec/previous_service_cert.pem" >/dev/null

# 3. The last share → Open.
t2=$(date +%s.%N)
member "$rec" share submit >/dev/null
wait_state "$rec" PartOfNetwork 600
t3=$(date +%s.%N)
status=$(curl -sf --cacert "$rec/service_cert.pem" "$url/node/network" | jq -r .service_status)
[ "$status" = Open ] || { echo "service not open: $status" >&2; exit 1; }
# The first record of client 1 (id 1 << 40), written in step 1.
got=$(curl -sf --cacert "$rec/service_cert.pem" --cert "$rec/u0_cert.pem" --key "$rec/u0_privk.pem" \
  "$url/app/log/private?id=$((1 << 40))" | jq -r .msg)
[ "$got" = "0000010000000000" ] || { echo "record 1<<40 reads back as '$got'" >&2; exit 1; }
stop_node

python3 - "$written" "$snapshot" "$snapshot_bytes" "$ledger_bytes" "$t0" "$t1" "$t2" "$t3" <<'EOF'
import sys
keys, snapshot = int(sys.argv[1]), sys.argv[2]
snapshot_bytes, ledger_bytes = int(sys.argv[3]), int(sys.argv[4])
t0, t1, t2, t3 = map(float, sys.argv[5:9])
print(f"Snapshot {snapshot}: {keys} private keys written before it, {snapshot_bytes / 1e6:.0f} MB; ledger {ledger_bytes / 1e6:.0f} MB.")
print()
print("| phase | seconds |")
print("| --- | --- |")
print(f"| process start → PartOfPublicNetwork (public read from the snapshot) | {t1 - t0:.2f} |")
print(f"| last share submitted → Open (target ≤ 3 s) | {t3 - t2:.2f} |")
print(f"| process start → Open, members' commands included | {t3 - t0:.2f} |")
EOF
