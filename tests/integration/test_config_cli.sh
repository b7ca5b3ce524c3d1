#!/usr/bin/env bash
# Configuration through the CLI: file, CESAR_* environment and flags in that
# order of precedence; errors name the file, line and key; `config show`
# says where each value came from and hides secrets.
. "$(dirname "$0")/lib.sh"

W=$WORK
export XDG_CONFIG_HOME=$W/xdg HOME=$W/home
mkdir -p "$W/xdg/cesar" "$W/home"
unset CESAR_ENGINE CESAR_MODEL CESAR_LANGUAGE CESAR_THREADS CESAR_FORMAT CESAR_HF_TOKEN HF_TOKEN \
      CESAR_SERVER_PORT CESAR_SERVER_API_KEY CESAR_API_KEY

run config path
[ "$OUT" = "$W/xdg/cesar/config.toml" ] && pass "config path follows XDG_CONFIG_HOME" || fail "config path: $OUT"

run config show
expect_code show-defaults 0
grep -qE '^engine = "auto" +# default' <<<"$OUT" && pass "default engine shown" || fail "show: $OUT"
grep -q '^\[server\]' <<<"$OUT" && grep -qE '^port = 8000' <<<"$OUT" && pass "server table shown" \
    || fail "no [server] table"

cat >"$W/xdg/cesar/config.toml" <<'TOML'
# test configuration
threads = 3
format = "srt"
hf_token = "hf_secretsecret"

[server]
port = 9001
api_key = "topsecret"
TOML
run config show
expect_code show-file 0
grep -qE '^threads = 3 +# file .*config.toml' <<<"$OUT" && pass "file value with its origin" || fail "file origin: $OUT"
grep -q 'hf_secretsecret\|topsecret' <<<"$OUT" && fail "secret printed" || pass "secrets redacted"
grep -qE '^hf_token = "\*+"' <<<"$OUT" && pass "hf_token shown as redacted" || fail "hf_token line: $OUT"

CESAR_THREADS=5 CESAR_SERVER_PORT=9100 run config show
grep -qE '^threads = 5 +# env CESAR_THREADS' <<<"$OUT" && pass "env beats file" || fail "env precedence: $OUT"
grep -qE '^port = 9100 +# env CESAR_SERVER_PORT' <<<"$OUT" && pass "env for [server] key" || fail "env server: $OUT"

# flags beat env beat file, seen in a real run with -v
sox -q "$(librivox_clip 0880)" "$W/clip.wav"
CESAR_THREADS=5 run transcribe "$W/clip.wav" -o "$W/a.out" -v
expect_err env-in-run "threads 5"
head -1 "$W/a.out" | grep -qx 1 && pass "file's default format (srt) used" || fail "format from file"
CESAR_THREADS=5 run transcribe "$W/clip.wav" -o "$W/b.out" -v --threads 1
expect_err flag-in-run "threads 1"

# errors name file, line and key; exit 2; nothing written
printf 'threads = 2\ncolour = "blue"\n' >"$W/bad1.toml"
run transcribe "$W/clip.wav" -o "$W/x.txt" --config "$W/bad1.toml"
expect_code unknown-key 2
expect_err unknown-key "$W/bad1.toml:2" "colour"
expect_no_file unknown-key "$W/x.txt"

printf '[server]\nport = "eighty"\n' >"$W/bad2.toml"
run config show --config "$W/bad2.toml"
expect_code wrong-type 2
expect_err wrong-type "$W/bad2.toml:2" "server.port" "integer"

printf 'threads = \n' >"$W/bad3.toml"
run config show --config "$W/bad3.toml"
expect_code syntax 2
expect_err syntax "$W/bad3.toml:1"

run config show --config "$W/missing.toml"
expect_code missing-explicit 2
expect_err missing-explicit "$W/missing.toml"

CESAR_THREADS=lots run config show
expect_code bad-env 2
expect_err bad-env "CESAR_THREADS" "lots"

rm -f "$W/xdg/cesar/config.toml"
CESAR_HF_TOKEN=hf_fromenv run config show
grep -qE '^hf_token = "\*+" +# env CESAR_HF_TOKEN' <<<"$OUT" && pass "CESAR_HF_TOKEN, redacted" || fail "CESAR_HF_TOKEN: $OUT"
grep -q hf_fromenv <<<"$OUT$ERR" && fail "the token is printed" || pass "the token is never printed"
# HF_TOKEN is a fallback after the configured token (models_hf_token_resolve),
# not a configuration value: config show keeps the default.
HF_TOKEN=hf_fromenv run config show
grep -qE '^hf_token = "" +# default' <<<"$OUT" && pass "HF_TOKEN is not the configured hf_token" || fail "HF_TOKEN: $OUT"
grep -q hf_fromenv <<<"$OUT$ERR" && fail "HF_TOKEN printed" || pass "HF_TOKEN never printed"

finish
