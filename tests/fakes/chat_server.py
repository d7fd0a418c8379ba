#!/usr/bin/env python3
"""A loopback HTTP/1.1 server that answers like Slack and Mattermost
incoming webhooks, the Slack Web API (chat.postMessage, chat.update) and
the Mattermost REST API v4 (posts, patch), with scripted failures and
rate limits, and records what it accepted, for switchboard's
integration tests.

Use it as a script (see --help) or as a module:

    chat = ChatServer(script="429:1,500,ok")
    port = chat.start()
    ...
    chat.wait(lambda c: len(c.records) >= 10, timeout=30)
    chat.stop()

Every request is answered in this order: the --outage file exists -> 503;
the path is --gone -> 404 channel_not_found; the path is not
/hooks/NAME -> 404 no_service; the body is not a JSON object with a
"text" string -> 400 invalid_payload; the --script or --fail-every turn
says fail -> that status; else the message is recorded and answered 200
"ok".  Turns are counted per path, so each channel sees the script in
order whatever the other channels do.  Only 200s are recorded (--record);
every other answer is a failed attempt (--attempts).

The APIs (under /api/ for Slack, /api/v4/ for Mattermost) check the
bearer token, the channel, that a thread_ts / root_id names a top-level
message this server created, and the platforms' size limits (Block Kit:
50 blocks, 3000 characters a section; Mattermost: 16383 characters),
then answer as the platform does: Slack HTTP 200 {"ok":true,"ts":...}
or {"ok":false,"error":...}, 429 ratelimited with Retry-After;
Mattermost 201 with the Post (its "id"), 400/401/404 JSON errors, 429
with X-Ratelimit-Reset.  Their turns count per channel, and the script
takes "err:NAME" for a Slack ok:false answer.  With --min-interval S, a
channel that gets a message less than S seconds after its last accepted
one answers 429 (counted in .limited).  Records of accepted API calls
carry "api", "op" ("post" or "update"), "channel", "id" (ts or post id),
"thread" (thread_ts / root_id, or None) and the request "body".

Python 3 standard library only.
"""

import http.server
import json
import os
import re
import sys
import time

from loopback import Loopback, arg_parser, parse_args, serve_main

HOOK_PATH = re.compile(r"^/hooks/[A-Za-z0-9_.-]+$")

BODIES = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "channel_not_found",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
SLACK_TEXT_MAX = 40000
MATTERMOST_POST_MAX = 16383
ID_ALPHABET = "abcdefghijkmnopqrstuwxyz13456789"


def parse_script(text):
    """"429:2,500,ok,err:x" -> [(429, 2), (500, None), (200, None),
    (200, "x")] (an error name only in the Slack API)."""
    steps = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item == "ok":
            steps.append((200, None))
            continue
        if item.startswith("err:"):
            steps.append((200, item[4:]))
            continue
        status, _, after = item.partition(":")
        code = int(status)
        if not 100 <= code <= 599:
            raise ValueError("bad status in script: %s" % item)
        steps.append((code, int(after) if after else None))
    if not steps:
        raise ValueError("empty script")
    return steps


