#!/usr/bin/env python3
"""Mastodon end to end against a local Mastodon-like server: hashtag
and mention statuses reach their teams through the streaming websocket
and, after a dropped connection, a SIGKILL and a SIGTERM with statuses
posted meanwhile, through the REST backfill; every selected status
arrives exactly once.  A fresh install starts at "now" (no history), the
rate-limit headers and a 429 are honoured, an edit and a deletion are
noted in the team's channel, a direct mention is marked private, and the
access token travels only in Authorization headers, never in a log."""

import os
import re
import signal
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, Tap, compare, cstr,  # noqa: E402
                    strings_in, wait_delivered, wait_until)
from mastodon_server import MastodonServer  # noqa: E402

TIMEOUT = 30
PAGE_SIZE = 3           # small, so a backfill takes several pages
EDITED = "Edited by its author"
DELETED = "Deleted by its author"
# A post's web link as the fake makes them: profile URL + "/" + id.
STATUS_URL = re.compile(r"https?://[A-Za-z0-9.:-]+/@[A-Za-z0-9_.-]+/[0-9]+")

STREAMS = [("user:notification", None), ("hashtag", "acmebugs"),
           ("hashtag", "acmesummer"), ("list", "7"), ("public:local", None)]
# The one member of list 7: a recorded author whose statuses only come
# through that list, so that a stream stays quiet from its first start
# to a restart.
LIST_ID = "7"
MEMBER_TEMPLATE = 15


def config(state, port, chat_port, token_file, acct, member):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "masto"; type = "mastodon";
  url = "http://127.0.0.1:%d/";
  access_token_file = %s;
  hashtags = [ "#AcmeBugs", "acmesummer" ];
  lists = [ %s ];
  timelines = [ "public:local" ];
  page_size = %d; idle_timeout = 5; reconnect_min = 50;
  reconnect_max = 500; } );
