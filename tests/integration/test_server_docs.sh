#!/usr/bin/env bash
# The /docs page of `cesar serve`: the HTML and every asset it references come
# from the server itself (no other host), with the right content types; a real
# browser (Debian's Chromium, headless) runs Swagger UI, which fetches
# /openapi.json and renders every documented path, the title and the version;
# SIGTERM then stops the server with exit 0.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
SERVER_LOG=$WORK/server.log
BASE=""

stop_server_now() { # for the EXIT trap: never leave a server behind
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
}
trap 'stop_server_now; rm -rf "$WORK"' EXIT

show_log() { echo "    --- server log ($SERVER_LOG) ---"; sed 's/^/    | /' "$SERVER_LOG"; }

# start_server: runs `cesar serve` on a free port with a clean configuration
# (no config file; of the CESAR_* variables only ours and CESAR_DOCS_DIR, the
# site location) and sets BASE from its "listening on" line. Returns 1 if it
# is not listening within 15 s.
start_server() {
    mkdir -p "$WORK/xdg-config" "$WORK/xdg-data" "$WORK/xdg-cache" "$WORK/data"
    local clean_env=()
    for v in $(compgen -e); do
        case $v in
            CESAR_BIN | CESAR_SOURCE_DIR | CESAR_DOCS_DIR) ;;
            CESAR_*) clean_env+=(-u "$v") ;;
        esac
    done
    env "${clean_env[@]}" XDG_CONFIG_HOME="$WORK/xdg-config" XDG_DATA_HOME="$WORK/xdg-data" \
        XDG_CACHE_HOME="$WORK/xdg-cache" \
        "$CESAR_BIN" serve --port 0 --data-dir "$WORK/data" >"$WORK/server.out" 2>"$SERVER_LOG" \
        </dev/null &
    SERVER_PID=$!
    local line=""
    for _ in $(seq 150); do
        line=$(grep -m1 -o 'cesar serve: listening on http://127\.0\.0\.1:[0-9]*' "$SERVER_LOG" 2>/dev/null)
        [ -n "$line" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$line" ]; then
        return 1
    fi
    BASE=${line#cesar serve: listening on }
}

# fetch PATH: GET BASE+PATH into $WORK/body; sets STATUS and CTYPE.
fetch() {
    local out
    out=$(curl -s --path-as-is --max-time 10 -o "$WORK/body" -w '%{http_code} %{content_type}' \
        "$BASE$1")
    STATUS=${out%% *}
    CTYPE=${out#* }
}

# expected_type URL-PATH: the content type a file of that kind must have
# (an extended regular expression on the media type, parameters ignored).
expected_type() {
    case $1 in
        *.css) echo '^text/css$' ;;
        *.js) echo '^(text|application)/javascript$' ;;
        *.png) echo '^image/png$' ;;
        *.ico) echo '^image/(x-icon|vnd\.microsoft\.icon)$' ;;
        *.svg) echo '^image/svg\+xml$' ;;
        *.json) echo '^application/json$' ;;
        *) echo '^text/html$' ;;
    esac
}

