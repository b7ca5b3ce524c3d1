#!/usr/bin/env bash
# `cesar models pull | list | path | rm pyannote` against tests/models/hub.py,
# a stand-in for the Hugging Face hub on loopback, with the two pyannote
# repositories gated (random bytes made now stand for the checkpoints).
# Covers: the token from each of its three places (config file hf_token,
# HF_TOKEN, $HF_HOME/token and its ~/.cache/huggingface default); no token
# (help, no request); a wrong token (401) and a token without access (403),
# each with its own message; the token never reaching the CDN host nor any
# output; a dropped connection resumed with Range (in the same pull, and
# across pulls); a corrupt file rejected by its SHA-256; an installed set
# pulled again without a request; an http hub refused before connecting
# without hub_allow_insecure (and for a non-loopback host even with it);
# `config show` never printing the token; Ctrl-C keeping the partial file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

W=$WORK
export HOME=$W/home XDG_CONFIG_HOME=$W/xdg XDG_DATA_HOME=$W/data
mkdir -p "$HOME" "$XDG_CONFIG_HOME/cesar"
unset CESAR_MODELS_DIR CESAR_DATA_DIR CESAR_HF_TOKEN HF_TOKEN HF_HOME CESAR_HUB_URL \
    CESAR_HUB_ALLOW_INSECURE CESAR_MODELS_URL
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

RIGHT=hf_RightTokenForTests0123456789
NOACCESS=hf_ValidButNoAccess9876543210
WRONG=hf_WrongTokenNobodyKnows000000
SEG=pyannote/segmentation-3.0
EMB=pyannote/wespeaker-voxceleb-resnet34-LM
MODELS=$W/data/cesar/models
SEG_FILE=$MODELS/$SEG/pytorch_model.bin
EMB_FILE=$MODELS/$EMB/pytorch_model.bin
CONFIG=$XDG_CONFIG_HOME/cesar/config.toml

# start_hub DIR [hub options]: hub_start serving $W/root per repository
# with both pyannote repositories gated; HUB_URL is set to its base URL.
start_hub() {
    local d=$1; shift
    hub_start "$d" --repo-dirs --lfs --gated "$SEG=$RIGHT" --gated "$EMB=$RIGHT" \
        --valid-token "$NOACCESS" "$@"
    HUB_URL="http://127.0.0.1:$HUB_PORT"
}

# config URL [more TOML lines]: the config file, with hub_url = URL and
# hub_allow_insecure = true unless a later line says otherwise.
config() {
    local url=$1; shift
    { echo "hub_url = \"$url\""
      [[ "$*" == *hub_allow_insecure* ]] || echo "hub_allow_insecure = true"
      for l in "$@"; do echo "$l"; done; } >"$CONFIG"
}

# log_rows DIR PATTERN FIELD: FIELD of every logged GET whose path has PATTERN.
log_rows() {
    $PY - "$1/log" "$2" "$3" <<'PYEOF'
import json, sys
path, pattern, field = sys.argv[1:4]
rows = [json.loads(l) for l in open(path) if l.strip()]
print(" ".join(str(r[field]) for r in rows if r["method"] == "GET" and pattern in r["path"]))
PYEOF
}
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# no_token NAME: neither output of the last run holds any of the tokens.
no_token() {
    if grep -qF -e "$RIGHT" -e "$NOACCESS" -e "$WRONG" <<<"$OUT$ERR"; then
        fail "$1: a token appears in the output" "stdout: $OUT" "stderr: $ERR"
    else
        pass "$1: no token in the output"
    fi
}

installed_ok() {
    cmp -s "$SEG_FILE" "$W/root/$SEG/pytorch_model.bin" && cmp -s "$EMB_FILE" "$W/root/$EMB/pytorch_model.bin" \
        && pass "$1: both files installed with the hub's bytes" || fail "$1: installed files differ" "$(ls -RA "$MODELS" 2>&1)"
}

