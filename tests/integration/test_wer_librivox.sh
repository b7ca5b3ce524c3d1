#!/usr/bin/env bash
# Accuracy: aggregate word error rate over the five LibriVox clips shipped in
# Debian's pocketsphinx-testdata, against their reference transcripts, must
# be at most 35% (the stock pocketsphinx_continuous gets about 30%).
. "$(dirname "$0")/lib.sh"

W=$WORK
: >"$W/ref.txt"; : >"$W/hyp.txt"
for id in "${LIBRIVOX_IDS[@]}"; do
    run transcribe "$(librivox_clip "$id")" -o "$W/$id.txt" -q --no-diarize
    expect_code "clip $id" 0
    # one line per utterance, so the WER aligns clip by clip
    tr '\n' ' ' <"$W/$id.txt" >>"$W/hyp.txt"; echo >>"$W/hyp.txt"
    grep "($(basename "$(librivox_clip "$id")" .wav))" "$LIBRIVOX_DIR/transcription" >>"$W/ref.txt"
done
run wer "$W/ref.txt" "$W/hyp.txt" --per-line
expect_code wer 0
echo "    $OUT"
rate=$(sed -nE 's/^WER ([0-9.]+)%.*/\1/p' <<<"$OUT")
refwords=$(sed -nE 's/.*reference words ([0-9]+).*/\1/p' <<<"$OUT")
[ "${refwords:-0}" -ge 60 ] && pass "reference has $refwords words" || fail "reference words: $refwords"
awk -v r="${rate:-100}" 'BEGIN { exit !(r <= 35.0) }' && pass "aggregate WER $rate% <= 35%" \
    || fail "aggregate WER ${rate:-?}% > 35%" "ref: $(cat "$W/ref.txt")" "hyp: $(cat "$W/hyp.txt")"

# the WER tool itself: identical texts score 0, a wrong word scores > 0
echo "he was not an ill disposed young man" >"$W/a.txt"
run wer "$W/a.txt" "$W/a.txt"
grep -q '^WER 0.00%' <<<"$OUT" && pass "wer of identical text is 0" || fail "wer identical: $OUT"
echo "he was not an illness disposed young man" >"$W/b.txt"
run wer "$W/a.txt" "$W/b.txt"
grep -q '^WER 12.50% (substitutions 1, deletions 0, insertions 0, reference words 8)' <<<"$OUT" \
    && pass "wer of one substitution in 8 words is 12.5%" || fail "wer one sub: $OUT"

finish
