#!/usr/bin/env python3
"""A loopback Slack for Socket Mode: apps.connections.open over HTTP
(checks the app-level Bearer token, hands out a one-time websocket URL
with a fresh ticket) and the websocket itself (refuses unknown or reused
tickets, says hello, sends the envelopes a test asks for, records each
ack with its delay, can ask the client to reconnect or drop the TCP
connection), for switchboard's integration tests.

Use it as a module:

    srv = SlackSocketServer(token="xapp-1-test")
    port = srv.start()      # api_url = "http://127.0.0.1:PORT/api"
    srv.wait(lambda s: s.hellos() >= 1, 10)
    eid = srv.send_envelope("slash_commands", {...})
    ack = srv.wait(lambda s: s.ack_for(eid), 3)
    srv.stop()

or as a script (see --help).  Python 3 standard library only.
"""

import json
import struct
import sys
import threading
import time
import urllib.parse
import uuid

from loopback import (Loopback, ProtocolError, arg_parser, close_socket,
                      http_error, http_reply, listen, parse_args,
                      read_http_head, serve_main)
from jetstream_server import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING,
                              OP_PONG, OP_TEXT, frame, read_frame,
                              send_upgrade)

OPEN_PATH = "/api/apps.connections.open"
LINK_PATH = "/link/"
APP_ID = "A0FAKESOCKET"
MAX_BODY = 65536


class Conn:
    """One websocket client and what it sent back."""

    def __init__(self, number, sock, ticket):
        self.number = number
        self.sock = sock
        self.ticket = ticket
        self.wlock = threading.Lock()
        self.closed = False
        self.closed_by = None
        self.opened = time.monotonic()
        self.hello_sent = False
        self.disconnect_sent = False
        self.acks = []          # dicts, see SlackSocketServer._ack
        self.bad = []           # client messages that were not acks
        self.pings = 0

    def send(self, data):
        with self.wlock:
            self.sock.sendall(data)

    def close(self, by):
        if self.closed:
            return
        self.closed = True
        self.closed_by = by
        close_socket(self.sock)


