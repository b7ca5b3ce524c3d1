#!/usr/bin/env bash
# Speaker diarization from the command line: the speaker options of
# `cesar transcribe` and `cesar diarize` (bad values exit 2 naming the
# option), `cesar diarize` writing RTTM that `cesar der` reads, silence and
# very short audio, bad inputs, the exit-3 path where diarization fails but
# the transcript is kept (forced with CESAR_FAULT_DIARIZE), --no-diarize,
# and the speaker markers of every output format.
. "$(dirname "$0")/lib.sh"

W=$WORK
OUT_DIR=$W/out
mkdir -p "$OUT_DIR"

# A short conversation: two clearly different espeak-ng voices taking turns.
speech "$W/a1.wav" "Good morning everyone, let us begin with the budget for the next quarter." en-us
speech "$W/b1.wav" "Thanks. The numbers are in and they look better than last year." en+f3
speech "$W/a2.wav" "Great, can you send me the full report after the meeting?" en-us
speech "$W/b2.wav" "Of course, I will send it to you this afternoon." en+f3
sox -q "$W/a1.wav" "$W/b1.wav" "$W/a2.wav" "$W/b2.wav" "$W/two.wav"
sox -q -n -r 16000 -c 1 -b 16 "$W/silence.wav" trim 0 5
sox -q "$W/a1.wav" "$W/half.wav" trim 0 0.5
head -c 20000 /dev/urandom >"$W/corrupt.wav"

RTTM_LINE='^SPEAKER [^ ]+ 1 [0-9]+\.[0-9]{3} [0-9]+\.[0-9]{3} <NA> <NA> speaker[0-9]+ <NA> <NA>$'
DIARIZE_SUMMARY='^[0-9]+ speakers?, [0-9]+\.[0-9] s of speech in [0-9]+\.[0-9] s audio, took [0-9]+\.[0-9] s \(RTF [0-9]+\.[0-9]{2}\) -> '

# every_line NAME FILE REGEX: FILE has lines and each matches REGEX.
every_line() {
    local name=$1 file=$2 re=$3 bad
    if [ ! -s "$file" ]; then fail "$name: $file is empty or missing"; return; fi
    bad=$(grep -cvE -- "$re" "$file")
    [ "$bad" -eq 0 ] && pass "$name: every line matches" \
        || fail "$name: $bad lines do not match $re" "$(grep -vE -- "$re" "$file" | head -3)"
}

# distinct_speakers FILE: how many speaker names an RTTM file uses.
distinct_speakers() { awk '{ print $8 }' "$1" | sort -u | grep -c .; }

# ---- bad speaker options: exit 2, one line naming the option and value --------
bad_flags() { # NAME COMMAND TEXT... -- ARGS...
    local name=$1 cmd=$2; shift 2
    local texts=()
    while [ "$1" != -- ]; do texts+=("$1"); shift; done
    shift
    run "$cmd" "$W/two.wav" -o "$OUT_DIR/$name.out" "$@"
    expect_code "$name" 2
    expect_err "$name" "${texts[@]}"
    expect_one_line_error "$name"
    expect_no_file "$name" "$OUT_DIR/$name.out"
}
for cmd in transcribe diarize; do
    bad_flags "$cmd-min-gt-max" "$cmd" --min-speakers 5 --max-speakers 3 "min <= max" -- \
        --min-speakers 5 --max-speakers 3
    bad_flags "$cmd-min-zero" "$cmd" --min-speakers "got 0" "1 to 32" -- --min-speakers 0
    bad_flags "$cmd-max-negative" "$cmd" --max-speakers "got -2" -- --max-speakers -2
    bad_flags "$cmd-num-33" "$cmd" --num-speakers "got 33" "1 to 32" -- --num-speakers 33
    bad_flags "$cmd-max-33" "$cmd" --max-speakers "got 33" -- --max-speakers 33
    bad_flags "$cmd-not-integer" "$cmd" --min-speakers "'two'" "whole number" -- \
        --min-speakers two
    bad_flags "$cmd-fraction" "$cmd" --num-speakers "'1.5'" -- --num-speakers 1.5
    bad_flags "$cmd-num-outside" "$cmd" "--num-speakers 5" "--min-speakers 1" \
        "--max-speakers 3" -- --min-speakers 1 --max-speakers 3 --num-speakers 5
    bad_flags "$cmd-num-above-max" "$cmd" "--num-speakers 4 is greater than --max-speakers 2" -- \
        --max-speakers 2 --num-speakers 4
    bad_flags "$cmd-missing-value" "$cmd" --max-speakers "needs a value" -- --max-speakers
