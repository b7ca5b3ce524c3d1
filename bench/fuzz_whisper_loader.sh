#!/usr/bin/env bash
# fuzz_whisper_loader.sh: rebuilds the Whisper model loader's libFuzzer
# driver (clang, ASan + UBSan) and fuzzes it for N seconds, starting from
# freshly generated seeds plus the saved regression seeds.
# Usage: bench/fuzz_whisper_loader.sh [SECONDS=600] [WORKDIR=/tmp/fuzz_whisper_loader]
# Afterwards, to refresh the saved seeds with a minimal set:
#   WORKDIR/fuzz_whisper_loader -merge=1 tests/fuzz/seeds/whisper_loader WORKDIR/corpus
set -euo pipefail
secs=${1:-600}
work=${2:-/tmp/fuzz_whisper_loader}
root=$(cd "$(dirname "$0")/.." && pwd)
cc=$(command -v clang-14 || command -v clang)
mkdir -p "$work/corpus" "$work/seeds"
cd "$root"
"$cc" -std=c11 -D_GNU_SOURCE -O1 -Isrc tests/fuzz/make_whisper_loader_seeds.c \
    src/whisper/quant.c -o "$work/make_seeds"
"$work/make_seeds" ../shared/models/whisper/for-tests-ggml-tiny.en.bin "$work/seeds"
loader_sources="src/whisper/model.c src/whisper/model_header.c src/whisper/model_tensors.c
    src/whisper/quant.c src/whisper/vocab.c src/whisper/tokenize.c src/whisper/errors.c
    src/util/errors.c"
# shellcheck disable=SC2086
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Isrc tests/fuzz/fuzz_whisper_loader.c $loader_sources \
    -lm -o "$work/fuzz_whisper_loader"
"$work/fuzz_whisper_loader" -max_total_time="$secs" -max_len=400000 -rss_limit_mb=2048 \
    -dict=tests/fuzz/whisper_loader.dict -use_value_profile=1 -print_final_stats=1 "$work/corpus" "$work/seeds" tests/fuzz/seeds/whisper_loader
