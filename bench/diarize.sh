#!/usr/bin/env bash
# bench/diarize.sh: quality, speed and memory of `cesar diarize`. Run by hand:
#   bench/diarize.sh                      (cesar from build/cesar)
#   CESAR=build-x/cesar bench/diarize.sh  (or the path as first argument)
#   a. the nine AMI debug clips trn01-09 (30 s each; reference train.rttm,
#      train.uem; trn00 is ignored): DER per clip and overall at collar 0
#      and 0.25 with overlapping speech scored, speakers in reference vs
#      hypothesis per clip;
#   b. real-time factor over those clips (diarize wall time / audio time);
#   c. a synthetic 4-speaker conversation of BENCH_MINUTES minutes (default
#      60) from tests/diarize/make_conversation.py: wall time, RTF, peak
#      resident memory and DER at collar 0.25. It is generated once into
#      BENCH_CACHE (default ${TMPDIR:-/tmp}/cesar-bench-cache) and reused.
# Targets are printed beside the figures. Set AMI_DIR to use other clips.
#
# ENGINE=pyannote bench/diarize.sh measures the pyannote engine instead (issue
# 7: RTF <= 0.05 on 2 cores, peak < 500 MB for an hour). Its real weights are
# gated and cannot be downloaded here, so it runs on random-weight checkpoints
# of the real sizes (tests/pyannote/make_models.py, made once into
# BENCH_CACHE): the speed and memory figures are those of the real models,
# the DER figures mean nothing. THREADS (default 2) sets the threads,
# PRECISION=fast sets diarization_precision = "fast" (single bfloat16
# products), and CESAR_PYANNOTE_GEMM=f32 forces float32 products.
set -euo pipefail
cd "$(dirname "$0")/.."
CESAR=${CESAR:-${1:-build/cesar}}
AMI_DIR=${AMI_DIR:-/work/shared/data/diarization/ami-debug}
MINUTES=${BENCH_MINUTES:-60}
CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/cesar-bench-cache}
GEN=tests/diarize/make_conversation.py
ENGINE=${ENGINE:-builtin}
THREADS=${THREADS:-2}

