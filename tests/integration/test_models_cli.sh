#!/usr/bin/env bash
# `cesar models list | pull | rm | path` against tests/models/hub.py, a local
# stand-in for the Hugging Face hub (no internet here). The models are files
# of random bytes made now, made "known" through a user catalog file
# (models_catalog) with their real sizes and SHA-1s. Covers: a pull
# installs the exact bytes; a dropped connection leaves a partial file that
# the next pull resumes with a Range request; a wrong SHA-1 installs
# nothing and removes the part; 404 and 401 name the URL and status; list,
# path and rm; unknown names; Ctrl-C during a slow download.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

W=$WORK
export HOME=$W/home XDG_CONFIG_HOME=$W/xdg XDG_DATA_HOME=$W/data
mkdir -p "$HOME" "$XDG_CONFIG_HOME"
unset CESAR_MODELS_DIR CESAR_MODELS_URL CESAR_MODELS_CATALOG CESAR_DATA_DIR CESAR_HF_TOKEN HF_TOKEN
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# start_hub DIR [hub options]: hub_start, with HUB_URL set to the base URL
# of the Whisper models' repository.
start_hub() {
    hub_start "$@"
    HUB_URL="http://127.0.0.1:$HUB_PORT/ggerganov/whisper.cpp"
}

# log_field DIR N FIELD: FIELD of the N-th logged GET (1-based) whose path
# contains /cdn/ or /resolve/ (all of them).
log_get() {
    $PY - "$1/log" "$2" "$3" "$4" <<'PYEOF'
import json, sys
path, pattern, n, field = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if r["method"] == "GET" and pattern in r["path"]]
print(rows[n - 1][field] if len(rows) >= n else "none")
PYEOF
}

sha1() { sha1sum "$1" | cut -d' ' -f1; }

mkdir -p "$W/root"
head -c 300000 /dev/urandom >"$W/root/ggml-mini.bin"
head -c 1000000 /dev/urandom >"$W/root/ggml-big.bin"
head -c 2000 /dev/urandom >"$W/root/ggml-wrong.bin"
head -c 3000 /dev/urandom >"$W/root/ggml-nohash.bin"
cp "$W/root/ggml-mini.bin" "$W/root/ggml-nosize.bin"
cat >"$W/catalog.txt" <<CAT
# test models: NAME SIZE SHA1
mini $(stat -c %s "$W/root/ggml-mini.bin") $(sha1 "$W/root/ggml-mini.bin")
big 1000000 $(sha1 "$W/root/ggml-big.bin")   # resumed in pieces
wrong 2000 0123456789abcdef0123456789abcdef01234567
nohash 3000 -
nosize - $(sha1 "$W/root/ggml-nosize.bin")
missing 100 0123456789abcdef0123456789abcdef01234567
CAT
export CESAR_MODELS_CATALOG=$W/catalog.txt
MODELS=$W/data/cesar/models # the default: DATA_DIR/models

start_hub "$W/hub"; URL=$HUB_URL
export CESAR_MODELS_URL=$URL

# ---- pull installs the exact bytes, creating the directory ----------------------
[ -e "$W/data" ] && fail "models dir exists before the first pull" || pass "no models dir yet"
run models pull mini
expect_code pull 0
cmp -s "$MODELS/ggml-mini.bin" "$W/root/ggml-mini.bin" && pass "pull: the bytes match" \
    || fail "pull: installed file differs"
[ "$(stat -c %a "$MODELS")" = 755 ] && pass "models dir created with mode 755" \
    || fail "models dir mode $(stat -c %a "$MODELS" 2>/dev/null)"
grep -qF "installed mini (" <<<"$OUT" && grep -qF "at $MODELS/ggml-mini.bin" <<<"$OUT" \
    && pass "pull: final line names the model and path" || fail "pull output: $OUT"
ls -A "$MODELS" | grep -q '\.part$' && fail "pull left a part file" || pass "pull: no part file left"

GETS=$(log_count "$W/hub")
run models pull mini
expect_code pull-again 0
grep -qF "already installed" <<<"$OUT" && pass "pull again: says already installed" \
    || fail "pull again: $OUT"
[ "$(log_count "$W/hub")" = "$GETS" ] && pass "pull again: no download" \
    || fail "pull again downloaded"

# ---- list / path -------------------------------------------------------------
run models list
expect_code list 0
grep -qE "^mini +[0-9.]+ KiB +✓ $MODELS/ggml-mini.bin" <<<"$OUT" && pass "list: mini installed" \
    || fail "list: mini line" "$OUT"
grep -qE "^base.en +~142 MiB +-$" <<<"$OUT" && pass "list: base.en not installed" \
    || fail "list: base.en line" "$OUT"
[ "$(sed -n 2p <<<"$OUT" | cut -d' ' -f1)" = tiny ] && pass "list: catalog order (tiny first)" \
    || fail "list order: $(sed -n 2p <<<"$OUT")"
run models list --installed
[ "$(grep -c . <<<"$OUT")" = 2 ] && grep -q '^mini ' <<<"$OUT" \
    && pass "list --installed: only mini" || fail "list --installed: $OUT"
