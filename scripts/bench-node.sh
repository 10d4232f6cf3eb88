#!/usr/bin/env bash
# Node write-path benchmark: one fresh single node per durability mode (fsync, flush) on
# 127.0.0.1, opened by one member through `cairn member` with one registered user, then
# `cairn bench write` (private table, default value size) at several client counts.
# Prints on stdout the machine (nproc, CPU model, the workspace's filesystem from `df -T` and what
# one append + fdatasync costs there), the load average before each run, and a markdown table:
# committed tx/s, commit and ack latency, errors, transactions per signature (read back from
# the ledger; one signature = one ledger fdatasync in fsync mode), and the CPU (in cores) the
# node, the load driver and everything else used during each run. Progress and the build go to
# stderr. Commit latency is as `cairn bench write` sees it: it polls /node/tx after 0, 1, 2.5,
# 4.75, ... ms (x1.5, capped at 20 ms), so low latencies are rounded up to the next poll.
#
# Usage: scripts/bench-node.sh
# Environment (defaults in brackets):
#   SIG_DELAY     ledger_signatures.delay [2ms]   (ledger_signatures.tx_count is 5000)
#   DURATION      measured duration of each run [15s]   (after a 2s warm-up)
#   CLIENTS       client counts, space separated ["1 16 64"]
#   DURABILITIES  ledger.durability modes, space separated ["fsync flush"]
#   WORKDIR       parent of the temp workspaces [${TMPDIR:-/tmp}]
#   KEEP          1 keeps the workspaces (keys, node.json, node logs, ledgers, raw JSON) [0]
# Example, CCF's default signature delay: SIG_DELAY=1000ms CLIENTS=16 DURABILITIES=fsync scripts/bench-node.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=lib/node-process.sh
. "$root/scripts/lib/node-process.sh"
# shellcheck source=lib/machine-report.sh
. "$root/scripts/lib/machine-report.sh"

SIG_DELAY="${SIG_DELAY:-2ms}"
DURATION="${DURATION:-15s}"
CLIENTS="${CLIENTS:-1 16 64}"
DURABILITIES="${DURABILITIES:-fsync flush}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}}"
KEEP="${KEEP:-0}"
WARMUP=2s

for tool in jq curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-node.sh: needs $tool" >&2; exit 2; }
done

echo "Command: SIG_DELAY=$SIG_DELAY DURATION=$DURATION CLIENTS=\"$CLIENTS\" DURABILITIES=\"$DURABILITIES\" scripts/bench-node.sh"
echo "Each run: target/release/cairn bench write --url https://127.0.0.1:PORT --service-cert service_cert.pem --user-cert u0_cert.pem --user-key u0_privk.pem --clients C --duration $DURATION --warmup $WARMUP --table private --json"
echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$root" log -1 --format='%h "%s"' 2>/dev/null || echo unknown)"

cargo build --release -p cairn >&2
cairn="$root/target/release/cairn"

work=$(mktemp -d "$WORKDIR/cairn-bench-node.XXXXXX")
node_pid=""


