#!/usr/bin/env python3
"""A loopback HTTP/1.1 server that answers like a Discord webhook, a
Microsoft Teams Workflows webhook, a Matrix homeserver's send endpoint and
a generic signed-JSON webhook receiver, with scripted failures, and records
what it accepted, for switchboard's integration tests.

Use it as a script (see --help) or as a module:

    srv = ChatPlatforms(scripts={"matrix": "429:2,ok,slow,ok"})
    port = srv.start()
    ...
    srv.wait(lambda s: len(s.new_messages("discord")) >= 10, timeout=30)
    srv.stop()

Endpoints (what each platform documents, see ../../../shared/protocols.md):

  discord  POST  /api/webhooks/ID/TOKEN[?wait=true][&thread_id=T]
           PATCH /api/webhooks/ID/TOKEN/messages/M[?thread_id=T]
           200 with the message object (wait=true) or 204; limits checked
           (content 2,000, embed 4,096/256/2,048/6,000, thread name 100, in
           UTF-16 units); a forum webhook (--discord-forum ID) needs
           thread_id or thread_name and creates a thread whose id is its
           starter message's; a text one refuses thread_name.  Every answer
           carries X-RateLimit-* for a bucket of --bucket requests per
           --bucket-window seconds per webhook; a request while it is empty
           gets 429 {"retry_after": s, "global": false} and Retry-After.
  teams    POST  /workflows/...: an Adaptive Card message, at most 28 KB;
           202 and no body.
  matrix   PUT   /_matrix/client/v3/rooms/ROOM/send/m.room.message/TXN with
           Authorization: Bearer --matrix-token; 200 {"event_id"}.  A TXN
           seen before answers the same event id and stores nothing
           (counted as a replay); m.thread roots and m.replace targets must
           exist, a thread root must not be a relation itself.
  webhook  POST  /hooks/NAME: X-Switchboard-Signature must be
           "v1=" + hex(HMAC-SHA256(--webhook-secret, "v1:" + timestamp +
           ":" + body)) with a timestamp within 300 s, else 401; answers
           200 {"id"}; a delivery id seen before is counted as a double.

Scripts (--script PLATFORM=LIST, repeating, turns counted per platform):
"ok"; "500", "503" (any status); "429:S" (the platform's own signal: for
Discord retry_after S in the body and Retry-After floor(S); for Matrix
Retry-After S and a smaller retry_after_ms; else Retry-After S);
"429ms:N" (Matrix: retry_after_ms N only, as before Matrix 1.10); "hang"
(never answer, store nothing; the connection closes after --hang
seconds); "slow" (store the message, answer after --hang seconds, too
late for the client).  --slow S delays every successful answer by S
seconds after storing (for kill-during-delivery tests).

Python 3 standard library only.
"""

import hashlib
import hmac
import http.server
import json
import math
import re
import sys
import time
import urllib.parse

from loopback import Loopback, arg_parser, parse_args, serve_main

PLATFORMS = ("discord", "teams", "matrix", "webhook")
DISCORD_HOOK = re.compile(r"^/api/webhooks/(\d+)/([A-Za-z0-9_-]+)"
                          r"(?:/messages/(\d+))?$")
MATRIX_SEND = re.compile(r"^/_matrix/client/v3/rooms/([^/]+)/send/"
                         r"m\.room\.message/([^/]+)$")
TEAMS_PATH = re.compile(r"^/workflows/[A-Za-z0-9_/-]+$")
WEBHOOK_PATH = re.compile(r"^/hooks/[A-Za-z0-9_.-]+$")
TEAMS_MAX = 28 * 1024
MATRIX_MAX = 65536


def utf16(s):
    return len(s.encode("utf-16-le")) // 2


def parse_script(text):
    """"ok,429:1.5,hang" -> [("ok", None), ("429", 1.5), ("hang", None)]."""
    steps = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        word, _, arg = item.partition(":")
        if word in ("ok", "hang", "slow"):
            steps.append((word, None))
        elif word == "429ms":
            steps.append(("429ms", int(arg)))
        elif word.isdigit() and 400 <= int(word) <= 599:
            steps.append((word, float(arg) if arg else None))
        else:
            raise ValueError("bad script step: %s" % item)
    if not steps:
        raise ValueError("empty script")
    return steps


