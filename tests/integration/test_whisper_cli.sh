#!/usr/bin/env bash
# The Whisper engine through `cesar transcribe`: a model chosen by path, by
# name from the models directory (CESAR_MODELS_DIR or the config file), how
# engine "auto" falls back to PocketSphinx (one note line on stderr, none
# with -q) or picks Whisper when its model is installed, the errors for bad
# Whisper settings and models, and every output format from a Whisper run.
# The model has random weights (tests/whisper/make_model.py, generated here),
# so the words are nonsense; what is checked holds whatever they are.
. "$(dirname "$0")/lib.sh"

# lib.sh pins the engine for the other tests; this one is about choosing it.
unset CESAR_ENGINE CESAR_MODEL CESAR_MODELS_DIR CESAR_DATA_DIR
# Nothing from the user's own data dir or config may leak into "auto".
export HOME=$WORK/home XDG_DATA_HOME=$WORK/home/data XDG_CONFIG_HOME=$WORK/home/config
# Random weights never pass the temperature fallback's checks, so every window
# would be decoded six times; the fallback itself is covered by the unit tests
# and by one run below with it on.
export CESAR_TEMPERATURE_FALLBACK=false
mkdir -p "$HOME"

W=$WORK
NAME=test-model
mkdir -p "$W/models" "$W/empty" "$W/base-only"
MODEL=$W/models/ggml-$NAME.bin
if ! /usr/bin/python3 "$CESAR_SOURCE_DIR/tests/whisper/make_model.py" \
    --header "$CESAR_SOURCE_DIR/../shared/models/whisper/for-tests-ggml-tiny.en.bin" \
    --out "$MODEL" --dims test --ftype f16 --seed 1; then
    fail "generating the test model"; finish; exit
fi
# The same model under the default name, for "auto" without --model.
ln -s "$MODEL" "$W/base-only/ggml-base.bin"
CLIP=$(librivox_clip 0870) # 7.1 s
FAST=(--beam-size 1 --no-diarize)

# json_field FILE EXPR: prints a Python expression over the document `d`.
json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# expect_json NAME FILE ENGINE: the engine that ran and a usable transcript.
expect_json() {
    local engine
    engine=$(json_field "$2" 'd["engine"]' 2>&1)
    [ "$engine" = "$3" ] && pass "$1: engine $3" || fail "$1: engine '$engine', expected $3"
}

# ---- by path ----------------------------------------------------------------
run transcribe "$CLIP" --engine whisper --model "$MODEL" "${FAST[@]}" -o "$W/path.json"
expect_code by-path 0
expect_json by-path "$W/path.json" whisper
model=$(json_field "$W/path.json" 'd["model"]')
[ "$model" = "$MODEL" ] && pass "by-path: json names the model file" || fail "by-path: model '$model'"
if /usr/bin/python3 - "$W/path.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
segs = d["segments"]
assert d["language"] == "en", d["language"]
assert 7.0 < d["duration"] < 7.2, d["duration"]
assert segs, "no segments"
prev = 0.0
for s in segs:
    assert prev <= s["start"] <= s["end"] <= d["duration"] + 0.011, s
    prev = s["start"]
    for w in s["words"]:
        assert s["start"] - 0.011 <= w["start"] <= w["end"] <= s["end"] + 0.011, (s, w)
PY
then pass "by-path: segments in order, inside the audio, words inside segments"
else fail "by-path: json content"; fi

# ---- temperature fallback on (the default outside this test) ---------------------
# The nonsense a random model writes fails the fallback's checks, so this run
# decodes each window at 0 and again at 0.2 ... 1.0, and still ends well.
run transcribe "$CLIP" --engine whisper --model "$MODEL" --beam-size 1 --no-diarize \
    --temperature-fallback -o "$W/fallback.json"
expect_code fallback 0
expect_json fallback "$W/fallback.json" whisper

# ---- by name: CESAR_MODELS_DIR, then the config file -------------------------
CESAR_MODELS_DIR=$W/models run transcribe "$CLIP" --engine whisper --model "$NAME" "${FAST[@]}" \
    -o "$W/name.json"
expect_code by-name-env 0
expect_json by-name-env "$W/name.json" whisper
same=$(/usr/bin/python3 -c "import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); print(a['segments']==b['segments'])" "$W/path.json" "$W/name.json")
[ "$same" = True ] && pass "by-name-env: same transcript as by path" || fail "by-name-env: transcript differs from by path"

printf 'models_dir = "%s"\nengine = "whisper"\nbeam_size = 1\n' "$W/models" >"$W/cesar.toml"
run transcribe "$CLIP" --config "$W/cesar.toml" --model "$NAME" --no-diarize -o "$W/config.json"
expect_code by-name-config 0
expect_json by-name-config "$W/config.json" whisper

run transcribe "$CLIP" --engine whisper --model not-here --config "$W/cesar.toml" -o "$W/nothere.txt"
expect_code missing-name 1
expect_err missing-name "'not-here'" "cesar models pull not-here"
expect_no_file missing-name "$W/nothere.txt"

