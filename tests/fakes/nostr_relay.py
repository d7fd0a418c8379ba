#!/usr/bin/env python3
"""A loopback Nostr relay (NIP-01) that does NOT validate events: it
stores whatever it is given, forged or not, and serves it to matching
subscriptions, so switchboard's integration tests can check that the
daemon itself rejects forgeries.  The websocket framing is
jetstream_server.py's.

    relay = NostrRelay(events=[...])
    port = relay.start()               # ws://127.0.0.1:PORT/
    relay.add_events([...])            # stored, and sent live
    relay.drop_connections()           # TCP closed without a close frame
    relay.pause(); relay.resume()      # refuse new connections meanwhile
    relay.refuse_next(1, "error: ...") # answer the next REQ with CLOSED
    relay.subscriptions                # every REQ received, in order
    relay.sent                         # every event sent, in order
    relay.answer_events("false", "blocked: no")  # how EVENT is answered
    relay.received                     # every EVENT received, in order
    relay.stop()

What it does with a client's messages: REQ stores the subscription (the
same id replaces it), sends the stored events that match (newest first,
"limit" honoured), then EOSE; later events that match are sent live.
CLOSE removes a subscription; EVENT stores the event and answers OK
(true, with "duplicate: ..." when the id is stored already).  How EVENT
is answered can be changed (answer_events): "false" answers OK false
with a message and stores nothing; "hold" stores nothing and never
answers, as a relay too slow for the client's timeout; "drop" closes
the connection without answering.
With ignore_filters=True it behaves like a relay that does not index
tags: every stored and live event goes to every subscription.  With
max_limit=N it answers a REQ with at most N stored events, as real
relays cap "limit"; trickle=S waits S seconds between stored events.

As a script (see --help) it serves --events and takes control requests
on the same port: POST /control/events (JSON lines, or a JSON array),
POST /control/drop, POST /control/notice?msg=...,
POST /control/answer?mode=...&msg=..., GET /control/state.

Python 3 standard library only.
"""

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jetstream_server import (OP_BINARY, OP_CLOSE, OP_CONT,  # noqa: E402
                              OP_PING, OP_PONG, OP_TEXT, frame,
                              read_frame, send_upgrade)
from loopback import (MAX_REQUEST, Loopback, ProtocolError,  # noqa: E402
                      arg_parser, close_socket, http_error, http_reply,
                      listen, parse_args, read_http_head, serve_main)


def parse_events(text):
    """Events from JSON lines, each an event or a relay message
    ["EVENT", event] / ["EVENT", sub_id, event]; or one JSON array of
    events."""
    text = text.strip()
    try:
        whole = json.loads(text) if text else []
    except ValueError:
        whole = None
    if isinstance(whole, list) and all(isinstance(v, dict) for v in whole):
        return whole
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        v = json.loads(line)
        if isinstance(v, list) and v:
            v = v[-1]
        if not isinstance(v, dict):
            raise ValueError("not an event: %r" % line[:60])
        out.append(v)
    return out


def load_events(path):
    with open(path, encoding="utf-8") as f:
        return parse_events(f.read())


def tag_values(ev, letter):
    """The first values of ev's single-letter tags named letter (only
    the first value of a tag is indexed, NIP-01)."""
    out = []
    for t in ev.get("tags") or []:
        if isinstance(t, list) and len(t) >= 2 and t[0] == letter:
            out.append(t[1])
    return out


def filter_matches(f, ev):
    """NIP-01: every condition of one filter holds."""
    if not isinstance(f, dict):
        return False
    if "ids" in f and ev.get("id") not in f["ids"]:
        return False
    if "authors" in f and ev.get("pubkey") not in f["authors"]:
        return False
    if "kinds" in f and ev.get("kind") not in f["kinds"]:
        return False
    ts = ev.get("created_at")
    if not isinstance(ts, int):
        return False
    if "since" in f and ts < f["since"]:
        return False
    if "until" in f and ts > f["until"]:
        return False
    for k, want in f.items():
        if len(k) == 2 and k[0] == "#":
            if not set(tag_values(ev, k[1])) & set(want):
                return False
    return True