run models list --json
$PY -c '
import json, sys
d = {x["name"]: x for x in json.load(sys.stdin)}
m, t = d["mini"], d["tiny"]
assert m["installed"] and m["size"] == 300000 and m["size_exact"] and m["known"]
assert not t["installed"] and t["sha1"] == "bd577a113a864445d4c299885e0cb97d4ba92b5f"
' <<<"$OUT" \
    && pass "list --json: mini installed, tiny with its SHA-1" || fail "list --json: $OUT"

run models path mini
expect_code path 0
[ "$OUT" = "$MODELS/ggml-mini.bin" ] && pass "path prints the file" || fail "path: $OUT"
run models path base.en
expect_code path-not-installed 1
expect_err path-not-installed "not installed" "cesar models pull base.en"
run models path "$W/root/ggml-big.bin"
[ "$CODE" = 0 ] && [ "$OUT" = "$W/root/ggml-big.bin" ] && pass "path of a path: as is" \
    || fail "path of a path: $CODE $OUT"

# ---- a dropped connection, then a resumed pull (through the CDN redirect) ------
start_hub "$W/hub2" --redirect --drop-after 400000; URL2=$HUB_URL
CESAR_MODELS_URL=$URL2 run models pull big
[ "$CODE" -ne 0 ] && pass "dropped: non-zero exit ($CODE)" || fail "dropped: exit 0"
PART=$MODELS/.ggml-big.bin.part
[ -f "$PART" ] && [ ! -e "$MODELS/ggml-big.bin" ] && pass "dropped: part kept, nothing installed" \
    || fail "dropped: files $(ls -A "$MODELS")"
PART_SIZE=$(stat -c %s "$PART" 2>/dev/null || echo 0)
[ "$PART_SIZE" -gt 0 ] && [ "$PART_SIZE" -lt 1000000 ] && pass "dropped: part has $PART_SIZE bytes" \
    || fail "dropped: part size $PART_SIZE"
expect_err dropped "resumes"
FIRST_SENT=$(log_get "$W/hub2" /cdn/ 1 sent)
CESAR_MODELS_URL=$URL2 run models pull big
expect_code resumed 0
RANGE=$(log_get "$W/hub2" /cdn/ 2 range)
[ "$RANGE" = "bytes=$PART_SIZE-" ] && pass "resume: Range starts at the part's size" \
    || fail "resume: Range '$RANGE', part $PART_SIZE"
[ "$(log_get "$W/hub2" /cdn/ 2 status)" = 206 ] && pass "resume: 206 Partial Content" \
    || fail "resume status $(log_get "$W/hub2" /cdn/ 2 status)"
SECOND_SENT=$(log_get "$W/hub2" /cdn/ 2 sent)
[ "$SECOND_SENT" -lt 1000000 ] && [ "$((FIRST_SENT + SECOND_SENT))" -eq 1000000 ] \
    && pass "resume: sent $SECOND_SENT bytes, not the whole file" \
    || fail "resume: first $FIRST_SENT, second $SECOND_SENT"
[ "$(sha1 "$MODELS/ggml-big.bin")" = "$(sha1 "$W/root/ggml-big.bin")" ] \
    && pass "resume: SHA-1 of the result matches" || fail "resume: SHA-1 differs"
[ ! -e "$PART" ] && pass "resume: part file gone" || fail "resume: part file left"

# ---- a complete part file: the server answers 416, the part is verified ----------
cp "$W/root/ggml-nosize.bin" "$MODELS/.ggml-nosize.bin.part"
run models pull nosize
expect_code part-complete 0
[ "$(log_get "$W/hub" nosize 1 status)" = 416 ] && pass "complete part: 416, no body" \
    || fail "complete part: status $(log_get "$W/hub" nosize 1 status)"
cmp -s "$MODELS/ggml-nosize.bin" "$W/root/ggml-nosize.bin" && pass "complete part installed" \
    || fail "complete part: installed file differs"

# ---- a server that ignores Range: the part is replaced, not appended to ----------
start_hub "$W/hub5" --ignore-range; URL5=$HUB_URL
head -c 5000 /dev/urandom >"$MODELS/.ggml-mini.bin.part"
rm -f "$MODELS/ggml-mini.bin"
CESAR_MODELS_URL=$URL5 run models pull mini
expect_code ignored-range 0
[ "$(log_get "$W/hub5" mini 1 range)" = "bytes=5000-" ] && [ "$(log_get "$W/hub5" mini 1 status)" = 200 ] \
    && pass "ignored range: asked from 5000, got 200" || fail "ignored range: $(cat "$W/hub5/log")"
cmp -s "$MODELS/ggml-mini.bin" "$W/root/ggml-mini.bin" && pass "ignored range: whole file installed" \
    || fail "ignored range: installed file differs"

# ---- a corrupt partial file is caught by the SHA-1 and removed --------------------
rm -f "$MODELS/ggml-mini.bin"
head -c 5000 /dev/urandom >"$MODELS/.ggml-mini.bin.part"
run models pull mini
expect_code corrupt-part 1
expect_err corrupt-part "SHA-1 mismatch" "$(sha1 "$W/root/ggml-mini.bin")"
[ ! -e "$MODELS/ggml-mini.bin" ] && [ ! -e "$MODELS/.ggml-mini.bin.part" ] \
    && pass "corrupt part: nothing installed, part removed" || fail "corrupt part: $(ls -A "$MODELS")"
