#!/usr/bin/env bash
# bench/whisper.sh: speed and memory of the Whisper network on random-weight
# models of the real tiny.en and base dimensions in f16 (generated with
# tests/whisper/make_model.py into a temporary directory): encoder time per
# 30 s window (median), decoder time per token (100 greedy steps, one
# sequence, after a prompt of 3), total for one window (mel + encoder +
# prompt + 100 steps), peak RSS, and the ratios against whisper.cpp's figures
# on this kind of machine (issue 6).
#
# usage: bench/whisper.sh [BUILD_DIR]   (default: build; needs target whisper_bench)
#        THREADS=2 RUNS=5 TOKENS=100 DIMS="tiny.en base" to override.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
bench=$build/whisper_bench
threads=${THREADS:-2}
runs=${RUNS:-5}
tokens=${TOKENS:-100}
dims=${DIMS:-"tiny.en base"}
shared=$here/../shared/models/whisper

if [ ! -x "$bench" ]; then
    echo "whisper.sh: $bench not built (cmake --build $build --target whisper_bench)" >&2
    exit 2
fi
tmp=$(mktemp -d /tmp/cesar_whisper_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
    grep -E '^(avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_fp16|avx512_bf16|amx_bf16)$' | tr '\n' ' ')"
echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg), threads: $threads"
echo "(times are wall clock: on a shared machine compare encoder_cpu_s, the CPU time, too)"
echo

# whisper.cpp on this kind of machine: encoder s, peak MB
declare -A ref_enc=([tiny.en]=0.74 [base]=1.59)
declare -A ref_rss=([tiny.en]=150 [base]=245)

for d in $dims; do
    header=$shared/for-tests-ggml-tiny.en.bin
    [ "$d" = base ] && header=$shared/for-tests-ggml-base.bin
    model=$tmp/$d-f16.bin
    /usr/bin/python3 "$here/tests/whisper/make_model.py" --header "$header" --out "$model" \
        --dims "$d" --ftype f16 --seed 1
    out=$("$bench" "$model" "$threads" "$runs" "$tokens")
    rm -f "$model"
    echo "== $d f16 =="
    echo "$out"
    enc=$(echo "$out" | awk '/^encoder_s/ {print $2}')
    rss=$(echo "$out" | awk '/^peak_rss_mb/ {print $2}')
    dec=$(echo "$out" | awk '/^decoder_ms_per_token/ {print $2}')
    awk -v e="$enc" -v r="$rss" -v re="${ref_enc[$d]:-0}" -v rr="${ref_rss[$d]:-0}" -v dc="$dec" 'BEGIN {
        printf "decoder: %.2f ms per token (target for base: 3 ms)\n", dc;
        if (re > 0) printf "encoder vs whisper.cpp: %.3f s / %.2f s = %.2fx the time (%.2fx faster)\n", e, re, e / re, re / e;
        if (rr > 0) printf "peak RSS vs whisper.cpp: %.0f MB / %.0f MB = %.2f\n", r, rr, r / rr;
    }'
    echo
done
