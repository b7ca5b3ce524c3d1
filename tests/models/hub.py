#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, for the model-download tests.

Usage: hub.py --root DIR --ready FILE --log FILE [--port 0] [--redirect]
              [--drop-after K] [--drop-times N] [--rate BYTES_PER_SECOND]
              [--require-token TOKEN] [--cdn-host NAME] [--ignore-range]

Binds 127.0.0.1 (port 0 = an ephemeral one) and, once it accepts
connections, writes the port number into FILE (through a temporary file and
a rename, so a reader never sees a partial number). It answers the way the
hub does for what a model download meets:

  /<repo>/resolve/<revision>/<file>
        <file> from DIR (the repo and revision are not checked), with
        Content-Length and Accept-Ranges; with --redirect, a 302 to
        http://<cdn-host>:<port>/cdn/<file> first, like the hub's redirect
        to its CDN (--cdn-host, default 127.0.0.1; "localhost" makes it
        another host name to the client, as the real CDN is)
  /cdn/<file>
        <file> from DIR
  Range: bytes=N- (or N-M)
        206 with Content-Range "bytes N-END/SIZE"; 416 with
        Content-Range "bytes */SIZE" when N is at or past the end
  a missing file
        404 with a JSON body {"error": "Entry not found"} and the headers
        X-Error-Code: EntryNotFound, X-Error-Message: Entry not found
  --require-token T
        401 (X-Error-Code: RepoNotFound, X-Error-Message: Invalid username
        or password.) unless the request carries "Authorization: Bearer T";
        /cdn/ needs no token, as on the real CDN
  --drop-after K
        the first N (--drop-times, default 1) bodies of each file announce
        their full length, send K bytes and close the connection
  --rate B
        bodies are sent at about B bytes a second (for interrupting)
  --ignore-range
        Range headers are ignored: always 200 and the whole file, as some
        mirrors do

Every request is appended to the log FILE as one JSON object per line:
{"method", "path", "range" (the Range header or null), "auth" (true when an
Authorization header came), "status", "sent" (body bytes written)}, written
when the response is finished, so a test can wait for it.

Only the standard library; nothing is printed except real errors.
"""

import argparse
import collections
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from loopback import Server, write_ready  # noqa: E402

CHUNK = 64 * 1024
RESOLVE = re.compile(r"^/(?:[^/]+/)+resolve/[^/]+/([^/]+)$")
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class Hub:
    """Settings and shared state of one server."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.bodies_sent = collections.Counter()  # per file, for --drop-times

    def log(self, entry):
        line = json.dumps(entry) + "\n"
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(line)

    def take_drop(self, name):
        """True when this body of name is one of those to cut short."""
        if self.args.drop_after is None:
            return False
        with self.lock:
            self.bodies_sent[name] += 1
            return self.bodies_sent[name] <= self.args.drop_times


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cesar-hub-test"
    hub = None  # set in main()

    def log_message(self, fmt, *args):  # noqa: N802 - the base class's name
        pass

    # ---- responses ---------------------------------------------------------

    def finish_log(self, status, sent):
        self.hub.log({"method": self.command, "path": self.path,
                      "range": self.headers.get("Range"),
                      "auth": self.headers.get("Authorization") is not None,
                      "status": status, "sent": sent})

    def send_json_error(self, status, code, message):
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            self.wfile.write(body)
            sent = len(body)
        self.finish_log(status, sent)

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.finish_log(302, 0)

    def read_file(self, name):
        if not name or name in (".", "..") or "/" in name:
            return None
        try:
            with open(os.path.join(self.hub.args.root, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def write_body(self, data, drop):
        """Writes data (cut at --drop-after when drop), paced by --rate;
        returns the bytes written."""
        if drop:
            data = data[:self.hub.args.drop_after]
        rate = self.hub.args.rate
        step = CHUNK if not rate else max(1, min(CHUNK, rate // 10))
        sent = 0
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            self.wfile.write(piece)
            self.wfile.flush()
            sent += len(piece)
            if rate:
                time.sleep(len(piece) / rate)
        if drop:
            self.close_connection = True
        return sent

    def serve_file(self, name):
        data = self.read_file(name)
        if data is None:
            return self.send_json_error(404, "EntryNotFound", "Entry not found")
        size = len(data)
        status, start, end = 200, 0, size - 1
        wanted = self.headers.get("Range")
        m = RANGE.match(wanted or "")
        if m and not self.hub.args.ignore_range:
            start = int(m.group(1))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return self.finish_log(416, 0)
            if m.group(2):
                end = min(int(m.group(2)), size - 1)
            status = 206
        body = data[start:end + 1]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%x"' % size)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            try:
                sent = self.write_body(body, self.hub.take_drop(name))
            finally:
                self.finish_log(status, sent)
        else:
            self.finish_log(status, 0)

    # ---- routing -------------------------------------------------------------

    def dispatch(self):
        path = self.path.partition("?")[0]
        if path.startswith("/cdn/"):
            return self.serve_file(path[len("/cdn/"):])
        m = RESOLVE.match(path)
        if not m:
            return self.send_json_error(404, "RepoNotFound", "Repository not found")
        token = self.hub.args.require_token
        if token and self.headers.get("Authorization") != "Bearer " + token:
            return self.send_json_error(401, "RepoNotFound", "Invalid username or password.")
        if self.hub.args.redirect:
            if self.read_file(m.group(1)) is None:
                return self.send_json_error(404, "EntryNotFound", "Entry not found")
            port = self.server.server_address[1]
            return self.redirect("http://%s:%d/cdn/%s?signature=test"
                                 % (self.hub.args.cdn_host, port, m.group(1)))
        return self.serve_file(m.group(1))

    def do_GET(self):  # noqa: N802
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up: expected

    do_HEAD = do_GET


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--root", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--redirect", action="store_true")
    ap.add_argument("--drop-after", type=int, default=None)
    ap.add_argument("--drop-times", type=int, default=1)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--require-token", default=None)
    ap.add_argument("--cdn-host", default="127.0.0.1")
    ap.add_argument("--ignore-range", action="store_true")
    args = ap.parse_args()
    Handler.hub = Hub(args)
    httpd = Server(("127.0.0.1", args.port), Handler)
    write_ready(args.ready, httpd.server_address[1])
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