remove_set() { "$CESAR_BIN" models rm pyannote >/dev/null 2>&1; }

mkdir -p "$W/root/$SEG" "$W/root/$EMB"
head -c 200000 /dev/urandom >"$W/root/$SEG/pytorch_model.bin"
head -c 500000 /dev/urandom >"$W/root/$EMB/pytorch_model.bin"

start_hub "$W/hub" --redirect --cdn-host localhost; URL=$HUB_URL
config "$URL"

# ---- no token anywhere: the help, and no request ------------------------------------
run models pull pyannote
expect_code no-token 1
expect_err no-token "https://huggingface.co/settings/tokens" "https://huggingface.co/$SEG" \
    "https://huggingface.co/$EMB" "hf_token" "HF_TOKEN" "~/.cache/huggingface/token"
[ "$(log_count "$W/hub")" = 0 ] && pass "no token: no request made" || fail "no token: requests made"

# ---- a wrong token: 401, said so ---------------------------------------------------------
HF_TOKEN=$WRONG run models pull pyannote
expect_code wrong-token 1
expect_err wrong-token "401" "Invalid credentials in Authorization header" "rejected" "from HF_TOKEN"
no_token wrong-token
[ ! -e "$SEG_FILE" ] && ! ls -A "$MODELS/$SEG" 2>/dev/null | grep -q . \
    && pass "wrong token: nothing left behind" || fail "wrong token: $(ls -A "$MODELS/$SEG")"

# ---- a valid token without access: 403, accept the conditions -------------------------
config "$URL" "hf_token = \"$NOACCESS\""
run models pull pyannote
expect_code no-access 1
expect_err no-access "403" "accept the conditions at https://huggingface.co/$SEG" \
    "account that owns the token" "from config file $CONFIG" "not in the authorized list"
no_token no-access

# ---- the right token from the config file ------------------------------------------------
config "$URL" "hf_token = \"$RIGHT\""
HF_TOKEN=$WRONG run models pull pyannote   # the config file comes first
expect_code config-token 0
installed_ok config-token
grep -qF "installed $SEG (" <<<"$OUT" && grep -qF "SHA-256 verified) at $EMB_FILE" <<<"$OUT" \
    && pass "config token: says what it installed" || fail "config token output: $OUT"
no_token config-token
[ "$(log_rows "$W/hub" /cdn/ auth)" = "False False" ] && pass "token not sent to the CDN host" \
    || fail "CDN auth: $(log_rows "$W/hub" /cdn/ auth)"
ls -A "$MODELS/$SEG" "$MODELS/$EMB" | grep -q '\.part$' && fail "part file left" \
    || pass "no part file left"

# ---- installed: list, path, pull again without a request ----------------------------------
run models list
expect_code list 0
grep -qE "^pyannote +[0-9.]+ KiB +✓ $MODELS/pyannote \(segmentation-3.0 195 KiB, wespeaker-voxceleb-resnet34-LM 488 KiB\)" <<<"$OUT" \
    && pass "list: pyannote installed with both sizes" || fail "list: pyannote line" "$OUT"
run models list --json
$PY -c '
import json, sys
d = {x["name"]: x for x in json.load(sys.stdin)}
p = d["pyannote"]
assert p["installed"] and p["size"] == 700000, p
assert [f["size"] for f in p["files"]] == [200000, 500000], p
' <<<"$OUT" && pass "list --json: pyannote with both files" || fail "list --json: $OUT"
run models path pyannote
expect_code path 0
[ "$OUT" = "$SEG_FILE"$'\n'"$EMB_FILE" ] && pass "path: both files" || fail "path: $OUT"
GETS=$(log_count "$W/hub")
run models pull pyannote
expect_code pull-again 0
grep -qF "$SEG is already installed" <<<"$OUT" && grep -qF "$EMB is already installed" <<<"$OUT" \
    && pass "pull again: already installed" || fail "pull again: $OUT"
