#!/usr/bin/env bash
# `cesar transcribe` and `cesar diarize` with --diarization-engine pyannote,
# against tests/models/hub.py serving random-weight checkpoints of the real
# pyannote models (tests/pyannote/make_models.py) as gated repositories.
# Covers: no token -> the transcript is written, exit 3, the message says how
# to get a token and where to put it, and nothing is requested from the hub;
# a rejected token (401) -> exit 3 with its own message; a good token ->
# the models are fetched once, the run exits 0 and later runs need neither
# token nor hub; `cesar diarize` with the engine from the config file; an
# unknown engine name is a usage error listing the engines; no token is ever
# printed.
. "$(dirname "$0")/lib.sh"

W=$WORK
PY=/usr/bin/python3
export HOME=$W/home XDG_CONFIG_HOME=$W/xdg XDG_DATA_HOME=$W/data HF_HOME=$W/hf
mkdir -p "$HOME" "$XDG_CONFIG_HOME/cesar" "$HF_HOME"
unset CESAR_MODELS_DIR CESAR_DATA_DIR CESAR_HF_TOKEN HF_TOKEN CESAR_HUB_URL \
    CESAR_HUB_ALLOW_INSECURE CESAR_DIARIZATION_ENGINE
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

RIGHT=hf_RightTokenForCliTests0123456
WRONG=hf_WrongTokenForCliTests6543210
SEG=pyannote/segmentation-3.0
EMB=pyannote/wespeaker-voxceleb-resnet34-LM
MODELS=$W/data/cesar/models
CONFIG=$XDG_CONFIG_HOME/cesar/config.toml
HUB_PID=
trap '[ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

$PY "$CESAR_SOURCE_DIR/tests/pyannote/make_models.py" --hub-dir "$W/root" >/dev/null \
    && pass "random-weight models generated" || fail "make_models.py failed"
$PY "$CESAR_SOURCE_DIR/tests/models/hub.py" --root "$W/root" --ready "$W/port" --log "$W/hub.log" \
    --repo-dirs --lfs --gated "$SEG=$RIGHT" --gated "$EMB=$RIGHT" >"$W/hub.out" 2>&1 &
HUB_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
: >>"$W/hub.log"
printf 'hub_url = "http://127.0.0.1:%s"\nhub_allow_insecure = true\n' "$(cat "$W/port")" >"$CONFIG"
requests() { grep -c '"method"' "$W/hub.log"; }
no_token() {
    grep -qF -e "$RIGHT" -e "$WRONG" <<<"$OUT$ERR" && fail "$1: a token is printed" \
        || pass "$1: no token printed"
}

librivox_concat "$W/talk.wav"   # about 25 s

# ---- no token: transcript kept, exit 3 ----------------------------------------------
run transcribe "$W/talk.wav" -o "$W/t1.md" --diarization-engine pyannote
expect_code no-token 3
[ "$(wc -w <"$W/t1.md" 2>/dev/null || echo 0)" -gt 20 ] \
    && pass "no token: the transcript is written" || fail "no token: transcript" "$(cat "$W/t1.md" 2>&1)"
expect_err no-token "https://huggingface.co/settings/tokens" "https://huggingface.co/$SEG" \
    "HF_TOKEN" "hf_token"
[ "$(requests)" = 0 ] && pass "no token: no request to the hub" || fail "no token: $(requests) requests"

# ---- a rejected token: exit 3, said so ------------------------------------------------------
HF_TOKEN=$WRONG run transcribe "$W/talk.wav" -o "$W/t2.txt" --diarization-engine pyannote
expect_code wrong-token 3
expect_err wrong-token "rejected" "HF_TOKEN"
[ -s "$W/t2.txt" ] && pass "wrong token: the transcript is written" || fail "wrong token: no transcript"
no_token wrong-token

# ---- an unknown engine: usage error ------------------------------------------------------
run transcribe "$W/talk.wav" -o "$W/t3.txt" --diarization-engine nemo
expect_code unknown-engine 2
expect_err unknown-engine "nemo" "builtin" "pyannote"
expect_no_file unknown-engine "$W/t3.txt"

# ---- the right token (in $HF_HOME/token): fetched once, labelled ----------------------------
printf '%s\n' "$RIGHT" >"$HF_HOME/token"
run transcribe "$W/talk.wav" -o "$W/t4.json" --diarization-engine pyannote
expect_code good-token 0
no_token good-token
[ -s "$MODELS/$SEG/pytorch_model.bin" ] && [ -s "$MODELS/$EMB/pytorch_model.bin" ] \
    && pass "good token: both models installed" || fail "good token: models missing" "$(ls -R "$MODELS" 2>&1)"
$PY - "$W/t4.json" <<'PYEOF' && pass "good token: a JSON transcript with words" || fail "good token: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["segments"] and any(s.get("words") for s in d["segments"])
PYEOF

# ---- installed: no token, no hub -------------------------------------------------------------
rm -f "$HF_HOME/token"
n=$(requests)
printf 'diarization_engine = "pyannote"\n' >>"$CONFIG"
run diarize "$W/talk.wav" -o "$W/d.rttm"
expect_code installed 0
[ -f "$W/d.rttm" ] && ! grep -qv '^SPEAKER talk 1 ' "$W/d.rttm" \
    && pass "diarize: an RTTM file of SPEAKER lines" || fail "diarize: RTTM" "$(cat "$W/d.rttm" 2>&1)"
[ "$(requests)" = "$n" ] && pass "installed: no request to the hub" || fail "installed: hub contacted"

finish
