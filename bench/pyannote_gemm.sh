#!/usr/bin/env bash
# bench/pyannote_gemm.sh: builds and runs the pyannote matrix product
# benchmark (bench/pyannote_gemm.c): GFLOP/s on one thread of the float32
# path (OpenBLAS sgemm) against the AMX bfloat16 paths (bf16x3, bf16) on the
# embedding ResNet34's and the segmentation LSTM's shapes.
#
# usage: bench/pyannote_gemm.sh [BUILD_DIR]   (default: build)
#        SECONDS_PER_FIGURE=0.3 to override.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
seconds=${SECONDS_PER_FIGURE:-0.3}

cmake --build "$build" -j2 --target pyannote_gemm_bench >/dev/null
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
    grep -E '^(avx512f|avx512_bf16|amx_tile|amx_bf16)$' | tr '\n' ' ')"
echo "cores: $(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(on a shared machine the figures move with the load; compare within one run)"
echo
# OpenBLAS's own threads would otherwise spin beside the timed thread.
OPENBLAS_NUM_THREADS=1 "$build/pyannote_gemm_bench" "$seconds"
