#!/usr/bin/env bash
# The server keeps the promises of its own OpenAPI document (GET /openapi.json):
#   - every documented path + method is routed (never 405, never the 404 of an
#     unknown route, told apart by the message prefix "no route"), and answers
#     a status the document lists for that operation, with a listed content
#     type, and a JSON body that fits the listed schema;
#   - {id} operations with a fresh random UUID answer a documented 404
#     not_found; with a real job (from an upload) a documented status;
#   - methods the document does not list for a path answer 405
#     method_not_allowed with an Allow header naming exactly the documented
#     methods;
#   - with an API key configured, every operation with `security` answers 401
#     unauthorized (WWW-Authenticate: Bearer) without the key, and those with
#     `security: []` (GET /health) do not.
# The checks are Python (standard library only); each prints "ok - ..." or
# "FAIL - ..." lines that are counted here.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
SERVER_LOG=""
BASE=""

stop_server_now() { # for the EXIT trap: never leave a server behind
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
}
trap 'stop_server_now; rm -rf "$WORK"' EXIT

show_log() { echo "    --- server log ($SERVER_LOG) ---"; sed 's/^/    | /' "$SERVER_LOG"; }

# start_server NAME [VAR=VALUE...]: runs `cesar serve` on a free port with a
# clean configuration (no config file; of the CESAR_* variables only ours,
# CESAR_DOCS_DIR and the given ones) and its own data directory; sets BASE
# from its "listening on" line. Returns 1 if it is not listening within 15 s.
start_server() {
    local name=$1; shift
    local dir=$WORK/$name
    mkdir -p "$dir/xdg-config" "$dir/xdg-data" "$dir/xdg-cache" "$dir/data"
    SERVER_LOG=$dir/server.log
    local clean_env=()
    for v in $(compgen -e); do
        case $v in
            CESAR_BIN | CESAR_SOURCE_DIR | CESAR_DOCS_DIR) ;;
            CESAR_*) clean_env+=(-u "$v") ;;
        esac
    done
    env "${clean_env[@]}" XDG_CONFIG_HOME="$dir/xdg-config" XDG_DATA_HOME="$dir/xdg-data" \
        XDG_CACHE_HOME="$dir/xdg-cache" "$@" \
        "$CESAR_BIN" serve --port 0 --data-dir "$dir/data" >"$dir/server.out" 2>"$SERVER_LOG" \
        </dev/null &
    SERVER_PID=$!
    local line=""
    for _ in $(seq 150); do
        line=$(grep -m1 -o 'cesar serve: listening on http://127\.0\.0\.1:[0-9]*' "$SERVER_LOG" 2>/dev/null)
        [ -n "$line" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$line" ] || return 1
    BASE=${line#cesar serve: listening on }
}

# stop_server NAME: SIGTERM, then expects exit 0 within 40 s.
stop_server() {
    kill -TERM "$SERVER_PID"
    local code=""
    for _ in $(seq 400); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID"
            code=$?
            break
        fi
        sleep 0.1
    done
    if [ "$code" = 0 ]; then
        pass "$1: server exited 0 on SIGTERM"
    else
        fail "$1: server exit '${code:-still running after 40 s}' on SIGTERM, expected 0" "$(show_log)"
    fi
    SERVER_PID=""
}

# count_results NAME FILE: turns the checker's ok/FAIL lines into pass/fail.
count_results() {
    local failed_before=$FAILED
    while IFS= read -r line; do
        case $line in
            "ok - "*) pass "$1: ${line#ok - }" ;;
            "FAIL - "*) fail "$1: ${line#FAIL - }" ;;
            "    "*) echo "$line" ;; # detail of the previous FAIL
            *) fail "$1: checker said: $line" ;;
        esac
    done <"$2"
    [ "$FAILED" -eq "$failed_before" ] || show_log
}

cat >"$WORK/check_openapi.py" <<'EOF'
"""Checks a running cesar server against the OpenAPI document it serves.

usage: check_openapi.py BASE_URL contract
       check_openapi.py BASE_URL auth API_KEY
"""
import http.client
import io
import json
import re
import struct
import sys
import time
import urllib.parse
import uuid
import wave

