#!/usr/bin/env bash
# etcd comparison benchmark: a fresh 3-member etcd cluster on 127.0.0.1 (Debian's etcd-server,
# 3.4; plain HTTP, data dirs in a temp dir, etcd's defaults otherwise: --snapshot-count 100000,
# every raft append fsynced to the WAL before it counts towards commit), then
# `cairn bench etcd` (the closed-loop load of `cairn bench write`, putting through etcd's v3 JSON
# gateway) at several client counts, clients spread over the three members.
# Prints on stdout the versions, the machine (nproc, CPU, the workspace's filesystem and what one
# append + fdatasync costs there), and a markdown table: committed puts/s, put latency p50/p90/p99
# (= commit latency: etcd answers a put after its raft commit), errors, the leader's WAL fsyncs
# during the run (count, puts per fsync, mean fsync time, from etcd's /metrics) and the CPU (in
# cores) the three etcd members, the load driver and everything else used. Progress and the build
# go to stderr; the cluster is torn down on exit, whatever happens.
#
# Usage: scripts/bench-etcd.sh
# Environment (defaults in brackets):
#   DURATION      measured duration of each run [20s]   (after a 2s warm-up)
#   CLIENTS       client counts, space separated ["1 16 64"]
#   VALUE_BYTES   value size in bytes [256]
#   ENDPOINTS     members the clients put through: all, or leader [all]
#   WORKDIR       parent of the temp workspace [${TMPDIR:-/tmp}]
#   KEEP          1 keeps the workspace (data dirs, member logs, raw JSON) [0]
#   CAIRN_BIN     a built cairn binary to use instead of `cargo build --release -p cairn`
#   ETCD, ETCDCTL the etcd and etcdctl binaries [etcd, etcdctl from PATH]
# Needs: etcd + etcdctl (apt-get install etcd-server etcd-client), jq, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=lib/machine-report.sh
. "$root/scripts/lib/machine-report.sh"

DURATION="${DURATION:-20s}"
CLIENTS="${CLIENTS:-1 16 64}"
VALUE_BYTES="${VALUE_BYTES:-256}"
ENDPOINTS="${ENDPOINTS:-all}"
WORKDIR="${WORKDIR:-${TMPDIR:-/tmp}}"
KEEP="${KEEP:-0}"
ETCD="${ETCD:-etcd}"
ETCDCTL="${ETCDCTL:-etcdctl}"
WARMUP=2s
MEMBERS=3

for tool in "$ETCD" "$ETCDCTL" jq curl python3; do
  command -v "$tool" >/dev/null || {
    echo "bench-etcd.sh: needs $tool (etcd: apt-get install etcd-server etcd-client)" >&2
    exit 2
  }
done
case "$ENDPOINTS" in all | leader) ;; *) echo "bench-etcd.sh: ENDPOINTS must be all or leader" >&2; exit 2 ;; esac
# etcd reads ETCD_* variables as flags; none from the caller's environment may change the cluster.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ETCD_[A-Za-z0-9_]*\)=.*/\1/p')
export ETCDCTL_API=3

echo "Command: DURATION=$DURATION CLIENTS=\"$CLIENTS\" VALUE_BYTES=$VALUE_BYTES ENDPOINTS=$ENDPOINTS scripts/bench-etcd.sh"
echo "Each run: target/release/cairn bench etcd --endpoints URLS --clients C --duration $DURATION --warmup $WARMUP --value-bytes $VALUE_BYTES --json"
echo "Started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$root" log -1 --format='%h "%s"' 2>/dev/null || echo unknown)"
echo "etcd: $("$ETCD" --version | head -1) ($(dpkg-query -W -f='Debian package etcd-server ${Version}' etcd-server 2>/dev/null || echo 'not from a Debian package'))," \
  "$("$ETCD" --version | sed -n 's/^Go Version: //p'); etcdctl $("$ETCDCTL" version | sed -n 's/^etcdctl version: //p')"

