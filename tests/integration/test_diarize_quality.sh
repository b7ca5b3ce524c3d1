#!/usr/bin/env bash
# `cesar diarize` quality on synthetic conversations: 2, 3 and 4 espeak-ng
# speakers (tests/diarize/make_conversation.py, fixed seeds, 60-90 s each,
# turns of 1-8 s with 0.2-1.0 s pauses, no overlap). With no speaker count
# given, every file must score DER <= 5% at collar 0.25 and the hypothesis
# must hold exactly the true number of speakers; once per count again with
# --num-speakers N. The judging is first checked on hypotheses made from
# the reference (perfect, and everything given to one speaker).
. "$(dirname "$0")/lib.sh"

GEN=$CESAR_SOURCE_DIR/tests/diarize/make_conversation.py
MAX_DER=5.00
COLLAR=0.25
# speakers seed turns: about 60-90 s of audio each
CASES=("2 11 14" "2 12 14" "3 21 15" "3 22 15" "4 31 16" "4 32 16")

W=$WORK

# speakers RTTM: distinct speaker names in RTTM.
speakers() { awk '$1 == "SPEAKER" { s[$8] = 1 } END { print length(s) }' "$1"; }

# judge NAME N REF HYP UEM: 0 when HYP scores DER <= MAX_DER at collar
# $COLLAR and has N speakers; VERDICT says why either way.
judge() {
    local name=$1 n=$2 ref=$3 hyp=$4 uem=$5 line der got
    got=$(speakers "$hyp")
    if ! "$CESAR_BIN" der "$ref" "$hyp" --uem "$uem" --collar "$COLLAR" >"$W/.der" 2>&1 </dev/null; then
        VERDICT="$name: cesar der failed: $(cat "$W/.der")"; return 1
    fi
    line=$(grep '^DER ' "$W/.der" | tail -n 1)
    der=$(sed -nE 's/^DER ([0-9.]+)%.*/\1/p' <<<"$line")
    if [ -z "$der" ]; then
        VERDICT="$name: no DER in: $(cat "$W/.der")"; return 1
    fi
    VERDICT="$name: DER $der% (max $MAX_DER%), speakers $got of $n ${line#DER * }"
    awk -v d="$der" -v m="$MAX_DER" 'BEGIN { exit !(d <= m) }' && [ "$got" -eq "$n" ]
}

# --- the generator and the judging itself ---------------------------------
for c in "${CASES[@]}"; do
    read -r n seed turns <<<"$c"
    name=conv${n}s$seed
    summary=$(python3 "$GEN" --speakers "$n" --seed "$seed" --turns "$turns" --out "$W/$name") \
        || { fail "generate $name"; finish; exit; }
    echo "# ${summary#"$W/"}"
    python3 "$GEN" --speakers "$n" --seed "$seed" --turns "$turns" --out "$W/$name.again" >/dev/null
    cmp -s "$W/$name.wav" "$W/$name.again.wav" \
        && cmp -s <(cut -d' ' -f3- "$W/$name.rttm") <(cut -d' ' -f3- "$W/$name.again.rttm") \
        || fail "$name: generation is not deterministic"
    rm -f "$W/$name.again".*
done
[ "$FAILED" -eq 0 ] && pass "conversations generated, deterministic per seed"

ref=$W/conv3s21.rttm
if judge "reference as hypothesis" 3 "$ref" "$ref" "$W/conv3s21.uem"; then
    pass "judge accepts a perfect hypothesis: $VERDICT"
else
    fail "judge rejects a perfect hypothesis" "$VERDICT"
fi
awk '{ $8 = "x" } 1' "$ref" >"$W/one.rttm"
if judge "one speaker" 3 "$ref" "$W/one.rttm" "$W/conv3s21.uem"; then
    fail "judge accepts everything given to one speaker" "$VERDICT"
else
    pass "judge rejects a one-speaker hypothesis: $VERDICT"
fi
# a perfect hypothesis with one extra 0.4 s speaker: DER tiny, count wrong
{ cat "$ref"; echo "SPEAKER conv3s21 1 0.000 0.400 <NA> <NA> extra <NA> <NA>"; } >"$W/extra.rttm"
if judge "extra speaker" 3 "$ref" "$W/extra.rttm" "$W/conv3s21.uem"; then
    fail "judge accepts a fourth speaker" "$VERDICT"
else
    pass "judge rejects a wrong speaker count: $VERDICT"
fi

# --- cesar diarize ----------------------------------------------------------
run diarize --help
if [ "$CODE" -ne 0 ]; then
    fail "cesar diarize exists" "exit $CODE: $ERR"
    finish; exit
fi

# diarize_case NAME N [OPTIONS...]: diarizes NAME.wav and judges it.
diarize_case() {
    local name=$1 n=$2 tag=$1 t0 t1 ids secs; shift 2
    [ $# -gt 0 ] && tag="$name $*"
    local hyp=$W/$name.hyp${1:+.given}.rttm
    t0=$(date +%s.%N)
    run diarize "$W/$name.wav" -o "$hyp" "$@"
    t1=$(date +%s.%N)
    if [ "$CODE" -ne 0 ] || [ ! -s "$hyp" ]; then
        fail "$tag: diarize exit $CODE, output $( [ -s "$hyp" ] && echo written || echo missing)" "stderr: $ERR"
        return
    fi
    ids=$(awk '$1 == "SPEAKER" { print $2 }' "$hyp" | sort -u | tr '\n' ' ')
    if [ "$ids" != "$name " ]; then
        fail "$tag: hypothesis file id is '${ids% }', expected '$name' (the input's base name)"
        awk -v id="$name" '$1 == "SPEAKER" { $2 = id } 1' "$hyp" >"$hyp.fixed" && mv "$hyp.fixed" "$hyp"
    fi
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if judge "$tag" "$n" "$W/$name.rttm" "$hyp" "$W/$name.uem"; then
        pass "$VERDICT, diarized in $secs s"
    else
        fail "$VERDICT, diarized in $secs s"
    fi
}

for c in "${CASES[@]}"; do
    read -r n seed _ <<<"$c"
    diarize_case "conv${n}s$seed" "$n"
done
for n in 2 3 4; do
    for c in "${CASES[@]}"; do
        read -r cn seed _ <<<"$c"
        [ "$cn" = "$n" ] && { diarize_case "conv${n}s$seed" "$n" --num-speakers "$n"; break; }
    done
done

finish
