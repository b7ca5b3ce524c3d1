#!/usr/bin/env bash
# URL input for `cesar transcribe` and `cesar diarize`, against the fetch
# tests' local HTTP server (tests/fetch/server.py; no internet here): a
# download gives the same transcript as the local file, every failure is one
# line naming its error code, the download cache saves a second request,
# and no run (including one interrupted mid-download) leaves a file in
# $TMPDIR.
. "$(dirname "$0")/lib.sh"

W=$WORK
T=$W/tmp # cesar's $TMPDIR: listed after every run, must stay empty
mkdir -p "$W/root" "$T"
sox -q "$(librivox_clip 0870)" "$W/root/talk.wav"
cp "$W/root/talk.wav" "$W/root/cached.wav"
cp "$W/root/talk.wav" "$W/root/blocked.wav"

python3 "$CESAR_SOURCE_DIR/tests/fetch/server.py" --port 0 --root "$W/root" \
    --ready "$W/port" 2>"$W/server.err" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 200); do [ -s "$W/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$W/port")

# The server is on loopback, which cesar refuses unless told otherwise.
export CESAR_ALLOW_PRIVATE_URLS=true CESAR_CACHE_DIR=$W/cache

# urun ARGS...: run, with $TMPDIR pointing at the directory we watch.
urun() { TMPDIR=$T run "$@"; }

# no_leftovers NAME: nothing in cesar's $TMPDIR.
no_leftovers() {
    local left
    left=$(ls -A "$T")
    [ -z "$left" ] && pass "$1: no files left in TMPDIR" || fail "$1: left in TMPDIR: $left"
}

# requests TARGET: how many times the server has served TARGET.
requests() {
    curl -s "$URL/count" | awk -v t="$1" '$1 == t { n = $2 } END { print n + 0 }'
}

run transcribe "$W/root/talk.wav" --no-diarize -o "$W/local.txt"
expect_code local-reference 0

urun transcribe "$URL/file/talk.wav" --no-diarize -o "$W/url.txt"
expect_code url 0
cmp -s "$W/local.txt" "$W/url.txt" && [ -s "$W/url.txt" ] \
    && pass "url: transcript equals the local file's" \
    || fail "url: transcript differs" "$(cat "$W/url.txt")"
no_leftovers url

# upper-case scheme, a redirect chain, and the URL's last segment as the source
urun transcribe "HTTP://127.0.0.1:${URL##*:}/redirect/3/talk.wav" --no-diarize -o "$W/r.json"
expect_code redirects 0
grep -q '"source": "talk.wav"' "$W/r.json" && pass "redirects: source is the file name" \
    || fail "redirects: source is not talk.wav" "$(grep source "$W/r.json")"
no_leftovers redirects

urun diarize "$URL/file/talk.wav" -o "$W/d.rttm"
expect_code diarize 0
grep -q '^SPEAKER talk 1 ' "$W/d.rttm" && pass "diarize: RTTM file id from the URL" \
    || fail "diarize: unexpected RTTM" "$(cat "$W/d.rttm")"
no_leftovers diarize

# download failures: one line, the code, exit 1, nothing written
fails() { # NAME PATH TEXT...
    local name=$1 path=$2; shift 2
    urun transcribe "$URL$path" --no-diarize -o "$W/$name.txt"
    expect_code "$name" 1
    expect_err "$name" "$@"
    expect_one_line_error "$name"
    expect_no_file "$name" "$W/$name.txt"
    no_leftovers "$name"
}
fails loop /loop "cannot download URL" "redirect" "(download_failed)"
fails 404 /404 "cannot download URL" "404" "(download_failed)"
fails lie /lie/talk.wav "cannot download URL" "(network_error)"
fails html /page.html "not a recognised audio" "downloaded from '$URL/page.html'"
CESAR_SERVER_MAX_UPLOAD_SIZE=1K fails too-large "/big?bytes=100000" "cannot download URL" \
    "(file_too_large)"
CESAR_ALLOW_PRIVATE_URLS=false fails blocked /file/blocked.wav "cannot download URL" \
    "(url_blocked)"
[ "$(requests /file/blocked.wav)" -eq 0 ] && pass "blocked: never requested" \
    || fail "blocked: the server was asked for it"

# the download cache: a second run reuses the file, --no-cache and an
# expired entry fetch it again
for i in 1 2; do
    urun transcribe "$URL/file/cached.wav" --no-diarize -o "$W/c$i.txt"
    expect_code "cache-run-$i" 0
done
[ "$(requests /file/cached.wav)" -eq 1 ] && pass "cache: second run did not download" \
    || fail "cache: requested $(requests /file/cached.wav) times, expected 1"
cmp -s "$W/c1.txt" "$W/c2.txt" && pass "cache: same transcript" || fail "cache: transcripts differ"
urun transcribe "$URL/file/cached.wav" --no-diarize --no-cache -o "$W/c3.txt"
expect_code no-cache 0
[ "$(requests /file/cached.wav)" -eq 2 ] && pass "no-cache: downloaded again" \
    || fail "no-cache: requested $(requests /file/cached.wav) times, expected 2"
CESAR_CACHE_MAX_AGE=0 urun transcribe "$URL/file/cached.wav" --no-diarize -o "$W/c4.txt"
expect_code max-age-0 0
[ "$(requests /file/cached.wav)" -eq 3 ] && pass "max-age 0: downloaded again" \
    || fail "max-age 0: requested $(requests /file/cached.wav) times, expected 3"
no_leftovers cache
# what was fetched while private addresses were allowed is not served from
# the cache once they are not
CESAR_ALLOW_PRIVATE_URLS=false fails cached-blocked /file/cached.wav "cannot download URL" \
    "(url_blocked)"
[ "$(requests /file/cached.wav)" -eq 3 ] && pass "cached-blocked: not requested, not served" \
    || fail "cached-blocked: requested $(requests /file/cached.wav) times, expected 3"

# Ctrl-C during a slow download
wait_for_handler() { # PID: until it catches SIGINT (bit 2 of SigCgt), at most 5 s
    local mask
    for _ in $(seq 500); do
        mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
        [ -n "$mask" ] && (( 0x$mask & 2 )) && return
        sleep 0.01
    done
}
TMPDIR=$T "$CESAR_BIN" transcribe "$URL/slow" -o "$W/slow.txt" 2>"$W/slow.err" &
pid=$!
wait_for_handler "$pid"
sleep 1
t0=$(date +%s.%N)
kill -INT "$pid"
wait "$pid"
CODE=$?
STOP=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
ERR=$(cat "$W/slow.err")
expect_code sigint 130
expect_err sigint "interrupted"
awk -v s="$STOP" 'BEGIN { exit !(s < 3.0) }' && pass "sigint: stopped ${STOP}s after SIGINT" \
    || fail "sigint: took ${STOP}s to stop"
expect_no_file sigint "$W/slow.txt"
no_leftovers sigint

finish
