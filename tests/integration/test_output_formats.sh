#!/usr/bin/env bash
# Output through the CLI: the format follows --format or the -o extension,
# each format is well-formed, and all formats carry the same words. Runs use
# --no-diarize: speaker markers are test_diarize_cli.sh's subject.
. "$(dirname "$0")/lib.sh"

W=$WORK
librivox_concat "$W/talk.wav"
for ext in txt md srt vtt json; do
    run transcribe "$W/talk.wav" -o "$W/t.$ext" -q --no-diarize
    expect_code "$ext" 0
done
run transcribe "$W/talk.wav" -o "$W/t.markdown" -q --no-diarize
expect_code markdown-extension 0

# txt: one segment per line, several segments for 25 s of speech
lines=$(grep -c . "$W/t.txt")
[ "$lines" -ge 3 ] && pass "txt has $lines segments" || fail "txt has $lines lines"

# md: the transcript layout
head -1 "$W/t.md" | grep -qx '# Transcript' && pass "md title" || fail "md title"
grep -qE '^\*\*Duration:\*\* 00:25$' "$W/t.md" && pass "md duration" || fail "md duration" "$(head -8 "$W/t.md")"
grep -qE '^\*\*Created:\*\* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC$' "$W/t.md" && pass "md created" || fail "md created"
grep -qx -- '---' "$W/t.md" && pass "md rule" || fail "md rule"
stamps=$(grep -cE '^\[[0-9]{2}:[0-5][0-9]\.[0-9] - [0-9]{2}:[0-5][0-9]\.[0-9]\]$' "$W/t.md")
[ "$stamps" -eq "$lines" ] && pass "md has a timestamp line per segment ($stamps)" \
    || fail "md timestamps $stamps vs $lines segments"
cmp -s "$W/t.md" "$W/t.markdown" || diff <(grep -v Created "$W/t.md") <(grep -v Created "$W/t.markdown") >/dev/null \
    && pass ".markdown is md" || fail ".markdown differs from .md"

# srt / vtt structure
grep -qE '^1$' "$W/t.srt" && grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} --> [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}$' "$W/t.srt" \
    && pass "srt cues" || fail "srt cues"
head -1 "$W/t.vtt" | grep -qx WEBVTT && grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} --> ' "$W/t.vtt" \
    && pass "vtt cues" || fail "vtt cues"

# json: valid, with the documented fields, same words as txt
if python3 - "$W/t.json" "$W/t.txt" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for key in ("text", "language", "duration", "engine", "model", "processing_time", "segments"):
    assert key in doc, key
assert doc["engine"] == "pocketsphinx" and doc["language"] == "en", doc["engine"]
assert abs(doc["duration"] - 24.73) < 0.1, doc["duration"]
txt = open(sys.argv[2]).read().split()
assert " ".join(s["text"] for s in doc["segments"]).split() == txt
for s in doc["segments"]:
    assert s["words"], "segment without words"
    assert " ".join(w["text"] for w in s["words"]) == s["text"]
    assert all(s["start"] <= w["start"] <= w["end"] <= s["end"] + 1e-6 for w in s["words"])
PY
then pass "json valid, complete, consistent with txt"; else fail "json check"; fi

# --format overrides the extension; unknown extension falls back to config (txt)
run transcribe "$W/talk.wav" -o "$W/forced.txt" --format json -q --no-diarize
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/forced.txt" 2>/dev/null \
    && pass "--format json wins over .txt" || fail "--format ignored"
run transcribe "$W/talk.wav" -o "$W/plain.transcript" -q --no-diarize
cmp -s "$W/plain.transcript" "$W/t.txt" && pass "unknown extension -> txt default" || fail "unknown extension"
XDG_CONFIG_HOME=$W/cfg; mkdir -p "$W/cfg/cesar"; echo 'format = "vtt"' >"$W/cfg/cesar/config.toml"
XDG_CONFIG_HOME=$W/cfg run transcribe "$W/talk.wav" -o "$W/cfgfmt.out" -q --no-diarize
head -1 "$W/cfgfmt.out" | grep -qx WEBVTT && pass "config format default used" || fail "config format"

finish
