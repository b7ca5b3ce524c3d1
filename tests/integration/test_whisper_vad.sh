#!/usr/bin/env bash
# `cesar transcribe --vad-filter`: the Whisper engine behind the Silero
# silence gate. A file of speech, a minute of silence and speech again must
# transcribe with every time inside the file (the gate's map puts them back
# on the original timeline), -v must say how much audio was kept, and a
# missing VAD model — by flag, by CESAR_VAD_MODEL or by config key — is an
# error naming the file, never a silent run without the filter.
# The Whisper model has random weights (tests/whisper/make_model.py), so the
# words are nonsense; what is checked holds whatever they are.
. "$(dirname "$0")/lib.sh"

unset CESAR_ENGINE CESAR_MODEL CESAR_MODELS_DIR CESAR_DATA_DIR CESAR_VAD_MODEL CESAR_VAD_FILTER
export HOME=$WORK/home XDG_DATA_HOME=$WORK/home/data XDG_CONFIG_HOME=$WORK/home/config
# Random weights never pass the temperature fallback's checks, so every window
# would be decoded six times; the fallback itself is covered by the unit tests
# and by one run below with it on.
export CESAR_TEMPERATURE_FALLBACK=false
mkdir -p "$HOME"

W=$WORK
MODEL=$W/ggml-test.bin
VAD=$CESAR_SOURCE_DIR/../shared/models/vad/silero-v6.2.0-ggml.bin
if ! /usr/bin/python3 "$CESAR_SOURCE_DIR/tests/whisper/make_model.py" \
    --header "$CESAR_SOURCE_DIR/../shared/models/whisper/for-tests-ggml-tiny.en.bin" \
    --out "$MODEL" --dims test --ftype f16 --seed 1; then
    fail "generating the test model"; finish; exit
fi
# speech (2.99 s) + 60 s of silence + speech (3.29 s)
AUDIO=$W/gap.wav
if ! sox -q -n -r 16000 -c 1 -b 16 "$W/silence.wav" trim 0 60 ||
   ! sox -q "$(librivox_clip 0880)" "$W/silence.wav" "$(librivox_clip 0930)" "$AUDIO"; then
    fail "making the test audio"; finish; exit
fi
DURATION=$(soxi -D "$AUDIO")
FAST=(--engine whisper --model "$MODEL" --beam-size 1 --no-diarize)

# ---- the filter on ----------------------------------------------------------
run transcribe "$AUDIO" "${FAST[@]}" --vad-model "$VAD" --vad-filter -v -o "$W/vad.json"
expect_code vad-filter 0
if /usr/bin/python3 - "$W/vad.json" "$DURATION" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
total = float(sys.argv[2])
assert abs(d["duration"] - total) < 0.05, (d["duration"], total)
segs = d["segments"]
assert segs, "no segments"
for s in segs:
    assert 0 <= s["start"] <= s["end"] <= total + 0.011, s
    for w in s["words"]:
        assert 0 <= w["start"] <= w["end"] <= total + 0.011, w
PY
then pass "vad-filter: every segment and word time inside the file"
else fail "vad-filter: json content" "$(cat "$W/vad.json" 2>/dev/null | head -c 2000)"; fi

kept=$(grep -oE 'VAD filter: kept [0-9.]+ s of [0-9.]+ s' <<<"$ERR")
if [ -n "$kept" ]; then
    pass "vad-filter: -v logs '$kept'"
    k=$(awk '{print $4}' <<<"$kept"); of=$(awk '{print $7}' <<<"$kept")
    if awk -v k="$k" -v of="$of" -v t="$DURATION" \
        'BEGIN { exit !(k >= 6 && k < 15 && of > t - 0.1 && of < t + 0.1) }'; then
        pass "vad-filter: kept $k s of $of s (speech about 6.3 s)"
    else
        fail "vad-filter: kept $k s of $of s, expected 6-15 s of $DURATION s"
    fi
else
    fail "vad-filter: no 'VAD filter: kept' line with -v" "stderr: $ERR"
fi

# The default model (the build's) and the config key work too.
printf 'vad_filter = true\n' >"$W/on.toml"
run transcribe "$AUDIO" "${FAST[@]}" --config "$W/on.toml" -v -o "$W/config.json"
expect_code vad-filter-config 0
expect_err vad-filter-config "VAD filter: kept"

# --no-vad-filter overrides the key; without the filter nothing is logged.
run transcribe "$AUDIO" "${FAST[@]}" --config "$W/on.toml" --no-vad-filter -v -o "$W/off.json"
expect_code no-vad-filter 0
if grep -qF "VAD filter" <<<"$ERR"; then fail "no-vad-filter: the filter ran" "stderr: $ERR"
else pass "no-vad-filter: the filter did not run"; fi

# ---- a missing model is an error naming it ----------------------------------
run transcribe "$AUDIO" "${FAST[@]}" --vad-filter --vad-model "$W/no-such-vad.bin" \
    -o "$W/bad.json"
expect_code bad-vad-model 1
expect_err bad-vad-model "$W/no-such-vad.bin"
expect_no_file bad-vad-model "$W/bad.json"

CESAR_VAD_MODEL=/nonexistent run transcribe "$AUDIO" "${FAST[@]}" --vad-filter -o "$W/env.json"
expect_code bad-vad-model-env 1
expect_err bad-vad-model-env "/nonexistent"
expect_no_file bad-vad-model-env "$W/env.json"

CESAR_VAD_FILTER=true CESAR_VAD_MODEL=/nonexistent run transcribe "$AUDIO" "${FAST[@]}" \
    -o "$W/env2.json"
expect_code bad-vad-model-env-filter 1
expect_err bad-vad-model-env-filter "/nonexistent"

# Without the filter the VAD model is not needed for Whisper.
CESAR_VAD_MODEL=/nonexistent run transcribe "$AUDIO" "${FAST[@]}" -o "$W/nofilter.json"
expect_code no-filter-ignores-vad-model 0

finish
