#!/usr/bin/env bash
# --start-time, --end-time and --max-duration: every output timestamp falls
# inside the requested window, in every format, and times stay those of the
# source file (a transcript from 10 s starts at 10 s, not 0).
. "$(dirname "$0")/lib.sh"

W=$WORK
librivox_concat "$W/talk.wav"   # 24.7 s

# check_json NAME FILE LO HI: all segment and word times within [LO, HI]
check_json() {
    python3 - "$2" "$3" "$4" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
lo, hi = float(sys.argv[2]), float(sys.argv[3])
times = []
for s in doc["segments"]:
    times += [s["start"], s["end"]]
    for w in s["words"]:
        times += [w["start"], w["end"]]
assert doc["segments"], "no segments"
bad = [t for t in times if not (lo - 0.001 <= t <= hi + 0.001)]
assert not bad, f"times outside [{lo}, {hi}]: {bad[:5]}"
assert abs(doc["duration"] - (hi - lo)) < 0.2, f"duration {doc['duration']} for window {lo}-{hi}"
print(f"{len(times)} times in [{min(times):.2f}, {max(times):.2f}]")
PY
}

window() { # NAME LO HI ARGS...
    local name=$1 lo=$2 hi=$3; shift 3
    run transcribe "$W/talk.wav" -o "$W/$name.json" -q "$@"
    expect_code "$name" 0
    if msg=$(check_json "$name" "$W/$name.json" "$lo" "$hi" 2>&1); then
        pass "$name: $msg"
    else
        fail "$name: timestamps outside the window" "$msg"
    fi
}

window start-end 5 15 --start-time 5 --end-time 15
window start-only 12 24.7 --start-time 12
window end-only 0 9 --end-time 9
window clock-syntax 3.5 13.5 --start-time 0:03.5 --end-time 00:00:13.5
# start + max-duration: end = start + max (the tool we replace ignored start)
window start-plus-max 10 16 --start-time 10 --max-duration 0.1

# the first words of the 10 s window are not those of the file's start
run transcribe "$W/talk.wav" -q --end-time 6
head_words=$OUT
run transcribe "$W/talk.wav" -q --start-time 10 --end-time 16
[ -n "$OUT" ] && [ "$OUT" != "$head_words" ] && pass "window transcribes other speech" \
    || fail "window transcript equals the start's" "$OUT"

# subtitles and markdown honour the window too
run transcribe "$W/talk.wav" -o "$W/w.srt" -q --start-time 10 --end-time 16
first=$(grep -m1 -- '-->' "$W/w.srt" | cut -c1-8)
last=$(grep -- '-->' "$W/w.srt" | tail -1 | sed -E 's/.*--> //' | cut -c1-8)
[[ "$first" > "00:00:09" && ! "$last" > "00:00:16" ]] && pass "srt cues within 10-16 s ($first .. $last)" \
    || fail "srt cues outside the window ($first .. $last)"
run transcribe "$W/talk.wav" -o "$W/w.md" -q --start-time 10 --end-time 16
grep -qE '^\[00:1[0-6]\.[0-9] - 00:1[0-6]\.[0-9]\]$' "$W/w.md" && ! grep -qE '^\[00:0' "$W/w.md" \
    && pass "md timestamps within 10-16 s" || fail "md timestamps" "$(cat "$W/w.md")"

finish