class SlackSocketServer(Loopback):
    label = "slack_socket"

    def __init__(self, token, lifetime=300, port=0, verbose=False):
        self.token = token
        self.open_delay = 0.0   # seconds before answering an open
        self.fail_opens = 0     # answer the next N opens ok:false
        self._loopback_init(lifetime, port, verbose)
        self.opens = []         # one dict per apps.connections.open
        self.tickets = {}       # ticket -> "issued" | "used"
        self.refused = []       # (ticket, reason) of refused handshakes
        self.conns = []
        self.sent = {}          # envelope_id -> monotonic time sent
        self.lsock = None

    # Public API.

    def start(self):
        self.lsock = listen(self.want_port, 16)
        self.port = self.lsock.getsockname()[1]
        self._thread(self._accept_loop, self.lsock, self._serve)
        self._watch_lifetime()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        close_socket(self.lsock)
        for c in list(self.conns):
            c.close("server")
        self._join_threads()

    @property
    def api_url(self):
        return "http://127.0.0.1:%d/api" % self.port

    def current(self):
        """The newest connection still open that said hello, or None."""
        with self.cond:
            for c in reversed(self.conns):
                if not c.closed and c.hello_sent:
                    return c
        return None

    def hellos(self):
        with self.cond:
            return sum(1 for c in self.conns if c.hello_sent)

    def open_conns(self):
        with self.cond:
            return [c for c in self.conns if not c.closed]

    def send_json(self, obj, conn=None):
        self.send_raw(json.dumps(obj).encode("utf-8"), OP_TEXT, conn)

    def send_raw(self, data, opcode=OP_TEXT, conn=None):
        conn = conn or self.current()
        if conn is None:
            raise RuntimeError("no open connection")
        conn.send(frame(opcode, data))

    def send_envelope(self, etype, payload, envelope_id=None, conn=None,
                      retry_attempt=0):
        """Send one envelope as Slack does; returns its envelope_id."""
        eid = envelope_id or str(uuid.uuid4())
        env = {"envelope_id": eid, "type": etype, "payload": payload,
               "accepts_response_payload": etype == "slash_commands",
               "retry_attempt": retry_attempt,
               "retry_reason": "timeout" if retry_attempt else ""}
        with self.cond:
            self.sent.setdefault(eid, time.monotonic())
        self.send_json(env, conn)
        return eid

    def disconnect(self, reason="refresh_requested", conn=None):
        """Ask the client to reconnect; the socket stays open."""
        conn = conn or self.current()
        conn.disconnect_sent = True
        self.send_json({"type": "disconnect", "reason": reason,
                        "debug_info": {"host": "applink-fake"}}, conn)
        return conn

    def drop(self, conn=None):
        """Close the TCP connection without a websocket close."""
        conn = conn or self.current()
        conn.close("drop")
        return conn

    def acks(self):
        """Every ack received, on any connection, oldest first."""
        with self.cond:
            out = [a for c in self.conns for a in c.acks]
        return sorted(out, key=lambda a: a["time"])

    def ack_for(self, eid):
        """The acks of envelope eid (a list; empty if none yet)."""
        return [a for a in self.acks() if a["envelope_id"] == eid]

    # Internals.

    def _serve(self, sock):
        try:
            sock.settimeout(10)
            parts, headers, rest = read_http_head(sock)
            if len(parts) != 3:
                return http_error(sock, 400, "bad request line")
            method, target, _ = parts
            url = urllib.parse.urlsplit(target)
            if url.path == OPEN_PATH:
                return self._open(sock, method, headers, rest)
            if url.path == LINK_PATH:
                return self._link(sock, method, headers, url.query)
            return http_error(sock, 404, "not found")
        except (OSError, EOFError, ProtocolError, UnicodeError) as e:
            self._say("request failed: %s", e)
            sock.close()

    def _open(self, sock, method, headers, rest):
        """apps.connections.open: POST, token in the Authorization
        header, answered with HTTP 200 either way, as Slack does."""
        if method != "POST":
            return http_error(sock, 405, "POST only")
        try:
            n = int(headers.get("content-length", "0"))
        except ValueError:
            return http_error(sock, 400, "bad Content-Length")
        if n > MAX_BODY:
            return http_error(sock, 400, "body too large")
        body = rest
        while len(body) < n:
            chunk = sock.recv(n - len(body))
            if not chunk:
                raise EOFError("closed in the body")
            body += chunk
        auth = headers.get("authorization", "")
        rec = {"time": time.monotonic(), "body": body.decode("latin-1"),
               "content_type": headers.get("content-type"),
               "auth_ok": auth == "Bearer " + self.token}
        with self.cond:
            self.opens.append(rec)
            self.cond.notify_all()
            delay = self.open_delay
        if delay:
            with self.cond:
                self.cond.wait_for(lambda: self.stopping, delay)
        with self.cond:
            failing = self.fail_opens > 0
            if failing:
                self.fail_opens -= 1
        if not auth.startswith("Bearer "):
            answer = {"ok": False, "error": "not_authed"}
        elif not rec["auth_ok"]:
            answer = {"ok": False, "error": "invalid_auth"}
        elif failing:
            answer = {"ok": False, "error": "internal_error"}
        else:
            ticket = str(uuid.uuid4())
            with self.cond:
                self.tickets[ticket] = "issued"
            answer = {"ok": True, "url": "ws://127.0.0.1:%d%s?ticket=%s"
                      "&app_id=%s" % (self.port, LINK_PATH, ticket, APP_ID)}
            rec["ticket"] = ticket
        rec["answer"] = answer
        self._say("open: %s", answer)
        with self.cond:
            self.cond.notify_all()
        http_reply(sock, 200, json.dumps(answer), "application/json")

    def _link(self, sock, method, headers, query):
        key = headers.get("sec-websocket-key", "")
        if method != "GET" or \
                headers.get("upgrade", "").lower() != "websocket" or not key:
            return http_error(sock, 400, "not a websocket upgrade")
        ticket = (urllib.parse.parse_qs(query).get("ticket") or [""])[0]
        with self.cond:
            state = self.tickets.get(ticket)
            if state == "issued":
                self.tickets[ticket] = "used"
            else:
                self.refused.append((ticket, state or "unknown"))
                self.cond.notify_all()
        if state != "issued":
            self._say("refused ticket %s (%s)", ticket, state or "unknown")
            return http_error(sock, 401, "invalid ticket")
        send_upgrade(sock, key)
        sock.settimeout(None)
        with self.cond:
            if self.stopping:
                sock.close()
                return
            conn = Conn(len(self.conns) + 1, sock, ticket)
            self.conns.append(conn)
        self._say("connection %d", conn.number)
        try:
            conn.send(frame(OP_TEXT, json.dumps({
                "type": "hello", "num_connections": 1,
                "debug_info": {"host": "applink-fake", "build_number": 1,
                               "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID}}).encode()))
            with self.cond:
                conn.hello_sent = True
                self.cond.notify_all()
            self._reader(conn)
        except (OSError, EOFError):
            pass
        except ProtocolError as e:
            self._say("connection %d: %s", conn.number, e)
            try:
                conn.send(frame(OP_CLOSE, struct.pack("!H", 1002)))
            except OSError:
                pass
        with self.cond:
            conn.close(conn.closed_by or "eof")
            self.cond.notify_all()

    def _reader(self, conn):
        parts, opcode0 = [], None
        while True:
            fin, op, payload = read_frame(conn.sock, True)
            if op == OP_PING:
                conn.pings += 1
                conn.send(frame(OP_PONG, payload))
            elif op == OP_PONG:
                pass
            elif op == OP_CLOSE:
                try:
                    conn.send(frame(OP_CLOSE, payload[:2] or
                                    struct.pack("!H", 1000)))
                except OSError:
                    pass
                with self.cond:
                    conn.close("client")
                    self.cond.notify_all()
                return
            elif op in (OP_TEXT, OP_BINARY, OP_CONT):
                if (op == OP_CONT) != (opcode0 is not None):
                    raise ProtocolError("bad fragment sequence")
                if op != OP_CONT:
                    opcode0 = op
                parts.append(payload)
                if fin:
                    self._ack(conn, opcode0, b"".join(parts))
                    parts, opcode0 = [], None
            else:
                raise ProtocolError("unknown opcode %d" % op)

    def _ack(self, conn, opcode, data):
        now = time.monotonic()
        try:
            msg = json.loads(data.decode("utf-8"))
        except (UnicodeError, ValueError):
            msg = None
        with self.cond:
            if opcode != OP_TEXT or not isinstance(msg, dict) or \
                    not isinstance(msg.get("envelope_id"), str):
                conn.bad.append(data)
            else:
                eid = msg["envelope_id"]
                sent = self.sent.get(eid)
                conn.acks.append({
                    "conn": conn.number, "envelope_id": eid, "msg": msg,
                    "time": now,
                    "delay": None if sent is None else now - sent})
            self.cond.notify_all()


def main(argv=None):
    ap = arg_parser(__doc__, raw=True,
                    port_help="port to bind on 127.0.0.1 (default: "
                    "ephemeral)")
    ap.add_argument("--token", required=True,
                    help="the app-level token apps.connections.open "
                    "accepts")
    a = parse_args(ap, argv)
    srv = SlackSocketServer(a.token, lifetime=a.lifetime, port=a.port,
                            verbose=a.verbose)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