# ---- engine auto --------------------------------------------------------------
# No Whisper model installed: PocketSphinx, and one line saying why.
CESAR_MODELS_DIR=$W/empty run transcribe "$CLIP" --engine auto --no-diarize -o "$W/auto-ps.json"
expect_code auto-fallback 0
expect_json auto-fallback "$W/auto-ps.json" pocketsphinx
notes=$(grep -c '^cesar: ' <<<"$ERR")
[ "$notes" -eq 1 ] && pass "auto-fallback: one 'cesar:' line" || fail "auto-fallback: $notes 'cesar:' lines" "stderr: $ERR"
expect_err auto-fallback "cesar: Whisper model 'base'" "cesar models pull base" "PocketSphinx"
# ... also when engine auto is the default, and naming the model asked for
CESAR_MODELS_DIR=$W/empty CESAR_MODEL=small run transcribe "$CLIP" --no-diarize -o "$W/auto-ps2.txt"
expect_code auto-default-fallback 0
expect_err auto-default-fallback "'small'" "cesar models pull small"
# -q: no note at all
CESAR_MODELS_DIR=$W/empty run transcribe "$CLIP" -q --no-diarize -o "$W/auto-q.txt"
expect_code auto-quiet 0
[ -z "$ERR" ] && pass "auto-quiet: nothing on stderr" || fail "auto-quiet: stderr not empty" "stderr: $ERR"

# The model installed: Whisper, without a note.
CESAR_MODELS_DIR=$W/models CESAR_MODEL=$NAME run transcribe "$CLIP" "${FAST[@]}" -o "$W/auto-wh.json"
expect_code auto-named 0
expect_json auto-named "$W/auto-wh.json" whisper
grep -q '^cesar: ' <<<"$ERR" && fail "auto-named: a note was printed" "stderr: $ERR" || pass "auto-named: no note"
CESAR_MODELS_DIR=$W/base-only run transcribe "$CLIP" --engine auto "${FAST[@]}" -o "$W/auto-base.json"
expect_code auto-base 0
expect_json auto-base "$W/auto-base.json" whisper
grep -q '^cesar: ' <<<"$ERR" && fail "auto-base: a note was printed" "stderr: $ERR" || pass "auto-base: no note"

# ---- the other Whisper settings are accepted and reach the engine ------------------
run transcribe "$CLIP" --engine whisper --model "$MODEL" "${FAST[@]}" -v \
    --initial-prompt "Elinor and Marianne." --no-condition-on-previous-text --task transcribe \
    -o "$W/prompt.json"
expect_code prompt-flags 0
expect_json prompt-flags "$W/prompt.json" whisper
expect_err prompt-flags "engine:   whisper, model $MODEL"
CESAR_TASK=transcribe CESAR_CONDITION_ON_PREVIOUS_TEXT=true CESAR_INITIAL_PROMPT="Elinor." \
    run transcribe "$CLIP" --engine whisper --model "$MODEL" "${FAST[@]}" -q -o "$W/prompt-env.json"
expect_code prompt-env 0
CESAR_TASK=summarise run transcribe "$CLIP" --engine whisper --model "$MODEL" -o "$W/bad.txt"
expect_code task-env 2
expect_err task-env "CESAR_TASK" "'summarise'"

# ---- bad settings -------------------------------------------------------------
run transcribe "$CLIP" --engine whisper --model "$MODEL" --beam-size 0 -o "$W/bad.txt"
expect_code beam-size-0 2
expect_err beam-size-0 "beam_size" "'0'"
run transcribe "$CLIP" --engine whisper --model "$MODEL" --beam-size 17 -o "$W/bad.txt"
expect_code beam-size-17 2
expect_err beam-size-17 "beam_size" "'17'"
run transcribe "$CLIP" --engine whisper --model "$MODEL" --task foo -o "$W/bad.txt"
expect_code task-foo 2
expect_err task-foo "task" "'foo'" "transcribe or translate"
run transcribe "$CLIP" --engine whisper --model "$MODEL" --language de -o "$W/bad.txt"
expect_code english-only-de 2
expect_err english-only-de "English-only" "'de'"
run transcribe "$CLIP" --engine whisper --model "$MODEL" --task translate -o "$W/bad.txt"
expect_code english-only-translate 2
expect_err english-only-translate "translate" "English-only"
expect_no_file bad-settings "$W/bad.txt"

head -c 4096 /dev/urandom >"$W/corrupt.bin"
printf 'not a model' | dd of="$W/corrupt.bin" conv=notrunc status=none
run transcribe "$CLIP" --engine whisper --model "$W/corrupt.bin" -o "$W/corrupt.txt"
expect_code corrupt 1
expect_err corrupt "$W/corrupt.bin"
expect_one_line_error corrupt
expect_no_file corrupt "$W/corrupt.txt"

# ---- every format from one model --------------------------------------------------
for ext in txt srt vtt md; do
    CESAR_MODELS_DIR=$W/models run transcribe "$CLIP" --engine whisper --model "$NAME" "${FAST[@]}" \
        -q -o "$W/f.$ext"
    expect_code "format-$ext" 0
done
first=$(json_field "$W/name.json" 'd["segments"][0]["text"]')
grep -qF -- "$first" "$W/f.txt" && pass "txt holds the json's first segment" || fail "txt lacks '$first'"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} --> ' "$W/f.srt" && grep -qF -- "$first" "$W/f.srt" \
    && pass "srt cues" || fail "srt cues" "$(head -5 "$W/f.srt")"
head -1 "$W/f.vtt" | grep -qx WEBVTT && grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} --> ' "$W/f.vtt" \
    && pass "vtt cues" || fail "vtt cues" "$(head -5 "$W/f.vtt")"
head -1 "$W/f.md" | grep -qx '# Transcript' && grep -qF -- "$first" "$W/f.md" \
    && pass "md transcript" || fail "md transcript" "$(head -8 "$W/f.md")"

finish
