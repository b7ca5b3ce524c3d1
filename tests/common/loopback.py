"""What the tests' stand-in HTTP servers on loopback share: a threading server
that shrugs off clients hanging up, a request handler base whose GET and HEAD
go to the subclass's dispatch(), the ready file through which a test learns
the ephemeral port, and the serving loop."""
import os
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    # slow or endless responses must not keep the process alive at exit
    daemon_threads = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def write_ready(path, port):
    """Writes the port into path through a temporary file and a rename, so a
    reader never sees a partial number."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ready-", dir=d)
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1, quiet, with GET and HEAD both handed to dispatch() (which
    the subclass defines; HEAD answers are told apart by self.command)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # noqa: N802 - the base class's name
        pass  # the tests read stdout/stderr only for real failures

    def do_GET(self):  # noqa: N802
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up: expected

    do_HEAD = do_GET


def serve(handler, port, ready):
    """Serves handler on 127.0.0.1:port (0 = any free port), announcing the
    port through the ready file, until interrupted."""
    httpd = Server(("127.0.0.1", port), handler)
    write_ready(ready, httpd.server_address[1])
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