done
bad_flags transcribe-no-diarize-still-checked transcribe --num-speakers "got 0" -- \
    --no-diarize --num-speakers 0
# a lone flag beyond the configured bound moves it (the flag wins)
run transcribe "$W/half.wav" -o "$OUT_DIR/min10.txt" --min-speakers 10 -q
expect_code "--min-speakers 10 over max_speakers 8" 0

# ---- help ---------------------------------------------------------------------
run --help
grep -qE '^  diarize ' <<<"$OUT" && pass "cesar --help lists diarize" || fail "help lacks diarize" "$OUT"
grep -qF '3 transcript written but' <<<"$OUT" && pass "cesar --help documents exit 3" \
    || fail "cesar --help lacks exit 3" "$OUT"
run transcribe --help
for opt in --diarize --no-diarize --min-speakers --max-speakers --num-speakers; do
    grep -qF -- "$opt" <<<"$OUT" && pass "transcribe --help documents $opt" \
        || fail "transcribe --help lacks $opt"
done
grep -qF '3 transcript written but speaker diarization failed' <<<"$OUT" \
    && pass "transcribe --help documents exit 3" || fail "transcribe --help lacks exit 3" "$OUT"
run diarize --help
expect_code "diarize --help" 0
grep -q '^Usage: cesar diarize' <<<"$OUT" && pass "diarize --help shows usage" || fail "diarize usage"
for opt in --output --min-speakers --max-speakers --num-speakers --start-time --end-time; do
    grep -qF -- "$opt" <<<"$OUT" && pass "diarize --help documents $opt" \
        || fail "diarize --help lacks $opt"
done

# ---- cesar diarize: RTTM on a two-voice conversation -----------------------------
run diarize "$W/two.wav" -o "$OUT_DIR/rttm/two.rttm"
expect_code "diarize two voices" 0
every_line "diarize RTTM lines" "$OUT_DIR/rttm/two.rttm" "$RTTM_LINE"
awk '$2 != "two" { bad = 1 } END { exit bad }' "$OUT_DIR/rttm/two.rttm" \
    && pass "file id is the input's base name" || fail "file id" "$(head -2 "$OUT_DIR/rttm/two.rttm")"
n=$(distinct_speakers "$OUT_DIR/rttm/two.rttm")
[ "$n" -ge 1 ] && pass "diarize found $n speaker(s)" || fail "diarize found no speaker"
grep -qE "$DIARIZE_SUMMARY$OUT_DIR/rttm/two.rttm\$" <<<"$ERR" && pass "diarize summary line" \
    || fail "diarize summary line" "stderr: $ERR"
grep -qE "^$n speakers?, " <<<"$ERR" && pass "summary count agrees with the RTTM" \
    || fail "summary count vs RTTM $n" "$ERR"
# every turn inside the audio (16 s or so), starts sorted
awk -v len="$(soxi -D "$W/two.wav")" '$4 < 0 || $5 <= 0 || $4 + $5 > len + 0.01 || $4 < prev { bad = 1 }
    { prev = $4 } END { exit bad }' "$OUT_DIR/rttm/two.rttm" \
    && pass "turns sorted and inside the audio" || fail "turn times" "$(cat "$OUT_DIR/rttm/two.rttm")"

# cesar der reads it: against itself 0%, against the true turns some finite rate
run der "$OUT_DIR/rttm/two.rttm" "$OUT_DIR/rttm/two.rttm"
expect_code "der reads diarize output" 0
grep -q '^DER 0.00%' <<<"$OUT" && pass "der of RTTM against itself is 0" || fail "der self: $OUT"
t=0
for f in a1 b1 a2 b2; do
    d=$(soxi -D "$W/$f.wav")
    echo "SPEAKER two 1 $t $d <NA> <NA> ${f:0:1} <NA> <NA>"
    t=$(awk -v a="$t" -v b="$d" 'BEGIN { print a + b }')