if [ -n "${CAIRN_BIN:-}" ]; then
  cairn="$CAIRN_BIN"
else
  cargo build --release -p cairn >&2
  cairn="$root/target/release/cairn"
fi

work=$(mktemp -d "$WORKDIR/cairn-bench-etcd.XXXXXX")
pids=()

stop_cluster() { # SIGTERM every member, wait up to 20 s, then SIGKILL
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "etcd member $pid did not stop within 20 s of SIGTERM; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

cleanup() {
  stop_cluster || true
  if [ "$KEEP" = 1 ]; then echo "workspace kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

machine_report "$work" WAL

# 2 free TCP ports per member (client, peer) on 127.0.0.1, all distinct.
read -r -a ports < <(python3 - "$((2 * MEMBERS))" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
client_urls=()
cluster=""
for i in $(seq 0 $((MEMBERS - 1))); do
  client_urls+=("http://127.0.0.1:${ports[$((2 * i))]}")
  cluster+="${cluster:+,}m$i=http://127.0.0.1:${ports[$((2 * i + 1))]}"
done
all_endpoints=$(IFS=,; echo "${client_urls[*]}")
token="cairn-bench-$$-$(date +%s)"

for i in $(seq 0 $((MEMBERS - 1))); do
  peer="http://127.0.0.1:${ports[$((2 * i + 1))]}"
  "$ETCD" --name "m$i" --data-dir "$work/m$i.etcd" \
    --listen-client-urls "${client_urls[$i]}" --advertise-client-urls "${client_urls[$i]}" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$token" \
    >"$work/m$i.log" 2>&1 &
  pids+=($!)
done
echo "etcd members ${pids[*]} starting: clients $all_endpoints; peers $cluster" >&2

healthy=0
for _ in $(seq 300); do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "etcd member m$i exited during start; $work/m$i.log:" >&2; tail -30 "$work/m$i.log" >&2; exit 1
    fi
  done
  if "$ETCDCTL" --endpoints "$all_endpoints" --command-timeout 2s endpoint health >"$work/health" 2>&1; then
    healthy=1
    break
  fi
  sleep 0.1
done
if [ "$healthy" != 1 ]; then
  echo "etcd cluster not healthy after 30 s:" >&2; cat "$work/health" >&2
  for i in "${!pids[@]}"; do echo "--- m$i.log" >&2; tail -20 "$work/m$i.log" >&2; done
  exit 1
fi
sed 's/^/    /' "$work/health" >&2

leader_url() { # the client URL of the current leader
  "$ETCDCTL" --endpoints "$all_endpoints" endpoint status -w json |
    jq -r '.[] | select(.Status.leader == .Status.header.member_id) | .Endpoint' | head -1
}
leader=$(leader_url)
[ -n "$leader" ] || { echo "no etcd leader" >&2; exit 1; }
if [ "$ENDPOINTS" = leader ]; then endpoints=$leader; else endpoints=$all_endpoints; fi
echo "Cluster: $MEMBERS members, leader $leader; clients put through $ENDPOINTS ($endpoints)"

wal_fsyncs() { # url: "count sum_seconds" of the member's WAL fsyncs so far
  curl -sf "$1/metrics" | awk '
    /^etcd_disk_wal_fsync_duration_seconds_count / {c = $2}
    /^etcd_disk_wal_fsync_duration_seconds_sum / {s = $2}
    END {printf "%d %s\n", c, s}'
}

# CPU accounting for one run, as in bench-node.sh: clock ticks from /proc.
tick=$(getconf CLK_TCK)
cpu_ticks() { # busy ticks of the whole machine (user nice system irq softirq) and steal
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat
}
etcd_ticks() { # utime + stime of all members
  local pid t=0
  for pid in "${pids[@]}"; do
    t=$((t + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
children_s() { # sets $1 to the user + sys seconds of this shell's waited-for children
  times >"$work/times"
  printf -v "$1" '%s' "$(sed -n 2p "$work/times" | tr 'ms' '  ' | awk '{print $1 * 60 + $2 + $3 * 60 + $4}')"
}

rows=()
raw=()
for c in $CLIENTS; do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  cmd=("$cairn" bench etcd --endpoints "$endpoints" --clients "$c" --duration "$DURATION" --warmup "$WARMUP"
    --value-bytes "$VALUE_BYTES" --json)
  echo "[C=$c] load $load; ${cmd[*]#"$root/"}" >&2
  read -r f0 fs0 < <(wal_fsyncs "$leader")
  read -r busy0 steal0 < <(cpu_ticks)
  e0=$(etcd_ticks); children_s d0; t0=$(date +%s.%N)
  rc=0
  json=$("${cmd[@]}") || rc=$?
  [ "$rc" = 0 ] || { echo "[C=$c] cairn bench etcd failed (exit $rc): $json" >&2; exit 1; }
  read -r busy1 steal1 < <(cpu_ticks)
  e1=$(etcd_ticks); children_s d1; t1=$(date +%s.%N)
  read -r f1 fs1 < <(wal_fsyncs "$leader")
  cpu=$(awk -v t="$tick" -v t0="$t0" -v t1="$t1" -v b="$((busy1 - busy0))" -v s="$((steal1 - steal0))" \
    -v e="$((e1 - e0))" -v d0="$d0" -v d1="$d1" \
    'BEGIN {w = t1 - t0; etcd = e / t / w; drv = (d1 - d0) / w; printf "%.2f | %.2f | %.2f | %.2f", etcd, drv, b / t / w - etcd - drv, s / t / w}')
  echo "$json" >"$work/bench-c$c.json"
  raw+=("C=$c: $json")
  rows+=("$(jq -r --arg load "$load" --arg cpu "$cpu" --argjson fsyncs "$((f1 - f0))" --arg fsync_s "$fs0 $fs1" '
    def f(n): (n * 10 | round) as $t | "\($t / 10 | floor).\($t % 10)";
    def ms(n): (n * 100 | round / 100 | tostring);
    ($fsync_s | split(" ") | map(tonumber) | .[1] - .[0]) as $fs
    | (.committed_tx + .warmup_ops) as $puts
    | "| \(.clients) | \(f(.tx_per_s)) | \(ms(.commit_latency_ms.p50_ms)) | \(ms(.commit_latency_ms.p90_ms)) | \(ms(.commit_latency_ms.p99_ms)) | \(.error_count) | \($fsyncs) | \(if $fsyncs > 0 then f($puts / $fsyncs) else "-" end) | \(if $fsyncs > 0 then ms($fs * 1000 / $fsyncs) else "-" end) | \($cpu) | \($load) |"
  ' "$work/bench-c$c.json")")
done

"$ETCDCTL" --endpoints "$all_endpoints" endpoint status -w table >"$work/status" 2>&1 || true
echo "[done] endpoint status after the runs:" >&2
sed 's/^/    /' "$work/status" >&2

echo
echo "$DURATION measured after a $WARMUP warm-up; $VALUE_BYTES B values, each put to a new key."
echo "Put latency = commit latency: etcd answers a put after a majority has fsynced it to the WAL and"
echo "the member has applied it. Load = /proc/loadavg (1, 5, 15 min) just before each run."
echo "WAL fsyncs: the leader's etcd_disk_wal_fsync_duration_seconds over the run including its warm-up;"
echo "puts/fsync = (measured + warm-up puts) / leader fsyncs."
echo "CPU columns: cores used during the run (warm-up included) by the 3 etcd members, by the load driver,"
echo "by everything else on the machine, and stolen by the hypervisor."
echo
echo "| clients | committed puts/s | p50 (ms) | p90 (ms) | p99 (ms) | errors | leader WAL fsyncs | puts/fsync | mean fsync (ms) | etcd CPU | driver CPU | other CPU | steal | load before |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "Raw --json output:"
printf '    %s\n' "${raw[@]}"
