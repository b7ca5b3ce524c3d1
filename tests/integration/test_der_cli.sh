#!/usr/bin/env bash
# `cesar der`: diarization error rate of RTTM files written here. Checks the
# printed rate on cases worked out by hand, --per-file / -v output, and the
# exit codes and one-line messages for bad options and malformed files.
. "$(dirname "$0")/lib.sh"

W=$WORK
turn() { echo "SPEAKER $1 1 $2 $3 <NA> <NA> $4 <NA> <NA>"; }

# ref A[0,10] B[10,20]; hyp shifted by 0.2 s with other names:
# missed 0.2 + confusion 0.2 over 20 s = 2.00%; collar 0.25 hides both.
{ turn f1 0 10 A; turn f1 10 10 B; } >"$W/ref.rttm"
{ turn f1 0.2 10 x; turn f1 10.2 9.8 y; } >"$W/hyp.rttm"

run der "$W/ref.rttm" "$W/hyp.rttm"
expect_code "der" 0
rate=$(sed -nE 's/^DER ([0-9.]+)%.*/\1/p' <<<"$OUT")
[ "$rate" = "2.00" ] && pass "shifted hypothesis scores 2.00%" || fail "shifted: $OUT"
grep -qF 'missed 1.00%, false alarm 0.00%, confusion 1.00%)  scored 20.0 s, collar 0.00 s' <<<"$OUT" \
    && pass "components and scored time" || fail "components: $OUT"

run der "$W/ref.rttm" "$W/hyp.rttm" --collar 0.25
expect_code "der --collar" 0
grep -q '^DER 0.00%.*scored 19.0 s, collar 0.25 s$' <<<"$OUT" \
    && pass "collar 0.25 forgives the shift" || fail "collar: $OUT"

run der "$W/ref.rttm" "$W/ref.rttm"
grep -q '^DER 0.00%' <<<"$OUT" && pass "identical files score 0" || fail "identical: $OUT"

# --per-file and -v: a second file, all missed (5 of 25 s overall).
turn f2 0 5 C >>"$W/ref.rttm"
run der "$W/ref.rttm" "$W/hyp.rttm" --per-file -v
expect_code "der --per-file -v" 0
grep -q '^f1: DER 2.00%' <<<"$OUT" && grep -q '^f2: DER 100.00%' <<<"$OUT" \
    && pass "one line per file" || fail "per-file: $OUT"
grep -qF 'f1 mapping: A -> x, B -> y' <<<"$OUT" && grep -qF 'f2 mapping: C -> (none)' <<<"$OUT" \
    && pass "mapping at -v" || fail "mapping: $OUT"
# (0.4 + 5) / 25 = 21.60%
tail -n 1 <<<"$OUT" | grep -q '^DER 21.60%' && pass "total last: 21.60%" || fail "total: $OUT"

# UEM limiting f1 to [0,5]: only the 0.2 s miss in 5 s scored -> 4.00%.
echo "f1 1 0 5" >"$W/a.uem"
run der "$W/ref.rttm" "$W/hyp.rttm" --uem "$W/a.uem"
grep -q '^DER 4.00%' <<<"$OUT" && pass "uem limits scoring" || fail "uem: $OUT"

# Malformed files: exit 1 with FILE:LINE.
{ turn f1 0 1 A; echo ";; comment"; echo "SPEAKER f1 1 abc 1 <NA> <NA> A <NA> <NA>"; } >"$W/bad.rttm"
run der "$W/bad.rttm" "$W/hyp.rttm"
expect_code "malformed reference" 1
expect_err "malformed reference" "$W/bad.rttm:3:" "onset 'abc'"
expect_one_line_error "malformed reference"
echo "SPEAKER f1 1 0 1" >"$W/short.rttm"
run der "$W/ref.rttm" "$W/short.rttm"
expect_code "short hypothesis line" 1
expect_err "short hypothesis line" "$W/short.rttm:1:" "expected at least 8"
echo "f1 1 9 3" >"$W/bad.uem"
run der "$W/ref.rttm" "$W/hyp.rttm" --uem "$W/bad.uem"
expect_code "bad uem" 1
expect_err "bad uem" "$W/bad.uem:1:" "before start"
run der "$W/missing.rttm" "$W/hyp.rttm"
expect_code "missing file" 1
expect_err "missing file" "$W/missing.rttm"
expect_one_line_error "missing file"

# Usage errors: exit 2, one line naming the option and value.
for v in -1 abc inf nan; do
    run der "$W/ref.rttm" "$W/hyp.rttm" --collar "$v"
    expect_code "--collar $v" 2
    expect_err "--collar $v" "--collar" "'$v'"
    expect_one_line_error "--collar $v"
done
run der "$W/ref.rttm" "$W/hyp.rttm" --collar
expect_code "--collar without value" 2
expect_err "--collar without value" "--collar"
run der "$W/ref.rttm"
expect_code "one file" 2
expect_one_line_error "one file"
run der "$W/ref.rttm" "$W/hyp.rttm" --frobnicate
expect_code "unknown option" 2
expect_err "unknown option" "--frobnicate"
run der --help
expect_code "help" 0
grep -q -- '--skip-overlap' <<<"$OUT" && pass "help lists options" || fail "help: $OUT"

finish
