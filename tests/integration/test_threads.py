#!/usr/bin/env python3
"""Threads: one social conversation is one chat thread, on the Slack Web
API and the Mattermost REST API v4.  The root post starts a message,
every later post of its conversation goes into that message's thread in
order, a deletion is said in the thread, an edit updates the message;
a 429 and a 500 on the way lose and double nothing; and a SIGKILL in the
middle of deliveries loses nothing, doubling at most the one message
in flight per destination (neither platform takes an idempotency key).

The Jetstream conversation is real: a Turkish thread of three posts
recorded from Bluesky (tests/data/jetstream-corpus.jsonl,
did:plc:u4lmvw4wwzaq...); its deletion is a synthetic event for one of
those posts.  Bluesky posts are not edited (Jetstream's rare "update"
reaches the daemon as a post it has seen), so the edit comes from the
Mastodon fake, whose statuses are made from recorded ones.
"""

import os
import signal
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap, cstr,  # noqa
                    load_jsonl, message_urls, route, url_of_id,
                    wait_until, web_url)

TIMEOUT = 30
AUTHOR = "did:plc:u4lmvw4wwzaql3z5kcf3r7h4"
ROOT, R1, R2 = "3mptbyospqk2i", "3mptbyou7ls2i", "3mptbyoumc22i"
SLACK_CHANNEL = "C0SALES"
MM_CHANNEL = "4xp9rgw1sjbt8q7zmyhkeo3n6c"
EDITED = "Update: the acme firmware bug is fixed in 2.1"


def conversation():
    """The recorded thread, then a synthetic deletion of its last
    reply."""
    events = [e for e in load_jsonl(sbtest.CORPUS)
              if e.get("did") == AUTHOR and e.get("kind") == "commit"]
    events.sort(key=lambda e: e["time_us"])
    assert [e["commit"]["rkey"] for e in events] == [ROOT, R1, R2], \
        "the recorded thread changed"
    delete = {"did": AUTHOR, "time_us": events[-1]["time_us"] + 1000,
              "kind": "commit",
              "commit": {"rev": "3mptbzzzzzz2x", "operation": "delete",
                         "collection": sbtest.POST, "rkey": R2}}
    return events + [delete]


def chat_block(kind, port, channel, rate=20.0, burst=5):
    if kind == "slack":
        return ("{ type = \"slack\"; token = \"xoxb-test\"; channel = %s; "
                "api_url = \"http://127.0.0.1:%d/api\"; rate = %.1f; "
                "burst = %d; timeout = 5; }" % (cstr(channel), port, rate,
                                                burst))
    return ("{ type = \"mattermost\"; token = \"mm-test\"; channel = %s; "
            "url = \"http://127.0.0.1:%d\"; rate = %.1f; burst = %d; "
            "timeout = 5; }" % (cstr(channel), port, rate, burst))


def api_config(state, js_port, teams, fallback):
    """teams: [(name, chat block, rule text)]."""
    out = ["general = { state_directory = %s; log_level = \"debug\"; };"
           % cstr(state),
           "sources = ( { name = \"bluesky\"; type = \"jetstream\"; "
           "url = \"ws://127.0.0.1:%d/subscribe\"; rewind = 5; "
           "idle_timeout = 5; reconnect_min = 50; reconnect_max = 500; "
           "max_frame_size = 65536; } );" % js_port, "teams = ("]
    for i, (name, chat, rules) in enumerate(teams):
        out.append("  { name = %s; chat = %s; rules = ( %s ); }%s" %
                   (cstr(name), chat, rules,
                    "," if i + 1 < len(teams) else ""))
    out.append(");")
    out.append("routing = { fallback_team = %s; };" % cstr(fallback))
    return "\n".join(out) + "\n"


def text_of(rec):
    b = rec["body"]
    return b.get("text") if rec["api"] == "slack" else b.get("message")


def url_of(rec):
    urls = message_urls(rec["body"])
    return urls.pop() if len(urls) == 1 else None


def shown(records, url):
    """Top-level or thread messages that first show the post at url."""
    return [r for r in records if r["op"] == "post" and url_of(r) == url
            and "by its author" not in (text_of(r) or "")]


