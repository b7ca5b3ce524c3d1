#!/usr/bin/env bash
# bench/api.sh: throughput and latency of the job server (`cesar serve`), on a
# server this script starts itself (free port, temporary data directory, one
# worker) and stops at the end:
#   1. GET /health and GET /jobs/{id} of a completed job, idle server:
#      wrk -t2 -c64 -d10s --latency; requests/s and p99 latency
#   2. the same GET /jobs/{id} while a ~5-minute file is being transcribed
#   3. 200 concurrent 1 MB WAV uploads (POST /transcribe): wall time from the
#      first request to the last answer, and how many got 202
# Run by hand:
#   bench/api.sh                 (uses build/cesar, or $CESAR_BIN)
# Set BENCH_DURATION (wrk seconds, default 10), BENCH_UPLOADS (default 200)
# or BENCH_LONG_MINUTES (default 5) to change the load.
# All traffic goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
CESAR=${CESAR_BIN:-build/cesar}
DURATION=${BENCH_DURATION:-10}
UPLOADS=${BENCH_UPLOADS:-200}
LONG_MINUTES=${BENCH_LONG_MINUTES:-5}
LIBRIVOX=/usr/share/pocketsphinx/test/data/librivox

[ -x "$CESAR" ] || { echo "no cesar binary at $CESAR (build first, or set CESAR_BIN)" >&2; exit 1; }
for tool in wrk curl sox soxi python3; do
    command -v "$tool" >/dev/null || { echo "$tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/cesar-bench-api.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench/api.sh: $*" >&2; echo "--- server log ---" >&2; cat "$W/server.log" >&2; exit 1; }

# ---- the server ------------------------------------------------------------
# A clean configuration: no config file, no CESAR_* variables from the caller.
clean_env=()
for v in $(compgen -e); do
    case $v in CESAR_BIN) ;; CESAR_*) clean_env+=(-u "$v") ;; esac
done
mkdir -p "$W/xdg-config" "$W/xdg-data" "$W/xdg-cache" "$W/data"
env "${clean_env[@]}" XDG_CONFIG_HOME="$W/xdg-config" XDG_DATA_HOME="$W/xdg-data" \
    XDG_CACHE_HOME="$W/xdg-cache" \
    "$CESAR" serve --port 0 --workers 1 --shutdown-timeout 2 --data-dir "$W/data" -q \
    >"$W/server.out" 2>"$W/server.log" </dev/null &