[ "$(log_count "$W/hub")" = "$GETS" ] && pass "pull again: no request" || fail "pull again: requests made"

# ---- config show never prints the token ------------------------------------------------------
run config show
grep -qF "$RIGHT" <<<"$OUT$ERR" && fail "config show prints the token" || pass "config show: token hidden"
grep -q "hf_token" <<<"$OUT" && pass "config show: lists hf_token" || fail "config show: no hf_token: $OUT"
CESAR_HF_TOKEN=$RIGHT run config show
grep -qF "$RIGHT" <<<"$OUT$ERR" && fail "config show prints CESAR_HF_TOKEN" \
    || pass "config show: CESAR_HF_TOKEN hidden"

# ---- rm ----------------------------------------------------------------------------------------
run models rm pyannote
expect_code rm 0
[ ! -e "$SEG_FILE" ] && [ ! -e "$EMB_FILE" ] && [ ! -e "$MODELS/pyannote" ] \
    && pass "rm: files and directories gone" || fail "rm: $(ls -RA "$MODELS")"
run models rm pyannote
expect_code rm-again 1
expect_err rm-again "not installed"
run models path pyannote
expect_code path-missing 1
expect_err path-missing "not installed" "cesar models pull pyannote"
run models list
grep -qE "^pyannote +\? +- \(segmentation-3.0: not installed; wespeaker-voxceleb-resnet34-LM: not installed; needs a Hugging Face token\)" <<<"$OUT" \
    && pass "list: pyannote not installed" || fail "list: pyannote line" "$OUT"

# ---- the right token from HF_TOKEN, then from the token files -----------------------------------
config "$URL"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code env-token 0
installed_ok env-token
no_token env-token
remove_set

mkdir -p "$W/hfhome"
printf '  %s\n\n' "$RIGHT" >"$W/hfhome/token"
HF_HOME=$W/hfhome run models pull pyannote
expect_code hf-home-token 0
installed_ok hf-home-token
remove_set

mkdir -p "$HOME/.cache/huggingface"
printf '%s\n' "$RIGHT" >"$HOME/.cache/huggingface/token"
run models pull pyannote
expect_code default-token-file 0
installed_ok default-token-file
remove_set
printf '%s\n' "$NOACCESS" >"$HOME/.cache/huggingface/token"
run models pull pyannote
expect_code token-file-no-access 1
expect_err token-file-no-access "403" "from $HOME/.cache/huggingface/token"
no_token token-file-no-access
rm -f "$HOME/.cache/huggingface/token"

# ---- a dropped connection, resumed within the same pull ----------------------------------------
start_hub "$W/hub2" --drop-after 70000; URL2=$HUB_URL
config "$URL2"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code drop-resume 0
[ "$(log_rows "$W/hub2" segmentation range)" = "None bytes=70000-" ] \
    && pass "drop: the second request carries Range" || fail "drop: ranges $(log_rows "$W/hub2" segmentation range)"
[ "$(log_rows "$W/hub2" segmentation status)" = "200 206" ] && pass "drop: 200 then 206" \
    || fail "drop: statuses $(log_rows "$W/hub2" segmentation status)"
[ "$(sha256 "$SEG_FILE")" = "$(sha256 "$W/root/$SEG/pytorch_model.bin")" ] \
    && [ "$(sha256 "$EMB_FILE")" = "$(sha256 "$W/root/$EMB/pytorch_model.bin")" ] \
    && pass "drop: SHA-256 of both results match" || fail "drop: SHA-256 differs"
remove_set

