# Sourced by the benchmark scripts: `machine_report DIR [WHAT]` prints the machine (CPUs, model,
# RAM, kernel), the file system of DIR (df -T), and what one durable append costs there
# (500 x append 512 B + fdatasync), which bounds every durable-commit figure measured in DIR.
# WHAT names the log the probe stands for ("ledger", "WAL").
machine_report() {
  local dir="$1" what="${2:-log}"
  echo
  echo "Machine: nproc $(nproc); CPU $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');" \
    "$(awk '/^MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo); kernel $(uname -r)"
  echo "Filesystem of the workspace ($dir), from df -T:"
  df -T "$dir" | sed 's/^/    /'
  echo "What one $what fsync costs there:"
  python3 - "$dir" <<'PY'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fdatasync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
samples = []
for _ in range(500):
    t = time.perf_counter()
    os.write(fd, b"x" * 512)
    os.fdatasync(fd)
    samples.append((time.perf_counter() - t) * 1000)
os.close(fd)
os.unlink(path)
samples.sort()
print("append 512 B + fdatasync in the workspace, 500 times: p50 %.2f ms, p99 %.2f ms, mean %.2f ms"
      % (samples[len(samples) // 2], samples[int(len(samples) * 0.99)], statistics.mean(samples)))
PY
  echo
}
