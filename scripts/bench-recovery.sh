#!/usr/bin/env bash
# Disaster-recovery rates through a real Recover node (SPEC §7), next to this machine's limits
# measured in the same run.
#
# 1. One node (`Start`, member m0 with threshold 1, user u0) is opened and written to with
#    `cairn bench write` (32 KiB values, private and public tables at once) until its ledger
#    holds SIZE_MB; then stopped (SIGTERM).
# 2. `cairn ledger limits` on that ledger: warm sequential read, SHA-256 and AES-256-GCM of one
#    core.
# 3. A `Recover` node starts on a copy of the ledger. Public phase: from process start to
#    `PartOfPublicNetwork` (the node's own "public ledger read" log line gives the read time).
# 4. m0 opens the service (`cairn member open-service --previous-identity`) and submits its share
#    (`cairn member share submit`): the private phase (restoring the secrets, decrypting every
#    private domain, the opening transaction) runs inside that request; the time to `Open` is
#    measured from the submission.
# Prints one markdown table row per phase (bytes, entries, seconds, MB/s, tx/s, and the share of
# the machine's limit) and the raw numbers.
#
# Usage: scripts/bench-recovery.sh
# Environment (defaults in brackets):
#   SIZE_MB   ledger size to write [1024]
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
SIZE_MB="${SIZE_MB:-1024}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}}"
KEEP="${KEEP:-0}"
for tool in jq curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-recovery.sh: needs $tool" >&2; exit 2; }
done
echo "Command: SIZE_MB=$SIZE_MB scripts/bench-recovery.sh"
echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$root" log -1 --format='%h "%s"' 2>/dev/null || echo unknown)"
cargo build --release -p cairn >&2
cairn="$root/target/release/cairn"
work=$(mktemp -d "$WORKDIR/cairn-bench-recovery.XXXXXX")
node_pid=""

cleanup() {
  stop_node || true
  if [ "$KEEP" = 1 ]; then echo "workspace kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# 1. The service and its ledger.
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
echo "writing a ${SIZE_MB} MB ledger (32 KiB values, private and public)" >&2
while [ "$(du -sm "$old/ledger" | cut -f1)" -lt "$SIZE_MB" ]; do
  for table in private public; do
    "$cairn" bench write --url "$url" --service-cert "$old/service_cert.pem" --user-cert "$old/u0_cert.pem" \
      --user-key "$old/u0_privk.pem" --table "$table" --clients 8 --duration 10s --warmup 0s \
      --value-bytes 32768 --json >/dev/null &
  done
  wait %2 %3 2>/dev/null || wait
done
stop_node
bytes=$(du -sb "$old/ledger" | cut -f1)
limits=$("$cairn" ledger limits "$old/ledger")
entries=$("$cairn" ledger verify "$old/ledger" --level parse --json | jq .entries)
echo "ledger: $bytes bytes, $entries entries; limits: $limits" >&2

# 2. Recover.
rec="$work/recover"
mkdir -p "$rec"
cp -a "$old/ledger" "$rec/ledger"
cp "$old/service_cert.pem" "$rec/previous_service_cert.pem"
cp "$old"/m0_* "$rec/"
read -r rpc n2n < <(free_ports)
config '{"type": "Recover", "service_certificate_file": "service_cert.pem", "recover": {"previous_service_identity_file": "previous_service_cert.pem"}}' "$rpc" "$n2n" >"$rec/node.json"
url="https://127.0.0.1:$rpc"
sync
t0=$(date +%s.%N)
start_node "$rec"
wait_state "$rec" PartOfPublicNetwork 600
t1=$(date +%s.%N)
read_ms=$(sed 's/\x1b\[[0-9;]*m//g' "$rec/node.log" | grep 'public ledger read' | grep -o 'elapsed_ms=[0-9]*' | tail -1 | cut -d= -f2 || true)
member "$rec" open-service --next-identity "$rec/service_cert.pem" --previous-identity "$rec/previous_service_cert.pem" >/dev/null
t2=$(date +%s.%N)
member "$rec" share submit >/dev/null
wait_state "$rec" PartOfNetwork 600
t3=$(date +%s.%N)
status=$(curl -sf --cacert "$rec/service_cert.pem" "$url/node/network" | jq -r .service_status)
[ "$status" = Open ] || { echo "service not open: $status" >&2; exit 1; }
stop_node

python3 - "$bytes" "$entries" "$limits" "$t0" "$t1" "$t2" "$t3" "${read_ms:-0}" <<'EOF'
import json, sys
bytes_, entries = int(sys.argv[1]), int(sys.argv[2])
limits = json.loads(sys.argv[3])
t0, t1, t2, t3 = map(float, sys.argv[4:8])
read_s = int(sys.argv[8]) / 1000
mb = bytes_ / 1e6
read_lim, sha_lim, aes_lim = (limits[k] for k in ("sequential_read_warm_mb_per_s", "sha256_one_core_mb_per_s", "aes256gcm_one_core_mb_per_s"))
public_s, private_s = t1 - t0, t3 - t2
print(f"Ledger: {mb:.0f} MB, {entries} entries. Machine: warm read {read_lim:.0f} MB/s, SHA-256 {sha_lim:.0f} MB/s, AES-256-GCM {aes_lim:.0f} MB/s (one core).")
print()
print("| phase | seconds | MB/s | tx/s | limit (MB/s) | share of limit |")
print("| --- | --- | --- | --- | --- | --- |")
pub_limit = min(read_lim, sha_lim)
print(f"| public: process start → PartOfPublicNetwork | {public_s:.2f} | {mb / public_s:.0f} | {entries / public_s:.0f} | min(read, SHA-256) {pub_limit:.0f} | {100 * mb / public_s / pub_limit:.0f} % |")
if read_s > 0:
    print(f"| public: the node's own read of the ledger | {read_s:.2f} | {mb / read_s:.0f} | {entries / read_s:.0f} | min(read, SHA-256) {pub_limit:.0f} | {100 * mb / read_s / pub_limit:.0f} % |")
print(f"| private: last share → Open | {private_s:.2f} | {mb / private_s:.0f} | {entries / private_s:.0f} | AES-256-GCM {aes_lim:.0f} | {100 * mb / private_s / aes_lim:.0f} % |")
EOF
