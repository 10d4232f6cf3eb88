#!/usr/bin/env bash
# Creates (once) a Python virtualenv with CCF's ledger reader, the reference our ledger files
# must satisfy. Prints the venv path. Usage: scripts/ccf-venv.sh [DIR]
# cbor2 < 6: with cbor2 6.x, pycose rejects every COSE_Sign1 (see ../shared/CCF-FORMATS.md).
set -euo pipefail
dir="${1:-${CAIRN_CCF_VENV:-$(cd "$(dirname "$0")/.." && pwd)/target/ccf-venv}}"
if [ ! -x "$dir/bin/read_ledger.py" ]; then
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check "ccf==6.0.28" "cbor2<6" >&2
fi
echo "$dir"