def encode(msg):
    return json.dumps(msg, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


class Conn:
    def __init__(self, relay, number, sock):
        self.relay = relay
        self.number = number
        self.sock = sock
        self.wlock = threading.Lock()
        self.closed = False
        self.closed_by = None
        self.subs = {}          # sub id -> filters
        self.sent = 0           # EVENT messages sent
        self.opened = time.time()

    def send(self, msg):
        data = msg if isinstance(msg, bytes) else encode(msg)
        with self.wlock:
            if self.closed:
                raise EOFError("closed")
            self.sock.sendall(frame(OP_TEXT, data))

    def close(self, why):
        with self.relay.cond:
            if self.closed:
                return
            self.closed = True
            self.closed_by = why
            self.relay.cond.notify_all()
        close_socket(self.sock)


class NostrRelay(Loopback):
    """A non-validating NIP-01 relay on 127.0.0.1; start() returns the
    port."""

    def __init__(self, events=(), ignore_filters=False, port=0,
                 lifetime=300, verbose=False, name="relay", max_limit=None,
                 trickle=0):
        self.events = []
        self.max_limit = max_limit
        self.trickle = trickle
        self.sent_log = []      # (conn, sub, event) for every EVENT sent
        self.stored_keys = set()
        self.ignore_filters = ignore_filters
        self._loopback_init(lifetime, port, verbose)
        self.port = port
        self.name = name
        self.label = "nostr_relay " + name
        self.conns = []
        self.reqs = []          # every REQ: dict, in arrival order
        self.client_events = [] # EVENTs published by clients
        self.refusals = []      # CLOSED messages for the next REQs
        self.paused = False
        self.refused_handshakes = 0
        self.answer_mode = "true"   # or "false", "hold", "drop"
        self.answer_msg = ""
        self.received_log = []  # every EVENT message: dict, in order
        self.sock = None
        for ev in events:
            self._store(ev)

    # Life cycle.

    def start(self):
        self.sock = listen(self.want_port, 64)
        self.port = self.sock.getsockname()[1]
        self._thread(self._accept_loop, self.sock, self._serve)
        self._watch_lifetime()
        return self.port

    def url(self):
        return "ws://127.0.0.1:%d/" % self.port

    def stop(self):
        if not self._mark_stopping():
            return
        with self.cond:
            conns = list(self.conns)
        close_socket(self.sock)
        for c in conns:
            c.close("server stopped")

    # Control.

    def add_events(self, events, live=True):
        """Store events (exact duplicates ignored) and send them to the
        subscriptions they match."""
        with self.cond:
            fresh = [ev for ev in events if self._store(ev)]
            targets = [(c, sid, fs) for c in self.conns if not c.closed
                       for sid, fs in c.subs.items()]
            self.cond.notify_all()
        if not live:
            return
        for ev in fresh:
            for c, sid, fs in targets:
                if self.ignore_filters or \
                        any(filter_matches(f, ev) for f in fs):
                    self._send_event(c, sid, ev)

    def drop_connections(self):
        """Close every connection abruptly (no close frame)."""
        with self.cond:
            conns = [c for c in self.conns if not c.closed]
        for c in conns:
            c.close("dropped")
        return len(conns)

    def pause(self):
        """Refuse new connections (HTTP 503) until resume()."""
        with self.cond:
            self.paused = True

    def resume(self):
        with self.cond:
            self.paused = False

    def refuse_next(self, n, message):
        """Answer the next n REQs with ["CLOSED", sub, message]."""
        with self.cond:
            self.refusals.extend([message] * n)

    def answer_events(self, mode, message=""):
        """Answer later EVENTs: "true" (store, OK true), "false" (OK
        false with message, not stored), "hold" (never answered, not
        stored) or "drop" (connection closed, not stored)."""
        if mode not in ("true", "false", "hold", "drop"):
            raise ValueError("unknown answer mode %r" % mode)
        with self.cond:
            self.answer_mode = mode
            self.answer_msg = message

    @property
    def received(self):
        """Every EVENT message received: {"conn", "event", "time",
        "answer"} in arrival order."""
        with self.cond:
            return [dict(r) for r in self.received_log]

    def broadcast(self, msg):
        """Send msg (a JSON value, or raw bytes) on every connection."""
        with self.cond:
            conns = [c for c in self.conns if not c.closed]
        for c in conns:
            try:
                c.send(msg)
            except (OSError, EOFError):
                c.close(c.closed_by or "eof")

    @property
    def subscriptions(self):
        with self.cond:
            return [dict(r) for r in self.reqs]

    @property
    def sent(self):
        with self.cond:
            return list(self.sent_log)

    @property
    def connections(self):
        with self.cond:
            return [{"conn": c.number, "open": not c.closed,
                     "closed_by": c.closed_by, "sent": c.sent,
                     "subs": sorted(c.subs), "opened": c.opened}
                    for c in self.conns]

    def state(self):
        return {"port": self.port, "events": len(self.events),
                "connections": self.connections,
                "subscriptions": self.subscriptions,
                "client_events": len(self.client_events),
                "received": [{"conn": r["conn"], "id": r["event"].get("id"),
                              "answer": r["answer"]}
                             for r in self.received_log],
                "refused_handshakes": self.refused_handshakes}

    # Internals.

    def _store(self, ev):
        # Identical copies are one event; a copy with the same id but
        # other contents (a forgery) is kept, as a relay that checks
        # nothing would.
        key = json.dumps(ev, sort_keys=True)
        if key in self.stored_keys:
            return False
        self.stored_keys.add(key)
        self.events.append(ev)
        return True

    def _send_event(self, conn, sid, ev):
        try:
            conn.send(["EVENT", sid, ev])
            with self.cond:
                conn.sent += 1
                self.sent_log.append((conn.number, sid, ev))
                self.cond.notify_all()
        except (OSError, EOFError):
            conn.close(conn.closed_by or "eof")

    def _read_request(self, sock):
        parts, headers, body = read_http_head(sock)
        if len(parts) != 3:
            raise ProtocolError("bad request line")
        n = int(headers.get("content-length", "0") or 0)
        if n > MAX_REQUEST:
            raise ProtocolError("body too large")
        while len(body) < n:
            chunk = sock.recv(n - len(body))
            if not chunk:
                raise EOFError("closed during body")
            body += chunk
        return parts[0], parts[1], headers, body

    def _serve(self, sock):
        try:
            sock.settimeout(10)
            method, target, headers, body = self._read_request(sock)
            url = urllib.parse.urlsplit(target)
            if url.path.startswith("/control/"):
                return self._control(sock, method, url, body)
            key = headers.get("sec-websocket-key", "")
            if headers.get("upgrade", "").lower() != "websocket" or not key:
                # NIP-11 would answer here; no client of ours asks.
                return http_error(sock, 400, "not a websocket upgrade")
            with self.cond:
                paused = self.paused
                if paused:
                    self.refused_handshakes += 1
                    self.cond.notify_all()
            if paused:
                return http_reply(sock, 503, "paused\n")
            send_upgrade(sock, key)
            sock.settimeout(None)
        except (OSError, EOFError, ProtocolError, UnicodeError,
                ValueError) as e:
            self._say("handshake failed: %s", e)
            sock.close()
            return
        with self.cond:
            if self.stopping:
                sock.close()
                return
            conn = Conn(self, len(self.conns) + 1, sock)
            self.conns.append(conn)
            self.cond.notify_all()
        self._say("connection %d", conn.number)
        self._reader(conn)

    def _control(self, sock, method, url, body):
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/control/state" and method == "GET":
            return http_reply(sock, 200, json.dumps(self.state()) + "\n",
                              "application/json")
        if url.path == "/control/events" and method == "POST":
            try:
                evs = parse_events(body.decode("utf-8"))
            except (UnicodeError, ValueError) as e:
                return http_reply(sock, 400, "bad events: %s\n" % e)
            self.add_events(evs)
            return http_reply(sock, 200, "%d\n" % len(evs))
        if url.path == "/control/drop" and method == "POST":
            return http_reply(sock, 200, "%d\n" % self.drop_connections())
        if url.path == "/control/answer" and method == "POST":
            try:
                self.answer_events(q.get("mode", ["true"])[0],
                                   q.get("msg", [""])[0])
            except ValueError as e:
                return http_reply(sock, 400, "%s\n" % e)
            return http_reply(sock, 200, "ok\n")
        if url.path == "/control/notice" and method == "POST":
            self.broadcast(["NOTICE", q.get("msg", ["hello"])[0]])
            return http_reply(sock, 200, "ok\n")
        return http_reply(sock, 404, "unknown control request\n")

    def _reader(self, conn):
        parts, opcode0 = [], None
        try:
            while True:
                fin, op, payload = read_frame(conn.sock, True)
                if op == OP_PING:
                    with conn.wlock:
                        conn.sock.sendall(frame(OP_PONG, payload))
                elif op == OP_PONG:
                    pass
                elif op == OP_CLOSE:
                    try:
                        with conn.wlock:
                            conn.sock.sendall(frame(OP_CLOSE,
                                                    payload[:2]))
                    except OSError:
                        pass
                    conn.close("client")
                    return
                elif op in (OP_TEXT, OP_BINARY, OP_CONT):
                    if op != OP_CONT:
                        opcode0 = op
                    parts.append(payload)
                    if fin:
                        self._message(conn, opcode0, b"".join(parts))
                        parts, opcode0 = [], None
                else:
                    raise ProtocolError("unknown opcode %d" % op)
        except ProtocolError as e:
            self._say("connection %d: %s", conn.number, e)
            conn.close("protocol error: %s" % e)
        except (OSError, EOFError):
            conn.close(conn.closed_by or "eof")

    def _message(self, conn, opcode, data):
        try:
            msg = json.loads(data.decode("utf-8"))
        except (UnicodeError, ValueError):
            msg = None
        if opcode != OP_TEXT or not isinstance(msg, list) or not msg or \
                not isinstance(msg[0], str):
            conn.send(["NOTICE", "invalid: not a relay message"])
            return
        kind = msg[0]
        if kind == "REQ" and len(msg) >= 2 and isinstance(msg[1], str):
            self._req(conn, msg[1], msg[2:])
        elif kind == "CLOSE" and len(msg) == 2:
            with self.cond:
                conn.subs.pop(msg[1], None)
        elif kind == "EVENT" and len(msg) == 2 and isinstance(msg[1], dict):
            self._client_event(conn, msg[1])
        else:
            conn.send(["NOTICE", "invalid: unsupported message %s" % kind])

    def _client_event(self, conn, ev):
        with self.cond:
            mode, text = self.answer_mode, self.answer_msg
            self.received_log.append({"conn": conn.number, "event": ev,
                                      "time": time.time(), "answer": mode})
            dup = mode == "true" and any(
                e.get("id") == ev.get("id") for e in self.events)
            if mode == "true":
                self.client_events.append(ev)
            self.cond.notify_all()
        self._say("connection %d: EVENT %s, answer %s", conn.number,
                  ev.get("id"), mode)
        if mode == "true":
            self.add_events([ev])
            conn.send(["OK", ev.get("id", ""), True,
                       "duplicate: already have this event" if dup else ""])
        elif mode == "false":
            conn.send(["OK", ev.get("id", ""), False, text])
        elif mode == "drop":
            conn.close("dropped on EVENT")

    def _req(self, conn, sid, filters):
        with self.cond:
            refusal = self.refusals.pop(0) if self.refusals else None
            self.reqs.append({"conn": conn.number, "sub": sid,
                              "filters": filters, "time": time.time(),
                              "refused": refusal})
            if refusal is None:
                conn.subs[sid] = filters
            stored = list(self.events)
            self.cond.notify_all()
        self._say("connection %d: REQ %s %s", conn.number, sid,
                  json.dumps(filters))
        if refusal is not None:
            conn.send(["CLOSED", sid, refusal])
            return
        out = []
        for ev in stored:
            if self.ignore_filters or any(filter_matches(f, ev)
                                          for f in filters):
                out.append(ev)
        # Stored events come newest first, as relays answer "limit".
        out.sort(key=lambda e: e.get("created_at", 0), reverse=True)
        limits = [f.get("limit") for f in filters if isinstance(f, dict)]
        if limits and all(isinstance(n, int) for n in limits):
            out = out[:max(limits)]
        if self.max_limit is not None:
            out = out[:self.max_limit]
        for i, ev in enumerate(out):
            if i and self.trickle:
                time.sleep(self.trickle)
            if conn.closed:
                return
            self._send_event(conn, sid, ev)
        try:
            conn.send(["EOSE", sid])
        except (OSError, EOFError):
            conn.close(conn.closed_by or "eof")


def main(argv=None):
    ap = arg_parser(__doc__)
    ap.add_argument("--events", help="events to serve, JSON lines")
    ap.add_argument("--ignore-filters", action="store_true",
                    help="send every event to every subscription")
    ap.add_argument("--max-limit", type=int, metavar="N",
                    help="at most N stored events per REQ")
    a = parse_args(ap, argv)
    relay = NostrRelay(events=load_events(a.events) if a.events else (),
                       ignore_filters=a.ignore_filters, port=a.port,
                       max_limit=a.max_limit,
                       lifetime=a.lifetime, verbose=a.verbose)
    return serve_main(relay, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
