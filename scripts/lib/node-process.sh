# Sourced by the benchmark scripts that run `cairn node`: `free_ports` prints two distinct free
# TCP ports on 127.0.0.1; `stop_node` stops the node whose pid is in `node_pid` (SIGTERM, then
# SIGKILL after 30 s) and sets `node_rc` to its exit status.
free_ports() {
  python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

stop_node() {
  node_rc=0
  [ -n "$node_pid" ] || return 0
  if kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$node_pid" 2>/dev/null; then
      echo "node $node_pid did not stop within 30 s of SIGTERM; SIGKILL" >&2
      kill -KILL "$node_pid" 2>/dev/null || true
    fi
  fi
  wait "$node_pid" 2>/dev/null || node_rc=$?
  node_pid=""
}