[ -x "$CESAR" ] || { echo "no cesar binary at $CESAR (build first, or set CESAR=)" >&2; exit 1; }
"$CESAR" diarize --help >/dev/null 2>&1 || { echo "$CESAR has no working 'diarize' command" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -f "$AMI_DIR/train.rttm" ] || { echo "no AMI clips in $AMI_DIR" >&2; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/cesar-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
ENGINE_ARGS=(--diarization-engine "$ENGINE" --threads "$THREADS")
if [ "$ENGINE" = pyannote ]; then
    MODELS=$CACHE/pyannote-random-models
    if [ ! -s "$MODELS/pyannote/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin" ]; then
        mkdir -p "$MODELS"
        /usr/bin/python3 tests/pyannote/make_models.py --models-dir "$MODELS" >/dev/null
    fi
    printf 'models_dir = "%s"\ndiarization_precision = "%s"\n' "$MODELS" "${PRECISION:-exact}" \
        >"$W/config.toml"
    ENGINE_ARGS+=(--config "$W/config.toml")
    RTF_TARGET=0.05 RSS_TARGET=500
    echo "engine pyannote (random weights of the real sizes: DER is meaningless), $THREADS threads, precision ${PRECISION:-exact}, products ${CESAR_PYANNOTE_GEMM:-auto}"
else
    RTF_TARGET=0.02 RSS_TARGET=300
    echo "engine $ENGINE, $THREADS threads"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
export LC_ALL=C.UTF-8   # speaker names may be non-ASCII

# diarize ID WAV: runs cesar diarize into $W/ID.hyp.rttm with the file id
# forced to ID; sets WALL (s, from the clock) and RSS (peak, MB).
diarize() {
    local id=$1 wav=$2 t0 t1 rss_kb
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f '%M' -o "$W/$id.time" "$CESAR" diarize "$wav" -o "$W/$id.raw.rttm" "${ENGINE_ARGS[@]}" \
            >"$W/$id.out" 2>"$W/$id.err" </dev/null; then
        echo "cesar diarize $wav failed:" >&2; cat "$W/$id.err" >&2; exit 1
    fi
    t1=$(date +%s.%N)
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    rss_kb=$(tail -n 1 "$W/$id.time")
    RSS=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
    awk -v id="$id" '$1 == "SPEAKER" { $2 = id; print }' "$W/$id.raw.rttm" >"$W/$id.hyp.rttm"
}

speakers() { awk -v id="$2" '$1 == "SPEAKER" && $2 == id { s[$8] = 1 } END { print length(s) }' "$1"; }

# der REF HYP UEM COLLAR [OPTIONS]: cesar der, scoring only what UEM lists.
der() { "$CESAR" der "$1" "$2" --uem "$3" --collar "$4" "${@:5}"; }
total_of() { grep '^DER ' | tail -n 1 | sed -E 's/^DER ([0-9.]+)%.*/\1/'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if lt "$1" "$2"; then echo "ok"; else echo "MISSED"; fi; }

# --- a, b: AMI clips ----------------------------------------------------------
ids=()
for i in 1 2 3 4 5 6 7 8 9; do ids+=("trn0$i"); done
: >"$W/ami.ref.rttm"; : >"$W/ami.uem"; : >"$W/ami.hyp.rttm"
for id in "${ids[@]}"; do
    awk -v id="$id" '$1 == "SPEAKER" && $2 == id' "$AMI_DIR/train.rttm" >>"$W/ami.ref.rttm"
    awk -v id="$id" '$1 == id' "$AMI_DIR/train.uem" >>"$W/ami.uem"
done

echo "== AMI debug clips ($AMI_DIR, trn01-09), overlap scored"
total_wall=0 total_audio=0 peak=0
for id in "${ids[@]}"; do
    wav=$AMI_DIR/$id.wav
    diarize "$id" "$wav"
    cat "$W/$id.hyp.rttm" >>"$W/ami.hyp.rttm"
    audio=$(soxi -D "$wav")
    total_wall=$(awk -v a="$total_wall" -v b="$WALL" 'BEGIN { print a + b }')
    total_audio=$(awk -v a="$total_audio" -v b="$audio" 'BEGIN { print a + b }')
    peak=$(awk -v a="$peak" -v b="$RSS" 'BEGIN { print (b > a) ? b : a }')
    printf '%s %s %s %s %s\n' "$id" "$WALL" "$audio" "$(speakers "$W/ami.ref.rttm" "$id")" \
        "$(speakers "$W/$id.hyp.rttm" "$id")" >>"$W/ami.rows"
done
der "$W/ami.ref.rttm" "$W/ami.hyp.rttm" "$W/ami.uem" 0 --per-file >"$W/der0"
der "$W/ami.ref.rttm" "$W/ami.hyp.rttm" "$W/ami.uem" 0.25 --per-file -v >"$W/der25"

# per-clip DER is over that clip's reference speech, which can be tiny
echo "per clip: DER is relative to the clip's reference speech (ref s), so a clip with little speech can exceed 100%"
printf '%-6s %8s %8s %8s %8s %12s %12s\n' clip "audio s" "ref s" "wall s" RTF "DER c=0" "DER c=0.25"
while read -r id wall audio nref nhyp; do
    refs=$(awk -v id="$id" '$2 == id { s += $5 } END { printf "%.1f", s }' "$W/ami.ref.rttm")
    d0=$(sed -nE "s/^$id: DER ([0-9.]+)%.*/\\1/p" "$W/der0"); d25=$(sed -nE "s/^$id: DER ([0-9.]+)%.*/\\1/p" "$W/der25")
    printf '%-6s %8.1f %8s %8.2f %8.4f %11s%% %11s%%   speakers ref %d, hyp %d\n' "$id" "$audio" "$refs" "$wall" \
        "$(awk -v w="$wall" -v a="$audio" 'BEGIN { print w / a }')" "${d0:-?}" "${d25:-?}" "$nref" "$nhyp"
done <"$W/ami.rows"
ami0=$(total_of <"$W/der0"); ami25=$(total_of <"$W/der25")
rtf=$(awk -v w="$total_wall" -v a="$total_audio" 'BEGIN { printf "%.4f", w / a }')
printf '%-6s %8.1f %8s %8.2f %8.4f %11s%% %11s%%\n' all "$total_audio" \
    "$(awk '{ s += $5 } END { printf "%.1f", s }' "$W/ami.ref.rttm")" "$total_wall" "$rtf" "$ami0" "$ami25"
echo "   at collar 0:    $(grep '^DER ' "$W/der0" | tail -n 1)"
echo "   at collar 0.25: $(grep '^DER ' "$W/der25" | tail -n 1)"
grep ' mapping: ' "$W/der25" | sed 's/^/   /'
if [ "$ENGINE" = pyannote ]; then
    echo "AMI DER (collar 0.25) $ami25%   (random weights: not a quality figure)"
else
    echo "AMI DER (collar 0.25) $ami25%   target < 25%     $(verdict "$ami25" 25)"
fi
echo "AMI RTF $rtf   target <= $RTF_TARGET   $(verdict "$rtf" "${RTF_TARGET}0001")   (peak $peak MB per 30 s clip)"

# --- c: long synthetic conversation ------------------------------------------
echo
echo "== synthetic 4-speaker conversation, $MINUTES minutes"
mkdir -p "$CACHE"
key=$( (cat "$GEN"; echo "$MINUTES") | md5sum | cut -c1-8)
base=$CACHE/conv4_seed1_${MINUTES}min_$key
if [ -f "$base.uem" ]; then   # the generator writes the .uem last
    echo "reusing $base.wav"
else
    t0=$(date +%s)
    python3 "$GEN" --speakers 4 --seed 1 --minutes "$MINUTES" --out "$base"
    echo "generated in $(( $(date +%s) - t0 )) s"
fi
fid=$(basename "$base")
audio=$(soxi -D "$base.wav")
diarize "$fid" "$base.wav"
long_rtf=$(awk -v w="$WALL" -v a="$audio" 'BEGIN { printf "%.4f", w / a }')
der "$base.rttm" "$W/$fid.hyp.rttm" "$base.uem" 0.25 >"$W/derlong"
long_der=$(total_of <"$W/derlong")
printf 'audio %.1f s, wall %.2f s, speakers ref %d, hyp %d\n' "$audio" "$WALL" \
    "$(speakers "$base.rttm" "$fid")" "$(speakers "$W/$fid.hyp.rttm" "$fid")"
echo "   $(grep '^DER ' "$W/derlong" | tail -n 1)"
echo "long RTF  $long_rtf   target <= $RTF_TARGET   $(verdict "$long_rtf" "${RTF_TARGET}0001")"
echo "long peak $RSS MB   target < $RSS_TARGET MB  $(verdict "$RSS" "$RSS_TARGET")"
echo "long DER (collar 0.25) $long_der%   (synthetic; the quality test asks <= 5% on short files)"