done >"$W/two.ref.rttm"
run der "$W/two.ref.rttm" "$OUT_DIR/rttm/two.rttm" --collar 0.25
expect_code "der against the true turns" 0
grep -qE '^DER [0-9]+\.[0-9]{2}%' <<<"$OUT" && pass "der rates diarize output: ${OUT%%(*}" \
    || fail "der output: $OUT"

# standard output: no -o, and -o -
run diarize "$W/two.wav"
expect_code "diarize to stdout" 0
[ "$OUT" = "$(cat "$OUT_DIR/rttm/two.rttm")" ] && pass "stdout RTTM equals the file" \
    || fail "stdout RTTM differs" "$OUT"
grep -qF -- '-> standard output' <<<"$ERR" && pass "summary names standard output" || fail "summary: $ERR"
run diarize "$W/two.wav" -o - -q
expect_code "diarize -o - -q" 0
[ -n "$OUT" ] && [ -z "$ERR" ] && pass "-o - writes RTTM to stdout, -q prints nothing else" \
    || fail "-o - -q" "out: $OUT" "err: $ERR"

# --num-speakers fixes the count
run diarize "$W/two.wav" -o "$OUT_DIR/num2.rttm" --num-speakers 2
expect_code "diarize --num-speakers 2" 0
n=$(distinct_speakers "$OUT_DIR/num2.rttm")
[ "$n" -eq 2 ] && pass "--num-speakers 2 gives 2 speakers" || fail "--num-speakers 2 gave $n"

# a time window: turns stay within it, in source time
run diarize "$W/two.wav" -o "$OUT_DIR/window.rttm" --start-time 4 --end-time 12
expect_code "diarize window" 0
awk '$4 < 3.999 || $4 + $5 > 12.001 { bad = 1 } END { exit bad }' "$OUT_DIR/window.rttm" \
    && pass "window turns within 4-12 s" || fail "window turns" "$(cat "$OUT_DIR/window.rttm")"

# silence: a valid, empty RTTM and "0 speakers"
run diarize "$W/silence.wav" -o "$OUT_DIR/silence.rttm"
expect_code "diarize silence" 0
[ -f "$OUT_DIR/silence.rttm" ] && [ ! -s "$OUT_DIR/silence.rttm" ] \
    && pass "silence gives an empty RTTM" || fail "silence RTTM" "$(cat "$OUT_DIR/silence.rttm" 2>&1)"
grep -qE '^0 speakers, 0\.0 s of speech in 5\.0 s audio' <<<"$ERR" && pass "silence: 0 speakers" \
    || fail "silence summary" "$ERR"

# half a second of speech: works, 0 or 1 speaker
run diarize "$W/half.wav" -o "$OUT_DIR/half.rttm"
expect_code "diarize 0.5 s" 0
grep -qE '^[01] speakers?, ' <<<"$ERR" && pass "0.5 s: 0 or 1 speaker" || fail "0.5 s summary" "$ERR"
[ ! -s "$OUT_DIR/half.rttm" ] || every_line "0.5 s RTTM lines" "$OUT_DIR/half.rttm" "$RTTM_LINE"
run transcribe "$W/half.wav" -o "$OUT_DIR/half.md"
expect_code "transcribe 0.5 s" 0

# bad inputs: exit 1, one line naming the file, nothing written
for input in "$W/missing.wav" "$W/corrupt.wav"; do
    name=$(basename "$input" .wav)
    run diarize "$input" -o "$OUT_DIR/$name.rttm"
    expect_code "diarize $name input" 1
    expect_err "diarize $name input" "$input"
    expect_one_line_error "diarize $name input"
    expect_no_file "diarize $name input" "$OUT_DIR/$name.rttm"
done
run diarize "$W/two.wav" -o "$W/two.wav"
expect_code "diarize output = input" 2