cleanup() {
  stop_node || true
  if [ "$KEEP" = 1 ]; then echo "workspaces kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

machine_report "$work" ledger


start_node() { # dir durability; sets node_pid and url
  local dir=$1 durability=$2 rpc n2n
  read -r rpc n2n < <(free_ports)
  (cd "$dir" && "$cairn" keygen member --name m0 >/dev/null && "$cairn" keygen user --name u0 >/dev/null)
  jq -n --arg rpc "127.0.0.1:$rpc" --arg n2n "127.0.0.1:$n2n" --arg durability "$durability" --arg delay "$SIG_DELAY" '{
    network: {
      node_to_node_interface: {bind_address: $n2n},
      rpc_interfaces: {primary: {bind_address: $rpc}}
    },
    command: {
      type: "Start",
      service_certificate_file: "service_cert.pem",
      start: {
        members: [{certificate_file: "m0_cert.pem", encryption_public_key_file: "m0_enc_pubk.pem"}],
        service_configuration: {recovery_threshold: 1}
      }
    },
    ledger: {directory: "ledger", durability: $durability},
    snapshots: {directory: "snapshots"},
    ledger_signatures: {tx_count: 5000, delay: $delay},
    node_data_directory: "node_data"
  }' >"$dir/node.json"
  url="https://127.0.0.1:$rpc"
  (cd "$dir" && RUST_LOG=info exec "$cairn" node --config node.json >node.log 2>&1) &
  node_pid=$!
  for _ in $(seq 600); do
    if ! kill -0 "$node_pid" 2>/dev/null; then
      echo "node exited during start; $dir/node.log:" >&2; cat "$dir/node.log" >&2; node_pid=""; exit 1
    fi
    if [ -f "$dir/service_cert.pem" ] && curl -sf --cacert "$dir/service_cert.pem" "$url/node/state" >/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "node not ready after 60 s; $dir/node.log:" >&2; cat "$dir/node.log" >&2; exit 1
}