run models pull mini
expect_code after-corrupt 0

# ---- hash mismatch -----------------------------------------------------------
run models pull wrong
expect_code mismatch 1
expect_err mismatch "0123456789abcdef0123456789abcdef01234567" "$(sha1 "$W/root/ggml-wrong.bin")" \
    "ggml-wrong.bin"
[ ! -e "$MODELS/ggml-wrong.bin" ] && [ ! -e "$MODELS/.ggml-wrong.bin.part" ] \
    && pass "mismatch: nothing installed, part removed" || fail "mismatch: $(ls -A "$MODELS")"

# ---- 404 ----------------------------------------------------------------------
run models pull missing
expect_code not-found 1
expect_err not-found "$URL/resolve/main/ggml-missing.bin" "404" "Entry not found"
[ ! -e "$MODELS/.ggml-missing.bin.part" ] && pass "404: no empty part left" \
    || fail "404: part file left"

# ---- no known SHA-1 ------------------------------------------------------------
run models pull nohash
expect_code unverifiable 1
expect_err unverifiable "no SHA-1" "--no-verify"
run models pull nohash --no-verify
expect_code no-verify 0
cmp -s "$MODELS/ggml-nohash.bin" "$W/root/ggml-nohash.bin" && pass "--no-verify installs" \
    || fail "--no-verify: file differs"

# ---- a token for a gated repository ------------------------------------------------
start_hub "$W/hub3" --require-token s3cret --redirect --cdn-host localhost; URL3=$HUB_URL
CESAR_MODELS_URL=$URL3 run models pull mini --models-dir "$W/gated"
expect_code no-token 1
expect_err no-token "$URL3/resolve/main/ggml-mini.bin" "401" "Invalid username or password"
CESAR_MODELS_URL=$URL3 CESAR_HF_TOKEN=s3cret run models pull mini --models-dir "$W/gated"
expect_code token 0
[ -f "$W/gated/ggml-mini.bin" ] && pass "--models-dir: installed there" || fail "--models-dir"
[ "$(log_get "$W/hub3" /cdn/ 1 auth)" = False ] && pass "token not sent to the CDN host" \
    || fail "token sent along the redirect"

# ---- rm -------------------------------------------------------------------------
run models rm mini
expect_code rm 0
[ ! -e "$MODELS/ggml-mini.bin" ] && pass "rm removes the file" || fail "rm: file still there"
run models rm mini
expect_code rm-again 1
expect_err rm-again "not installed"
run models rm no-such-model
expect_code rm-unknown 2

# ---- unknown names and actions ---------------------------------------------------
run models pull bsae.en
expect_code unknown 2
expect_err unknown "unknown model 'bsae.en'" "did you mean 'base.en'" "tiny.en" "mini"
run models fetch mini
expect_code unknown-action 2
expect_err unknown-action "list, pull, rm or path"
run models pull "../evil"
expect_code path-as-name 2

# ---- Ctrl-C during a slow download leaves only the part file ------------------------
start_hub "$W/hub4" --rate 100000; URL4=$HUB_URL
CESAR_MODELS_URL=$URL4 "$CESAR_BIN" models pull big --models-dir "$W/slow" \
    >"$W/int.out" 2>"$W/int.err" </dev/null &
pid=$!
for _ in $(seq 300); do
    [ "$(stat -c %s "$W/slow/.ggml-big.bin.part" 2>/dev/null || echo 0)" -gt 0 ] && break
    sleep 0.1
done
kill -INT "$pid"
wait "$pid"
CODE=$?
[ "$CODE" = 130 ] && pass "interrupt: exit 130" || fail "interrupt: exit $CODE" "$(cat "$W/int.err")"
[ "$(ls -A "$W/slow")" = ".ggml-big.bin.part" ] && pass "interrupt: only the part file" \
    || fail "interrupt: left $(ls -A "$W/slow")"
grep -qF "resumes it" "$W/int.err" && pass "interrupt: says the next pull resumes" \
    || fail "interrupt message: $(cat "$W/int.err")"
# ... and the next pull (from a fast server) finishes it
run models pull big --models-dir "$W/slow"
expect_code after-interrupt 0
cmp -s "$W/slow/ggml-big.bin" "$W/root/ggml-big.bin" && pass "after interrupt: resumed to the right bytes" \
    || fail "after interrupt: file differs"
[ "$(log_get "$W/hub" ggml-big 1 range)" != None ] && pass "after interrupt: resumed with a Range" \
    || fail "after interrupt: no Range"

# ---- a bad catalog file is a configuration error ----------------------------------
printf 'mini 12 notahash\n' >"$W/bad-catalog.txt"
CESAR_MODELS_CATALOG=$W/bad-catalog.txt run models list
expect_code bad-catalog 2
expect_err bad-catalog "bad-catalog.txt:1" "notahash"

finish