class ChatServer(Loopback):
    """Slack/Mattermost incoming webhooks on 127.0.0.1.  Every option of
    the script is a keyword argument; start() returns the port."""

    label = "chat_server"

    def __init__(self, record=None, attempts=None, script=None,
                 fail_every=0, fail_status=500, outage=None, gone=(),
                 lifetime=300, port=0, verbose=False,
                 slack_token="xoxb-test", mattermost_token="mm-test",
                 channels=None, min_interval=0.0, delay=0.0):
        self.record_path = record
        self.attempts_path = attempts
        self.script = parse_script(script) if script else None
        self.fail_every = fail_every
        self.fail_status = fail_status
        self.outage = outage
        self.gone = set(gone)
        self.slack_token = slack_token
        self.mattermost_token = mattermost_token
        self.channels = set(channels) if channels else None
        self.min_interval = min_interval
        self.delay = delay      # seconds before each API answer
        self._loopback_init(lifetime, port, verbose)
        self.records = []       # accepted: {"path", "body", "t"}
        self.attempts = []      # failed: {"path", "status", "t", ...}
        self.turns = {}         # path -> requests that reached the script
        self.messages = {}      # Slack ts / Mattermost id -> message
        self.last_ok = {}       # channel -> time of its last accepted one
        self.limited = 0        # 429s for going faster than min_interval
        self.pending = 0        # API requests received, not answered
        self.violations = []    # over a platform limit: refused, listed
        self.seq = 0
        self.httpd = None
        for path in (record, attempts):
            if path:
                open(path, "w").close()

    def start(self):
        self.httpd = self._serve_http(http.server.ThreadingHTTPServer,
                                      ChatHandler)
        self._watch_lifetime()
        return self.port

    def stop(self):
        if not self._mark_stopping():
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self._join_threads()

    def snapshot(self):
        with self.cond:
            return list(self.records), list(self.attempts)

    def decide(self, path, raw):
        """(status, body, headers, parsed JSON or None)."""
        if self.outage and os.path.exists(self.outage):
            return 503, BODIES[503], {}, None
        if path in self.gone:
            return 404, BODIES[404], {}, None
        if not HOOK_PATH.match(path):
            return 404, "no_service", {}, None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeError, ValueError):
            body = None
        if not isinstance(body, dict) or \
                not isinstance(body.get("text"), str):
            return 400, BODIES[400], {}, None
        with self.cond:
            turn = self.turns.get(path, 0) + 1
            self.turns[path] = turn
        if self.script:
            status, after = self.script[(turn - 1) % len(self.script)]
        elif self.fail_every and turn % self.fail_every == 0:
            status, after = self.fail_status, None
        else:
            status, after = 200, None
        if status == 200:
            return 200, "ok", {}, body
        headers = {}
        if after is not None:
            headers["Retry-After"] = str(after)
        return status, BODIES.get(status, "error"), headers, None

    # The APIs.

    def _turn(self, key):
        """The scripted answer for key's next turn: (status, arg)."""
        with self.cond:
            turn = self.turns.get(key, 0) + 1
            self.turns[key] = turn
        if self.script:
            return self.script[(turn - 1) % len(self.script)]
        if self.fail_every and turn % self.fail_every == 0:
            return self.fail_status, None
        return 200, None

    def _too_fast(self, channel):
        """True (and counted) if channel is over --min-interval."""
        if not self.min_interval:
            return False
        with self.cond:
            last = self.last_ok.get(channel)
            if last is not None and \
                    time.monotonic() - last < self.min_interval:
                self.limited += 1
                return True
        return False

    def _new_id(self, api):
        with self.cond:
            self.seq += 1
            seq = self.seq
        if api == "slack":
            return "%d.%06d" % (int(time.time()), seq)
        rnd = os.urandom(20)
        return "".join(ID_ALPHABET[b % 32] for b in rnd) + "%06d" % seq

    def _accept(self, api, op, path, channel, mid, thread, body):
        t = time.time()
        rec = {"path": path, "body": body, "t": t, "api": api, "op": op,
               "channel": channel, "id": mid, "thread": thread}
        with self.cond:
            if op == "post":
                self.messages[mid] = {"api": api, "channel": channel,
                                      "thread": thread, "body": body}
            else:
                self.messages[mid]["body"] = body
            self.last_ok[channel] = time.monotonic()
            self.records.append(rec)
            append_line(self.record_path, rec)
            self.cond.notify_all()
        self._say("%s %s %s %s", api, op, channel, mid)

    def _refuse(self, path, status, reason, retry_after=None):
        rec = {"path": path, "status": status, "t": time.time(),
               "reason": reason}
        if retry_after is not None:
            rec["retry_after"] = retry_after
        with self.cond:
            self.attempts.append(rec)
            append_line(self.attempts_path, rec)
            self.cond.notify_all()
        self._say("%s %d %s", path, status, reason)

    def _violation(self, what):
        with self.cond:
            self.violations.append(what)

    def slack_limits(self, body):
        """Why body breaks Block Kit's limits, or None."""
        blocks = body.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list) or \
                    len(blocks) > SLACK_BLOCKS_MAX:
                return "invalid_blocks"
            for b in blocks:
                t = (b.get("text") or {}).get("text", "") \
                    if isinstance(b, dict) else None
                if not isinstance(t, str) or len(t) > SLACK_SECTION_MAX:
                    return "invalid_blocks"
        text = body.get("text")
        if text is not None and len(text) > SLACK_TEXT_MAX:
            return "msg_too_long"
        if not text and not blocks:
            return "no_text"
        return None

    def slack_api(self, method, path, headers, raw):
        """(status, JSON answer, headers) of a Slack Web API call."""
        def err(name, status=200, hdrs=None):
            self._refuse(path, status, name)
            return status, {"ok": False, "error": name}, hdrs or {}
        if method != "POST" or path not in ("/api/chat.postMessage",
                                            "/api/chat.update"):
            return err("unknown_method", 404)
        if headers.get("Authorization") != "Bearer " + self.slack_token:
            return err("invalid_auth")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            return err("invalid_json")
        channel = body.get("channel")
        if not isinstance(channel, str) or not channel or \
                (self.channels is not None and channel not in
                 self.channels):
            return err("channel_not_found")
        status, arg = self._turn("slack:" + channel)
        if status == 429 or self._too_fast("slack:" + channel):
            after = arg if status == 429 and arg is not None else 1
            self._refuse(path, 429, "ratelimited", after)
            return 429, {"ok": False, "error": "ratelimited"}, \
                {"Retry-After": str(after)}
        if status != 200:
            self._refuse(path, status, BODIES.get(status, "error"))
            return status, None, {}
        if arg is not None:
            return err(arg)
        bad = self.slack_limits(body)
        if bad:
            self._violation("%s: %s" % (path, bad))
            return err(bad)
        if path == "/api/chat.update":
            ts = body.get("ts")
            with self.cond:
                known = self.messages.get(ts)
            if not known or known["api"] != "slack" or \
                    known["channel"] != channel:
                return err("message_not_found")
            self._accept("slack", "update", path, channel, ts, None, body)
            return 200, {"ok": True, "channel": channel, "ts": ts,
                         "text": body.get("text", "")}, {}
        thread = body.get("thread_ts")
        if thread is not None:
            with self.cond:
                root = self.messages.get(thread)
            # Slack threads hang off a top-level message only.
            if not root or root["thread"] is not None or \
                    root["channel"] != channel:
                self._violation("%s: thread_ts %r is not a message's ts"
                                % (path, thread))
                return err("thread_not_found")
        ts = self._new_id("slack")
        self._accept("slack", "post", path, channel, ts, thread, body)
        return 200, {"ok": True, "channel": channel, "ts": ts,
                     "message": {"type": "message", "ts": ts,
                                 "text": body.get("text", "")}}, {}

    def mattermost_api(self, method, path, headers, raw):
        """(status, JSON answer, headers) of a Mattermost API v4 call."""
        def err(status, eid, message, hdrs=None):
            self._refuse(path, status, message)
            return status, {"id": eid, "message": message,
                            "detailed_error": "", "request_id": "fake",
                            "status_code": status}, hdrs or {}
        patch = re.match(r"^/api/v4/posts/([a-z0-9]+)/patch$", path)
        if not ((method == "POST" and path == "/api/v4/posts") or
                (method == "PUT" and patch)):
            return err(404, "api.context.404.app_error",
                       "Sorry, we could not find the page.")
        if headers.get("Authorization") != \
                "Bearer " + self.mattermost_token:
            return err(401, "api.context.session_expired.app_error",
                       "Invalid or expired session, please login again.")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeError, ValueError):
            body = None
        if not isinstance(body, dict) or \
                not isinstance(body.get("message"), str):
            return err(400, "api.context.invalid_body_param.app_error",
                       "Invalid or missing post in request body.")
        if patch:
            with self.cond:
                known = self.messages.get(patch.group(1))
            if not known or known["api"] != "mattermost":
                return err(404, "app.post.get.app_error",
                           "Unable to get the post.")
            channel = known["channel"]
        else:
            channel = body.get("channel_id")
            if not isinstance(channel, str) or not channel or \
                    (self.channels is not None and channel not in
                     self.channels):
                return err(403, "api.context.permissions.app_error",
                           "You do not have the appropriate permissions.")
        status, arg = self._turn("mattermost:" + channel)
        if status == 429 or self._too_fast("mattermost:" + channel):
            after = arg if status == 429 and arg is not None else 1
            reset = "%d" % (int(time.time()) + after)
            self._refuse(path, 429, "limit exceeded", after)
            return 429, {"message": "limit exceeded"}, \
                {"X-Ratelimit-Limit": "1", "X-Ratelimit-Remaining": "0",
                 "X-Ratelimit-Reset": reset}
        if status != 200:
            return err(status, "fake.scripted", BODIES.get(status, "error"))
        if len(body["message"]) > MATTERMOST_POST_MAX:
            self._violation("%s: message of %d characters" %
                            (path, len(body["message"])))
            return err(400, "model.post.is_valid.msg.app_error",
                       "Invalid Message.")
        now = int(time.time() * 1000)
        if patch:
            pid = patch.group(1)
            self._accept("mattermost", "update", path, channel, pid, None,
                         body)
            with self.cond:
                root = self.messages[pid]["thread"] or ""
            return 200, {"id": pid, "channel_id": channel,
                         "root_id": root, "message": body["message"],
                         "edit_at": now, "update_at": now}, {}
        root = body.get("root_id") or None
        if root is not None:
            with self.cond:
                known = self.messages.get(root)
            # Mattermost refuses a reply to a reply.
            if not known or known["thread"] is not None or \
                    known["channel"] != channel:
                self._violation("%s: root_id %r is not a root post" %
                                (path, root))
                return err(400, "api.post.create_post.root_id.app_error",
                           "Invalid RootId parameter.")
        pid = self._new_id("mattermost")
        self._accept("mattermost", "post", path, channel, pid, root, body)
        return 201, {"id": pid, "create_at": now, "update_at": now,
                     "edit_at": 0, "delete_at": 0, "user_id": "bot",
                     "channel_id": channel, "root_id": root or "",
                     "message": body["message"], "type": "",
                     "props": {}}, {}

    def api(self, method, path, headers, raw):
        """(status, JSON answer or None, headers) for an API path."""
        if self.outage and os.path.exists(self.outage):
            self._refuse(path, 503, BODIES[503])
            return 503, None, {}
        with self.cond:
            self.pending += 1
            self.cond.notify_all()
        try:
            if self.delay:
                time.sleep(self.delay)
            if path.startswith("/api/v4/"):
                return self.mattermost_api(method, path, headers, raw)
            return self.slack_api(method, path, headers, raw)
        finally:
            with self.cond:
                self.pending -= 1
                self.cond.notify_all()

    def note(self, path, status, body, headers, reason):
        """Record one answered request."""
        t = time.time()
        with self.cond:
            if status == 200:
                rec = {"path": path, "body": body, "t": t}
                self.records.append(rec)
                append_line(self.record_path, rec)
            else:
                rec = {"path": path, "status": status, "t": t,
                       "reason": reason}
                if "Retry-After" in headers:
                    rec["retry_after"] = int(headers["Retry-After"])
                self.attempts.append(rec)
                append_line(self.attempts_path, rec)
            self.cond.notify_all()
        self._say("%s %d %s", path, status, reason)


