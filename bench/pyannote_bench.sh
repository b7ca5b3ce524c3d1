#!/usr/bin/env bash
# bench/pyannote_bench.sh: speed of the pyannote networks on random-weight
# checkpoints of the real sizes (bench/pyannote_bench.c): seconds per 10 s
# segmentation window, seconds per 10 s embedding chunk (3 masks), peak RSS
# and the implied real-time factor for one hour at a 1 s step, for each
# matrix mode (f32, and bf16x3 where AMX works).
#
# usage: bench/pyannote_bench.sh [BUILD_DIR]   (default: build)
#        THREADS=2 RUNS=5 to override; MODES="f32 bf16x3 bf16" to choose.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
threads=${THREADS:-2}
runs=${RUNS:-5}
modes=${MODES:-f32 bf16x3}

cmake --build "$build" -j2 --target pyannote_bench >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/tests/pyannote/make_models.py" --models-dir "$tmp" >/dev/null
seg=$tmp/pyannote/segmentation-3.0/pytorch_model.bin
emb=$tmp/pyannote/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), cores: $(nproc)"
echo "(shared machine: figures move with the load; compare within one run)"
for mode in $modes; do
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    # OpenBLAS's own threads would otherwise spin beside ours.
    CESAR_PYANNOTE_GEMM=$mode OPENBLAS_NUM_THREADS=1 \
        "$build/pyannote_bench" "$seg" "$emb" "$threads" "$runs"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
