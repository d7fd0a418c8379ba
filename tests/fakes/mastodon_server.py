#!/usr/bin/env python3
"""A loopback Mastodon instance for switchboard's integration tests: the
streaming API over a websocket (/api/v1/streaming, several streams on
one socket with subscribe messages) and the REST endpoints a client
reads to catch up after a disconnect (notifications and timelines, with
min_id/max_id/since_id/limit as Mastodon pages them), rate-limit headers
included, plus a control API to add, edit and delete statuses, drop
connections and script failures.

Use it as a module:

    srv = MastodonServer(token="secret")
    port = srv.start()
    srv.post(srv.make_status(0, tags=["acme"]))    # streamed or stored
    srv.drop_connections(refuse_s=1.0)
    srv.wait(lambda s: len(s.conns) >= 2, timeout=10)
    srv.stop()

or as a script (see --help), controlled over HTTP: POST /_control/post
with a JSON object of make_status() arguments, POST /_control/drop,
POST /_control/edit {"id", "text"}, POST /_control/delete {"id"}, GET
/_control/state.

Replies: POST /api/v1/statuses (JSON or form: status, in_reply_to_id,
visibility, language, spoiler_text) as the owner account acct, checked
as Mastodon checks them (Bearer token, text present and at most 500
characters, a known in_reply_to_id, a known visibility) and honouring
Idempotency-Key as Mastodon does: the same key again answers the status
the first request made, without posting a second one.  A status made
this way is published like any other (stored, streamed).  Every such
request is kept in status_posts; script_statuses() scripts 429, 5xx or
422 answers, and hold_statuses makes the server post the status but
keep its answer until released (a client killed meanwhile never learns
it was posted).  GET /api/v2/search?q=URL&resolve=true finds a known
status by its url or uri and answers a copy of it under a new id, as an
instance answers for a status it fetched from another one.

Statuses come from recorded public-stream data (tests/data/
mastodon-stream-public.jsonl, Status entities from mastodon.social; see
tests/data/SOURCES.md).  make_status() copies one and rewrites only
these fields, so that ids follow a controlled sequence and the test's
rules select what the test means them to: id (an increasing sequence
that crosses a power of ten, so ids of different lengths meet), uri,
url (the author's profile URL + "/" + id), created_at (now), edited_at,
content (the recorded HTML, with the requested mentions and hashtags
added as Mastodon renders them; or given text), tags, mentions,
visibility, in_reply_to_id, in_reply_to_account_id, spoiler_text
(emptied), language (if asked), reblog (null), and account.acct gets
the author's domain ("user@mastodon.social"), since the recording's
local accounts are remote ones here, unless local=True makes the author
one of this instance's accounts.

Python 3 standard library only.
"""

import copy
import datetime
import html
import http.server
import json
import os
import struct
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from jetstream_server import (OP_BINARY, OP_CLOSE, OP_CONT,  # noqa: E402
                              OP_PING, OP_PONG, OP_TEXT, ProtocolError,
                              accept_key, frame, read_frame)
from loopback import (Loopback, arg_parser, parse_args,  # noqa: E402
                      serve_main)

DEFAULT_STATUSES = os.path.join(HERE, "..", "data",
                                "mastodon-stream-public.jsonl")

# Ids: 17 digits first, 18 after a few dozen, as on a real instance
# whose ids grew a digit; a string comparison would get the order wrong.
FIRST_STATUS_ID = 99999999999999950
STATUS_ID_STEP = 7
FIRST_NOTIFICATION_ID = 980

# Mastodon's limits: timelines give 20 by default and at most 40,
# notifications 40 and 80 (Api::BaseController#limit_param).
TIMELINE_LIMIT = (20, 40)
NOTIFICATION_LIMIT = (40, 80)

TIMELINES = ("public", "public:local", "public:remote")


