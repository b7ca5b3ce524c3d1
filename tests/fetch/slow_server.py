#!/usr/bin/env python3
"""A throttling file server for the yt-dlp tests (tests/unit/test_fetch_ytdlp.c).

Usage: slow_server.py DIR [BYTES_PER_SECOND]

Binds 127.0.0.1 on an ephemeral port, prints "PORT N" on stdout (flushed)
once it accepts connections, and serves GET/HEAD /NAME from DIR with its
full Content-Length and an audio content type — so yt-dlp's generic
extractor takes it for a direct audio file — but trickles the body at
BYTES_PER_SECOND (default 64 KiB/s), so a test can cancel a download that
is certainly still running. python3 -m http.server cannot throttle.

Only the standard library; a client hanging up mid-body is expected and
silent.
"""

import http.server
import os
import sys
import time

CHUNK = 8192


def make_handler(root, rate):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # noqa: N802 - the base class's name
            pass

        def send_file_headers(self):
            name = os.path.basename(self.path.split("?", 1)[0])
            path = os.path.join(root, name)
            if not name or not os.path.isfile(path):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_response(200)
            self.send_header("Content-Type", "audio/x-wav")
            self.send_header("Content-Length", str(os.path.getsize(path)))
            self.end_headers()
            return path

        def do_HEAD(self):  # noqa: N802
            self.send_file_headers()

        def do_GET(self):  # noqa: N802
            path = self.send_file_headers()
            if path is None:
                return
            pause = CHUNK / float(rate)
            try:
                with open(path, "rb") as f:
                    while True:
                        block = f.read(CHUNK)
                        if not block:
                            break
                        self.wfile.write(block)
                        self.wfile.flush()
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def main():
    root = sys.argv[1]
    rate = int(sys.argv[2]) if len(sys.argv) > 2 else 64 * 1024
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(root, rate))
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