media_type() { local t=${1%%;*}; t=${t// /}; echo "${t,,}"; }

if ! start_server; then
    fail "server did not print 'cesar serve: listening on http://127.0.0.1:PORT' within 15 s" \
        "$(show_log)"
    finish
    exit
fi
pass "server listening at $BASE"
PORT=${BASE##*:}

# ---- the page itself ------------------------------------------------------
fetch /docs
cp "$WORK/body" "$WORK/docs.html"
if [ "$STATUS" = 200 ] && [ "$(media_type "$CTYPE")" = text/html ]; then
    pass "GET /docs: 200 $CTYPE"
else
    fail "GET /docs: $STATUS '$CTYPE', expected 200 text/html" "body: $(head -c 400 "$WORK/body")" \
        "$(show_log)"
fi

# Every absolute URL in the page must point back at this server.
foreign=$(grep -oiE '(https?:)?//[a-z0-9.:@_-]+' "$WORK/docs.html" |
    grep -viE "^(https?:)?//(127\.0\.0\.1|localhost):$PORT\$" | sort -u)
if [ -z "$foreign" ]; then
    pass "/docs references no other host"
else
    fail "/docs references other hosts" "$foreign"
fi

# Local references: src= and href= values (scripts, stylesheets, icons, links).
mapfile -t refs < <(grep -oiE '(src|href)="[^"]*"' "$WORK/docs.html" |
    sed -E 's/^[^=]*="//; s/"$//' | grep -vE '^(#|data:|mailto:)' | sort -u)
if [ "${#refs[@]}" -ge 3 ]; then
    pass "/docs references ${#refs[@]} local files: ${refs[*]}"
else
    fail "/docs references only ${#refs[@]} files (expected a stylesheet and scripts)" \
        "${refs[*]:-none}"
fi
saw_css=0 saw_bundle=0
for ref in "${refs[@]}"; do
    path=${ref#http://127.0.0.1:$PORT}
    path=${path#http://localhost:$PORT}
    case $path in
        /*) ;;
        *) path="/docs/$path" ;; # relative to /docs (a file beside the page)
    esac
    case $path in *swagger-ui.css) saw_css=1 ;; *swagger-ui-bundle.js) saw_bundle=1 ;; esac
    fetch "$path"
    want=$(expected_type "${path%%\?*}")
    if [ "$STATUS" = 200 ] && [[ "$(media_type "$CTYPE")" =~ $want ]]; then
        pass "GET $path: 200 $CTYPE ($(wc -c <"$WORK/body") bytes)"
    else
        fail "GET $path: $STATUS '$CTYPE', expected 200 matching $want" \
            "body: $(head -c 300 "$WORK/body")"
    fi
done
[ $saw_css = 1 ] && pass "page loads swagger-ui.css" || fail "page does not load swagger-ui.css"
[ $saw_bundle = 1 ] && pass "page loads swagger-ui-bundle.js" \
    || fail "page does not load swagger-ui-bundle.js"

# An asset that does not exist, and a path escaping the docs directory.
fetch /docs/assets/no-such-file.js
if [ "$STATUS" = 404 ] && grep -q '"not_found"' "$WORK/body"; then
    pass "GET /docs/assets/no-such-file.js: 404 not_found"
else
    fail "GET /docs/assets/no-such-file.js: $STATUS, expected 404 not_found" \
        "body: $(head -c 300 "$WORK/body")"
fi
for p in /docs/../../../../../../etc/passwd /docs/assets/../../../../../../etc/passwd \
    /docs/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd; do
    fetch "$p"
    if [ "$STATUS" != 200 ] && ! grep -q '^root:' "$WORK/body"; then
        pass "GET $p: $STATUS (nothing outside the docs directory)"
    else
        fail "GET $p: $STATUS served a file outside the docs directory"
    fi
done

# ---- what the browser shows -----------------------------------------------
fetch /openapi.json
cp "$WORK/body" "$WORK/openapi.json"
if [ "$STATUS" = 200 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
    "$WORK/openapi.json" 2>/dev/null; then
    pass "GET /openapi.json: 200, parses as JSON"
else
    fail "GET /openapi.json: $STATUS or not JSON" "body: $(head -c 300 "$WORK/body")"
fi

browser_dir=$(mktemp -d "$WORK/chromium.XXXXXX")
timeout 90 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$browser_dir" --virtual-time-budget=15000 --dump-dom "$BASE/docs" \
    >"$WORK/dom.html" 2>"$WORK/chromium.log"
rc=$?
if [ $rc -eq 0 ] && [ -s "$WORK/dom.html" ]; then
    pass "chromium rendered /docs ($(wc -c <"$WORK/dom.html") bytes of DOM)"
else
    fail "chromium exited $rc with $(wc -c <"$WORK/dom.html") bytes of DOM" \
        "$(grep -v 'dbus' "$WORK/chromium.log" | tail -n 20)"
fi

# Compares the rendered DOM with the document: every path appears as a
# rendered operation (Swagger UI's data-path attribute, which exists only
# after its JavaScript ran and read /openapi.json), as many operation blocks
# as the document has operations, and the title and version in the header.
python3 - "$WORK/openapi.json" "$WORK/dom.html" >"$WORK/dom-check.txt" 2>&1 <<'EOF'
import html
import json
import re
import sys

doc = json.load(open(sys.argv[1]))
dom = open(sys.argv[2], encoding="utf-8", errors="replace").read()
methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

rendered = {html.unescape(p) for p in re.findall(r'data-path="([^"]*)"', dom)}
for path in doc["paths"]:
    if path in rendered:
        print(f"ok - the page shows {path}")
    else:
        print(f"FAIL - the page does not show {path}")

n_ops = sum(1 for item in doc["paths"].values() for m in item if m in methods)
n_blocks = len(re.findall(r'class="opblock opblock-', dom))
if n_blocks == n_ops:
    print(f"ok - the page shows {n_blocks} operations, as many as the document has")
else:
    print(f"FAIL - the page shows {n_blocks} operation blocks, the document has {n_ops} operations")

title = re.search(r'<h[12] class="title">(.*?)</h[12]>', dom, re.S)
text = html.unescape(re.sub(r"<[^>]+>", " ", title.group(1))) if title else ""
for what in ("title", "version"):
    want = doc["info"][what]
    if want in text:
        print(f"ok - the page header shows the {what} '{want}'")
    else:
        print(f"FAIL - the page header lacks the {what} '{want}' (header: {text.strip()!r})")

if '<div class="swagger-ui">' in dom and "errors-wrapper" not in dom:
    print("ok - Swagger UI reports no error loading the document")
else:
    err = re.search(r'errors-wrapper(.{0,400})', dom, re.S)
    print("FAIL - Swagger UI shows an error: " + (re.sub(r"<[^>]+>", " ", err.group(1)) if err else "?"))
EOF
while IFS= read -r line; do
    case $line in
        "ok - "*) pass "${line#ok - }" ;;
        "FAIL - "*) fail "${line#FAIL - }" ;;
        *) fail "dom check: $line" ;;
    esac
done <"$WORK/dom-check.txt"

# ---- shutdown -------------------------------------------------------------
kill -TERM "$SERVER_PID"
code=""
for _ in $(seq 400); do # up to 40 s: the default shutdown timeout is 30 s
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        wait "$SERVER_PID"
        code=$?
        break
    fi
    sleep 0.1
done
if [ -z "$code" ]; then
    fail "server still running 40 s after SIGTERM" "$(show_log)"
elif [ "$code" -eq 0 ]; then
    pass "SIGTERM: server exited 0"
else
    fail "SIGTERM: server exited $code, expected 0" "$(show_log)"
fi
SERVER_PID=""

[ "$FAILED" -eq 0 ] || show_log
finish