open_service() { # dir: set_user u0, then transition_service_to_open, each proposed and approved by m0
  local dir=$1 out id state
  local member=("$cairn" member --url "$url" --service-cert "$dir/service_cert.pem" --cert "$dir/m0_cert.pem" --key "$dir/m0_privk.pem")
  out=$("${member[@]}" propose --action set_user --args "$(jq -n --rawfile c "$dir/u0_cert.pem" '{cert: $c}')")
  id=${out%% *}
  out=$("${member[@]}" vote --proposal "$id" --approve)
  state=${out##* }
  [ "$state" = Accepted ] || { echo "set_user proposal $id: $out" >&2; exit 1; }
  out=$("${member[@]}" open-service --next-identity "$dir/service_cert.pem")
  state=${out##* }
  [ "$state" = Accepted ] || { echo "open-service: $out" >&2; exit 1; }
  state=$(curl -sf --cacert "$dir/service_cert.pem" "$url/node/network" | jq -r .service_status)
  [ "$state" = Open ] || { echo "service status after open-service: $state" >&2; exit 1; }
}

# CPU accounting for one run, to show how much of the 2-core machine the node, the load driver
# and everything else (other users' builds) took while it ran. Clock ticks from /proc.
tick=$(getconf CLK_TCK)
cpu_ticks() { # busy ticks of the whole machine (user nice system irq softirq) and steal
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat
}
node_ticks() { # utime + stime of the node process
  sed 's/^.*) //' "/proc/$node_pid/stat" | awk '{print $12 + $13}'
}
children_s() { # sets $1 to the user + sys seconds of this shell's waited-for children (bash
  # `times`, 2nd line); must run in this shell, not in a $(...) subshell
  times >"$work/times"
  printf -v "$1" '%s' "$(sed -n 2p "$work/times" | tr 'ms' '  ' | awk '{print $1 * 60 + $2 + $3 * 60 + $4}')"
}

last_seqno() { # dir: the node's last signed seqno
  curl -sf --cacert "$1/service_cert.pem" "$url/node/state" | jq -r .last_signed_seqno
}

rows=()
raw=()
for durability in $DURABILITIES; do
  dir="$work/$durability"
  mkdir -p "$dir"
  start_node "$dir" "$durability"
  open_service "$dir"
  echo "[$durability] node pid $node_pid at $url, service open, user u0 registered" >&2
  ranges=()
  for c in $CLIENTS; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    from=$(last_seqno "$dir")
    cmd=("$cairn" bench write --url "$url" --service-cert "$dir/service_cert.pem"
      --user-cert "$dir/u0_cert.pem" --user-key "$dir/u0_privk.pem"
      --clients "$c" --duration "$DURATION" --warmup "$WARMUP" --table private --json)
    echo "[$durability] load $load; ${cmd[*]#"$root/"}" >&2
    read -r busy0 steal0 < <(cpu_ticks)
    n0=$(node_ticks); children_s d0; t0=$(date +%s.%N)
    json=$("${cmd[@]}")
    read -r busy1 steal1 < <(cpu_ticks)
    n1=$(node_ticks); children_s d1; t1=$(date +%s.%N)
    cpu=$(awk -v t="$tick" -v t0="$t0" -v t1="$t1" -v b="$((busy1 - busy0))" -v s="$((steal1 - steal0))" \
      -v n="$((n1 - n0))" -v d0="$d0" -v d1="$d1" \
      'BEGIN {w = t1 - t0; node = n / t / w; drv = (d1 - d0) / w; printf "%.2f %.2f %.2f %.2f", node, drv, b / t / w - node - drv, s / t / w}')
    to=$(last_seqno "$dir")
    echo "$json" >"$dir/bench-c$c.json"
    raw+=("$durability C=$c: $json")
    ranges+=("$c $from $to $cpu $load")
  done
  stop_node
  [ "$node_rc" = 0 ] || { echo "[$durability] node exited with status $node_rc after SIGTERM; $dir/node.log:" >&2; tail -20 "$dir/node.log" >&2; }
  # Signatures (one ledger fsync each in fsync mode) per run, from the ledger the node wrote.
  verify=$("$cairn" ledger verify "$dir/ledger" --level signatures --json)
  "$cairn" ledger show "$dir/ledger" --json |
    jq -r 'select(.tables["public:ccf.internal.signatures"]) | .txid | split(".")[1]' >"$dir/signature-seqnos"
  for r in "${ranges[@]}"; do
    read -r c from to cpu_node cpu_drv cpu_other cpu_steal l1 l5 l15 <<<"$r"
    sigs=$(awk -v a="$from" -v b="$to" '$1 > a && $1 <= b' "$dir/signature-seqnos" | wc -l)
    rows+=("$(jq -r --arg d "$durability" --arg load "$l1 $l5 $l15" --arg cpu "$cpu_node | $cpu_drv | $cpu_other | $cpu_steal" --argjson sigs "$sigs" --argjson txs "$((to - from))" '
      def f(n): (n * 10 | round / 10 | tostring);
      def ms(n): (n * 100 | round / 100 | tostring);
      "| \($d) | \(.clients) | \(f(.tx_per_s)) | \(ms(.commit_latency_ms.p50_ms)) | \(ms(.commit_latency_ms.p99_ms)) | \(ms(.ack_latency_ms.p50_ms)) | \(.error_count) | \(if $sigs > 0 then f(($txs - $sigs) / $sigs) else "-" end) | \($cpu) | \($load) |"
    ' "$dir/bench-c$c.json")")
  done
  echo "[$durability] node stopped (SIGTERM, exit status $node_rc); ledger verify: $(jq -c '{entries, signatures, last_signed_txid, failure}' <<<"$verify")" >&2
  echo "Ledger ($durability), cairn ledger verify --level signatures after SIGTERM (exit status $node_rc): $(jq -c '{entries, signatures, last_signed_txid, unsigned_tail, failure}' <<<"$verify")"
done

echo
echo "ledger_signatures: tx_count 5000, delay $SIG_DELAY; $DURATION measured after a $WARMUP warm-up; private table, default value size."
echo "Load = /proc/loadavg (1, 5, 15 min) just before each run. tx/signature = transactions per signature"
echo "(one ledger fsync each in fsync mode) over the run including its warm-up, from the ledger."
echo
echo "CPU columns: cores used during the run (warm-up included) by the node, by the load driver, by everything"
echo "else on the machine, and stolen by the hypervisor; from /proc/stat, /proc/PID/stat and bash \`times\`."
echo
echo "| durability | clients | committed tx/s | commit p50 (ms) | commit p99 (ms) | ack p50 (ms) | errors | tx/signature | node CPU | driver CPU | other CPU | steal | load before |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "Raw --json output:"
printf '    %s\n' "${raw[@]}"
