#!/usr/bin/env bash
# Creates (once) a Python virtualenv with CCF's ledger reader, the reference our ledger files
# must satisfy. Prints the venv path. Usage: scripts/ccf-venv.sh [DIR]
# cbor2 < 6: with cbor2 6.x, pycose rejects every COSE_Sign1 (see ../shared/CCF-FORMATS.md).
# Safe to call concurrently: a lock serialises creation; a marker file says it is complete.
set -euo pipefail
dir="${1:-${CAIRN_CCF_VENV:-$(cd "$(dirname "$0")/.." && pwd)/target/ccf-venv}}"
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/.cairn-complete" ]; then
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check "ccf==6.0.28" "cbor2<6" >&2
  touch "$dir/.cairn-complete"
fi
echo "$dir"
