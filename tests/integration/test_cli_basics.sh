#!/usr/bin/env bash
# The command line's frame: version, help for every command, exit codes for
# usage errors, progress bar only on a terminal, summary and its -q/-v forms.
. "$(dirname "$0")/lib.sh"

W=$WORK
run --version
expect_code version 0
[[ "$OUT" =~ ^cesar\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && pass "version format" || fail "version format: $OUT"

run --help
expect_code help 0
main_help=$OUT
for cmd in transcribe diarize config wer der; do
    grep -qE "^  $cmd " <<<"$main_help" && pass "help lists $cmd" || fail "help lacks $cmd"
    run "$cmd" --help
    expect_code "$cmd --help" 0
    grep -q "^Usage: cesar $cmd" <<<"$OUT" && pass "$cmd --help shows usage" || fail "$cmd --help: $OUT"
done
run transcribe --help
for opt in --output --format --engine --model --language --threads --start-time --end-time \
           --max-duration --config --quiet --verbose; do
    grep -qF -- "$opt" <<<"$OUT" && pass "transcribe --help documents $opt" || fail "no $opt in help"
done

run
expect_code no-command 2

sox -q "$(librivox_clip 0880)" "$W/clip.wav"

# normal run: a summary line, no bar without a terminal (the diarized summary
# is checked in test_diarize_cli.sh)
run transcribe "$W/clip.wav" -o "$W/a.txt" --no-diarize
expect_code plain-run 0
grep -qE '^Transcribed 00:03 of audio in [0-9.]+ s \([0-9.]+x real time\) -> .*/a\.txt$' <<<"$ERR" \
    && pass "summary line" || fail "summary line" "stderr: $ERR"
grep -q $'\r' "$W/.stderr" && fail "bar drawn without a terminal" || pass "no bar without a terminal"
grep -qiE 'INFO|pocketsphinx\.c|ngram' <<<"$ERR" && fail "engine log leaked to stderr" "$ERR" \
    || pass "no engine chatter"

# -q prints nothing at all on success
run transcribe "$W/clip.wav" -o "$W/q.txt" -q
expect_code quiet 0
[ -z "$ERR$OUT" ] && pass "quiet prints nothing" || fail "quiet printed: $ERR$OUT"
[ -s "$W/q.txt" ] && pass "quiet still writes" || fail "quiet wrote nothing"

# -v adds engine, model, threads and system
run transcribe "$W/clip.wav" -o "$W/v.txt" -v --threads 2
expect_code verbose 0
expect_err verbose "engine:   pocketsphinx" "model en-us" "threads 2" "system:" "cores"
expect_err verbose-input "input:    $W/clip.wav (pcm_s16le, 16000 Hz, mono" "00:03 to transcribe"
head -1 "$W/.stderr" | grep -q '^  input:' && pass "verbose: input reported first" \
    || fail "verbose: input not reported first" "$ERR"

# no -o: the transcript goes to standard output
run transcribe "$W/clip.wav" -q
expect_code stdout 0
[ "$OUT" = "$(cat "$W/q.txt")" ] && pass "stdout transcript equals file transcript" \
    || fail "stdout transcript differs" "$OUT"

# on a terminal: a bar with percent, elapsed and ETA, redrawn at least twice a second
librivox_concat "$W/long.wav"
sox -q "$W/long.wav" "$W/long.wav" "$W/long.wav" "$W/longer.wav"
start=$(date +%s.%N)
script -qefc "'$CESAR_BIN' transcribe '$W/longer.wav' -o '$W/tty.txt'" "$W/tty.log" >/dev/null </dev/null
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
redraws=$(tr '\r' '\n' <"$W/tty.log" | grep -c '%.*elapsed')
grep -q 'ETA' "$W/tty.log" && pass "bar shows ETA" || fail "bar lacks ETA" "$(cat -v "$W/tty.log" | head -c 400)"
grep -qE '\[#+-*\] +[0-9]+%' "$W/tty.log" && pass "bar shows percent" || fail "bar lacks percent"
# redraws every 0.2 s: at least 2 per second of run time (minus start-up slack)
need=$(awk -v e="$elapsed" 'BEGIN { printf "%d", (e - 0.5) * 2 }')
[ "${need:-0}" -lt 1 ] && need=1
[ "$redraws" -ge "$need" ] && pass "bar redrawn $redraws times in ${elapsed}s (need $need)" \
    || fail "bar redrawn only $redraws times in ${elapsed}s (need $need)"
grep -q 'Transcribed' "$W/tty.log" && pass "summary after bar" || fail "no summary on tty"
[ -s "$W/tty.txt" ] && pass "tty run wrote transcript" || fail "tty run wrote nothing"

finish
