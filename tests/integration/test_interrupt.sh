#!/usr/bin/env bash
# Ctrl-C (SIGINT) during a transcription: exit code 130 within a second or
# two, no transcript and no temporary file left, an older transcript at the
# same path untouched.
. "$(dirname "$0")/lib.sh"

W=$WORK
librivox_concat "$W/talk.wav"
files=(); for i in $(seq 8); do files+=("$W/talk.wav"); done
sox -q "${files[@]}" "$W/long.wav"   # about 200 s: many seconds of work

# wait_for_handler PID: until PID catches SIGINT (bit 2 of SigCgt), at most 5 s.
wait_for_handler() {
    local i mask
    for i in $(seq 500); do
        mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
        [ -n "$mask" ] && (( 0x$mask & 2 )) && return
        sleep 0.01
    done
}

interrupt_after() { # SECONDS OUTPUT SIGNAL
    "$CESAR_BIN" transcribe "$W/long.wav" -o "$2" 2>"$W/int.err" &
    local pid=$!
    # A background job of a script starts with SIGINT ignored, so a signal
    # sent before cesar installs its handler is lost; on a busy machine that
    # window (exec, loading the shared libraries) can outlast the delay.
    # Count the delay from when the handler is in place.
    wait_for_handler "$pid"
    sleep "$1"
    local t0; t0=$(date +%s.%N)
    kill -"$3" "$pid"
    wait "$pid"
    CODE=$?
    STOP=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    ERR=$(cat "$W/int.err")
}

interrupt_after 2 "$W/out.txt" INT
expect_code sigint 130
expect_err sigint "interrupted"
expect_no_file sigint "$W/out.txt"
awk -v s="$STOP" 'BEGIN { exit !(s < 2.0) }' && pass "stopped ${STOP}s after SIGINT" \
    || fail "took ${STOP}s to stop after SIGINT"

echo "older transcript" >"$W/keep.txt"
interrupt_after 2 "$W/keep.txt" INT
expect_code sigint-existing 130
[ "$(cat "$W/keep.txt")" = "older transcript" ] && pass "existing transcript untouched" \
    || fail "existing transcript changed"
ls -A "$W" | grep -q '\.tmp' && fail "temporary file left" || pass "no temporary files"

interrupt_after 1 "$W/term.txt" TERM
expect_code sigterm 130
expect_no_file sigterm "$W/term.txt"

# interrupted while still loading (before any audio is decoded)
interrupt_after 0.05 "$W/early.txt" INT
expect_code sigint-early 130
expect_no_file sigint-early "$W/early.txt"

finish
