#!/usr/bin/env bash
# bench/transcribe.sh: speed and memory of `cesar transcribe` against the
# stock `pocketsphinx_continuous -infile` on the same audio, in the same run.
#   1. the five LibriVox clips of pocketsphinx-testdata concatenated (~25 s)
#   2. a 30-minute file made by repeating them
# Prints wall time, real-time factor (processing time / audio time), peak
# resident memory, and cesar/pocketsphinx ratios. Run by hand:
#   bench/transcribe.sh [path/to/cesar]     (default: build/cesar)
# Set BENCH_MINUTES to change the long file's length (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
CESAR=${1:-build/cesar}
MINUTES=${BENCH_MINUTES:-30}
[ -x "$CESAR" ] || { echo "no cesar binary at $CESAR (build first)" >&2; exit 1; }
command -v pocketsphinx_continuous >/dev/null || { echo "pocketsphinx_continuous missing" >&2; exit 1; }

W=$(mktemp -d /tmp/cesar-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
sox -q /usr/share/pocketsphinx/test/data/librivox/*.wav "$W/clips.wav"
clip_seconds=$(soxi -D "$W/clips.wav")
repeats=$(awk -v m="$MINUTES" -v c="$clip_seconds" 'BEGIN { printf "%d", m * 60 / c + 0.999 }')
files=(); for _ in $(seq "$repeats"); do files+=("$W/clips.wav"); done
sox -q "${files[@]}" "$W/long.wav"

# measure NAME CMD...: sets WALL (s) and RSS (MB)
measure() {
    local name=$1; shift
    /usr/bin/time -f '%e %M' -o "$W/time.$name" "$@" >"$W/out.$name" 2>"$W/err.$name"
    read -r WALL RSS_KB <"$W/time.$name"
    RSS=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')
}

printf '%-22s %9s %9s %8s %9s\n' "audio / program" "audio s" "wall s" "RTF" "peak MB"
for input in clips long; do
    audio=$(soxi -D "$W/$input.wav")
    measure cesar "$CESAR" transcribe "$W/$input.wav" -o "$W/$input.txt" -q
    c_wall=$WALL c_rss=$RSS
    measure ps pocketsphinx_continuous -infile "$W/$input.wav"
    p_wall=$WALL p_rss=$RSS
    for row in "cesar $c_wall $c_rss" "pocketsphinx $p_wall $p_rss"; do
        set -- $row
        printf '%-22s %9.1f %9.2f %8.4f %9.1f\n' "$input / $1" "$audio" "$2" \
            "$(awk -v w="$2" -v a="$audio" 'BEGIN { print w / a }')" "$3"
    done
    printf '%-22s time ratio cesar/pocketsphinx = %.3f, memory ratio = %.3f\n' "$input" \
        "$(awk -v a="$c_wall" -v b="$p_wall" 'BEGIN { print a / b }')" \
        "$(awk -v a="$c_rss" -v b="$p_rss" 'BEGIN { print a / b }')"
done
echo "target: time ratio <= 1.10; cesar peak memory on the ${MINUTES}-minute file < 150 MB"