teams = (
  { name = "care"; chat = { type = "slack"; webhook_url =
    "http://127.0.0.1:%d/hooks/care"; rate = 50.0; burst = 20; };
    rules = ( { name = "mentions"; priority = 10;
                mentions = [ %s ]; } ); },
  { name = "rnd"; chat = { type = "mattermost"; webhook_url =
    "http://127.0.0.1:%d/hooks/rnd"; rate = 50.0; burst = 20; };
    rules = ( { name = "bugs"; priority = 5; hashtags = [ "acmebugs" ]; },
              { name = "watched"; authors = [ %s ]; } ); },
  { name = "marketing"; chat = { type = "slack"; webhook_url =
    "http://127.0.0.1:%d/hooks/marketing"; rate = 50.0; burst = 20; };
    rules = ( { name = "summer"; hashtags = [ "acmesummer" ]; } ); }
);
""" % (cstr(state), port, cstr(token_file), cstr(LIST_ID), PAGE_SIZE,
       chat_port, cstr(acct), chat_port, cstr(member), chat_port)


class Scenario:
    """The fake instance, the chat server, the daemon, and what the test
    posted and expects where."""

    def __init__(self, tap):
        self.tap = tap
        self.wd = tap.subdir("mastodon")
        self.token = "sbTok-" + os.urandom(12).hex()
        self.srv = MastodonServer(token=self.token)
        self.member = self.srv.templates[MEMBER_TEMPLATE]["account"]["acct"]
        self.srv.lists = {LIST_ID: {self.member}}
        self.chat = ChatServer()
        self.daemon = Daemon(self.wd)
        self.expected = {}      # status URL -> hook path
        self.by_id = {}         # status id -> status
        self.template = 0

    def start_servers(self):
        port = self.srv.start()
        token_file = self.token_file = os.path.join(self.wd, "token")
        with open(token_file, "w") as f:
            f.write(self.token + "\n")
        self.acct = "acme@" + self.srv.host
        self.daemon.write_config(config(self.daemon.state, port,
                                        self.chat.start(), token_file,
                                        self.acct, self.member))

    def post(self, expect=True, member=False, **kw):
        """Post a status made from the next recorded one (or by the list
        member); remember where the rules send it (mentions: care,
        #acmebugs or the member: rnd, #acmesummer: marketing, else
        nowhere)."""
        if self.template % len(self.srv.templates) == MEMBER_TEMPLATE:
            self.template += 1
        s = self.srv.make_status(MEMBER_TEMPLATE if member else
                                 self.template, **kw)
        self.template += not member
        self.srv.post(s)
        self.by_id[s["id"]] = s
        tags = kw.get("tags", ())
        hook = "/hooks/care" if kw.get("mention") else \
            "/hooks/rnd" if "acmebugs" in tags or member else \
            "/hooks/marketing" if "acmesummer" in tags else None
        if expect and hook:
            self.expected[s["url"]] = hook
        return s

    def batch(self, n, expect=True):
        """n statuses of every kind the streams carry: hashtag ones
        (some with both tags), mentions (one direct), local ones with
        and without a tag."""
        out = []
        for i in range(n):
            k = i % 6
            if k == 0:
                out.append(self.post(expect, tags=["acmebugs"]))
            elif k == 1:
                out.append(self.post(expect, tags=["acmesummer",
                                                   "acmebugs"]))
            elif k == 2:
                out.append(self.post(expect, mention=True))
            elif k == 3:
                out.append(self.post(expect, tags=["acmesummer"],
                                     local=True))
            elif k == 4:
                out.append(self.post(expect, local=True))   # noise
            else:
                out.append(self.post(expect, mention=True, tags=["acmebugs"],
                                     visibility="direct"))
        return out

    def records(self):
        return self.chat.snapshot()[0]

    def start_daemon(self):
        self.records_at_start = len(self.records())
        self.daemon.start()

    def settle(self):
        """Wait until the daemon has recorded as done every delivery the
        chat server accepted from it: a SIGKILL before that would make
        it deliver again, rightly (at least once, across a crash)."""
        done = re.compile(r"chat \S+: delivery \d+ done")
        return wait_until(lambda: len(done.findall(self.daemon.log())) >=
                          len(self.records()) - self.records_at_start,
                          self.tap.timeout(TIMEOUT))

    def posts_and_notes(self):
        posts, notes = [], []
        for r in self.records():
            text = " ".join(strings_in(r["body"]))
            (notes if EDITED in text or DELETED in text else
             posts).append(r)
        return posts, notes

    def wait_all(self, what):
        ok = wait_delivered(lambda: self.posts_and_notes()[0],
                            self.expected, self.tap.timeout(TIMEOUT))
        self.tap.ok(ok, "%s: every selected status delivered" % what,
                    *sbtest.few(compare(self.expected,
                                        self.posts_and_notes()[0])),
                    self.daemon.tail())

    def subscribed(self, n_conns):
        """Wait for connection n_conns to carry every subscription."""
        def ok(s):
            c = s.connections
            return len(c) >= n_conns and c[n_conns - 1]["open"] and \
                set(map(tuple, c[n_conns - 1]["subs"])) >= set(STREAMS)
        return self.srv.wait(ok, self.tap.timeout(TIMEOUT))


def first_start(sc):
    """History stays history; live statuses stream in."""
    tap, srv = sc.tap, sc.srv
    sc.batch(6, expect=False)   # posted before the first start
    sc.post(expect=False, member=True)
    sc.start_daemon()
    tap.ok(sc.subscribed(1), "start: one websocket, subscribed to every "
           "configured stream", srv.connections, sc.daemon.tail())
    m = sc.daemon.wait_log(r"backfill done", tap.timeout(TIMEOUT))
    tap.ok(m, "start: the first backfill ends", sc.daemon.tail())
    reqs = srv.rest_requests()
    first = {}
    for r in reqs:
        first.setdefault(r["path"], r)
    tap.ok(reqs and all(r["query"].get("limit") == ["1"] and
                        "min_id" not in r["query"]
                        for r in first.values()),
           "start: with no saved position each stream first asks only for "
           "its newest item (limit=1, no min_id)",
           *["%s %s" % (r["path"], r["query"]) for r in reqs])
    tap.ok({r["path"] for r in reqs} >= {
        "/api/v1/notifications", "/api/v1/timelines/tag/acmebugs",
        "/api/v1/timelines/tag/acmesummer", "/api/v1/timelines/public",
        "/api/v1/timelines/list/" + LIST_ID},
        "start: every stream's REST timeline is read",
        *sorted({r["path"] for r in reqs}))
    sc.batch(12)
    sc.wait_all("live")


def drop(sc):
    """The server drops the stream mid-batch and refuses a reconnection
    for a second: the rest of the batch comes through the backfill."""
    tap, srv = sc.tap, sc.srv
    srv.drop_after(4, refuse_s=1.0)
    before = len(srv.rest_requests())
    sc.batch(14)
    conns = srv.connections
    tap.ok(len(conns) == 1 and not conns[0]["open"] and
           conns[0]["closed_by"] == "drop",
           "drop: the connection is dropped mid-batch", conns)
    tap.ok(sc.subscribed(2), "drop: the daemon reconnects and "
           "subscribes again", srv.connections, sc.daemon.tail())
    sc.wait_all("drop")
    after = srv.rest_requests()[before:]
    tap.ok(after and all("min_id" in r["query"] for r in after) and
           any(r["count"] == PAGE_SIZE for r in after),
           "drop: the backfill pages forward with min_id, several pages",
           *["%s %s -> %s" % (r["path"], r["query"], r["count"])
             for r in after])


def kill(sc):
    """SIGKILL, statuses posted while down, a tight rate limit at the
    restart: the backfill waits for the window instead of hitting 429."""
    tap, srv = sc.tap, sc.srv
    tap.ok(sc.settle(), "kill: every delivery so far is recorded as done")
    sc.daemon.kill()
    sc.batch(20)
    # The list was quiet since the first start: only its position
    # from then keeps its history out.
    sc.post(member=True)
    sc.post(member=True)
    with srv.cond:
        srv.rate_limit, srv.rate_window = 4, 2.0
        srv.window_start = None
    mark = len(srv.rest_requests())
    sc.start_daemon()
    tap.ok(sc.subscribed(3), "kill: the restarted daemon subscribes",
           srv.connections, sc.daemon.tail())
    sc.wait_all("kill")
    reqs = srv.rest_requests()[mark:]
    waited = [b for a, b in zip(reqs, reqs[1:])
              if a["remaining"] <= 1 and b["t"] >= a["reset"]]
    tap.ok(not srv.state()["violations"] and waited,
           "kill: at the rate limit the backfill waits for the reset "
           "(%d waits, %d requests over the limit)"
           % (len(waited), len(srv.state()["violations"])),
           *["%.2f %s remaining %d" % (r["t"], r["path"], r["remaining"])
             for r in reqs])
    with srv.cond:
        srv.rate_limit, srv.rate_window = 300, 300.0
        srv.window_start = None


def term(sc):
    """SIGTERM while a backfill request hangs, statuses posted while
    down, and a 429 with Retry-After for the first request after the
    restart."""
    tap, srv = sc.tap, sc.srv
    with srv.cond:
        srv.rest_delay = 3.0
    srv.drop_connections()
    busy = srv.wait(lambda s: s.rest_active > 0, tap.timeout(TIMEOUT))
    rc, secs = sc.daemon.stop(signal.SIGTERM, 5.0)
    tap.ok(busy and rc == 0, "term: SIGTERM during a backfill request "
           "stops the daemon with status 0 (%.1f s)" % secs,
           "status %r" % rc, sc.daemon.tail())
    with srv.cond:
        srv.rest_delay = 0.0
    srv.wait(lambda s: s.rest_active == 0, tap.timeout(10))
    sc.batch(9)
    srv.script_rest(429, {"Retry-After": "1"})
    mark = len(srv.rest_requests())
    n = len(srv.connections)
    sc.start_daemon()
    sc.subscribed(n + 1)
    sc.wait_all("term")
    reqs = srv.rest_requests()[mark:]
    gap = reqs[1]["t"] - reqs[0]["t"] if len(reqs) > 1 else 0
    tap.ok(reqs and reqs[0]["status"] == 429 and gap >= 0.95,
           "term: after a 429 with Retry-After: 1 the next request waits "
           "(%.2f s)" % gap, *["%.2f %s %s" % (r["t"], r["path"],
                                               r["status"]) for r in reqs])


def notes(sc):
    """An edit and a deletion of delivered statuses."""
    tap, srv = sc.tap, sc.srv
    posts = [s for s in sc.by_id.values() if s["url"] in sc.expected]
    bugs = next(s for s in posts if sc.expected[s["url"]] == "/hooks/rnd"
                and s["visibility"] == "public" and
                [t["name"] for t in s["tags"]] == ["acmebugs"])
    summer = next(s for s in posts
                  if sc.expected[s["url"]] == "/hooks/marketing")
    new_text = "Update: the acme firmware bug is fixed in 2.1"
    srv.edit(bugs["id"], new_text)
    srv.delete(summer["id"])

    def note(path, label, url):
        for r in sc.posts_and_notes()[1]:
            text = " ".join(strings_in(r["body"]))
            if r["path"] == path and label in text and url in text:
                return r
        return None
    ok = sc.chat.wait(lambda c: note("/hooks/rnd", EDITED, bugs["url"]) and
                      note("/hooks/marketing", DELETED, summer["url"]),
                      tap.timeout(TIMEOUT))
    edited = note("/hooks/rnd", EDITED, bugs["url"])
    tap.ok(edited and new_text in " ".join(strings_in(edited["body"])),
           "edit: a note with the new text in the same team's channel",
           sc.posts_and_notes()[1], sc.daemon.tail())
    tap.ok(note("/hooks/marketing", DELETED, summer["url"]),
           "delete: a note in the same team's channel",
           sc.posts_and_notes()[1], sc.daemon.tail())
    sc.chat.wait(lambda c: False, sbtest.SETTLE)
    tap.ok(ok and len(sc.posts_and_notes()[1]) == 2,
           "edit and delete: one note each",
           *[str(r["body"])[:200] for r in sc.posts_and_notes()[1]])


def reload(sc):
    """SIGHUP with the same settings keeps the connection, and the
    source goes on with the reloaded configuration's copy of them."""
    tap, srv, daemon = sc.tap, sc.srv, sc.daemon
    n = len(srv.connections)
    mark = len(daemon.log())
    daemon.send_signal(signal.SIGHUP)
    tap.ok(daemon.wait_log(r"configuration reloaded", tap.timeout(10),
                           mark), "reload: SIGHUP reloads", daemon.tail())
    sc.batch(6)
    sc.wait_all("reload")
    tap.eq(len(srv.connections), n, "reload: the stream stays connected")


