"""What the tests' stand-in HTTP servers on loopback share: a threading server
that shrugs off clients hanging up, and the ready file through which a test
learns the ephemeral port."""
import os
import sys
import tempfile
from http.server import ThreadingHTTPServer


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
