#!/usr/bin/env python3
"""A misbehaving-on-request HTTP server for the fetch module's tests.

Usage: server.py --port 0 --root DIR --ready FILE

Binds 127.0.0.1 (port 0 = an ephemeral one) and, once it accepts
connections, writes the port number into FILE (through a temporary file and
a rename, so a reader never sees a partial number). Each route plays one
situation a download must survive:

  /file/NAME          NAME from DIR, with Content-Length and a content type
  /redirect/N/NAME    N hops of 302, then /file/NAME
  /loop               302 to itself, forever
  /404                a 404 with a small body
  /slow               announces 100 bytes, then sends 1 byte a second
  /lie/NAME           announces 1000 bytes more than NAME has, sends NAME, closes
  /nolength/NAME      NAME chunked, without Content-Length
  /big?bytes=N&length=0|1
                      N zeros (default: without end); with length=1 (the
                      default) Content-Length announces N (or 1 TiB when
                      endless), with length=0 the body ends when the
                      connection closes
  /page.html          an HTML page
  /count              one line "TARGET COUNT" per request target served
                      so far (excluding /count), for cache tests
  /to-private         302 to http://10.255.255.1/file/x, a private address
                      that would hang if it were ever connected to
  /to?url=U&close=1   302 to U; close=1 closes the connection afterwards, so
                      a next hop to this same server needs a new one
  /user-agent         the request's User-Agent header as the body

Only the standard library; nothing is printed except real errors (a client
hanging up mid-body is expected and silent).
"""

import argparse
import collections
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import loopback  # noqa: E402

CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}

PAGE = (b"<!DOCTYPE html>\n<html><head><title>Not audio</title></head>\n"
        b"<body><p>This page is not an audio file.</p></body></html>\n")

ENDLESS_LENGTH = 1 << 40
CHUNK = 64 * 1024

counts = collections.Counter()
counts_lock = threading.Lock()


class Handler(loopback.Handler):
    server_version = "cesar-fetch-test"
    root = "."

    # ---- helpers ----------------------------------------------------------

    def head_only(self):
        return self.command == "HEAD"

    def send_body(self, status, body, content_type="text/plain; charset=utf-8", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not self.head_only():
            self.wfile.write(body)

    def redirect(self, location, close=False):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def read_file(self, name):
        # Only plain names: the tests never need more, and the server must
        # not hand out anything outside its root.
        if not name or "/" in name or name in (".", ".."):
            return None
        try:
            with open(os.path.join(self.root, name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def content_type(self, name):
        return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream")

    def not_found(self):
        self.send_body(404, b"not found\n")

    # ---- routes -------------------------------------------------------------

    def route_file(self, name):
        data = self.read_file(name)
        if data is None:
            return self.not_found()
        self.send_body(200, data, self.content_type(name))

    def route_redirect(self, rest):
        hops, _, name = rest.partition("/")
        if not hops.isdigit():
            return self.not_found()
        n = int(hops)
        if n <= 0:
            return self.route_file(name)
        self.redirect("/file/" + name if n == 1 else "/redirect/%d/%s" % (n - 1, name))

    def route_slow(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "100")
        self.end_headers()
        if self.head_only():
            return
        for _ in range(100):
            self.wfile.write(b"s")
            self.wfile.flush()
            time.sleep(1)

    def route_lie(self, name):
        data = self.read_file(name)
        if data is None:
            return self.not_found()
        self.send_response(200)
        self.send_header("Content-Type", self.content_type(name))
        self.send_header("Content-Length", str(len(data) + 1000))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if not self.head_only():
            self.wfile.write(data)

    def route_nolength(self, name):
        data = self.read_file(name)
        if data is None:
            return self.not_found()
        self.send_response(200)
        self.send_header("Content-Type", self.content_type(name))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.head_only():
            return
        for i in range(0, len(data), CHUNK):
            piece = data[i:i + CHUNK]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")

    def route_big(self, query):
        q = urllib.parse.parse_qs(query)
        total = int(q["bytes"][0]) if "bytes" in q else None
        announce = q.get("length", ["1"])[0] != "0"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if announce:
            self.send_header("Content-Length", str(total if total is not None else ENDLESS_LENGTH))
        else:
            # the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.head_only():
            return
        zeros = bytes(CHUNK)
        sent = 0
        while total is None or sent < total:
            n = CHUNK if total is None else min(CHUNK, total - sent)
            self.wfile.write(zeros[:n])
            sent += n

    def route_count(self):
        with counts_lock:
            lines = ["%s %d\n" % (k, v) for k, v in sorted(counts.items())]
        self.send_body(200, "".join(lines).encode())

    def route_to(self, query):
        q = urllib.parse.parse_qs(query)
        if "url" not in q:
            return self.send_body(400, b"url missing\n")
        self.redirect(q["url"][0], close=q.get("close", ["0"])[0] == "1")

    def dispatch(self):
        path, _, query = self.path.partition("?")
        if path != "/count":
            with counts_lock:
                counts[self.path] += 1
        if path.startswith("/file/"):
            return self.route_file(path[len("/file/"):])
        if path.startswith("/redirect/"):
            return self.route_redirect(path[len("/redirect/"):])
        if path == "/loop":
            return self.redirect("/loop")
        if path == "/404":
            return self.not_found()
        if path == "/slow":
            return self.route_slow()
        if path.startswith("/lie/"):
            return self.route_lie(path[len("/lie/"):])
        if path.startswith("/nolength/"):
            return self.route_nolength(path[len("/nolength/"):])
        if path == "/big":
            return self.route_big(query)
        if path == "/page.html":
            return self.send_body(200, PAGE, CONTENT_TYPES[".html"])
        if path == "/count":
            return self.route_count()
        if path == "/to-private":
            return self.redirect("http://10.255.255.1/file/x")
        if path == "/to":
            return self.route_to(query)
        if path == "/user-agent":
            return self.send_body(200, self.headers.get("User-Agent", "").encode())
        return self.not_found()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--root", required=True)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()
    Handler.root = args.root
    loopback.serve(Handler, args.port, args.ready)


if __name__ == "__main__":
    main()