# ---- dropped more often than one pull retries: the next pull resumes the part -----------------
start_hub "$W/hub3" --drop-after 60000 --drop-times 3; URL3=$HUB_URL
config "$URL3"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code drop-3-times 1
expect_err drop-3-times "resumes"
no_token drop-3-times
PART=$MODELS/$SEG/.pytorch_model.bin.part
[ "$(stat -c %s "$PART" 2>/dev/null)" = 180000 ] && [ ! -e "$SEG_FILE" ] \
    && pass "dropped: the part holds 180000 bytes, nothing installed" || fail "dropped: $(ls -lRA "$MODELS")"
HF_TOKEN=$RIGHT run models pull pyannote   # segmentation completes, embedding drops 3 times
HF_TOKEN=$RIGHT run models pull pyannote
expect_code resumed-across-pulls 0
[ "$(log_rows "$W/hub3" segmentation range)" = "None bytes=60000- bytes=120000- bytes=180000-" ] \
    && pass "across pulls: each request resumes where the last stopped" \
    || fail "across pulls: ranges $(log_rows "$W/hub3" segmentation range)"
installed_ok resumed-across-pulls
[ ! -e "$PART" ] && pass "across pulls: part gone" || fail "across pulls: part left"
remove_set

# ---- a corrupt file: rejected by the SHA-256, nothing installed, the part removed -------------------
start_hub "$W/hub4" --corrupt wespeaker --redirect; URL4=$HUB_URL
config "$URL4"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code corrupt 1
expect_err corrupt "SHA-256 mismatch" "$(sha256 "$W/root/$EMB/pytorch_model.bin")" "was removed"
[ ! -e "$EMB_FILE" ] && [ ! -e "$MODELS/$EMB/.pytorch_model.bin.part" ] \
    && pass "corrupt: nothing installed, part removed" || fail "corrupt: $(ls -RA "$MODELS/$EMB")"
[ -f "$SEG_FILE" ] && pass "corrupt: the good file stays" || fail "corrupt: segmentation missing"
no_token corrupt
remove_set

# ---- http without hub_allow_insecure: refused before connecting ---------------------------------
GETS=$(log_count "$W/hub")
config "$URL" "hub_allow_insecure = false"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code insecure 2
expect_err insecure "$URL" "hub_allow_insecure"
[ "$(log_count "$W/hub")" = "$GETS" ] && pass "insecure: no request made" || fail "insecure: request made"
config "http://192.0.2.1:9"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code insecure-remote 2
expect_err insecure-remote "http://192.0.2.1:9" "loopback"
no_token insecure-remote

# ---- Ctrl-C during a slow download keeps the part; the next pull resumes it ------------------
start_hub "$W/hub5" --rate 100000; URL5=$HUB_URL
config "$URL5"
HF_TOKEN=$RIGHT "$CESAR_BIN" models pull pyannote >"$W/int.out" 2>"$W/int.err" </dev/null &
pid=$!
PART=$MODELS/$SEG/.pytorch_model.bin.part
for _ in $(seq 300); do
    [ "$(stat -c %s "$PART" 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
done
kill -INT "$pid"
wait "$pid"
CODE=$?
[ "$CODE" = 130 ] && pass "interrupt: exit 130" || fail "interrupt: exit $CODE" "$(cat "$W/int.err")"
[ -s "$PART" ] && [ ! -e "$SEG_FILE" ] && pass "interrupt: the part is kept" \
    || fail "interrupt: $(ls -lRA "$MODELS")"
grep -qF "resumes it" "$W/int.err" && pass "interrupt: says the next pull resumes" \
    || fail "interrupt message: $(cat "$W/int.err")"
config "$URL"
HF_TOKEN=$RIGHT run models pull pyannote
expect_code after-interrupt 0
installed_ok after-interrupt
[ "$(log_rows "$W/hub" segmentation range | tr ' ' '\n' | grep -c '^bytes=')" -ge 1 ] \
    && pass "after interrupt: resumed with a Range" || fail "after interrupt: no Range"
remove_set

# ---- usage -------------------------------------------------------------------------------------------
run models pull pyannote --no-verify
expect_code no-verify 2

finish
