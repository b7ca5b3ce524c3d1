#!/usr/bin/env bash
# test_serve_cli: the `cesar serve` command line — help, bad options and
# values (exit 2, naming the option), a server that cannot start (exit 1,
# naming the port or file, and claiming no job on its way out), the warning
# for a public address without a key, and exit 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/xdg-data XDG_CACHE_HOME=$WORK/cache
unset CESAR_API_KEY CESAR_SERVER_API_KEY CESAR_SERVER_PORT CESAR_SERVER_HOST 2>/dev/null || true

run serve --help
expect_code "serve --help" 0
if grep -q -- "--shutdown-timeout" <<<"$OUT" && grep -q -- "--workers" <<<"$OUT"; then
    pass "serve --help lists the options"
else
    fail "serve --help lists the options" "$OUT"
fi

run serve --bogus
expect_code "unknown option" 2
expect_err "unknown option" "--bogus"
expect_one_line_error "unknown option"
run serve --port 70000
expect_code "port out of range" 2
expect_err "port out of range" "--port" "70000" "65535"
run serve --workers 0
expect_code "zero workers" 2
expect_err "zero workers" "--workers" "between 1 and 64"
run serve --shutdown-timeout soon
expect_code "shutdown timeout not a number" 2
expect_err "shutdown timeout not a number" "--shutdown-timeout" "soon"
run serve --port 0 extra
expect_code "stray argument" 2
expect_err "stray argument" "extra"
run serve --port 0 --db /proc/no-such-dir/jobs.db
expect_code "database in an impossible place" 1
expect_err "database in an impossible place" "/proc/no-such-dir"

# start_server NAME ARGS...: starts cesar serve in the background, waits for
# its "listening on" line; sets PID_<NAME> and URL_<NAME>.
start_server() {
    local name=$1; shift
    "$CESAR_BIN" serve "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" </dev/null &
    local pid=$! url=""
    for _ in $(seq 200); do
        url=$(grep -m1 -o 'listening on http://[^ ]*' "$WORK/$name.log" 2>/dev/null | cut -d' ' -f3)
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    printf -v "PID_$name" '%s' "$pid"
    printf -v "URL_$name" '%s' "$url"
}

job_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

# A running server with one long job running and one queued behind it.
DATA=$WORK/data
librivox_concat "$WORK/clips.wav"
sox -q "$WORK/clips.wav" "$WORK/clips.wav" "$WORK/clips.wav" "$WORK/clips.wav" "$WORK/long.wav"
start_server A --port 0 --workers 1 --data-dir "$DATA" --shutdown-timeout 1
if [ -z "$URL_A" ]; then
    fail "server A starts" "$(cat "$WORK/A.log")"
    finish; exit
fi
pass "server A listens at $URL_A"
PORT=${URL_A##*:}
curl -s -F file=@"$WORK/long.wav" "$URL_A/transcribe" >/dev/null
QUEUED=$(curl -s -F file=@"$WORK/clips.wav" "$URL_A/transcribe" | job_field id)

# A second server on the same port and database cannot listen: it must fail
# before its workers could claim the queued job.
run serve --port "$PORT" --workers 2 --data-dir "$DATA"
expect_code "port in use" 1
expect_err "port in use" "$PORT"
status=$(curl -s "$URL_A/jobs/$QUEUED" | job_field status)
attempts=$(curl -s "$URL_A/jobs/$QUEUED" | job_field attempts)
if [ "$status" = queued ] && [ "$attempts" = 0 ]; then
    pass "the server that could not listen claimed no job"
else
    fail "the server that could not listen claimed no job" "status $status, attempts $attempts"
fi

kill -TERM "$PID_A"
wait "$PID_A"
code=$?
if [ "$code" -eq 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit $code" "$(cat "$WORK/A.log")"; fi

# A public address without a key is allowed, with a warning.
start_server B --host 0.0.0.0 --port 0 --data-dir "$WORK/data-b"
if grep -q "warning: listening on a non-loopback address without an API key" "$WORK/B.log"; then
    pass "non-loopback address without a key: warning"
else
    fail "non-loopback address without a key: warning" "$(cat "$WORK/B.log")"
fi
kill -TERM "$PID_B"; wait "$PID_B"
CESAR_API_KEY=k3y start_server C --host 0.0.0.0 --port 0 --data-dir "$WORK/data-c"
if grep -q "warning" "$WORK/C.log"; then
    fail "non-loopback address with a key: no warning" "$(cat "$WORK/C.log")"
else
    pass "non-loopback address with a key: no warning"
fi
kill -TERM "$PID_C"; wait "$PID_C"
finish