SERVER_PID=$!
BASE=""
for _ in $(seq 150); do
    line=$(grep -m1 -o 'cesar serve: listening on http://127\.0\.0\.1:[0-9]*' "$W/server.log" 2>/dev/null || true)
    [ -n "$line" ] && { BASE=${line#cesar serve: listening on }; break; }
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$BASE" ] || die "the server did not start listening within 15 s"
echo "server: $BASE (pid $SERVER_PID, 1 worker, data in $W/data)"

# json_field FIELD: reads a JSON object on stdin, prints FIELD ("" if absent).
json_field() {
    python3 -c '
import json, sys
try:
    v = json.load(sys.stdin).get(sys.argv[1])
except (ValueError, AttributeError):
    v = None
print("" if v is None else v)' "$1"
}

# upload FILE: POST /transcribe; prints the new job's id.
upload() {
    local answer
    answer=$(curl -s --max-time 300 -F "file=@$1" "$BASE/transcribe") || die "upload of $1 failed"
    local id
    id=$(json_field id <<<"$answer" 2>/dev/null) || true
    [ -n "$id" ] || die "upload of $1 answered: $answer"
    echo "$id"
}

job_status() { curl -s --max-time 10 "$BASE/jobs/$1" | json_field status || true; }

# wait_status ID SECONDS STATUS...: waits until the job has one of STATUS.
wait_status() {
    local id=$1 limit=$2; shift 2
    local status=""
    for _ in $(seq $((limit * 5))); do
        status=$(job_status "$id")
        for want in "$@"; do [ "$status" = "$want" ] && return 0; done
        sleep 0.2
    done
    die "job $id is '$status' after ${limit} s, waited for: $*"
}

# bench_get NAME URL: wrk run; sets RPS, P99_MS and ERRORS.
bench_get() {
    wrk -t2 -c64 -d"${DURATION}s" --latency "$2" >"$W/wrk.$1" 2>&1 || die "wrk failed: $(cat "$W/wrk.$1")"
    RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$W/wrk.$1")
    P99_MS=$(awk '$1 == "99%" {
        v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
        f = (unit == "us") ? 0.001 : (unit == "ms") ? 1 : (unit == "s") ? 1000 : (unit == "m") ? 60000 : 1
        printf "%.2f", v * f }' "$W/wrk.$1")
    ERRORS=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ {
        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i } END { print n + 0 }' "$W/wrk.$1")
}

# ---- test audio ----------------------------------------------------------------
clip=$(ls "$LIBRIVOX"/*.wav | head -n 1)
sox -q "$LIBRIVOX"/*.wav "$W/clips.wav"
clips_s=$(soxi -D "$W/clips.wav")
repeats=$(awk -v m="$LONG_MINUTES" -v c="$clips_s" 'BEGIN { printf "%d", m * 60 / c + 0.999 }')
files=(); for _ in $(seq "$repeats"); do files+=("$W/clips.wav"); done
sox -q "${files[@]}" "$W/long.wav"
# 1 MiB of audio: 16 kHz, 16-bit mono is 32,000 bytes a second
sox -q -n -r 16000 -c 1 -b 16 "$W/upload.wav" synth 32.75 pinknoise vol 0.2
printf 'audio: %s (%.1f s), long file %.0f s, upload file %s bytes\n' "$(basename "$clip")" \
    "$(soxi -D "$clip")" "$(soxi -D "$W/long.wav")" "$(stat -c %s "$W/upload.wav")"

# ---- 1. idle -------------------------------------------------------------------------
DONE_ID=$(upload "$clip")
wait_status "$DONE_ID" 120 completed partial error
echo "short job $DONE_ID: $(job_status "$DONE_ID")"

bench_get health "$BASE/health"
H_RPS=$RPS H_P99=$P99_MS H_ERR=$ERRORS
bench_get job-idle "$BASE/jobs/$DONE_ID"
J_RPS=$RPS J_P99=$P99_MS J_ERR=$ERRORS

# ---- 2. while a long transcription runs ------------------------------------------------
LONG_ID=$(upload "$W/long.wav")
wait_status "$LONG_ID" 60 processing
bench_get job-busy "$BASE/jobs/$DONE_ID"
B_RPS=$RPS B_P99=$P99_MS B_ERR=$ERRORS
after=$(job_status "$LONG_ID")
[ "$after" = processing ] || echo "note: the long job was '$after' when wrk finished (not processing throughout)"
# Cancel it, so the uploads below are measured on their own.
curl -s -o /dev/null --max-time 10 -X DELETE "$BASE/jobs/$LONG_ID" || true

# ---- 3. concurrent uploads -----------------------------------------------------------
t0=$(date +%s.%N)
seq "$UPLOADS" | xargs -P "$UPLOADS" -I{} \
    curl -s -o /dev/null --max-time 300 -w '%{http_code} %{time_total}\n' \
    -F "file=@$W/upload.wav" "$BASE/transcribe" | cat >"$W/uploads.txt"
t1=$(date +%s.%N)
U_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
U_202=$(awk '$1 == 202 { n++ } END { print n + 0 }' "$W/uploads.txt")
U_OTHER=$(awk '$1 != 202 { c[$1]++ } END { for (k in c) printf "%s%s x%d", sep, k, c[k]; sep = ", " }' \
    "$W/uploads.txt")
U_SLOWEST=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { printf "%.2f", m }' "$W/uploads.txt")

# ---- report -----------------------------------------------------------------------------
verdict() { # VALUE OP LIMIT
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
        if (v == "") { print "?"; exit }
        ok = (op == ">=") ? (v >= l) : (v < l); print ok ? "ok" : "MISSED" }'
}
echo
printf '%-36s %10s %10s %8s  %-28s %s\n' "measurement" "req/s" "p99 ms" "errors" "target" "result"
printf '%-36s %10s %10s %8s  %-28s %s\n' "GET /health, idle" "$H_RPS" "$H_P99" "$H_ERR" "-" "-"
printf '%-36s %10s %10s %8s  %-28s %s\n' "GET /jobs/{id}, idle" "$J_RPS" "$J_P99" "$J_ERR" \
    ">= 10000 req/s, p99 < 10 ms" \
    "$(verdict "$J_RPS" ">=" 10000)/$(verdict "$J_P99" "<" 10)"
printf '%-36s %10s %10s %8s  %-28s %s\n' "GET /jobs/{id}, while transcribing" "$B_RPS" "$B_P99" \
    "$B_ERR" "p99 < 50 ms" "$(verdict "$B_P99" "<" 50)"
echo
printf '%s concurrent 1 MB uploads: %s s wall (first request to last answer), %s x 202%s; slowest %s s\n' \
    "$UPLOADS" "$U_WALL" "$U_202" "${U_OTHER:+, other: $U_OTHER}" "$U_SLOWEST"
echo "(wrk -t2 -c64 -d${DURATION}s --latency; 'errors' = non-2xx answers plus socket errors)"