def one_thread(tap, kind, records, attempts, chat, daemon):
    """The checks on what one platform got for the conversation."""
    name = "Slack" if kind == "slack" else "Mattermost"
    root_u, r1_u, r2_u = (web_url(AUTHOR, k) for k in (ROOT, R1, R2))
    roots, r1s, r2s = (shown(records, u) for u in (root_u, r1_u, r2_u))
    tap.ok(len(roots) == 1 and len(r1s) == 1 and len(r2s) == 1,
           "%s: each post of the conversation is shown exactly once "
           "(%d, %d, %d)" % (name, len(roots), len(r1s), len(r2s)),
           daemon.tail())
    if not (roots and r1s and r2s):
        return
    root = roots[0]
    tap.ok(root["thread"] is None, "%s: the root post starts a top-level "
           "message (%s)" % (name, root["id"]), repr(root["thread"]))
    tap.ok(r1s[0]["thread"] == root["id"] and
           r2s[0]["thread"] == root["id"],
           "%s: both replies carry the root message's id as %s" %
           (name, "thread_ts" if kind == "slack" else "root_id"),
           "%r %r" % (r1s[0]["thread"], r2s[0]["thread"]))
    order = [records.index(r) for r in (root, r1s[0], r2s[0])]
    tap.ok(order == sorted(order), "%s: in the order they were posted"
           % name, repr(order))
    dels = [r for r in records if r["op"] == "post" and
            "Deleted by its author" in (text_of(r) or "")]
    tap.ok(len(dels) == 1 and dels[0]["thread"] == root["id"] and
           url_of(dels[0]) == r2_u,
           "%s: the deletion is said in the thread" % name,
           repr([(d["thread"], url_of(d)) for d in dels]))
    tap.ok(len(records) == 4, "%s: nothing else was posted (%d calls "
           "accepted)" % (name, len(records)),
           *[repr((r["op"], r["thread"], url_of(r))) for r in records])
    statuses = sorted({a["status"] for a in attempts})
    tap.ok(429 in statuses and 500 in statuses,
           "%s: the scripted 429 and 500 were met on the way" % name,
           repr(statuses))
    tap.ok(not chat.violations, "%s: no call broke the platform's rules"
           % name, *chat.violations)


def threads(tap, kind):
    """The conversation into one team's channel on one platform."""
    wd = tap.subdir("threads-" + kind)
    chat = ChatServer(script="ok,429:1,ok,500,ok,ok,ok,ok,ok,ok,ok,ok")
    js = JetstreamServer(events=conversation())
    daemon = Daemon(wd)
    try:
        port = chat.start()
        channel = SLACK_CHANNEL if kind == "slack" else MM_CHANNEL
        daemon.write_config(api_config(
            daemon.state, js.start(),
            [("sales", chat_block(kind, port, channel),
              "{ name = \"turkish\"; languages = [\"tr\"]; }")], "sales"))
        daemon.start()
        chat.wait(lambda c: len(c.records) >= 4, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        records, attempts = chat.snapshot()
        one_thread(tap, kind, records, attempts, chat, daemon)
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "%s: SIGTERM stops the daemon with status 0"
               % kind, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def crash(tap):
    """SIGKILL while a message is in flight, then restart."""
    wd = tap.subdir("crash")
    dump = os.path.join(wd, "dump.jsonl")
    # Slow answers keep a request in flight most of the time.
    chat = ChatServer(delay=0.25)
    js = JetstreamServer(repeat=3, dump=dump)
    daemon = Daemon(wd)
    try:
        port = chat.start()
        teams = [("care", chat_block("slack", port, "C0CARE"),
                  "{ name = \"world\"; languages = [\"en\", \"ja\", "
                  "\"ko\", \"ru\", \"de\", \"es\"]; }"),
                 ("sales", chat_block("mattermost", port, MM_CHANNEL),
                  "{ name = \"turkish\"; languages = [\"tr\"]; "
                  "priority = 10; }")]
        daemon.write_config(api_config(daemon.state, js.start(), teams,
                                       "care"))
        rc, rows, err, bad = route(daemon.conf, dump)
        exp = {url_of_id(pid): t for t, _, pid, _ in rows
               if t not in ("drop", "ignore")}
        tap.ok(rc == 0 and len(exp) >= 36 and
               sum(1 for t in exp.values() if t == "sales") >= 9,
               "crash: the rules send %d posts to care (Slack) and "
               "sales (Mattermost)" % len(exp), err, *bad)
        daemon.start()
        got = chat.wait(lambda c: len(c.records) >= 8 and c.pending > 0,
                        tap.timeout(TIMEOUT))
        in_flight = chat.pending
        daemon.stop(signal.SIGKILL)
        tap.ok(got, "crash: SIGKILL with %d delivered and %d in flight"
               % (len(chat.records), in_flight), daemon.tail())
        daemon.start()

        def done(c):
            return set(exp) <= {url_of(r) for r in c.records}
        tap.ok(chat.wait(done, tap.timeout(TIMEOUT)),
               "crash: after the restart every post arrives",
               daemon.tail())
        wait_until(lambda: False, sbtest.SETTLE)
        records = chat.snapshot()[0]
        seen = {}
        for r in records:
            seen.setdefault(url_of(r), []).append(r)
        missing = sorted(set(exp) - set(seen))
        doubles = {u: len(v) for u, v in seen.items() if len(v) > 1}
        tap.ok(not missing, "crash: no post lost", *missing)
        tap.diag("crash: %d messages for %d posts, %d doubled: %s" %
                 (len(records), len(exp), len(doubles), doubles))
        tap.ok(len(doubles) <= 2, "crash: at most the one in-flight "
               "message per destination is doubled (%d)" % len(doubles),
               repr(doubles))
        wrong = [u for u in seen if u not in exp] + \
            [u for u, rs in seen.items() if u in exp and any(
                (r["api"] == "slack") != (exp[u] == "care") for r in rs)]
        tap.ok(not wrong, "crash: every post in its team's channel", *wrong)
        # The Turkish threads: replies under a message of their root.
        bad_thread = []
        for r in records:
            if r["api"] != "mattermost" or r["thread"] is None:
                continue
            root_msg = [m for m in records if m["id"] == r["thread"]]
            if not root_msg or root_msg[0]["thread"] is not None:
                bad_thread.append(url_of(r))
        replies = sum(1 for r in records if r["api"] == "mattermost" and
                      r["thread"] is not None)
        tap.ok(replies >= 6 and not bad_thread and not chat.violations,
               "crash: %d replies sit in their root's thread across the "
               "restart" % replies, *(bad_thread + chat.violations))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "crash: the restarted daemon stops cleanly",
               daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def masto_config(state, port, chat_port, token_file):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "masto"; type = "mastodon";
  url = "http://127.0.0.1:%d/"; access_token_file = %s;
  hashtags = [ "acmebugs", "acmesummer" ];
  idle_timeout = 5; reconnect_min = 50; reconnect_max = 500; } );
