#!/usr/bin/env python3
"""A loopback Jetstream v1 server that replays recorded events over a
hand-written RFC 6455 websocket, with the failures a real relay shows
(drops, fragments, garbage, silence), for switchboard's integration tests.

Use it as a script (see --help) or as a module:

    srv = JetstreamServer(repeat=3, trickle_ms=20)
    port = srv.start()
    ...
    srv.wait(lambda s: len(s.connections) >= 2, timeout=10)
    srv.stop()

Python 3 standard library only.
"""

import base64
import copy
import hashlib
import json
import os
import struct
import sys
import threading
import time
import urllib.parse

from loopback import (Loopback, ProtocolError, arg_parser, close_socket,
                      http_error, listen, parse_args, read_http_head,
                      serve_main, write_atomic)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EVENTS = os.path.join(HERE, "..", "data", "jetstream-corpus.jsonl")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

# The alphabet of atproto TIDs, so suffixed record keys still look like
# the real ones.
S32 = "234567abcdefghijklmnopqrstuvwxyz"

# Client messages larger than this are a protocol violation here: the
# daemon only ever sends pings, pongs, closes and small options updates.
MAX_CLIENT_MESSAGE = 1 << 20

POST = "app.bsky.feed.post"


def copy_suffix(k):
    """Record-key suffix of copy k (k >= 1): fixed width, so no copy's
    key is a prefix of another copy's."""
    if not 0 < k < 32 * 32:
        raise ValueError("copy number out of range: %d" % k)
    return "k" + S32[k // 32] + S32[k % 32]


def post_uri(did, rkey):
    return "at://%s/%s/%s" % (did, POST, rkey)


def web_url(did, rkey):
    return "https://bsky.app/profile/%s/post/%s" % (did, rkey)


def encode_event(ev):
    return json.dumps(ev, ensure_ascii=False,
        separators=(",", ":")).encode("utf-8")


def load_events(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            ev = json.loads(line)
            if not isinstance(ev.get("time_us"), int):
                raise ValueError("%s:%d: no time_us" % (path, lineno))
            events.append(ev)
    return events


def expand(events, repeat):
    """The served stream: events sorted by time_us, repeated.  Copy k of
    a commit gets record key + copy_suffix(k), and reply references to
    records of the same recording point into copy k too, so every copy
    is a self-consistent replica of the recorded traffic."""
    if repeat < 1:
        raise ValueError("repeat must be >= 1")
    base = sorted(events, key=lambda e: e["time_us"])
    if not base:
        return []
    span = base[-1]["time_us"] - base[0]["time_us"]
    recorded = set()
    for e in base:
        c = e.get("commit")
        if isinstance(c, dict) and "rkey" in c:
            recorded.add((e.get("did"), c["rkey"]))
    out = []
    for k in range(repeat):
        for e in base:
            if k == 0:
                out.append(copy.deepcopy(e))
                continue
            sfx = copy_suffix(k)
            c = copy.deepcopy(e)
            c["time_us"] = e["time_us"] + k * (span + 1000)
            commit = c.get("commit")
            if isinstance(commit, dict) and "rkey" in commit:
                commit["rkey"] += sfx
                rec = commit.get("record")
                reply = rec.get("reply") if isinstance(rec, dict) else None
                if isinstance(reply, dict):
                    for ref in reply.values():
                        relink(ref, recorded, sfx)
            out.append(c)
    return out


def relink(ref, recorded, sfx):
    if not isinstance(ref, dict) or not isinstance(ref.get("uri"), str):
        return
    parts = ref["uri"].split("/")
    # at: "" did collection rkey
    if len(parts) == 5 and parts[0] == "at:" and \
        (parts[2], parts[4]) in recorded:
        ref["uri"] += sfx


def event_matches(ev, collections, dids):
    """Jetstream's filters: wantedDids on the repo author for every
    kind; wantedCollections on commits only (identity and account
    events are always sent).  A collection may end in ".*"."""
    if dids and ev.get("did") not in dids:
        return False
    if ev.get("kind") != "commit" or not collections:
        return True
    coll = (ev.get("commit") or {}).get("collection", "")
    for want in collections:
        if want.endswith(".*"):
            if coll.startswith(want[:-1]):
                return True
        elif coll == want:
            return True
    return False


def frame(opcode, payload, fin=True):
    """One unmasked server frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return bytes(data)


def read_frame(sock, require_mask):
    """(fin, opcode, payload) of one frame, unmasked."""
    b0, b1 = recv_exact(sock, 2)
    fin = bool(b0 & 0x80)
    if b0 & 0x70:
        raise ProtocolError("reserved bits set without an extension")
    opcode = b0 & 0x0F
    masked = bool(b1 & 0x80)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8))[0]
    if require_mask and not masked:
        raise ProtocolError("client frame not masked")
    if opcode >= 0x8 and (n > 125 or not fin):
        raise ProtocolError("bad control frame")
    if n > MAX_CLIENT_MESSAGE:
        raise ProtocolError("frame too large")
    key = recv_exact(sock, 4) if masked else None
    payload = recv_exact(sock, n)
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload


def accept_key(key):
    digest = hashlib.sha1((key + WS_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def send_upgrade(sock, key):
    """The 101 answer that completes the handshake of websocket key."""
    sock.sendall((
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: %s\r\n\r\n"
        % accept_key(key)).encode("ascii"))


class Conn:
    """One websocket client: its socket, filters and counters."""

    def __init__(self, server, number, sock, query, cursor):
        self.server = server
        self.number = number
        self.sock = sock
        self.query = query
        self.cursor = cursor
        self.collections = query.get("wantedCollections", [])
        self.dids = set(query.get("wantedDids", []))
        self.wlock = threading.Lock()
        self.closed = False
        self.closed_by = None
        self.silent = False
        self.frames = 0     # messages sent, garbage included
        self.events = 0     # recorded events sent
        self.garbage = 0
        self.pings = 0
        self.pongs_sent = 0
        self.next_index = 0 # next stream index to consider
        self.last_index = -1    # stream index of the last event sent
        self.caught_up = False  # sent everything, waiting for more
        self.first_time_us = None
        self.last_time_us = None
        self.options_updates = []
        self.opened = time.time()
        self.last_sent = None   # wall clock of the last message sent
        self.closed_at = None
        self.host = None    # the handshake's Host header

    def record(self):
        return {
            "conn": self.number,
            "host": self.host,
            "query": self.query,
            "cursor": self.cursor,
            "frames": self.frames,
            "events": self.events,
            "garbage": self.garbage,
            "pings": self.pings,
            "open": not self.closed,
            "closed_by": self.closed_by,
            "silent": self.silent,
            "first_time_us": self.first_time_us,
            "last_time_us": self.last_time_us,
            "last_index": self.last_index,
            "next_index": self.next_index,
            "caught_up": self.caught_up,
            "options_updates": self.options_updates,
            "opened": self.opened,
            "last_sent": self.last_sent,
            "closed": self.closed_at,
        }

    def send(self, data):
        with self.wlock:
            if self.closed:
                raise EOFError("closed")
            self.sock.sendall(data)

    def close(self, why, abrupt=True):
        """Close without a close frame (abrupt) or after one."""
        with self.server.cond:
            if self.closed:
                return
            self.closed = True
            self.closed_by = why
            self.closed_at = time.time()
            self.server.cond.notify_all()
            # Under the lock, so whoever sees the close sees the log.
            self.server._write_log()
        if not abrupt:
            try:
                with self.wlock:
                    self.sock.sendall(frame(OP_CLOSE,
                        struct.pack("!H", 1000)))
            except OSError:
                pass
        close_socket(self.sock)


class JetstreamServer(Loopback):
    """A Jetstream v1 server on 127.0.0.1.  Every option of the script
    is a keyword argument; start() returns the port."""

    label = "jetstream_server"

    def __init__(self, events=DEFAULT_EVENTS, repeat=1, trickle_ms=0,
                 drop_at=(), fragment=False, garbage=0, oversize=0,
                 silent_after=0, log=None, dump=None, lifetime=300, port=0,
                 garbage_text="garbage frame: government refund help",
                 verbose=False):
        if isinstance(events, str):
            events = load_events(events)
        self.stream = expand(events, repeat)
        self.frames_out = [encode_event(e) for e in self.stream]
        self.trickle = trickle_ms / 1000.0
        self.drop_at = sorted(set(int(n) for n in drop_at))
        self.drops_done = []
        self.fragment = fragment
        self.garbage_every = garbage
        self.oversize = oversize
        self.silent_after = silent_after
        self.log_path = log
        self.dump_path = dump
        self.garbage_text = garbage_text
        self._loopback_init(lifetime, port, verbose)
        self.conns = []
        self.frames_sent = 0    # all connections: what --drop-at counts
        self.garbage_kind = 0
        self.garbage_urls = []  # posts that only ever came as garbage
        self.lsock = None
        self.started = None

    # Public API.

    def start(self):
        self._write_dump()
        self.lsock = listen(self.want_port, 16)
        self.port = self.lsock.getsockname()[1]
        self.started = time.time()
        self._thread(self._accept_loop, self.lsock, self._handshake)
        self._watch_lifetime()
        self._write_log()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        close_socket(self.lsock)
        for c in list(self.conns):
            c.close("server")
        self._join_threads()
        self._write_log()

    def add_events(self, events):
        """Append events (time_us not before the last one's) to the
        stream; connected clients that are idle get them at once."""
        with self.cond:
            for ev in events:
                if self.stream and \
                    ev["time_us"] < self.stream[-1]["time_us"]:
                    raise ValueError("add_events: time goes back")
                self.stream.append(copy.deepcopy(ev))
                self.frames_out.append(encode_event(ev))
            self.cond.notify_all()
        self._write_dump()

    @property
    def connections(self):
        with self.cond:
            return [c.record() for c in self.conns]

    # Internals.

    def _write_dump(self):
        if not self.dump_path:
            return
        with self.cond:
            data = b"".join(f + b"\n" for f in self.frames_out)
        write_atomic(self.dump_path, data)

    def _write_log(self):
        if not self.log_path:
            return
        with self.cond:
            lines = [json.dumps(c.record()) for c in self.conns]
        write_atomic(self.log_path,
            "".join(l + "\n" for l in lines).encode())

    def _handshake(self, sock):
        try:
            sock.settimeout(10)
            parts, headers, _ = read_http_head(sock)
            if len(parts) != 3:
                return http_error(sock, 400, "bad request line")
            method, target, _ = parts
            url = urllib.parse.urlsplit(target)
            if url.path != "/subscribe":
                return http_error(sock, 404, "not found")
            if method != "GET":
                return http_error(sock, 405, "method not allowed")
            conn_tokens = [t.strip().lower() for t in
                headers.get("connection", "").split(",")]
            key = headers.get("sec-websocket-key", "")
            if headers.get("upgrade", "").lower() != "websocket" or \
                "upgrade" not in conn_tokens or not key:
                return http_error(sock, 400,
                    "not a websocket upgrade")
            if headers.get("sec-websocket-version") != "13":
                return http_error(sock, 426, "version 13 only",
                    "Sec-WebSocket-Version: 13\r\n")
            query = urllib.parse.parse_qs(url.query,
                keep_blank_values=True)
            cursor = None
            if query.get("cursor") and query["cursor"][0] != "":
                try:
                    cursor = int(query["cursor"][0])
                except ValueError:
                    return http_error(sock, 400,
                        "invalid cursor")
            send_upgrade(sock, key)
            sock.settimeout(None)
        except (OSError, EOFError, ProtocolError, UnicodeError) as e:
            self._say("handshake failed: %s", e)
            sock.close()
            return
        with self.cond:
            if self.stopping:
                sock.close()
                return
            conn = Conn(self, len(self.conns) + 1, sock, query, cursor)
            conn.host = headers.get("host")
            # Jetstream replays from the cursor: every event with
            # time_us >= cursor.  Without one this fake starts at
            # the beginning of its recording.
            if cursor is not None:
                while conn.next_index < len(self.stream) and \
                    self.stream[conn.next_index]["time_us"] < cursor:
                    conn.next_index += 1
            self.conns.append(conn)
            self.cond.notify_all()
        self._say("connection %d: %s", conn.number, target)
        self._write_log()
        self._thread(self._reader, conn)
        self._sender(conn)

    def _reader(self, conn):
        """Answers pings, honours close, reads options updates."""
        parts = []
        opcode0 = None
        try:
            while True:
                fin, op, payload = read_frame(conn.sock, True)
                if op == OP_PING:
                    with self.cond:
                        conn.pings += 1
                        silent = conn.silent
                    if not silent:
                        conn.send(frame(OP_PONG, payload))
                        conn.pongs_sent += 1
                elif op == OP_PONG:
                    pass
                elif op == OP_CLOSE:
                    code = payload[:2] if len(payload) >= 2 \
                        else struct.pack("!H", 1000)
                    try:
                        conn.send(frame(OP_CLOSE, code))
                    except (OSError, EOFError):
                        pass
                    conn.close("client")
                    return
                elif op in (OP_TEXT, OP_BINARY, OP_CONT):
                    if op == OP_CONT and opcode0 is None:
                        raise ProtocolError(
                            "continuation without start")
                    if op != OP_CONT and opcode0 is not None:
                        raise ProtocolError(
                            "new message inside a fragmented one")
                    if op != OP_CONT:
                        opcode0 = op
                    parts.append(payload)
                    if sum(len(p) for p in parts) > \
                        MAX_CLIENT_MESSAGE:
                        raise ProtocolError("message too large")
                    if fin:
                        self._client_message(conn, opcode0,
                            b"".join(parts))
                        parts, opcode0 = [], None
                else:
                    raise ProtocolError("unknown opcode %d" % op)
        except ProtocolError as e:
            self._say("connection %d: %s", conn.number, e)
            try:
                conn.send(frame(OP_CLOSE, struct.pack("!H", 1002)))
            except (OSError, EOFError):
                pass
            conn.close("protocol error: %s" % e)
        except (OSError, EOFError):
            conn.close(conn.closed_by or "eof")

    def _client_message(self, conn, opcode, data):
        try:
            msg = json.loads(data.decode("utf-8"))
        except (UnicodeError, ValueError):
            msg = None
        ok = opcode == OP_TEXT and isinstance(msg, dict) and \
            msg.get("type") == "options_update" and \
            isinstance(msg.get("payload"), dict)
        if not ok:
            # Jetstream disconnects a client that sends an invalid
            # subscriber message.
            conn.close("invalid subscriber message")
            return
        p = msg["payload"]
        with self.cond:
            conn.options_updates.append(p)
            if isinstance(p.get("wantedCollections"), list):
                conn.collections = p["wantedCollections"]
            if isinstance(p.get("wantedDids"), list):
                conn.dids = set(p["wantedDids"])

    def _sender(self, conn):
        try:
            self._send_loop(conn)
        except (OSError, EOFError):
            conn.close(conn.closed_by or "eof")

    def _next_event(self, conn):
        """The next stream index for conn, waiting while it is idle;
        None once the connection or the server is closing."""
        idle_logged = False
        with self.cond:
            while True:
                if conn.closed or self.stopping:
                    return None
                if not conn.silent and \
                    conn.next_index < len(self.stream):
                    i = conn.next_index
                    conn.next_index += 1
                    conn.caught_up = False
                    return i
                if not idle_logged:
                    # The log shows how far this connection got
                    # even while it stays open.
                    idle_logged = True
                    conn.caught_up = not conn.silent
                    self.cond.notify_all()
                    self._write_log()
                self.cond.wait()

    def _send_loop(self, conn):
        while True:
            i = self._next_event(conn)
            if i is None:
                return
            ev = self.stream[i]
            if not event_matches(ev, conn.collections, conn.dids):
                continue
            if conn.frames and self.trickle:
                with self.cond:
                    self.cond.wait_for(lambda: conn.closed or
                        self.stopping, self.trickle)
                if conn.closed or self.stopping:
                    return
            self._send_message(conn, OP_TEXT, self.frames_out[i])
            with self.cond:
                conn.events += 1
                conn.last_index = i
                if conn.first_time_us is None:
                    conn.first_time_us = ev["time_us"]
                conn.last_time_us = ev["time_us"]
            if self._after_frame(conn):
                return
            if self.garbage_every and \
                conn.events % self.garbage_every == 0:
                op, data = self._garbage(ev)
                self._send_message(conn, op, data)
                with self.cond:
                    conn.garbage += 1
                if self._after_frame(conn):
                    return

    def _send_message(self, conn, opcode, data):
        if not self.fragment:
            conn.send(frame(opcode, data))
        else:
            # Three fragments; a pong may legally slip in between.
            a, b = len(data) // 3, 2 * len(data) // 3
            conn.send(frame(opcode, data[:a], fin=False))
            conn.send(frame(OP_CONT, data[a:b], fin=False))
            conn.send(frame(OP_CONT, data[b:], fin=True))
        with self.cond:
            conn.frames += 1
            conn.last_sent = time.time()
            self.frames_sent += 1
            self.cond.notify_all()

    def _after_frame(self, conn):
        """Scheduled failures after each message; True when this
        connection must stop sending."""
        with self.cond:
            n = self.frames_sent
            drop = n in self.drop_at and n not in self.drops_done
            if drop:
                self.drops_done.append(n)
            silence = self.silent_after and conn.number == 1 and \
                not conn.silent and conn.frames >= self.silent_after
            if silence:
                conn.silent = True
        if drop:
            self._say("connection %d: dropping at frame %d",
                conn.number, n)
            conn.close("drop")
            return True
        if silence:
            self._say("connection %d: silent", conn.number)
            self._write_log()
            # The reader keeps reading but no longer answers
            # pings; the socket stays open until the client
            # gives up on it.
            return True
        return False

    def _garbage(self, ev):
        """The next malformed message, in rotation.  All but the
        non-JSON one carry a post that a rule would select if the
        daemon wrongly accepted it."""
        with self.cond:
            kinds = 4 if self.oversize else 3
            kind = self.garbage_kind % kinds
            self.garbage_kind += 1
            n = self.garbage_kind
        did = "did:plc:garbagegarbagegarbage2"
        rkey = "3zzzgarbage" + S32[(n // 32) % 32] + S32[n % 32]
        text = self.garbage_text
        if kind == 3:
            text += " " + "x" * self.oversize
        post = {
            "did": did, "time_us": ev["time_us"], "kind": "commit",
            "commit": {"rev": "3zzzgarbage22", "operation": "create",
                "collection": POST, "rkey": rkey,
                "record": {"$type": POST, "langs": ["en"],
                    "createdAt": "2026-07-04T14:38:08.000Z",
                    "text": text},
                "cid": "bafyreigarbage"}}
        data = encode_event(post)
        with self.cond:
            if kind != 1:
                self.garbage_urls.append(web_url(did, rkey))
        if kind == 0:
            return OP_TEXT, data[:len(data) // 2]
        if kind == 1:
            return OP_TEXT, b"this is not JSON {\"kind\":"
        if kind == 2:
            return OP_BINARY, data
        return OP_TEXT, data


def main(argv=None):
    ap = arg_parser(__doc__, raw=True,
        port_help="port to bind on 127.0.0.1 (default: ephemeral)")
    ap.add_argument("--events", default=DEFAULT_EVENTS,
        help="recorded events, JSONL (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--trickle", type=int, default=0, metavar="MS",
        help="delay between frames")
    ap.add_argument("--drop-at", default="", metavar="N,N,...",
        help="close the TCP connection when the global frame count "
        "reaches each N")
    ap.add_argument("--fragment", action="store_true",
        help="send each message as 3 fragments")
    ap.add_argument("--garbage", type=int, default=0, metavar="K",
        help="a malformed message after every K events")
    ap.add_argument("--oversize", type=int, default=0, metavar="BYTES",
        help="add a message larger than BYTES to the garbage rotation")
    ap.add_argument("--silent-after", type=int, default=0, metavar="N",
        help="first connection goes silent after N frames")
    ap.add_argument("--log", help="one JSON line per connection")
    ap.add_argument("--dump", help="write the served stream here")
    a = parse_args(ap, argv)
    drops = [int(x) for x in a.drop_at.split(",") if x.strip()]
    srv = JetstreamServer(events=a.events, repeat=a.repeat,
        trickle_ms=a.trickle, drop_at=drops, fragment=a.fragment,
        garbage=a.garbage, oversize=a.oversize,
        silent_after=a.silent_after, log=a.log, dump=a.dump,
        lifetime=a.lifetime, port=a.port, verbose=a.verbose)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