# a failing diarizer: `cesar diarize` has nothing to keep
touch "$W/fault"
CESAR_FAULT_DIARIZE=$W/fault run diarize "$W/two.wav" -o "$OUT_DIR/fault.rttm"
expect_code "diarize with a failing diarizer" 1
expect_err "diarize with a failing diarizer" "diarization failed"
expect_one_line_error "diarize with a failing diarizer"
expect_no_file "diarize with a failing diarizer" "$OUT_DIR/fault.rttm"

# on a terminal: the bar names the phase, then the summary follows
files=(); for i in $(seq 10); do files+=("$W/two.wav"); done
sox -q "${files[@]}" "$W/long.wav"
script -qefc "'$CESAR_BIN' diarize '$W/long.wav' -o '$W/long.rttm'" "$W/tty.log" >/dev/null </dev/null
tr '\r' '\n' <"$W/tty.log" | grep -qE '^(Diarizing|Formatting) +\[[#-]+\] +[0-9]+%' \
    && pass "diarize: bar on a terminal" || fail "diarize: no bar" "$(cat -v "$W/tty.log" | head -c 400)"
grep -qE '[0-9]+ speakers?, .* -> ' "$W/tty.log" && pass "diarize: summary after the bar" \
    || fail "diarize: no summary on a terminal"
script -qefc "'$CESAR_BIN' transcribe '$W/two.wav' -o '$W/tty.txt'" "$W/tty2.log" >/dev/null </dev/null
tr '\r' '\n' <"$W/tty2.log" | grep -qE '^Transcribing +\[' \
    && tr '\r' '\n' <"$W/tty2.log" | grep -qE '^Formatting +\[[#-]+\]  90%' \
    && pass "transcribe: bar shows transcribing, then formatting" \
    || fail "transcribe: bar phases" "$(cat -v "$W/tty2.log" | tail -c 400)"

# ---- transcribe: the transcript survives a failed diarization (exit 3) -----------
CESAR_FAULT_DIARIZE=$W/fault run transcribe "$W/two.wav" -o "$OUT_DIR/partial.txt"
expect_code "transcribe, diarization fails" 3
[ -s "$OUT_DIR/partial.txt" ] && pass "exit 3: transcript written" || fail "exit 3: no transcript"
grep -q 'Speaker' "$OUT_DIR/partial.txt" && fail "exit 3: transcript has speaker labels" \
    || pass "exit 3: no speaker labels"
expect_err "exit 3 message" "cesar: speaker diarization failed: " \
    "; transcript written without speakers" "CESAR_FAULT_DIARIZE"
grep -q '^Transcribed ' <<<"$ERR" && pass "exit 3: summary still printed" || fail "exit 3 summary" "$ERR"
CESAR_FAULT_DIARIZE=$W/fault run transcribe "$W/two.wav" -o "$OUT_DIR/partial.md" -q
expect_code "exit 3 with md, quiet" 3
grep -qE '^(### Speaker|\*\*Speakers:)' "$OUT_DIR/partial.md" && fail "exit 3: md has speakers" \
    || pass "exit 3: md without speaker sections"
grep -q '^\[' "$OUT_DIR/partial.md" && pass "exit 3: md has the segments" || fail "exit 3: md empty"
[ "$(grep -c . <<<"$ERR")" -eq 1 ] && grep -q 'speaker diarization failed' <<<"$ERR" \
    && pass "exit 3 with -q: only the failure is printed" || fail "exit 3 -q stderr" "$ERR"
CESAR_FAULT_DIARIZE=$W/fault run transcribe "$W/half.wav" -o "$OUT_DIR/nofault.txt" --no-diarize -q
expect_code "--no-diarize never fails diarization" 0
CESAR_FAULT_DIARIZE=$W/no-such-fault run transcribe "$W/half.wav" -o "$OUT_DIR/nofault2.txt" -q
expect_code "fault file absent: normal run" 0

# ---- --no-diarize: no speakers anywhere --------------------------------------------
run transcribe "$W/two.wav" -o "$OUT_DIR/plain.json" --no-diarize
expect_code "--no-diarize" 0
if python3 - "$OUT_DIR/plain.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["segments"], "no segments"
for s in doc["segments"]:
    assert s["speaker"] is None, s
    assert all(w["speaker"] is None for w in s["words"]), s