def rotated_token(sc):
    """The operator rewrites the token file (the old token is revoked)
    and reloads: the file's path is unchanged, yet the source reconnects
    with the new token, from its cursor."""
    tap, srv, daemon = sc.tap, sc.srv, sc.daemon
    n = len(srv.connections)
    old, sc.token = sc.token, "sbTok-" + os.urandom(12).hex()
    with open(sc.token_file + ".new", "w") as f:
        f.write(sc.token + "\n")
    os.rename(sc.token_file + ".new", sc.token_file)
    srv.token = sc.token
    mark = len(daemon.log())
    daemon.send_signal(signal.SIGHUP)
    log = daemon.wait_log(r"configuration reloaded.*", tap.timeout(10),
                          mark)
    tap.ok(log and "1 reconnected" in log.group(0),
           "rotated token: the reload reconnects the source",
           daemon.log()[mark:])
    tap.ok(sc.subscribed(n + 1), "rotated token: a new stream, with "
           "every subscription, under the new token", daemon.tail())
    sc.batch(6)
    sc.wait_all("rotated token")
    tap.ok(old not in daemon.log() and old[6:] not in daemon.log(),
           "rotated token: the old token is not in the log either")


def final(sc):
    tap, srv, daemon = sc.tap, sc.srv, sc.daemon
    sc.chat.wait(lambda c: False, sbtest.SETTLE)
    posts = sc.posts_and_notes()[0]
    problems = compare(sc.expected, posts)
    tap.ok(not problems, "every selected status reached its team's chat "
           "exactly once (%d), history and noise never"
           % len(sc.expected), *sbtest.few(problems))
    direct = [s["url"] for s in sc.by_id.values()
              if s["visibility"] == "direct" and s["url"] in sc.expected]
    marked = []
    for r in posts:
        text = " ".join(strings_in(r["body"]))
        for u in direct:
            if u in text and "private" in text:
                marked.append(u)
    tap.ok(direct and sorted(marked) == sorted(direct),
           "direct mentions (%d) are delivered and marked private"
           % len(direct), "marked: %s" % marked)
    public = [r for r in posts if any(
        u in " ".join(strings_in(r["body"])) for u, h in
        sc.expected.items() if u not in direct)]
    tap.ok(public and not any("private" in " ".join(strings_in(r["body"]))
                              for r in public),
           "public statuses are not marked private")
    conns = srv.connections
    tap.ok(conns and all(c["auth"] == "header" and not c["query"]
                         for c in conns),
           "the token goes in the Authorization header, never the URL",
           conns)
    reqs = srv.rest_requests()
    tap.ok(reqs and all(r["token_ok"] for r in reqs),
           "every REST request carries the token (%d)" % len(reqs))
    rc, _ = daemon.stop(signal.SIGTERM, 5.0)
    tap.ok(rc == 0, "the daemon stops with status 0", daemon.tail())
    with open(daemon.logpath, encoding="utf-8", errors="replace") as f:
        log = f.read()
    tap.ok(sc.token not in log and sc.token[6:] not in log,
           "the access token never appears in the daemon's log")


def main():
    tap = Tap("mastodon")
    sbtest.need_binary(tap)
    # Messages show Mastodon status links, not Bluesky ones.
    sbtest.URL_RE = STATUS_URL
    sc = Scenario(tap)
    try:
        sc.start_servers()
        for fn in (first_start, drop, kill, term, notes, reload,
                   rotated_token, final):
            if tap.run(fn.__name__, fn, sc) is False:
                break
    finally:
        if sc.daemon.alive():
            sc.daemon.kill()
        sc.srv.stop()
        sc.chat.stop()
    tap.finish()


if __name__ == "__main__":
    main()