class Answer(Exception):
    """A non-success answer decided while handling a request."""

    def __init__(self, status, body, headers=None, signal=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.signal = signal


def json_error(status, obj, headers=None, signal=None):
    return Answer(status, json.dumps(obj), dict(headers or {},
                  **{"Content-Type": "application/json"}), signal)


class ChatPlatforms(Loopback):
    """The four platforms on one 127.0.0.1 port.  Every option of the
    script is a keyword argument; start() returns the port."""

    label = "chat_platforms"

    def __init__(self, scripts=None, discord_forum=(), bucket=5,
                 bucket_window=2.0, matrix_token="syt_test_token",
                 matrix_room="!room:test.example",
                 webhook_secret="whsec-0123456789abcdef-test", hang=4.0,
                 slow=0.0, record=None, attempts=None, lifetime=300,
                 port=0, verbose=False):
        self.scripts = {p: parse_script(s) for p, s in
                        (scripts or {}).items()}
        self.discord_forum = set(str(h) for h in discord_forum)
        self.bucket = bucket
        self.bucket_window = bucket_window
        self.matrix_token = matrix_token
        self.matrix_room = matrix_room
        self.webhook_secret = webhook_secret.encode()
        self.hang = hang
        self.slow = slow
        self.record_path = record
        self.attempts_path = attempts
        self._loopback_init(lifetime, port, verbose)
        self.records = []       # accepted: see _accept
        self.attempts = []      # every failed answer
        self.turns = {}
        self.held = {p: 0 for p in PLATFORMS}
        self.next_id = 1300000000000000100
        self.discord_messages = {}      # id -> {"hook", "thread", ...}
        self.discord_threads = {}       # thread id -> hook
        self.buckets = {}               # hook -> [reset_at, used]
        self.matrix_txns = {}           # (token, room, txn) -> event id
        self.matrix_events = {}         # event id -> content
        self.matrix_replays = []        # txns answered again
        self.webhook_seen = {}          # delivery id -> times
        self.httpd = None
        for path in (record, attempts):
            if path:
                open(path, "w").close()

    # Public API.

    def start(self):
        self.httpd = self._serve_http(http.server.ThreadingHTTPServer,
                                      PlatformHandler)
        self._watch_lifetime()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self._join_threads()

    def set_script(self, platform, text):
        with self.cond:
            self.scripts[platform] = parse_script(text) if text else None
            self.turns.pop(platform, None)

    def snapshot(self):
        with self.cond:
            return list(self.records), list(self.attempts)

    def new_messages(self, platform=None):
        """Accepted new messages (not edits), of one platform or all."""
        with self.cond:
            return [r for r in self.records if r["kind"] == "new" and
                    (platform is None or r["platform"] == platform)]

    # Deciding.

    def _turn(self, platform):
        script = self.scripts.get(platform)
        if not script:
            return ("ok", None)
        with self.cond:
            n = self.turns.get(platform, 0)
            self.turns[platform] = n + 1
        return script[n % len(script)]

    def _scripted(self, platform, step):
        """The Answer for a scripted failure step."""
        word, arg = step
        if word == "429ms":
            return json_error(429, {"errcode": "M_LIMIT_EXCEEDED",
                                    "error": "Too many requests",
                                    "retry_after_ms": arg},
                              signal=arg / 1000.0)
        status = int(word)
        if status != 429:
            return Answer(status, "scripted %d" % status)
        s = arg if arg is not None else 1.0
        if platform == "discord":
            return json_error(429, {"message": "You are being rate "
                                    "limited.", "retry_after": s,
                                    "global": False},
                              {"Retry-After": str(int(math.floor(s))),
                               "X-RateLimit-Scope": "user"}, signal=s)
        if platform == "matrix":
            return json_error(429, {"errcode": "M_LIMIT_EXCEEDED",
                                    "error": "Too many requests",
                                    "retry_after_ms": int(s * 250)},
                              {"Retry-After": str(int(s))}, signal=s)
        return Answer(429, "rate limited", {"Retry-After": str(int(s))},
                      signal=s)

    def handle(self, method, target, headers, raw):
        """(platform, status, body, headers, delay, hang) for one request,
        recording it."""
        url = urllib.parse.urlsplit(target)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        platform = self._platform(method, path)
        if platform is None:
            return None, 404, "no such endpoint", {}, 0, False
        return self._handle(platform, method, path, query, headers, raw)

    def hold(self, platform, n):
        """Count answers held back after their message was stored: a
        client killed meanwhile never learns that it went through."""
        with self.cond:
            self.held[platform] += n
            self.cond.notify_all()

    def _platform(self, method, path):
        if DISCORD_HOOK.match(path) and method in ("POST", "PATCH"):
            return "discord"
        if MATRIX_SEND.match(path) and method == "PUT":
            return "matrix"
        if TEAMS_PATH.match(path) and method == "POST":
            return "teams"
        if WEBHOOK_PATH.match(path) and method == "POST":
            return "webhook"
        return None

    def _handle(self, platform, method, path, query, headers, raw):
        rec = {"platform": platform, "method": method, "path": path,
               "t": time.time()}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeError, ValueError):
            body = None
        if platform == "matrix":
            rec["txn"] = urllib.parse.unquote(MATRIX_SEND.match(path)
                                              .group(2))
        try:
            if platform == "matrix":
                replay = self._matrix_replay(path, headers, rec)
                if replay is not None:
                    return platform, 200, replay, \
                        {"Content-Type": "application/json"}, 0, False
            step = self._turn(platform)
            if step[0] == "hang":
                self._attempt(rec, 0, "hang", None)
                return platform, 0, "", {}, self.hang, True
            if step[0] != "ok" and step[0] != "slow":
                raise self._scripted(platform, step)
            fn = getattr(self, "_" + platform)
            status, text, hdrs = fn(method, path, query, headers, raw, body,
                                    rec)
            delay = self.hang if step[0] == "slow" else self.slow
            return platform, status, text, hdrs, delay, False
        except Answer as a:
            self._attempt(rec, a.status, a.body[:200], a.signal)
            return platform, a.status, a.body, a.headers, 0, False

    def _attempt(self, rec, status, reason, signal):
        a = dict(rec, status=status, reason=reason)
        if signal is not None:
            a["retry_after"] = signal
        with self.cond:
            self.attempts.append(a)
            append_line(self.attempts_path, a)
            self.cond.notify_all()
        self._say("%s %s %d %s", rec["platform"], rec["path"], status,
                  reason)

    def _accept(self, rec):
        with self.cond:
            self.records.append(rec)
            append_line(self.record_path, rec)
            self.cond.notify_all()
        self._say("%s %s %s accepted", rec["platform"], rec["method"],
                  rec["path"])

    def _new_id(self):
        with self.cond:
            self.next_id += 1
            return str(self.next_id)

    # Discord.

    def _discord_bucket(self, hook):
        """Take one request from hook's bucket: the X-RateLimit headers,
        or an Answer 429 when it is empty."""
        now = time.time()
        with self.cond:
            b = self.buckets.get(hook)
            if b is None or now >= b[0]:
                b = [now + self.bucket_window, 0]
                self.buckets[hook] = b
            if b[1] >= self.bucket:
                wait = round(b[0] - now, 3)
                raise json_error(429, {"message": "You are being rate "
                                       "limited.", "retry_after": wait,
                                       "global": False},
                                 {"Retry-After": str(math.ceil(wait)),
                                  "X-RateLimit-Limit": str(self.bucket),
                                  "X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset-After": "%.3f" % wait,
                                  "X-RateLimit-Scope": "user"},
                                 signal="bucket")
            b[1] += 1
            left = self.bucket - b[1]
            after = max(0.0, b[0] - now)
        return {"X-RateLimit-Limit": str(self.bucket),
                "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Reset": "%.3f" % b[0],
                "X-RateLimit-Reset-After": "%.3f" % after,
                "X-RateLimit-Bucket": "fakebucket" + hook}

    @staticmethod
    def _discord_invalid(msg, why):
        raise json_error(400, {"message": "Invalid Form Body: " + why,
                               "code": 50035})

    def _discord_check(self, body, edit):
        if not isinstance(body, dict):
            self._discord_invalid(body, "not a JSON object")
        content = body.get("content")
        embeds = body.get("embeds")
        if content is None and not embeds and not edit:
            raise json_error(400, {"message": "Cannot send an empty "
                                   "message", "code": 50006})
        if content is not None and (not isinstance(content, str) or
                                    utf16(content) > 2000):
            self._discord_invalid(body, "content")
        if embeds is not None:
            if not isinstance(embeds, list) or len(embeds) > 10:
                self._discord_invalid(body, "embeds")
            for e in embeds:
                total = 0
                for keys, limit in ((("title",), 256),
                                    (("description",), 4096),
                                    (("author", "name"), 256),
                                    (("footer", "text"), 2048)):
                    v = e
                    for k in keys:
                        v = v.get(k) if isinstance(v, dict) else None
                    if v is None:
                        continue
                    if not isinstance(v, str) or utf16(v) > limit:
                        self._discord_invalid(body, ".".join(keys))
                    total += utf16(v)
                if total > 6000:
                    self._discord_invalid(body, "embed over 6000")
                for k in ("url",):
                    if k in e and not str(e[k]).startswith(("http://",
                                                            "https://")):
                        self._discord_invalid(body, "url")

    def _discord(self, method, path, query, headers, raw, body, rec):
        m = DISCORD_HOOK.match(path)
        hook, message = m.group(1), m.group(3)
        thread = (query.get("thread_id") or [None])[0]
        limits = self._discord_bucket(hook)
        rec["remaining"] = int(limits["X-RateLimit-Remaining"])
        self._discord_check(body, message is not None)
        rec.update(body=body, thread=thread, hook=hook,
                   allowed_mentions=body.get("allowed_mentions"))
        if thread is not None and self.discord_threads.get(thread) != hook:
            raise json_error(400, {"message": "Unknown Channel",
                                   "code": 10003})
        if message is not None:
            return self._discord_edit(message, thread, body, rec, limits)
        name = body.get("thread_name")
        if name is not None:
            if hook not in self.discord_forum:
                raise json_error(400, {"message": "Webhooks can only "
                                       "create threads in forum channels",
                                       "code": 220003})
            if not isinstance(name, str) or not 1 <= utf16(name) <= 100:
                self._discord_invalid(body, "thread_name")
            if thread is not None:
                self._discord_invalid(body, "thread_name with thread_id")
        elif hook in self.discord_forum and thread is None:
            raise json_error(400, {"message": "Webhooks posted to forum "
                                   "channels must have a thread_name or "
                                   "thread_id", "code": 220001})
        mid = self._new_id()
        # A forum post's thread has its starter message's id.
        channel = mid if name is not None else thread or "chan" + hook
        with self.cond:
            if name is not None:
                self.discord_threads[mid] = hook
            self.discord_messages[mid] = {"hook": hook, "thread": thread or
                                          (mid if name else None)}
        rec.update(kind="new", id=mid, channel_id=channel,
                   started_thread=name is not None)
        self._accept(rec)
        if (query.get("wait") or ["false"])[0].lower() != "true":
            return 204, "", limits
        msg = {"id": mid, "type": 0, "channel_id": channel,
               "content": body.get("content", ""),
               "embeds": body.get("embeds", []), "webhook_id": hook,
               "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                          time.gmtime())}
        return 200, json.dumps(msg), dict(limits, **{"Content-Type":
                                                     "application/json"})

    def _discord_edit(self, message, thread, body, rec, limits):
        known = self.discord_messages.get(message)
        if known is None or known["hook"] != rec["hook"] or \
                (thread is not None and known["thread"] != thread):
            raise json_error(404, {"message": "Unknown Message",
                                   "code": 10008})
        rec.update(kind="edit", id=message)
        self._accept(rec)
        msg = {"id": message, "type": 0, "content": body.get("content", ""),
               "embeds": body.get("embeds", []), "channel_id":
               known["thread"] or "chan" + rec["hook"]}
        return 200, json.dumps(msg), dict(limits, **{"Content-Type":
                                                     "application/json"})

    # Teams.

    def _teams(self, method, path, query, headers, raw, body, rec):
        if len(raw) > TEAMS_MAX:
            raise Answer(413, "Request Entity Too Large")
        try:
            att = body["attachments"]
            card = att[0]["content"]
            ok = body["type"] == "message" and len(att) == 1 and \
                att[0]["contentType"] == \
                "application/vnd.microsoft.card.adaptive" and \
                card["type"] == "AdaptiveCard" and \
                isinstance(card["body"], list)
        except (KeyError, IndexError, TypeError):
            ok = False
        if not ok:
            raise json_error(400, {"error": {"code": "InvalidRequestContent",
                                             "message": "not an Adaptive "
                                             "Card message"}})
        rec.update(kind="new", body=body, size=len(raw))
        self._accept(rec)
        return 202, "", {}

    # Matrix.

    def _matrix_auth(self, path, headers):
        """(room, txn) or an Answer."""
        m = MATRIX_SEND.match(path)
        room = urllib.parse.unquote(m.group(1))
        txn = urllib.parse.unquote(m.group(2))
        if headers.get("authorization") != "Bearer " + self.matrix_token:
            raise json_error(401, {"errcode": "M_UNKNOWN_TOKEN",
                                   "error": "Invalid access token passed.",
                                   "soft_logout": False})
        if room != self.matrix_room:
            raise json_error(403, {"errcode": "M_FORBIDDEN",
                                   "error": "User not in room"})
        return room, txn

    def _matrix_replay(self, path, headers, rec):
        """The cached answer for a transaction seen before, or None."""
        room, txn = self._matrix_auth(path, headers)
        with self.cond:
            eid = self.matrix_txns.get((self.matrix_token, room, txn))
            if eid is not None:
                self.matrix_replays.append({"txn": txn, "event_id": eid,
                                            "t": time.time()})
                self.cond.notify_all()
        if eid is None:
            return None
        self._say("matrix txn %s replayed: %s", txn, eid)
        return json.dumps({"event_id": eid})

    def _matrix(self, method, path, query, headers, raw, body, rec):
        room, txn = self._matrix_auth(path, headers)
        if len(raw) > MATRIX_MAX:
            raise json_error(413, {"errcode": "M_TOO_LARGE",
                                   "error": "event too large"})
        if not isinstance(body, dict) or \
                not isinstance(body.get("body"), str) or \
                not isinstance(body.get("msgtype"), str):
            raise json_error(400, {"errcode": "M_BAD_JSON",
                                   "error": "not an m.room.message"})
        rel = body.get("m.relates_to")
        kind = "new"
        if isinstance(rel, dict):
            target = self.matrix_events.get(rel.get("event_id"))
            if target is None:
                raise json_error(400, {"errcode": "M_UNKNOWN",
                                       "error": "unknown related event"})
            if rel.get("rel_type") == "m.thread" and \
                    "m.relates_to" in target:
                raise json_error(400, {"errcode": "M_UNKNOWN",
                                       "error": "cannot start threads "
                                       "from an event with a relation"})
            if rel.get("rel_type") == "m.replace":
                if not isinstance(body.get("m.new_content"), dict):
                    raise json_error(400, {"errcode": "M_BAD_JSON",
                                           "error": "no m.new_content"})
                kind = "edit"
        eid = "$" + hashlib.sha256(("%s/%s" % (room, txn)).encode()) \
            .hexdigest()[:43]
        with self.cond:
            key = (self.matrix_token, room, txn)
            if key in self.matrix_txns:     # a racing retry
                return 200, json.dumps({"event_id":
                                        self.matrix_txns[key]}), {}
            self.matrix_txns[key] = eid
            self.matrix_events[eid] = body
        rec.update(kind=kind, body=body, txn=txn, id=eid,
                   relates_to=rel if isinstance(rel, dict) else None)
        self._accept(rec)
        return 200, json.dumps({"event_id": eid}), \
            {"Content-Type": "application/json"}

    # Generic webhook.

    def _webhook(self, method, path, query, headers, raw, body, rec):
        ts = headers.get("x-switchboard-timestamp", "")
        sig = headers.get("x-switchboard-signature", "")
        ids = headers.get("x-switchboard-delivery", "")
        want = "v1=" + hmac.new(self.webhook_secret,
                                b"v1:" + ts.encode() + b":" + raw,
                                hashlib.sha256).hexdigest()
        try:
            fresh = abs(time.time() - int(ts)) <= 300
        except ValueError:
            fresh = False
        if not fresh or not hmac.compare_digest(sig, want):
            raise Answer(401, "bad signature", signal=None)
        if not isinstance(body, dict) or not ids:
            raise Answer(400, "bad payload")
        with self.cond:
            doubles = []
            for i in ids.split(","):
                n = self.webhook_seen.get(i, 0)
                if n:
                    doubles.append(i)
                self.webhook_seen[i] = n + 1
        wid = "wh-" + self._new_id()
        rec.update(kind="new", body=body, delivery=ids, verified=True,
                   doubles=doubles, id=wid)
        self._accept(rec)
        return 200, json.dumps({"id": wid}), \
            {"Content-Type": "application/json"}


def append_line(path, obj):
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


class PlatformHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as curl expects
    server_version = "fake-platforms/1"
    server_owner = None

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, text, headers):
        body = text.encode("utf-8")
        try:
            if status == 204:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                return
            self.send_response(status)
            if "Content-Type" not in headers:
                self.send_header("Content-Type", "text/plain; "
                                 "charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def serve(self):
        owner = self.server_owner
        try:
            raw = self.read_body()
        except ValueError:
            self.close_connection = True
            self.answer(400, "bad request", {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        platform, status, text, hdrs, delay, hang = owner.handle(
            self.command, self.path, headers, raw)
        if delay:
            held = not hang and 200 <= status < 300
            if held:
                owner.hold(platform, 1)
            # Sleep in slices so that stop() is not held up.
            end = time.monotonic() + delay
            while time.monotonic() < end and not owner.stopping:
                time.sleep(0.05)
            if held:
                owner.hold(platform, -1)
        if hang:
            self.close_connection = True
            return
        self.answer(status, text, hdrs)

    do_POST = do_PUT = do_PATCH = serve

    def do_GET(self):
        self.answer(405, "method not allowed", {"Allow": "POST, PUT, PATCH"})


def main(argv=None):
    ap = arg_parser(__doc__, raw=True)
    ap.add_argument("--record", help="accepted messages, one JSON a line")
    ap.add_argument("--attempts", help="failed requests, one JSON a line")
    ap.add_argument("--script", action="append", default=[],
                    metavar="PLATFORM=LIST",
                    help='e.g. "matrix=429:2,ok,slow" (repeatable)')
    ap.add_argument("--discord-forum", action="append", default=[],
                    metavar="ID", help="webhook ID posts to a forum channel")
    ap.add_argument("--bucket", type=int, default=5)
    ap.add_argument("--bucket-window", type=float, default=2.0)
    ap.add_argument("--matrix-token", default="syt_test_token")
    ap.add_argument("--matrix-room", default="!room:test.example")
    ap.add_argument("--webhook-secret",
                    default="whsec-0123456789abcdef-test")
    ap.add_argument("--hang", type=float, default=4.0)
    ap.add_argument("--slow", type=float, default=0.0)
    a = parse_args(ap, argv)
    scripts = {}
    for s in a.script:
        p, _, text = s.partition("=")
        if p not in PLATFORMS:
            ap.error("unknown platform in --script: %s" % p)
        scripts[p] = text
    srv = ChatPlatforms(scripts=scripts, discord_forum=a.discord_forum,
                        bucket=a.bucket, bucket_window=a.bucket_window,
                        matrix_token=a.matrix_token,
                        matrix_room=a.matrix_room,
                        webhook_secret=a.webhook_secret, hang=a.hang,
                        slow=a.slow, record=a.record, attempts=a.attempts,
                        lifetime=a.lifetime, port=a.port,
                        verbose=a.verbose)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
