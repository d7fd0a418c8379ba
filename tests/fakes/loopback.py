"""What every loopback fake in tests/fakes shares: a listening socket on
127.0.0.1, the start/stop/wait life cycle with its lifetime limit, the
minimal HTTP reading and answering of the socket-level fakes, the port
file and the command-line options common to all of them.

Python 3 standard library only.
"""

import argparse
import os
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
MAX_REQUEST = 65536

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 426: "Upgrade Required",
           503: "Service Unavailable"}


class ProtocolError(Exception):
    pass


def write_atomic(path, data):
    """Readers polling for path never see it half written."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def listen(port, backlog):
    """A listening TCP socket on 127.0.0.1:port (0: ephemeral)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(backlog)
    return sock


def close_socket(sock):
    """Shut down first: that wakes a thread blocked on the socket."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def read_http_head(sock, limit=MAX_REQUEST):
    """(request line split on spaces, headers by lower-case name, bytes
    read past the head) of one HTTP request."""
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("closed during handshake")
        req += chunk
        if len(req) > limit:
            raise ProtocolError("request too large")
    head, rest = req.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return lines[0].split(" "), headers, rest


def http_reply(sock, status, text, ctype="text/plain", extra=""):
    """Answer one request and close the connection; extra is more
    header lines, each ending in CRLF."""
    body = text.encode("utf-8")
    try:
        sock.sendall(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n%s\r\n"
                      % (status, REASONS.get(status, "Error"), ctype,
                         len(body), extra)).encode() + body)
    except OSError:
        pass
    sock.close()


def http_error(sock, status, msg, extra=""):
    http_reply(sock, status, msg + "\n", extra=extra)


class Loopback:
    """The life cycle of a fake server.  A subclass calls
    _loopback_init() first, names itself in label (the prefix of its
    verbose messages) and, once stopping is set, closes what it
    serves."""

    label = "loopback"

    def _loopback_init(self, lifetime, port, verbose):
        self.lifetime = lifetime
        self.want_port = port
        self.verbose = verbose
        self.cond = threading.Condition()
        self.stopping = False
        self.threads = []
        self.port = None

    def wait(self, pred, timeout):
        """Wait until pred(self) is true; returns its last value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                v = pred(self)
                left = deadline - time.monotonic()
                if v or left <= 0:
                    return v
                self.cond.wait(min(left, 0.2))

    def _thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def _say(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("%s: %s\n" % (self.label, fmt % args))

    def _watch_lifetime(self):
        """Stop after self.lifetime seconds (0: never)."""
        if self.lifetime:
            self._thread(self._lifetime_watch)

    def _lifetime_watch(self):
        with self.cond:
            self.cond.wait_for(lambda: self.stopping, self.lifetime)
        if not self.stopping:
            self._say("lifetime over")
            self.stop()

    def _mark_stopping(self):
        """Set stopping; False if it already was (stop() ran)."""
        with self.cond:
            if self.stopping:
                return False
            self.stopping = True
            self.cond.notify_all()
        return True

    def _join_threads(self):
        me = threading.current_thread()
        for t in self.threads:
            if t is not me:
                t.join(5)

    def _accept_loop(self, lsock, serve):
        """Each connection to lsock served by serve(sock) in its own
        thread, until lsock is closed."""
        while not self.stopping:
            try:
                sock, _ = lsock.accept()
            except OSError:
                return
            self._thread(serve, sock)

    def _serve_http(self, server_class, handler_class):
        """An http.server on 127.0.0.1 whose handlers find this object
        in server_owner, serving in a thread; returns the server."""
        owner = self

        class Handler(handler_class):
            server_owner = owner

        httpd = server_class((HOST, self.want_port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._thread(httpd.serve_forever, 0.1)
        return httpd


def arg_parser(doc, raw=False, port_help=None):
    """The parser of a fake's script with the options every fake
    takes first; finish it with parse_args()."""
    kw = {"formatter_class": argparse.RawDescriptionHelpFormatter} \
        if raw else {}
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], **kw)
    ap.add_argument("--port-file", required=True,
                    help="write the listening port here")
    ap.add_argument("--port", type=int, default=0, help=port_help)
    return ap


def parse_args(ap, argv):
    """Adds the options every fake takes last, and parses."""
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


def run_until_orphaned(srv):
    """Serve until stopped, the lifetime ends or the parent dies."""
    parent = os.getppid()
    try:
        while not srv.wait(lambda s: s.stopping, 0.5):
            if os.getppid() != parent:
                break
    except KeyboardInterrupt:
        pass
    srv.stop()


def serve_main(srv, port_file):
    """A fake's script: start srv, publish its port, serve; exit
    status 0."""
    port = srv.start()
    write_atomic(port_file, ("%d\n" % port).encode())
    run_until_orphaned(srv)
    return 0
