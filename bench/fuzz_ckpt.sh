#!/usr/bin/env bash
# fuzz_ckpt.sh: rebuilds the PyTorch checkpoint reader's libFuzzer driver
# (clang, ASan + UBSan, CRC checks off so mutations reach the pickle) and
# fuzzes it for N seconds, starting from the saved seeds.
# Usage: bench/fuzz_ckpt.sh [SECONDS=600] [WORKDIR=/tmp/fuzz_ckpt]
# Afterwards, to refresh the saved seeds with a minimal set:
#   WORKDIR/fuzz_ckpt -merge=1 tests/fuzz/seeds/ckpt WORKDIR/corpus
set -euo pipefail
secs=${1:-600}
work=${2:-/tmp/fuzz_ckpt}
root=$(cd "$(dirname "$0")/.." && pwd)
cc=$(command -v clang-14 || command -v clang)
mkdir -p "$work/corpus"
cd "$root"
sources="src/ckpt/ckpt.c src/ckpt/zip.c src/ckpt/value.c src/ckpt/pickle.c src/ckpt/torch.c
    src/ckpt/tensors.c src/ckpt/read.c src/util/errors.c src/util/strings.c src/util/array.c
    src/util/buf.c"
# shellcheck disable=SC2086
"$cc" -g -O1 -std=c11 -D_GNU_SOURCE -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
    tests/fuzz/fuzz_ckpt.c $sources -lz -lm -o "$work/fuzz_ckpt"
"$work/fuzz_ckpt" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    -dict=tests/fuzz/ckpt.dict -use_value_profile=1 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus" tests/fuzz/seeds/ckpt