teams = (
  { name = "care"; chat = %s;
    rules = ( { name = "bugs"; hashtags = [ "acmebugs" ]; } ); },
  { name = "rnd"; chat = %s;
    rules = ( { name = "summer"; hashtags = [ "acmesummer" ]; } ); }
);
""" % (cstr(state), port, cstr(token_file),
       chat_block("slack", chat_port, SLACK_CHANNEL),
       chat_block("mattermost", chat_port, MM_CHANNEL))


def edits(tap):
    """Mastodon statuses (made from recorded ones): a root and a reply
    per team, then the root is edited: the message is updated in place,
    on Slack by chat.update, on Mattermost by a patch."""
    from mastodon_server import MastodonServer
    wd = tap.subdir("edits")
    token = "sbTok-" + os.urandom(8).hex()
    srv = MastodonServer(token=token)
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        port = srv.start()
        token_file = os.path.join(wd, "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        daemon.write_config(masto_config(daemon.state, port, chat.start(),
                                         token_file))
        daemon.start()
        tap.ok(srv.wait(lambda s: s.connections and
                        len(s.connections[-1]["subs"]) >= 3,
                        tap.timeout(TIMEOUT)),
               "edits: the Mastodon streams are subscribed", daemon.tail())
        # Posts made before the first catch-up would count as "before
        # now" for a stream with no saved position.
        tap.ok(daemon.wait_log(r"backfill done", tap.timeout(TIMEOUT)),
               "edits: the first catch-up is done", daemon.tail())
        roots = {}
        for i, (tag, api) in enumerate((("acmebugs", "slack"),
                                        ("acmesummer", "mattermost"))):
            root = srv.make_status(i, tags=[tag])
            srv.post(root)
            reply = srv.make_status(i + 2, tags=[tag], reply_to=root["id"])
            srv.post(reply)
            roots[api] = (root, reply)
        chat.wait(lambda c: len(c.records) >= 4, tap.timeout(TIMEOUT))
        for api, (root, _) in roots.items():
            srv.edit(root["id"], EDITED)
        chat.wait(lambda c: len(c.records) >= 6, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        records = chat.snapshot()[0]
        for api, (root, reply) in roots.items():
            mine = [r for r in records if r["api"] == api]
            first = [r for r in mine if r["op"] == "post" and
                     root["url"] in str(r["body"])]
            rep = [r for r in mine if r["op"] == "post" and
                   reply["url"] in str(r["body"])]
            ups = [r for r in mine if r["op"] == "update"]
            tap.ok(len(first) == 1 and first[0]["thread"] is None and
                   len(rep) == 1 and rep[0]["thread"] == first[0]["id"],
                   "edits: %s: the reply is in its root's thread" % api,
                   *[repr((r["op"], r["thread"], r["id"])) for r in mine])
            tap.ok(first and len(ups) == 1 and
                   ups[0]["id"] == first[0]["id"] and
                   EDITED in text_of(ups[0]) and
                   "Edited by its author" in text_of(ups[0]) and
                   len(mine) == 3,
                   "edits: %s: the edit updates the root's message in "
                   "place, nothing else is posted" % api,
                   *([repr((r["op"], r["id"], text_of(r)[:60]))
                      for r in mine] + [daemon.tail()]))
        tap.ok(not chat.violations, "edits: no call broke the platforms' "
               "rules", *chat.violations)
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "edits: SIGTERM stops the daemon", daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        srv.stop()
        chat.stop()


def main():
    tap = Tap("threads")
    sbtest.need_binary(tap)
    tap.run("slack", threads, tap, "slack")
    tap.run("mattermost", threads, tap, "mattermost")
    tap.run("edits", edits, tap)
    tap.run("crash", crash, tap)
    tap.finish()


if __name__ == "__main__":
    main()