def iso_now(offset=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%06dZ" % t.microsecond


def load_statuses(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def hashtag_html(base, tag):
    return ('<a href="%s/tags/%s" class="mention hashtag" rel="tag">'
            '#<span>%s</span></a>' % (base, urllib.parse.quote(tag),
                                      html.escape(tag)))


def mention_html(url, username):
    return ('<span class="h-card" translate="no"><a href="%s" '
            'class="u-url mention">@<span>%s</span></a></span>'
            % (html.escape(url), html.escape(username)))


class WsConn:
    """One streaming client and what it subscribed to."""

    def __init__(self, server, number, sock, auth, query):
        self.server = server
        self.number = number
        self.sock = sock
        self.auth = auth            # "header", "protocol" or "query"
        self.query = query
        self.subs = []              # (stream, arg or None), in order
        self.messages = []          # client messages, parsed
        self.events = 0             # events sent
        self.pings = 0
        self.wlock = threading.Lock()
        self.closed = False
        self.closed_by = None
        self.opened = time.time()
        self.drop_after = None      # close once events reaches this
        self.refuse_after_drop = 0.0

    def record(self):
        return {"conn": self.number, "auth": self.auth,
                "query": self.query, "subs": list(self.subs),
                "events": self.events, "pings": self.pings,
                "open": not self.closed, "closed_by": self.closed_by,
                "opened": self.opened}

    def send(self, data, opcode=OP_TEXT):
        with self.wlock:
            if self.closed:
                raise EOFError("closed")
            self.sock.sendall(frame(opcode, data))

    def close(self, why):
        with self.server.cond:
            if self.closed:
                return
            self.closed = True
            self.closed_by = why
            self.server.cond.notify_all()
        try:
            self.sock.shutdown(2)
        except OSError:
            pass


class QuietServer(http.server.ThreadingHTTPServer):
    """Clients that vanish mid-request (a SIGKILLed daemon) are normal
    here, not tracebacks on stderr."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class SockReader:
    """recv() over the handler's buffered reader, for read_frame."""

    def __init__(self, rfile):
        self.rfile = rfile

    def recv(self, n):
        return self.rfile.read1(n)


class MastodonServer(Loopback):
    """A Mastodon instance on 127.0.0.1 whose owner account is acct
    (mentions of it become notifications); start() returns the port."""

    label = "mastodon_server"

    def __init__(self, token="test-token", acct="acme",
                 statuses=DEFAULT_STATUSES, lists=None, rate_limit=300,
                 rate_window=300.0, lifetime=300, port=0, verbose=False):
        self.token = token
        self.acct = acct
        self.templates = load_statuses(statuses)
        self.lists = {k: set(v) for k, v in (lists or {}).items()}
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._loopback_init(lifetime, port, verbose)
        self.statuses = {}          # id -> Status (current version)
        self.notifications = []     # Notification entities, oldest first
        self.conns = []
        self.requests = []          # REST requests, see _rest()
        self.next_status = FIRST_STATUS_ID
        self.next_notification = FIRST_NOTIFICATION_ID
        self.refuse_until = 0.0     # websocket upgrades answered 503
        self.fail_next = []         # scripted REST answers: (status, hdrs)
        self.status_posts = []      # POST /api/v1/statuses, see post_status
        self.statuses_script = []   # scripted answers: (status, hdrs, err)
        self.idempotency = {}       # Idempotency-Key -> status id
        self.resolved = {}          # searched link -> id of our copy
        self.hold_statuses = False  # post, but answer only once released
        self.held = 0               # answers being held now
        self.rest_delay = 0.0       # seconds before each REST answer
        self.rest_active = 0        # REST requests being answered
        self.window_start = None
        self.window_used = 0
        self.violations = []        # requests made with no budget left
        self.httpd = None
        self.base = None
        self.host = None

    # Public API.

    def start(self):
        self.httpd = self._serve_http(QuietServer, MastodonHandler)
        self.host = "127.0.0.1:%d" % self.port
        self.base = "http://" + self.host
        self._watch_lifetime()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        with self.cond:
            conns = list(self.conns)
        for c in conns:
            c.close("server")
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def connections(self):
        with self.cond:
            return [c.record() for c in self.conns]

    def open_conns(self):
        return [c for c in self.conns if not c.closed]

    def make_status(self, template, text=None, tags=(), mention=False,
                    mentions=(), visibility="public", reply_to=None,
                    language=None, local=False):
        """A new Status (not yet posted) from recorded status number
        template; see the module docstring for what is rewritten.
        mention: it mentions this instance's owner account."""
        t = self.templates[template % len(self.templates)]
        s = copy.deepcopy(t)
        with self.cond:
            sid = str(self.next_status)
            self.next_status += STATUS_ID_STEP
        acc = s["account"]
        prof = urllib.parse.urlsplit(acc["url"])
        if local:
            acc["acct"] = acc["username"]
            acc["url"] = "%s/@%s" % (self.base, acc["username"])
        elif "@" not in acc["acct"]:
            acc["acct"] = "%s@%s" % (acc["username"], prof.netloc)
        s["id"] = sid
        s["url"] = "%s/%s" % (acc["url"], sid)
        s["uri"] = "%s/statuses/%s" % (acc["url"].replace("/@", "/users/"),
                                       sid)
        s["created_at"] = iso_now()
        s["edited_at"] = None
        s["reblog"] = None
        s["spoiler_text"] = ""
        s["visibility"] = visibility
        if language:
            s["language"] = language
        s["in_reply_to_id"] = reply_to
        s["in_reply_to_account_id"] = None
        if reply_to is not None and reply_to in self.statuses:
            s["in_reply_to_account_id"] = \
                self.statuses[reply_to]["account"]["id"]
        ms = [{"id": "1", "username": self.acct, "acct": self.acct,
               "url": "%s/@%s" % (self.base, self.acct)}] if mention else []
        for m in mentions:
            user, _, dom = m.partition("@")
            ms.append({"id": str(abs(hash(m)) % 10 ** 9), "username": user,
                       "acct": m, "url": "https://%s/@%s" % (dom, user)})
        s["mentions"] = ms
        s["tags"] = [{"name": tg, "url": "%s/tags/%s" % (self.base, tg)}
                     for tg in tags]
        body = html.escape(text) if text is not None else None
        head = " ".join(mention_html(m["url"], m["username"]) for m in ms)
        tail = " ".join(hashtag_html(self.base, tg) for tg in tags)
        if body is None:
            s["content"] = (("<p>%s</p>" % head) if head else "") + \
                s["content"] + (("<p>%s</p>" % tail) if tail else "")
        else:
            s["content"] = "<p>%s</p>" % " ".join(
                x for x in (head, body, tail) if x)
        return s

    def post(self, status):
        """Publish status: stored for REST, pushed to the streams that
        carry it (a mention of the owner also becomes a notification).
        Returns its id."""
        with self.cond:
            sid = status["id"]
            self.statuses[sid] = copy.deepcopy(status)
            notif = None
            if self._mentions_owner(status):
                notif = {"id": str(self.next_notification),
                         "type": "mention", "created_at": iso_now(),
                         "account": status["account"],
                         "status": copy.deepcopy(status)}
                self.next_notification += 1
                self.notifications.append(notif)
            self.cond.notify_all()
        self._push(status, "update", json.dumps(status))
        if notif is not None:
            self._push_notification(notif)
        return sid

    def edit(self, sid, text):
        """The author edits status sid: new content, edited_at, and a
        status.update event where the status was streamed."""
        with self.cond:
            s = self.statuses[sid]
            s["content"] = "<p>%s</p>" % html.escape(text) + "".join(
                "<p>%s</p>" % hashtag_html(self.base, t["name"])
                for t in s["tags"])
            s["edited_at"] = iso_now()
            s = copy.deepcopy(s)
        self._push(s, "status.update", json.dumps(s))
        return s

    def delete(self, sid):
        """The author deletes status sid: gone from REST, a delete
        event (payload: the bare id) where the status was streamed."""
        with self.cond:
            s = self.statuses.pop(sid)
            self.notifications = [n for n in self.notifications
                                  if n["status"]["id"] != sid]
        self._push(s, "delete", sid, notifications=False)

    def drop_connections(self, refuse_s=0.0):
        """Close every streaming connection without a close frame, and
        answer new upgrades 503 for refuse_s seconds."""
        with self.cond:
            self.refuse_until = time.time() + refuse_s
            conns = self.open_conns()
        for c in conns:
            c.close("drop")

    def drop_after(self, n, refuse_s=0.0):
        """Drop each open connection after n more events, then answer
        upgrades 503 for refuse_s seconds."""
        with self.cond:
            for c in self.open_conns():
                c.drop_after = c.events + n
                c.refuse_after_drop = refuse_s

    def refuse(self, seconds):
        with self.cond:
            self.refuse_until = time.time() + seconds

    def script_rest(self, status, headers=None):
        """Answer the next REST request with status (and headers)."""
        with self.cond:
            self.fail_next.append((status, dict(headers or {})))

    def script_statuses(self, status, headers=None, error="scripted"):
        """Answer the next POST /api/v1/statuses with status (and
        headers), {"error": error}, without posting anything."""
        with self.cond:
            self.statuses_script.append((status, dict(headers or {}),
                                         error))

    def release_statuses(self):
        """Stop holding answers: the held ones go out now."""
        with self.cond:
            self.hold_statuses = False
            self.cond.notify_all()

    def posts_of(self, key=None, status=None):
        """The recorded POST /api/v1/statuses requests, all or those
        with this Idempotency-Key or answered with this status."""
        with self.cond:
            return [r for r in self.status_posts
                    if (key is None or r["key"] == key) and
                    (status is None or r["status"] == status)]

    def created(self):
        """Statuses made through the API, in order (replays excluded)."""
        with self.cond:
            return [self.statuses[r["id"]] for r in self.status_posts
                    if r["created"] and r["id"] in self.statuses]

    def own_status(self, text, reply_to, visibility, language):
        """A Status by the owner account, as POST /api/v1/statuses makes
        it (not yet posted)."""
        s = self.make_status(0, text=text, visibility=visibility,
                             reply_to=reply_to, language=language,
                             local=True)
        acc = s["account"]
        acc["username"] = acc["acct"] = acc["display_name"] = self.acct
        acc["id"] = "1"
        acc["url"] = "%s/@%s" % (self.base, self.acct)
        s["url"] = "%s/%s" % (acc["url"], s["id"])
        s["uri"] = "%s/users/%s/statuses/%s" % (self.base, self.acct,
                                                s["id"])
        if not language:
            s["language"] = None
        return s

    def search(self, q):
        """The status whose url or uri is q, as this instance knows it
        after resolving q: its own copy under a new id, as a status
        fetched from another instance gets (made once per q)."""
        with self.cond:
            if q in self.resolved:
                return [copy.deepcopy(self.statuses[self.resolved[q]])]
            found = [s for s in self.statuses.values()
                     if q and q in (s.get("url"), s.get("uri"))]
            if not found:
                return []
            c = copy.deepcopy(found[0])
            c["id"] = str(self.next_status)
            self.next_status += STATUS_ID_STEP
            self.statuses[c["id"]] = c
            self.resolved[q] = c["id"]
            return [copy.deepcopy(c)]

    def rest_requests(self):
        with self.cond:
            return list(self.requests)

    def state(self):
        with self.cond:
            return {"connections": [c.record() for c in self.conns],
                    "requests": list(self.requests),
                    "violations": list(self.violations),
                    "statuses": sorted(self.statuses, key=int),
                    "notifications": [n["id"] for n in self.notifications],
                    "status_posts": list(self.status_posts)}

    # Streaming.

    def _mentions_owner(self, s):
        return any(m["acct"] == self.acct for m in s.get("mentions", []))

    def _is_local(self, s):
        return "@" not in s["account"]["acct"]

    def _streams_of(self, s, sub):
        """The envelope's stream for status s on subscription sub, or
        None if that stream does not carry it."""
        name, arg = sub
        public = s["visibility"] == "public"
        if name == "hashtag":
            tags = {t["name"].lower() for t in s.get("tags", [])}
            return [name, arg] if public and arg.lower() in tags else None
        if name == "list":
            members = self.lists.get(arg, set())
            return [name, arg] if s["account"]["acct"] in members and \
                s["visibility"] in ("public", "unlisted", "private") \
                else None
        if name == "public" and public:
            return [name]
        if name == "public:local" and public and self._is_local(s):
            return [name]
        if name == "public:remote" and public and not self._is_local(s):
            return [name]
        return None

    def _push(self, s, event, payload, notifications=True):
        with self.cond:
            targets = []
            for c in self.open_conns():
                for sub in c.subs:
                    st = self._streams_of(s, sub)
                    if st is not None:
                        targets.append((c, st))
        for c, st in targets:
            self._send_event(c, st, event, payload)

    def _push_notification(self, n):
        with self.cond:
            targets = [c for c in self.open_conns()
                       if ("user:notification", None) in c.subs or
                       ("user", None) in c.subs]
        for c in targets:
            self._send_event(c, ["user:notification"], "notification",
                             json.dumps(n))

    def _send_event(self, c, stream, event, payload):
        msg = json.dumps({"stream": stream, "event": event,
                          "payload": payload}).encode("utf-8")
        try:
            c.send(msg)
        except (OSError, EOFError):
            c.close(c.closed_by or "eof")
            return
        with self.cond:
            c.events += 1
            drop = c.drop_after is not None and c.events >= c.drop_after
            if drop:
                c.drop_after = None
                self.refuse_until = time.time() + c.refuse_after_drop
            self.cond.notify_all()
        if drop:
            self._say("connection %d: dropping after %d events",
                      c.number, c.events)
            c.close("drop")

    def _subscribe(self, c, msg):
        """A client message; False if it is not one we accept."""
        if not isinstance(msg, dict) or \
                msg.get("type") not in ("subscribe", "unsubscribe"):
            return False
        name = msg.get("stream")
        arg = None
        if name in ("hashtag", "hashtag:local"):
            arg = msg.get("tag")
        elif name == "list":
            arg = msg.get("list")
        ok = name in ("user", "user:notification", "hashtag", "list") + \
            TIMELINES and (arg is not None or
                           name not in ("hashtag", "list"))
        if not ok:
            return False
        with self.cond:
            sub = (name, arg)
            if msg["type"] == "subscribe" and sub not in c.subs:
                c.subs.append(sub)
            elif msg["type"] == "unsubscribe" and sub in c.subs:
                c.subs.remove(sub)
            self.cond.notify_all()
        return True

    def websocket(self, handler, auth, query):
        """Serve one upgraded connection until it closes."""
        sock = handler.connection
        with self.cond:
            c = WsConn(self, len(self.conns) + 1, sock, auth, query)
            self.conns.append(c)
            self.cond.notify_all()
        self._say("connection %d open (%s)", c.number, auth)
        reader = SockReader(handler.rfile)
        try:
            while not c.closed:
                fin, op, payload = read_frame(reader, True)
                if op == OP_PING:
                    with self.cond:
                        c.pings += 1
                    c.send(payload, OP_PONG)
                elif op == OP_CLOSE:
                    try:
                        c.send(struct.pack("!H", 1000), OP_CLOSE)
                    except (OSError, EOFError):
                        pass
                    c.close("client")
                elif op == OP_TEXT and fin:
                    try:
                        msg = json.loads(payload.decode("utf-8"))
                    except (UnicodeError, ValueError):
                        msg = None
                    with self.cond:
                        c.messages.append(msg)
                    if not self._subscribe(c, msg):
                        # What Mastodon answers to a bad subscription.
                        c.send(json.dumps({"error": "Unknown stream type",
                                           "status": 400}).encode())
                elif op in (OP_BINARY, OP_CONT, OP_TEXT):
                    raise ProtocolError("unexpected frame %d" % op)
        except (OSError, EOFError, ProtocolError) as e:
            c.close(c.closed_by or "eof: %s" % e)
        self._say("connection %d closed: %s", c.number, c.closed_by)

    # REST.

    def rate(self):
        """Count one request against the window: (limit, remaining,
        reset ISO time, whether the budget was already spent)."""
        now = time.time()
        with self.cond:
            if self.window_start is None or \
                    now >= self.window_start + self.rate_window:
                self.window_start = now
                self.window_used = 0
            spent = self.window_used >= self.rate_limit
            if not spent:
                self.window_used += 1
            left = self.rate_limit - self.window_used
            reset = self.window_start + self.rate_window
        return self.rate_limit, left, iso_now(reset - now), spent, reset

    def timeline(self, path, query):
        """(items, (default, max) limit) for a REST path, or None if
        there is no such endpoint."""
        with self.cond:
            statuses = sorted(self.statuses.values(),
                              key=lambda s: int(s["id"]))
            notifs = list(self.notifications)
        if path == "/api/v1/notifications":
            types = query.get("types[]")
            items = [n for n in notifs if not types or n["type"] in types]
            return items, NOTIFICATION_LIMIT
        if path.startswith("/api/v1/timelines/tag/"):
            tag = urllib.parse.unquote(path[len("/api/v1/timelines/tag/"):])
            sub = ("hashtag", tag)
        elif path.startswith("/api/v1/timelines/list/"):
            lid = urllib.parse.unquote(path[len("/api/v1/timelines/list/"):])
            if lid not in self.lists:
                return None
            sub = ("list", lid)
        elif path == "/api/v1/timelines/public":
            local = query.get("local", ["false"])[0] == "true"
            remote = query.get("remote", ["false"])[0] == "true"
            sub = ("public:local" if local else "public:remote" if remote
                   else "public", None)
        else:
            return None
        return [s for s in statuses if self._streams_of(s, sub)], \
            TIMELINE_LIMIT

    def page(self, items, query, limits):
        """Mastodon's id pagination: newest first; min_id gives the
        items just above it, since_id the newest above it."""
        def arg(k):
            v = query.get(k)
            return int(v[0]) if v and v[0] != "" else None
        try:
            limit = arg("limit")
            lo_min, lo_since, hi = arg("min_id"), arg("since_id"), \
                arg("max_id")
        except ValueError:
            return None
        limit = limits[0] if limit is None else min(abs(limit), limits[1])
        sel = [i for i in items if
               (lo_min is None or int(i["id"]) > lo_min) and
               (lo_since is None or int(i["id"]) > lo_since) and
               (hi is None or int(i["id"]) < hi)]
        sel.sort(key=lambda i: int(i["id"]))
        sel = sel[:limit] if lo_min is not None else sel[-limit:] \
            if limit else []
        sel.reverse()
        return sel


class MastodonHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as curl expects
    server_version = "fake-mastodon/1"
    server_owner = None
    # Headers and body go out in two writes: without this, Nagle and
    # delayed ACKs add 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, headers=()):
        body = json.dumps(obj).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type",
                             "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            # The client gave up (a daemon stopped mid-request).
            self.close_connection = True

    def bearer(self):
        h = self.headers.get("Authorization", "")
        return h[7:] if h.startswith("Bearer ") else None

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/api/v1/streaming":
            return self.streaming(query)
        if url.path == "/_control/state":
            return self.answer(200, self.server_owner.state())
        if url.path == "/api/v2/search":
            return self.search(query)
        return self.rest(url, query)

    def streaming(self, query):
        srv = self.server_owner
        upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        key = self.headers.get("Sec-WebSocket-Key", "")
        token, auth = self.bearer(), "header"
        if token is None and self.headers.get("Sec-WebSocket-Protocol"):
            token, auth = self.headers["Sec-WebSocket-Protocol"], "protocol"
        if token is None and query.get("access_token"):
            token, auth = query["access_token"][0], "query"
        if not upgrade or not key:
            return self.answer(400, {"error": "not a websocket upgrade"})
        if token != srv.token:
            return self.answer(401, {"error": "Error: Missing access token"
                                     if token is None else
                                     "Error: Invalid access token"})
        if time.time() < srv.refuse_until:
            return self.answer(503, {"error": "down for a moment"})
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        srv.websocket(self, auth, {k: v for k, v in query.items()
                                   if k != "access_token"})

    def rest(self, url, query):
        srv = self.server_owner
        with srv.cond:
            srv.rest_active += 1
            srv.cond.notify_all()
        try:
            self.rest_answer(srv, url, query)
        finally:
            with srv.cond:
                srv.rest_active -= 1
                srv.cond.notify_all()

    def rest_answer(self, srv, url, query):
        t0 = time.time()
        rec = {"t": t0, "path": url.path, "query": query,
               "token_ok": self.bearer() == srv.token}
        limit, left, reset_iso, spent, reset = srv.rate()
        rec.update(remaining=left, reset=reset, spent=spent)
        hdrs = [("X-RateLimit-Limit", str(limit)),
                ("X-RateLimit-Remaining", str(max(left, 0))),
                ("X-RateLimit-Reset", reset_iso)]
        with srv.cond:
            scripted = srv.fail_next.pop(0) if srv.fail_next else None
            delay = srv.rest_delay
        if delay:
            time.sleep(delay)
        status, body = 200, None
        if not rec["token_ok"]:
            status, body = 401, {"error": "The access token is invalid"}
        elif spent:
            status, body = 429, {"error": "Too many requests"}
            hdrs.append(("Retry-After", str(max(1, int(reset - t0 + 1)))))
            with srv.cond:
                srv.violations.append(rec)
        elif scripted is not None:
            status, body = scripted[0], {"error": "scripted"}
            hdrs.extend(scripted[1].items())
        else:
            tl = srv.timeline(url.path, query)
            items = srv.page(tl[0], query, tl[1]) if tl else None
            if tl is None:
                status, body = 404, {"error": "Record not found"}
            elif items is None:
                status, body = 400, {"error": "bad id"}
            else:
                body = items
                if items:
                    base = srv.base + url.path
                    hdrs.append(("Link", '<%s?max_id=%s>; rel="next", '
                                 '<%s?min_id=%s>; rel="prev"'
                                 % (base, items[-1]["id"], base,
                                    items[0]["id"])))
        rec.update(status=status, count=len(body)
                   if isinstance(body, list) else None,
                   ids=[i["id"] for i in body] if isinstance(body, list)
                   else None)
        with srv.cond:
            srv.requests.append(rec)
            srv.cond.notify_all()
        self.answer(status, body, hdrs)

    def search(self, query):
        srv = self.server_owner
        if self.bearer() != srv.token:
            return self.answer(401, {"error": "The access token is invalid"})
        q = (query.get("q") or [""])[0]
        found = srv.search(q) if query.get("type", ["statuses"])[0] == \
            "statuses" else []
        with srv.cond:
            srv.requests.append({"t": time.time(), "path": "/api/v2/search",
                                 "query": query, "token_ok": True,
                                 "status": 200, "count": len(found),
                                 "ids": [x["id"] for x in found]})
            srv.cond.notify_all()
        self.answer(200, {"accounts": [], "hashtags": [],
                          "statuses": found[:1]})

    def status_params(self, raw):
        """The parameters of POST /api/v1/statuses, JSON or form; None
        if the body is neither."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/json":
            try:
                arg = json.loads(raw.decode("utf-8"))
            except (UnicodeError, ValueError):
                return None
            return arg if isinstance(arg, dict) else None
        try:
            form = urllib.parse.parse_qs(raw.decode("utf-8"),
                                         keep_blank_values=True,
                                         strict_parsing=bool(raw))
        except (UnicodeError, ValueError):
            return None
        return {k: v[-1] for k, v in form.items()}

    def post_status(self, raw):
        """POST /api/v1/statuses, as Mastodon's StatusesController."""
        srv = self.server_owner
        arg = self.status_params(raw)
        key = self.headers.get("Idempotency-Key")
        rec = {"t": time.time(), "headers": dict(self.headers.items()),
               "auth": self.headers.get("Authorization"), "key": key,
               "body": arg, "raw": raw.decode("utf-8", "replace"),
               "status": None, "id": None, "created": False,
               "replayed": False}
        with srv.cond:
            srv.status_posts.append(rec)

        def done(status, body, hdrs=()):
            with srv.cond:
                rec["status"] = status
                srv.cond.notify_all()
            return self.answer(status, body, hdrs)

        if self.bearer() != srv.token:
            return done(401, {"error": "The access token is invalid"})
        with srv.cond:
            scripted = srv.statuses_script.pop(0) \
                if srv.statuses_script else None
        if scripted is not None:
            return done(scripted[0], {"error": scripted[2]},
                        list(scripted[1].items()))
        if arg is None:
            return done(400, {"error": "Unparseable body"})
        text = arg.get("status")
        vis = arg.get("visibility") or "public"
        reply_to = arg.get("in_reply_to_id")
        lang = arg.get("language")
        if not isinstance(text, str) or not text.strip():
            return done(422, {"error": "Validation failed: Text can't be "
                              "blank"})
        if len(text) > 500:
            return done(422, {"error": "Validation failed: Text character "
                              "limit of 500 exceeded"})
        if vis not in ("public", "unlisted", "private", "direct"):
            return done(422, {"error": "Validation failed: Visibility is "
                              "not included in the list"})
        if lang is not None and not (isinstance(lang, str) and
                                     2 <= len(lang) <= 3 and lang.isalpha()):
            return done(422, {"error": "Validation failed: Language is "
                              "invalid"})
        with srv.cond:
            known = reply_to is None or (isinstance(reply_to, str) and
                                         reply_to in srv.statuses)
            old = srv.idempotency.get(key) if key else None
        if not known:
            return done(404, {"error": "The status you are trying to reply "
                              "to does not appear to exist."})
        if old is not None:
            # Mastodon answers the status the key made, and posts nothing.
            rec.update(id=old, replayed=True)
            with srv.cond:
                s = copy.deepcopy(srv.statuses.get(old))
            return done(200, s)
        s = srv.own_status(text, reply_to, vis, lang)
        with srv.cond:
            if key:
                srv.idempotency[key] = s["id"]
        with srv.cond:
            rec.update(id=s["id"], created=True)
        srv.post(s)
        with srv.cond:
            srv.held += srv.hold_statuses
            held = srv.hold_statuses
            srv.cond.notify_all()
            srv.cond.wait_for(lambda: not srv.hold_statuses or
                              srv.stopping)
            srv.held -= held
            srv.cond.notify_all()
        return done(200, s)

    def do_POST(self):
        srv = self.server_owner
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        path = urllib.parse.urlsplit(self.path).path
        if path == "/api/v1/statuses":
            return self.post_status(raw)
        try:
            arg = json.loads(raw or b"{}")
        except ValueError:
            return self.answer(400, {"error": "bad JSON"})
        try:
            if path == "/_control/post":
                template = arg.pop("template", 0)
                sid = srv.post(srv.make_status(template, **arg))
                return self.answer(200, srv.statuses[sid])
            if path == "/_control/edit":
                return self.answer(200, srv.edit(arg["id"], arg["text"]))
            if path == "/_control/delete":
                srv.delete(arg["id"])
                return self.answer(200, {})
            if path == "/_control/drop":
                srv.drop_connections(float(arg.get("refuse", 0)))
                return self.answer(200, {})
        except (KeyError, TypeError) as e:
            return self.answer(400, {"error": str(e)})
        return self.answer(404, {"error": "Record not found"})


def main(argv=None):
    ap = arg_parser(__doc__)
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--acct", default="acme",
                    help="the owner account: its mentions notify")
    ap.add_argument("--statuses", default=DEFAULT_STATUSES,
                    help="recorded Status entities, JSONL")
    ap.add_argument("--rate-limit", type=int, default=300)
    ap.add_argument("--rate-window", type=float, default=300.0)
    a = parse_args(ap, argv)
    srv = MastodonServer(token=a.token, acct=a.acct, statuses=a.statuses,
                         rate_limit=a.rate_limit, rate_window=a.rate_window,
                         lifetime=a.lifetime, port=a.port, verbose=a.verbose)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