def append_line(path, obj):
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


class ChatHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as curl expects
    server_version = "fake-chat/1"
    server_owner = None

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n",
                                                        b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def answer(self, status, text, headers=()):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in dict(headers).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, status, obj, headers=()):
        if obj is None:
            self.answer(status, BODIES.get(status, "error"), headers)
            return
        body = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in dict(headers).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_request(self, method):
        try:
            self.serve_request(method)
        except (BrokenPipeError, ConnectionResetError):
            # The client died waiting (a SIGKILL test): nothing to say.
            self.close_connection = True

    def serve_request(self, method):
        owner = self.server_owner
        try:
            raw = self.read_body()
        except ValueError:
            self.close_connection = True
            self.answer(400, "bad_request")
            return
        if self.path.startswith("/api/"):
            status, obj, headers = owner.api(method, self.path,
                                             self.headers, raw)
            self.answer_json(status, obj, headers)
            return
        if method != "POST":
            self.answer(405, "method_not_allowed", {"Allow": "POST"})
            return
        status, text, headers, body = owner.decide(self.path, raw)
        owner.note(self.path, status, body, headers, text)
        self.answer(status, text, headers)

    def do_POST(self):
        self.handle_request("POST")

    def do_PUT(self):
        self.handle_request("PUT")

    def do_GET(self):
        self.answer(405, "method_not_allowed", {"Allow": "POST"})

    do_DELETE = do_GET