PY
then pass "--no-diarize: json speakers all null"; else fail "--no-diarize json"; fi
grep -q 'speaker' <<<"$ERR" && fail "--no-diarize summary mentions speakers" "$ERR" \
    || pass "--no-diarize summary without speakers"

# ---- every format with diarization carries the speaker markers ----------------------
for ext in txt md srt vtt json; do
    run transcribe "$W/two.wav" -o "$OUT_DIR/spk.$ext" -q
    expect_code "diarized $ext" 0
done
every_line "txt Speaker prefix" "$OUT_DIR/spk.txt" '^Speaker [0-9]+: '
grep -vE '^[0-9]+$|^[0-9:,]+ --> [0-9:,]+$|^$' "$OUT_DIR/spk.srt" >"$W/srt.text"
every_line "srt [Speaker N] prefix" "$W/srt.text" '^\[Speaker [0-9]+\] '
grep -vE '^WEBVTT$|^[0-9:.]+ --> [0-9:.]+$|^$' "$OUT_DIR/spk.vtt" >"$W/vtt.text"
every_line "vtt voice span" "$W/vtt.text" '^<v Speaker [0-9]+>'
grep -q '^### Speaker 1$' "$OUT_DIR/spk.md" && pass "md: Speaker 1 heading" || fail "md heading"
# The replaced tool's header, exactly: title, blank, three facts, blank, rule.
head -7 "$OUT_DIR/spk.md" | sed -e 's/[0-9]\{1,\}/N/g' >"$W/md.head"
printf '%s\n' '# Transcript' '' '**Speakers:** N detected' '**Duration:** N:N' \
    '**Created:** N-N-N N:N:N UTC' '' '---' >"$W/md.want"
cmp -s "$W/md.head" "$W/md.want" && pass "md header: Transcript, Speakers, Duration, Created, rule" \
    || fail "md header" "$(head -9 "$OUT_DIR/spk.md")"
if python3 - "$OUT_DIR/spk.md" "$OUT_DIR/spk.json" "$OUT_DIR/spk.txt" <<'PY'
import json, re, sys
md = open(sys.argv[1]).read().split("\n")
doc = json.load(open(sys.argv[2]))
txt = [l for l in open(sys.argv[3]).read().split("\n") if l]
segs = doc["segments"]
assert segs, "no segments"
for s in segs:
    assert re.fullmatch(r"Speaker \d+", s["speaker"] or ""), s
    assert s["words"], s
    for w in s["words"]:
        assert w["speaker"] == s["speaker"], (w, s["speaker"])
# md: the rule, then headings only where the speaker changes, every segment shown
body = md[md.index("---") + 1:]
heads = [l for l in body if l.startswith("### ")]
runs = [s["speaker"] for i, s in enumerate(segs) if i == 0 or s["speaker"] != segs[i - 1]["speaker"]]
assert heads == ["### " + r for r in runs], (heads, runs)
stamps = [l for l in body if re.fullmatch(r"\[\d\d:\d\d\.\d - \d\d:\d\d\.\d\]", l)]
assert len(stamps) == len(segs), (len(stamps), len(segs))
n = len({s["speaker"] for s in segs})
assert "**Speakers:** %d detected" % n in md, n
# txt: one line per segment, same speakers in the same order
assert [l.split(":")[0] for l in txt] == [s["speaker"] for s in segs]
PY
then pass "json speaker on every segment and word; md headings and txt agree"
else fail "speaker consistency across formats"; fi

# the summary: speakers detected and the time of each stage
run transcribe "$W/two.wav" -o "$OUT_DIR/summary.txt"
expect_code "diarized summary run" 0
grep -qE '^Transcribed 00:[0-9]{2} of audio in [0-9.]+ s \([0-9.]+x real time\), [0-9]+ speakers? detected -> ' <<<"$ERR" \
    && pass "summary counts speakers" || fail "summary speakers" "$ERR"
grep -qE '^  stages:   transcribe [0-9]+\.[0-9]{2} s, diarize [0-9]+\.[0-9]{2} s, align [0-9]+\.[0-9]{2} s$' <<<"$ERR" \
    && pass "summary stage times" || fail "summary stages" "$ERR"

finish
