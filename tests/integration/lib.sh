# lib.sh: shared helpers for the integration tests, which drive the real
# `cesar` binary. Each test file sources this, calls `check ...` for every
# assertion, and ends with `finish`, which prints "N passed, N failed" and
# sets the exit status. Test audio is generated here, at test time.
set -u

: "${CESAR_BIN:?CESAR_BIN must point at the cesar binary (ctest sets it)}"
: "${CESAR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# The default engine "auto" picks Whisper when its model is installed and
# otherwise falls back to PocketSphinx with a note on stderr, so what a test
# sees would depend on the machine's models dir. These tests are about
# PocketSphinx runs: pin it (a test may unset it). test_whisper_cli.sh covers
# "auto" and Whisper.
export CESAR_ENGINE=pocketsphinx
LIBRIVOX_DIR=/usr/share/pocketsphinx/test/data/librivox
LIBRIVOX_IDS=(0870 0880 0890 0920 0930)

PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cesar-test.XXXXXX")
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

librivox_clip() { echo "$LIBRIVOX_DIR/sense_and_sensibility_01_austen_64kb-$1.wav"; }

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '    %s\n' "${@:2}"; }

# run ARGS...: runs cesar, capturing stdout/stderr/exit in OUT/ERR/CODE.
run() {
    "$CESAR_BIN" "$@" >"$WORK/.stdout" 2>"$WORK/.stderr" </dev/null
    CODE=$?
    OUT=$(cat "$WORK/.stdout")
    ERR=$(cat "$WORK/.stderr")
}

# run_as_nobody ARGS...: like run, as an unprivileged user when we are root
# (root reads and writes anything, which would hide permission errors).
run_as_nobody() {
    if [ "$(id -u)" -eq 0 ]; then
        # a copy, because the build tree may sit where nobody cannot enter
        [ -x "$WORK/cesar-for-nobody" ] || install -m 755 "$CESAR_BIN" "$WORK/cesar-for-nobody"
        mkdir -p "$WORK/nobody-home" && chown 65534 "$WORK/nobody-home"
        HOME=$WORK/nobody-home XDG_CONFIG_HOME= \
            setpriv --reuid=65534 --regid=65534 --clear-groups "$WORK/cesar-for-nobody" "$@" \
            >"$WORK/.stdout" 2>"$WORK/.stderr" </dev/null
        CODE=$?
    else
        "$CESAR_BIN" "$@" >"$WORK/.stdout" 2>"$WORK/.stderr" </dev/null
        CODE=$?
    fi
    OUT=$(cat "$WORK/.stdout")
    ERR=$(cat "$WORK/.stderr")
}

# expect_code NAME CODE: the last run exited with CODE.
expect_code() {
    if [ "$CODE" -eq "$2" ]; then pass "$1: exit $2"; else fail "$1: exit $CODE, expected $2" "stderr: $ERR"; fi
}

# expect_err NAME TEXT...: stderr of the last run contains every TEXT.
expect_err() {
    local name=$1; shift
    for t in "$@"; do
        if ! grep -qF -- "$t" <<<"$ERR"; then
            fail "$name: stderr lacks '$t'" "stderr: $ERR"
            return
        fi
    done
    pass "$name: message names $*"
}

# expect_one_line_error NAME: stderr is exactly one "cesar: error:" line.
expect_one_line_error() {
    local lines
    lines=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$lines" -eq 1 ] && [[ "$ERR" == "cesar: error: "* ]]; then
        pass "$1: one-line error"
    else
        fail "$1: expected one 'cesar: error:' line" "stderr: $ERR"
    fi
}

# expect_no_file NAME PATH: PATH does not exist, nor any temporary file
# beside it.
expect_no_file() {
    local dir base
    dir=$(dirname "$2"); base=$(basename "$2")
    if [ -e "$2" ]; then fail "$1: '$2' was written"; return; fi
    if [ -d "$dir" ] && ls -A "$dir" | grep -q "^\.$base\.tmp"; then
        fail "$1: a temporary file was left in $dir"; return
    fi
    pass "$1: no output left behind"
}

# speech WAV TEXT [VOICE]: synthesises TEXT with espeak-ng as 16 kHz mono wav.
speech() {
    local out=$1 text=$2 voice=${3:-en-us}
    espeak-ng -v "$voice" -s 150 -w "$out.22k.wav" "$text" && \
        sox -q "$out.22k.wav" -r 16000 -c 1 -b 16 "$out" && rm -f "$out.22k.wav"
}

# librivox_concat OUT: the five LibriVox clips joined, 25 s of real speech.
librivox_concat() {
    local files=()
    for id in "${LIBRIVOX_IDS[@]}"; do files+=("$(librivox_clip "$id")"); done
    sox -q "${files[@]}" "$1"
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
