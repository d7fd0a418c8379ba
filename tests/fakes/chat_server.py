#!/usr/bin/env python3
"""A loopback HTTP/1.1 server that answers like Slack and Mattermost
incoming webhooks, with scripted failures, and records what it accepted,
for switchboard's integration tests.

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


def parse_script(text):
    """"429:2,500,ok" -> [(429, 2), (500, None), (200, None)]."""
    steps = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item == "ok":
            steps.append((200, None))
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
                 lifetime=300, port=0, verbose=False):
        self.record_path = record
        self.attempts_path = attempts
        self.script = parse_script(script) if script else None
        self.fail_every = fail_every
        self.fail_status = fail_status
        self.outage = outage
        self.gone = set(gone)
        self._loopback_init(lifetime, port, verbose)
        self.records = []       # accepted: {"path", "body", "t"}
        self.attempts = []      # failed: {"path", "status", "t", ...}
        self.turns = {}         # path -> requests that reached the script
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

    def do_POST(self):
        owner = self.server_owner
        try:
            raw = self.read_body()
        except ValueError:
            self.close_connection = True
            self.answer(400, "bad_request")
            return
        status, text, headers, body = owner.decide(self.path, raw)
        owner.note(self.path, status, body, headers, text)
        self.answer(status, text, headers)

    def do_GET(self):
        self.answer(405, "method_not_allowed", {"Allow": "POST"})

    do_PUT = do_DELETE = do_GET


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
    a = parse_args(ap, argv)
    srv = ChatServer(record=a.record, attempts=a.attempts, script=a.script,
                     fail_every=a.fail_every, fail_status=a.fail_status,
                     outage=a.outage, gone=a.gone, lifetime=a.lifetime,
                     port=a.port, verbose=a.verbose)
    return serve_main(srv, a.port_file)


if __name__ == "__main__":
    sys.exit(main())
