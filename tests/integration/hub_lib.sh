# hub_lib.sh: what the integration tests that pull models share about
# tests/models/hub.py, the loopback stand-in for the Hugging Face hub —
# starting hubs (each killed when the test exits), and counting the GETs a
# hub logged. Sourced after lib.sh, which provides $WORK and the EXIT trap
# this one extends.
HUB="$CESAR_SOURCE_DIR/tests/models/hub.py"
PY=/usr/bin/python3

HUB_PIDS=()
trap 'for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# hub_start DIR [hub options]: a hub serving $WORK/root; DIR gets its port,
# log and output files; HUB_PORT is set to its port. (Not called as $(...):
# the hub would hold the substitution's pipe open.)
hub_start() {
    local d=$1; shift
    mkdir -p "$d"
    : >"$d/log"
    $PY "$HUB" --root "$WORK/root" --ready "$d/port" --log "$d/log" "$@" >"$d/out" 2>"$d/err" &
    HUB_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.1; done
    HUB_PORT=$(cat "$d/port")
}

# log_count DIR: how many GETs the hub of DIR logged.
log_count() { grep -c '"method": "GET"' "$1/log"; }