BASE = urllib.parse.urlsplit(sys.argv[1])
MODE = sys.argv[2]
API_KEY = sys.argv[3] if len(sys.argv) > 3 else None
METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
PROBE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]  # for the 405 checks


def ok(msg):
    print(f"ok - {msg}", flush=True)


def fail(msg, *details):
    print(f"FAIL - {msg}", flush=True)
    for d in details:
        for line in str(d).splitlines()[:20]:
            print(f"    {line}", flush=True)


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_code(self):
        j = self.json()
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("code"), j["error"].get("message", "")
        return None, ""

    def short(self):
        return f"{self.status} {self.header('content-type')} {self.body[:300]!r}"


def request(method, path, body=None, headers=None, event_stream=False):
    """One request on a fresh connection. For a 200 event stream, reads the
    first event only, then hangs up."""
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=10 if event_stream else 30)
    hdrs = dict(headers or {})
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        headers_out = {}
        for k, v in resp.getheaders():
            headers_out.setdefault(k.lower(), []).append(v)
        ctype = (resp.getheader("Content-Type") or "").lower()
        if event_stream and resp.status == 200 and ctype.startswith("text/event-stream"):
            lines = []
            while True:
                try:
                    line = resp.fp.readline()
                except TimeoutError:
                    lines.append(b"(no complete event within 10 s)")
                    break
                if not line or (line in (b"\n", b"\r\n") and any(l.startswith(b"data:") for l in lines)):
                    break
                lines.append(line)
            data = b"".join(lines)
        else:
            data = resp.read()
        return Answer(resp.status, headers_out, data)
    finally:
        conn.close()


# ---- a minimal JSON Schema (2020-12 subset) validator for response bodies ----

def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = lookup(doc, node["$ref"])
    return node


