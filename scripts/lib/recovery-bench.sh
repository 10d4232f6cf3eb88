# Sourced by the disaster-recovery benchmarks (`bench-recovery.sh`, `bench-recovery-snapshot.sh`),
# after `node-process.sh`. Uses the globals `cairn` (the binary), `url` (the node's RPC URL) and
# `node_pid`.
#   config COMMAND_JSON RPC_PORT N2N_PORT   prints a node.json (5 MB chunks, no automatic
#                                           snapshots, signatures every 5000 tx or 5 ms)
#   start_node DIR                          starts `cairn node` in DIR (log: DIR/node.log)
#   wait_state DIR STATE LIMIT_S            polls GET /node/state every 50 ms until STATE (one
#                                           curl, no jq: on 2 cores, a poll every 10 ms took
#                                           a third of the node's read time)
#   member DIR ARGS...                      `cairn member` as m0 of DIR
#   pass DIR ACTION ARGS_JSON               m0 proposes ACTION and votes for it
config() { # command-json rpc n2n
  jq -n --argjson command "$1" --arg rpc "127.0.0.1:$2" --arg n2n "127.0.0.1:$3" '{
    network: {node_to_node_interface: {bind_address: $n2n}, rpc_interfaces: {primary: {bind_address: $rpc}}},
    command: $command,
    ledger: {directory: "ledger", chunk_size: "5MB"},
    snapshots: {directory: "snapshots", tx_count: 100000000},
    ledger_signatures: {tx_count: 5000, delay: "5ms"},
    node_data_directory: "node_data"
  }'
}

start_node() { # dir
  local dir=$1
  (cd "$dir" && RUST_LOG=info exec "$cairn" node --config node.json >node.log 2>&1) &
  node_pid=$!
}

wait_state() { # dir state limit_s
  local dir=$1 want=$2 limit=$3 state=""
  for _ in $(seq $((limit * 20))); do
    kill -0 "$node_pid" 2>/dev/null || { echo "node exited; $dir/node.log:" >&2; tail -20 "$dir/node.log" >&2; exit 1; }
    if [ -f "$dir/service_cert.pem" ]; then
      state=$(curl -sf --cacert "$dir/service_cert.pem" "$url/node/state" || true)
      case "$state" in *"\"state\":\"$want\""*) return 0 ;; esac
    fi
    sleep 0.05
  done
  echo "node not $want after ${limit}s (state: $state)" >&2; exit 1
}

member() { # dir args...
  local dir=$1; shift
  "$cairn" member --url "$url" --service-cert "$dir/service_cert.pem" --cert "$dir/m0_cert.pem" \
    --key "$dir/m0_privk.pem" --enc-key "$dir/m0_enc_privk.pem" "$@"
}

pass() { # dir action args-json
  local out
  out=$(member "$1" propose --action "$2" --args "$3")
  member "$1" vote --proposal "${out%% *}" --approve >/dev/null
}