def main(argv=None):
    ap = arg_parser(__doc__, raw=True)
    ap.add_argument("--record", help="accepted messages, one JSON a line")
    ap.add_argument("--attempts", help="failed requests, one JSON a line")
    ap.add_argument("--script", help='repeating answers, e.g. '
                    '"429:2,500,ok,ok,503" (429:N adds Retry-After: N)')
    ap.add_argument("--fail-every", type=int, default=0, metavar="N")
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--outage", metavar="FILE",
                    help="while FILE exists, answer 503")
    ap.add_argument("--gone", action="append", default=[],
                    metavar="PATH", help="answer 404 for PATH "
                    "(repeatable)")
    ap.add_argument("--slack-token", default="xoxb-test")
    ap.add_argument("--mattermost-token", default="mm-test")
    ap.add_argument("--channel", action="append", default=[],
                    help="API channels that exist (default: any)")
    ap.add_argument("--min-interval", type=float, default=0.0,
                    metavar="S", help="API: 429 for a channel's message "
                    "sooner than S s after its last accepted one")
    ap.add_argument("--delay", type=float, default=0.0, metavar="S",
                    help="API: wait S s before answering")
    a = parse_args(ap, argv)
    srv = ChatServer(record=a.record, attempts=a.attempts, script=a.script,
                     fail_every=a.fail_every, fail_status=a.fail_status,
                     outage=a.outage, gone=a.gone, lifetime=a.lifetime,
                     port=a.port, verbose=a.verbose,
                     slack_token=a.slack_token,
                     mattermost_token=a.mattermost_token,
                     channels=a.channel or None,
                     min_interval=a.min_interval, delay=a.delay)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