def lookup(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def type_ok(value, t):
    return {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }[t]


def validate(doc, value, schema, where="body"):
    """Returns a list of problems (empty when value fits schema)."""
    problems = []
    if "$ref" in schema:
        problems += validate(doc, value, lookup(doc, schema["$ref"]), where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(value, t) for t in types):
            return problems + [f"{where}: {value!r} is not of type {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}: required property '{name}' missing")
        props = schema.get("properties", {})
        for name, v in value.items():
            if name in props:
                problems += validate(doc, v, props[name], f"{where}.{name}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: property '{name}' is not in the document")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            problems += validate(doc, v, schema["items"], f"{where}[{i}]")
    return problems


# ---- building requests from the document ------------------------------------

def tiny_wav():
    """One second of quiet 16 kHz mono 16-bit audio (a faint tone)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", (i * 37) % 200 - 100) for i in range(16000)))
    return buf.getvalue()


def param_value(doc, param, job_id):
    schema = resolve(doc, param.get("schema", {}))
    if param["name"] == "id":
        return job_id
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("examples"):
        return str(schema["examples"][0])
    return "x"


def operation_params(doc, path_item, op):
    params = [resolve(doc, p) for p in path_item.get("parameters", [])]
    params += [resolve(doc, p) for p in op.get("parameters", [])]
    return params


def build_path(doc, path, path_item, op, job_id):
    for p in operation_params(doc, path_item, op):
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", urllib.parse.quote(param_value(doc, p, job_id)))
    return path


def sample_json(doc, schema):
    schema = resolve(doc, schema)
    out = {}
    for name in schema.get("required", []):
        prop = resolve(doc, schema["properties"][name])
        if prop.get("format") == "uri":
            out[name] = "http://127.0.0.1:9/clip.wav"  # never fetched: loopback, closed port
        elif prop.get("enum"):
            out[name] = prop["enum"][0]
        else:
            out[name] = {"integer": 1, "number": 1, "boolean": False}.get(prop.get("type"), "x")
    return out


def multipart(fields):
    """(body, headers) for a form; fields: (name, filename or None, bytes)."""
    boundary = "cesar-test-" + uuid.uuid4().hex
    out = b""
    for name, filename, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        ctype = "Content-Type: application/octet-stream\r\n" if filename else ""
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n{ctype}\r\n".encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def build_body(doc, op):
    """(body bytes, headers) for the operation's request body, or (None, {})."""
    rb = resolve(doc, op.get("requestBody", {}))
    content = rb.get("content", {})
    if "multipart/form-data" in content:
        schema = resolve(doc, content["multipart/form-data"]["schema"])
        boundary = "cesar-test-" + uuid.uuid4().hex
        parts = []
        for name, prop in schema.get("properties", {}).items():
            prop = resolve(doc, prop)
            if prop.get("contentMediaType") or prop.get("format") == "binary":
                parts.append(
                    (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="tone.wav"\r\nContent-Type: audio/wav\r\n\r\n').encode()
                    + tiny_wav() + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if "application/json" in content:
        body = json.dumps(sample_json(doc, content["application/json"]["schema"])).encode()
        return body, {"Content-Type": "application/json"}
    return None, {}


# ---- checking answers ---------------------------------------------------------

def normalise_type(t):
    return ";".join(part.strip() for part in t.lower().split(";"))


def documented_response(op, status):
    responses = op.get("responses", {})
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return responses[key]
    return None


def check_answer(doc, label, op, ans):
    """Every check of one answer against its operation. Returns True when all pass."""
    code, message = ans.error_code()
    good = True
    if ans.status == 404 and code == "not_found" and message.startswith("no route"):
        fail(f"{label}: answered as an unknown route", ans.short())
        return False
    if ans.status == 405:
        fail(f"{label}: 405 for a documented method", ans.short())
        return False
    resp = documented_response(op, ans.status)
    if resp is None:
        fail(f"{label}: status {ans.status} is not documented (documented: "
             f"{', '.join(op.get('responses', {}))})", ans.short())
        return False
    resp = resolve(doc, resp)
    content = resp.get("content", {})
    ctype = ans.header("content-type")
    if not content:
        if ans.body:
            fail(f"{label}: {ans.status} has a body, the document lists none", ans.short())
            good = False
    else:
        media = None
        if ctype:
            given = normalise_type(ctype)
            for key in content:
                doc_type = normalise_type(key)
                if given == doc_type or (";" not in doc_type and given.split(";")[0] == doc_type):
                    media = key
                    break
        if media is None:
            fail(f"{label}: {ans.status} Content-Type {ctype!r} is not documented "
                 f"({', '.join(content)})")
            good = False
        elif media.startswith("application/json"):
            body = ans.json()
            schema = content[media].get("schema")
            if body is None:
                fail(f"{label}: {ans.status} body is not JSON", ans.short())
                good = False
            elif schema:
                problems = validate(doc, body, schema)
                if problems:
                    fail(f"{label}: {ans.status} body does not fit the documented schema", *problems)
                    good = False
    if ans.status >= 400:
        if code is None:
            fail(f"{label}: {ans.status} without the error body", ans.short())
            good = False
        elif ans.status == 422 and "field" not in (ans.json() or {}).get("error", {}):
            fail(f"{label}: 422 without error.field", ans.short())
            good = False
    for name, h in resolve(doc, resp).get("headers", {}).items():
        h = resolve(doc, h)
        value = ans.header(name)
        if value is None:
            fail(f"{label}: {ans.status} lacks the documented header {name}")
            good = False
        else:
            problems = validate(doc, value, h.get("schema", {}), f"header {name}")
            if problems:
                fail(f"{label}: {ans.status} header does not fit the document", *problems)
                good = False
    if good:
        ok(f"{label}: {ans.status} {code or ctype or ''}".rstrip())
    return good


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, item, method.upper(), item[method]


def run_operation(doc, path, item, method, op, job_id, headers=None):
    url = build_path(doc, path, item, op, job_id)
    body, hdrs = build_body(doc, op)
    hdrs.update(headers or {})
    return url, request(method, url, body, hdrs, event_stream=path.endswith("/events"))


def contract(doc):
    if doc.get("openapi", "").startswith("3.1"):
        ok(f"document is OpenAPI {doc['openapi']}")
    else:
        fail(f"document is OpenAPI {doc.get('openapi')!r}, expected 3.1.x")

    # Every documented operation; {id} is a fresh random UUID, so 404.
    job_id = None
    for path, item, method, op in operations(doc):
        url, ans = run_operation(doc, path, item, method, op, str(uuid.uuid4()))
        label = f"{method} {url}" if "{id}" not in path else f"{method} {path} (random id)"
        check_answer(doc, label, op, ans)
        if "{id}" in path:
            code, _ = ans.error_code()
            if not (ans.status == 404 and code == "not_found"):
                fail(f"{method} {path} (random id): {ans.status} {code}, expected 404 not_found")
        if path == "/transcribe" and method == "POST" and ans.status == 202:
            job = ans.json() or {}
            job_id = job.get("id")
            loc = ans.header("location")
            if loc == f"/jobs/{job_id}":
                ok(f"POST /transcribe: Location {loc}")
            else:
                fail(f"POST /transcribe: Location {loc!r}, expected /jobs/{job_id}")

    # The {id} operations again on the job the upload created; DELETE last
    # (it cancels the job), then purge it.
    if not job_id:
        fail("POST /transcribe gave no job, so the {id} operations were not tried on a real job")
    else:
        id_ops = [o for o in operations(doc) if "{id}" in o[0]]
        id_ops.sort(key=lambda o: o[2] == "DELETE")
        for path, item, method, op in id_ops:
            url, ans = run_operation(doc, path, item, method, op, job_id)
            check_answer(doc, f"{method} {path} (real job)", op, ans)
        delete_op = doc["paths"]["/jobs/{id}"]["delete"]
        ans = request("DELETE", f"/jobs/{job_id}?purge=true")
        if check_answer(doc, "DELETE /jobs/{id}?purge=true (real job)", delete_op, ans):
            if ans.status != 204:
                fail(f"DELETE ?purge=true: {ans.status}, expected 204")
        ans = request("GET", f"/jobs/{job_id}")
        if ans.status == 404 and ans.error_code()[0] == "not_found":
            ok("GET /jobs/{id} after purge: 404 not_found")
        else:
            fail("GET /jobs/{id} after purge: expected 404 not_found", ans.short())

    error_cases(doc)
    finished_job(doc)

    # A job path with something that is not a job id; an unknown path.
    get_job = doc["paths"]["/jobs/{id}"]["get"]
    ans = request("GET", "/jobs/NOT-A-UUID")
    if ans.status == 404 and ans.error_code()[0] == "not_found":
        ok("GET /jobs/NOT-A-UUID: 404 not_found")
    else:
        fail("GET /jobs/NOT-A-UUID: expected 404 not_found", ans.short())
    ans = request("GET", "/no/such/route")
    code, message = ans.error_code()
    if ans.status == 404 and code == "not_found" and message.startswith("no route"):
        ok("GET /no/such/route: 404 not_found 'no route ...'")
    else:
        fail("GET /no/such/route: expected 404 not_found with a 'no route' message", ans.short())

    # Undocumented methods on documented paths.
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in METHODS if m in item}
        any_op = next(item[m] for m in METHODS if m in item)
        url = build_path(doc, path, item, any_op, str(uuid.uuid4()))
        for method in PROBE_METHODS:
            if method in documented:
                continue
            ans = request(method, url)
            allow = ans.header("allow")
            allowed = {m.strip().upper() for m in (allow or "").split(",") if m.strip()}
            code, _ = ans.error_code()
            if ans.status == 405 and code == "method_not_allowed" and allowed == documented:
                ok(f"{method} {path}: 405, Allow: {allow}")
            else:
                fail(f"{method} {path}: {ans.status} {code}, Allow {allow!r}; expected 405 "
                     f"method_not_allowed, Allow: {', '.join(sorted(documented))}", ans.short())


def expect(doc, op, label, ans, status, code, field=None):
    """The answer has this status and error code (and field), and fits the
    document."""
    got_code, _ = ans.error_code()
    got_field = ((ans.json() or {}).get("error") or {}).get("field") if ans.json() else None
    if ans.status != status or got_code != code or (field and got_field != field):
        want = f"{status} {code}" + (f" field={field}" if field else "")
        fail(f"{label}: {ans.status} {got_code} field={got_field}, expected {want}", ans.short())
    else:
        check_answer(doc, label, op, ans)


def error_cases(doc):
    """Bad requests answer the error the contract names, and it is documented."""
    upload = doc["paths"]["/transcribe"]["post"]
    wav = tiny_wav()
    cases = [
        ("not multipart", request("POST", "/transcribe", b"hello",
                                  {"Content-Type": "text/plain"}), 400, "malformed_request", None),
        ("no file part", request("POST", "/transcribe", *multipart([("model", None, b"en-us")])),
         400, "missing_file", None),
        ("empty file", request("POST", "/transcribe", *multipart([("file", "e.wav", b"")])),
         400, "empty_file", None),
        ("not audio", request("POST", "/transcribe",
                              *multipart([("file", "notes.txt", b"just some text\n" * 200)])),
         415, "unsupported_media_type", None),
        ("too large", request("POST", "/transcribe",
                              *multipart([("file", "big.wav", wav * 40)])),
         413, "payload_too_large", None),
        ("unknown field", request("POST", "/transcribe",
                                  *multipart([("file", "t.wav", wav), ("colour", None, b"red")])),
         422, "invalid_field", "colour"),
        ("bad format", request("POST", "/transcribe",
                               *multipart([("file", "t.wav", wav), ("format", None, b"doc")])),
         422, "invalid_field", "format"),
        ("min > max speakers", request("POST", "/transcribe", *multipart([
            ("file", "t.wav", wav), ("min_speakers", None, b"5"), ("max_speakers", None, b"2")])),
         422, "invalid_field", None),
        ("bad diarize", request("POST", "/transcribe",
                                *multipart([("file", "t.wav", wav), ("diarize", None, b"maybe")])),
         422, "invalid_field", "diarize"),
    ]
    for name, ans, status, code, field in cases:
        expect(doc, upload, f"POST /transcribe, {name}", ans, status, code, field)

    by_url = doc["paths"]["/transcribe/url"]["post"]
    ans = request("POST", "/transcribe/url", b"{not json", {"Content-Type": "application/json"})
    expect(doc, by_url, "POST /transcribe/url, broken JSON", ans, 400, "malformed_request")

    listing = doc["paths"]["/jobs"]["get"]
    for query, field in (("status=bogus", "status"), ("limit=0", "limit"), ("limit=501", "limit"),
                         ("cursor=garbage", "cursor")):
        ans = request("GET", f"/jobs?{query}")
        expect(doc, listing, f"GET /jobs?{query}", ans, 422, "invalid_field", field)


def finished_job(doc):
    """A job that ran to the end: every result format with its documented
    content type, retry and cancel refused, purge accepted."""
    body, headers = multipart([("file", "tone.wav", tiny_wav())])
    ans = request("POST", "/transcribe", body, headers)
    job_id = (ans.json() or {}).get("id")
    if ans.status != 202 or not job_id:
        fail("upload for the finished-job checks failed", ans.short())
        return
    status = None
    for _ in range(600):  # 60 s
        status = (request("GET", f"/jobs/{job_id}").json() or {}).get("status")
        if status in ("completed", "partial", "error", "cancelled"):
            break
        time.sleep(0.1)
    if status != "completed":
        fail(f"the 1 s job ended '{status}', expected completed (within 60 s)")
        return
    ok("a 1 s upload completed")
    result = doc["paths"]["/jobs/{id}/result"]["get"]
    types = {"txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
             "srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8",
             "json": "application/json"}
    for fmt, ctype in types.items():
        ans = request("GET", f"/jobs/{job_id}/result?format={fmt}")
        label = f"GET /jobs/{{id}}/result?format={fmt}"
        got = normalise_type(ans.header("content-type") or "")
        if ans.status == 200 and got == normalise_type(ctype):
            check_answer(doc, label, result, ans)
        else:
            fail(f"{label}: {ans.status} {ans.header('content-type')!r}, expected 200 {ctype}",
                 ans.short())
    ans = request("GET", f"/jobs/{job_id}/result?format=doc")
    expect(doc, result, "GET /jobs/{id}/result?format=doc", ans, 422, "invalid_field", "format")
    ans = request("POST", f"/jobs/{job_id}/retry")
    expect(doc, doc["paths"]["/jobs/{id}/retry"]["post"], "POST /jobs/{id}/retry (completed)",
           ans, 409, "invalid_state")
    delete = doc["paths"]["/jobs/{id}"]["delete"]
    ans = request("DELETE", f"/jobs/{job_id}")
    expect(doc, delete, "DELETE /jobs/{id} (completed, no purge)", ans, 409, "invalid_state")
    ans = request("DELETE", f"/jobs/{job_id}?purge=true")
    if ans.status == 204:
        check_answer(doc, "DELETE /jobs/{id}?purge=true (completed)", delete, ans)
    else:
        fail(f"DELETE /jobs/{{id}}?purge=true (completed): {ans.status}, expected 204", ans.short())


def auth(doc):
    for path, item, method, op in operations(doc):
        secured = op.get("security", doc.get("security", [])) != []
        url, ans = run_operation(doc, path, item, method, op, str(uuid.uuid4()))
        label = f"{method} {path} without a key"
        if secured:
            code, _ = ans.error_code()
            www = ans.header("www-authenticate")
            bearer = re.match(r"Bearer( |$)", www or "")
            if ans.status == 401 and code == "unauthorized" and bearer:
                check_answer(doc, label, op, ans)
            else:
                fail(f"{label}: {ans.status} {code}, WWW-Authenticate {www!r}; expected 401 "
                     "unauthorized with WWW-Authenticate: Bearer", ans.short())
            url, ans = run_operation(doc, path, item, method, op, str(uuid.uuid4()),
                                     {"Authorization": "Bearer wrong-" + API_KEY})
            if ans.status == 401:
                ok(f"{method} {path} with a wrong key: 401")
            else:
                fail(f"{method} {path} with a wrong key: {ans.status}, expected 401", ans.short())
        elif ans.status == 401:
            fail(f"{label}: 401, but the document says it needs no authentication", ans.short())
        else:
            check_answer(doc, label, op, ans)
    # With the key, the read-only operations answer as without authentication.
    for path in ("/jobs", "/openapi.json", "/health"):
        op = doc["paths"][path]["get"]
        ans = request("GET", path, headers={"Authorization": f"Bearer {API_KEY}"})
        if ans.status == 200:
            check_answer(doc, f"GET {path} with the key", op, ans)
        else:
            fail(f"GET {path} with the key: {ans.status}, expected 200", ans.short())


def main():
    headers = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}
    ans = request("GET", "/openapi.json", headers=headers)
    doc = ans.json()
    if ans.status != 200 or not isinstance(doc, dict):
        fail("GET /openapi.json: expected 200 with a JSON document", ans.short())
        return
    ok(f"GET /openapi.json: {len(doc.get('paths', {}))} paths")
    if MODE == "contract":
        contract(doc)
    else:
        auth(doc)


main()
EOF

# ---- without an API key: the whole contract --------------------------------
# A 1 MiB upload limit, so a small file can check 413.
if start_server contract CESAR_SERVER_MAX_UPLOAD_SIZE=1048576; then
    pass "contract: server listening at $BASE"
    python3 "$WORK/check_openapi.py" "$BASE" contract >"$WORK/contract.txt" 2>&1
    count_results contract "$WORK/contract.txt"
    stop_server contract
else
    fail "contract: server not listening within 15 s" "$(show_log)"
    stop_server_now
fi

# ---- with an API key: authentication as documented -------------------------
KEY=test-key-$RANDOM$RANDOM
if start_server auth CESAR_SERVER_API_KEY="$KEY"; then
    pass "auth: server listening at $BASE"
    python3 "$WORK/check_openapi.py" "$BASE" auth "$KEY" >"$WORK/auth.txt" 2>&1
    count_results auth "$WORK/auth.txt"
    stop_server auth
else
    fail "auth: server not listening within 15 s" "$(show_log)"
    stop_server_now
fi

finish
