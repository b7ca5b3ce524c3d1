#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, for the model-download tests.

Usage: hub.py --root DIR --ready FILE --log FILE [--port 0] [--redirect]
              [--drop-after K] [--drop-times N] [--rate BYTES_PER_SECOND]
              [--require-token TOKEN] [--cdn-host NAME] [--ignore-range]
              [--repo-dirs] [--lfs] [--gated REPO=TOKEN[,TOKEN...]]...
              [--valid-token TOKEN]... [--corrupt NAME]... [--echo-token]

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
  --repo-dirs
        files are looked up per repository: /<org>/<repo>/resolve/<rev>/<f>
        serves DIR/<org>/<repo>/<f> (and the CDN path is /cdn/<org>/<repo>/<f>)
  --lfs
        the resolve response (the 302 with --redirect, else the file itself)
        carries what the hub sends for LFS files: X-Linked-Etag and ETag set
        to the quoted SHA-256 of the file, and X-Linked-Size
  --gated REPO=T1,T2
        REPO ("org/name") is gated, and tokens T1, T2 may download it. A
        request without a token gets 401 (X-Error-Code: GatedRepo,
        X-Error-Message: Access to model REPO is restricted. You must have
        access to it and be authenticated to access it. Please log in.); a
        valid token without access 403 (X-Error-Code: GatedRepo, "... is
        restricted and you are not in the authorized list. Visit
        https://huggingface.co/REPO to ask for access.")
  --valid-token T
        T is a valid token (of an account with access to nothing gated);
        every token named by --gated is valid too. Once either option is
        given, a request whose Bearer token is not valid gets 401
        (X-Error-Message: Invalid credentials in Authorization header), as
        the hub does, gated repository or not
  --corrupt NAME
        the bytes of files whose path contains NAME are served with one
        byte changed, under the etag of the right ones
  --echo-token
        a careless server: the 401 for an invalid token quotes the token in
        its X-Error-Message (the client must not repeat it)

Every request is appended to the log FILE as one JSON object per line:
{"method", "path", "range" (the Range header or null), "auth" (true when an
Authorization header came), "status", "sent" (body bytes written)}, written
when the response is finished, so a test can wait for it. Tokens are never
written to the log.

Only the standard library; nothing is printed except real errors.
"""

import argparse
import collections
import hashlib
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import loopback  # noqa: E402

CHUNK = 64 * 1024
RESOLVE = re.compile(r"^/((?:[^/]+/)+)resolve/[^/]+/([^/]+)$")
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class Hub:
    """Settings and shared state of one server."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.bodies_sent = collections.Counter()  # per file, for --drop-times
        self.gated = {}  # repo -> tokens with access
        for spec in args.gated:
            repo, _, tokens = spec.partition("=")
            self.gated[repo] = set(t for t in tokens.split(",") if t)
        self.valid_tokens = set(args.valid_token)
        for tokens in self.gated.values():
            self.valid_tokens |= tokens
        self.checks_tokens = bool(args.gated or args.valid_token)

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


class Handler(loopback.Handler):
    server_version = "cesar-hub-test"
    hub = None  # set in main()

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
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            self.wfile.write(body)
            sent = len(body)
        self.finish_log(status, sent)

    def redirect(self, location, data=None):
        self.send_response(302)
        self.send_header("Location", location)
        if data is not None:
            self.lfs_headers(data)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.finish_log(302, 0)

    def read_file(self, name):
        """The bytes of name (a file, or with --repo-dirs "org/repo/file")
        under the root; None when there is no such file."""
        parts = name.split("/") if name else []
        if len(parts) != (3 if self.hub.args.repo_dirs else 1):
            return None
        if any(not p or p in (".", "..") for p in parts):
            return None
        try:
            with open(os.path.join(self.hub.args.root, *parts), "rb") as f:
                return f.read()
        except OSError:
            return None

    def lfs_headers(self, data):
        if not self.hub.args.lfs:
            return
        digest = hashlib.sha256(data).hexdigest()
        self.send_header("X-Linked-Etag", '"%s"' % digest)
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("ETag", '"%s"' % digest)

    def served_bytes(self, name, data):
        """data as --corrupt says to serve it."""
        if data and any(c in name for c in self.hub.args.corrupt):
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
            return bytes(data)
        return data

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

    def serve_file(self, name, resolve=False):
        data = self.read_file(name)
        if data is None:
            return self.send_json_error(404, "EntryNotFound", "Entry not found")
        announced = data
        data = self.served_bytes(name, data)
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
        if resolve and self.hub.args.lfs:
            self.lfs_headers(announced)
        else:
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
        repo = m.group(1).strip("/")
        name = repo + "/" + m.group(2) if self.hub.args.repo_dirs else m.group(2)
        token = self.hub.args.require_token
        if token and self.headers.get("Authorization") != "Bearer " + token:
            return self.send_json_error(401, "RepoNotFound", "Invalid username or password.")
        if self.refuse_access(repo):
            return
        if self.hub.args.redirect:
            data = self.read_file(name)
            if data is None:
                return self.send_json_error(404, "EntryNotFound", "Entry not found")
            port = self.server.server_address[1]
            return self.redirect("http://%s:%d/cdn/%s?signature=test"
                                 % (self.hub.args.cdn_host, port, name), data)
        return self.serve_file(name, resolve=True)

    def refuse_access(self, repo):
        """Answers 401/403 the way the hub does when the credentials do not
        allow repo; True when it did."""
        if not self.hub.checks_tokens:
            return False
        auth = self.headers.get("Authorization")
        given = auth[len("Bearer "):] if auth and auth.startswith("Bearer ") else None
        if auth is not None and given not in self.hub.valid_tokens:
            message = "Invalid credentials in Authorization header"
            if self.hub.args.echo_token:
                message += " (got %s)" % given
            self.send_json_error(401, None, message)
            return True
        allowed = self.hub.gated.get(repo)
        if allowed is None:
            return False
        if given is None:
            self.send_json_error(401, "GatedRepo", "Access to model %s is restricted. You must "
                                 "have access to it and be authenticated to access it. Please "
                                 "log in." % repo)
            return True
        if given not in allowed:
            self.send_json_error(403, "GatedRepo", "Access to model %s is restricted and you "
                                 "are not in the authorized list. Visit https://huggingface.co/"
                                 "%s to ask for access." % (repo, repo))
            return True
        return False


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
    ap.add_argument("--repo-dirs", action="store_true")
    ap.add_argument("--lfs", action="store_true")
    ap.add_argument("--gated", action="append", default=[])
    ap.add_argument("--valid-token", action="append", default=[])
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--echo-token", action="store_true")
    args = ap.parse_args()
    Handler.hub = Hub(args)
    loopback.serve(Handler, args.port, args.ready)


if __name__ == "__main__":
    main()
