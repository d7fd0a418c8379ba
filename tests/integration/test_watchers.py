#!/usr/bin/env python3
"""Watchers end to end: a team that watches another team (rnd watches
care) or one of its rules (pr watches care/complaints) gets a copy of
each post, in its own chat, saying which team owns the conversation;
teams that watch nothing get nothing; and when the conversation is
assigned, resolved or reopened by a chat command, every watcher that
got copies is told in its thread.  Posts come from the fake Jetstream,
messages go to the fake Slack and Mattermost webhooks, commands come
in as Mattermost slash commands."""

import http.client
import json
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, message_urls, need_binary,
                    post_uri, strings_in, web_url, SETTLE)

MM_TOKEN = "mmWatchT0kenForTests"
BOB = "did:plc:watchbob0000000000000000"
CAROL = "did:plc:watchcarol00000000000000"


def config(state, js_port, chat_port, port):
    hook = "http://127.0.0.1:%d/hooks/" % chat_port

    def chat(kind, name):
        return ("chat = { type = \"%s\"; webhook_url = %s; rate = 50.0; "
                "burst = 20; };" % (kind, cstr(hook + name)))
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; reconnect_min = 50;
  reconnect_max = 500; } );
teams = (
  { name = "care"; %s
    rules = ( { name = "complaints"; keywords = [ "broken" ]; },
      { name = "praise"; keywords = [ "love" ]; } ); },
  { name = "sales"; %s
    rules = ( { name = "refunds"; keywords = [ "refund" ]; } ); },
  { name = "rnd"; %s watch = { teams = [ "care" ]; }; },
  { name = "pr"; %s watch = { rules = [ "care/complaints" ]; }; },
  { name = "ops"; %s }
);
listener = { address = "127.0.0.1"; port = %d; mattermost_token = %s; };
commands = { admins = [ "U0ADMIN" ]; };
""" % (cstr(state), js_port, chat("slack", "care"), chat("slack", "sales"),
       chat("slack", "rnd"), chat("mattermost", "pr"), chat("slack", "ops"),
       port, cstr(MM_TOKEN))


def command(port, text):
    body = urllib.parse.urlencode({
        "token": MM_TOKEN, "team_id": "T0", "team_domain": "acme",
        "channel_id": "C0NONE", "channel_name": "town-square",
        "user_id": "U0ADMIN", "user_name": "alice", "command": "/sb",
        "text": text, "response_url": "http://127.0.0.1:1/r",
        "trigger_id": "1.2"}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/mattermost/commands", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Token " + MM_TOKEN})
        r = c.getresponse()
        return r.status, json.loads(r.read().decode() or "null")
    finally:
        c.close()


def text_of(body):
    return "\n".join(strings_in(body))


class Chat:
    """What each channel received, by path."""

    def __init__(self, server):
        self.server = server

    def on(self, name, pred=None):
        return [r for r in self.server.snapshot()[0]
                if r["path"] == "/hooks/" + name and
                (pred is None or pred(r["body"]))]

    def with_url(self, name, url):
        return self.on(name, lambda b: url in message_urls(b))

    def with_text(self, name, text):
        return self.on(name, lambda b: text in text_of(b))

    def wait(self, fn, timeout):
        return self.server.wait(lambda c: fn(), timeout)


def reply_to(did, rkey, root_did, root_rkey, text, time_us):
    ev = make_post(did, rkey, text, time_us)
    ref = {"uri": post_uri(root_did, root_rkey),
           "cid": "bafyreitest" + root_rkey}
    ev["commit"]["record"]["reply"] = {"root": ref, "parent": ref}
    return ev


def check_copies(tap, chat, js, t0):
    """The root post and a reply reach care, rnd and pr, once each;
    the copies name care as the owner; ops and sales get nothing."""
    root = web_url(BOB, "3watchroot01")
    got = chat.wait(lambda: chat.with_url("care", root) and
                    chat.with_url("rnd", root) and
                    chat.with_url("pr", root), tap.timeout(15))
    if not tap.ok(got, "a complaint reaches care and both watchers"):
        return None
    rnd = chat.with_url("rnd", root)
    pr = chat.with_url("pr", root)
    tap.ok(len(rnd) == 1 and len(pr) == 1, "one copy each", rnd, pr)
    tap.ok("team *care*" in text_of(rnd[0]["body"]),
           "rnd's Slack copy says care owns it", rnd[0]["body"])
    tap.ok("team `care`" in text_of(pr[0]["body"]),
           "pr's Mattermost copy says care owns it", pr[0]["body"])
    care = chat.with_url("care", root)
    code = None
    for s in strings_in(care[0]["body"]):
        i = s.find("conversation `")
        if i >= 0:
            code = s[i + 14:].split("`")[0]
    if not tap.ok(code, "care's message names the conversation code",
                  care[0]["body"]):
        return None
    tap.ok(code in text_of(rnd[0]["body"]) and
           code in text_of(pr[0]["body"]),
           "the copies carry the same code", code)

    js.add_events([reply_to(CAROL, "3watchreply1", BOB, "3watchroot01",
                            "same, it is broken for me too", t0 + 2000)])
    reply = web_url(CAROL, "3watchreply1")
    got = chat.wait(lambda: chat.with_url("care", reply) and
                    chat.with_url("rnd", reply) and
                    chat.with_url("pr", reply), tap.timeout(15))
    tap.ok(got, "a reply in the thread reaches care, rnd and pr (pr "
           "follows the conversation its rule started)")
    praise = web_url(BOB, "3watchlove01")
    refund = web_url(CAROL, "3watchrefund")
    got = chat.wait(lambda: chat.with_url("rnd", praise) and
                    chat.with_url("sales", refund), tap.timeout(15))
    tap.ok(got, "another care rule reaches rnd; a refund reaches sales")
    time.sleep(SETTLE)
    tap.eq(chat.with_url("pr", praise), [],
           "pr watches one rule of care, not the others")
    tap.eq((chat.with_url("rnd", refund), chat.with_url("pr", refund)),
           ([], []), "nobody watches sales: no copies of its posts")
    tap.eq(chat.on("ops"), [], "ops watches nothing and gets nothing")
    return code


def check_notes(tap, chat, port, js, code, t0):
    """assign, resolve and reopen tell rnd and pr, once each."""
    st, answer = command(port, "assign %s sales" % code)
    tap.ok(st == 200 and answer and "care → sales" in answer["text"],
           "assign answers", st, answer)
    moved = "%s now belongs to sales" % code
    got = chat.wait(lambda: chat.with_text("rnd", moved) and
                    chat.with_text("pr", moved), tap.timeout(15))
    tap.ok(got, "both watchers hear the conversation moved",
           [text_of(r["body"]) for r in chat.on("rnd")[-2:]])
    tap.ok(chat.wait(lambda: chat.with_text(
        "sales", "%s was assigned to you by alice" % code),
        tap.timeout(15)), "the new owner hears it its own way")

    for verb in ("resolve", "reopen"):
        st, answer = command(port, "%s %s" % (verb, code))
        tap.ok(st == 200 and answer, "%s answers" % verb, st, answer)
        said = "%s %s by alice" % (code, "resolved" if verb == "resolve"
                                   else "reopened")
        got = chat.wait(lambda: chat.with_text("rnd", said) and
                        chat.with_text("pr", said), tap.timeout(15))
        tap.ok(got, "both watchers hear it was %sd by alice" % verb)

    js.add_events([reply_to(BOB, "3watchreply2", BOB, "3watchroot01",
                            "broken again today", t0 + 9000)])
    reply = web_url(BOB, "3watchreply2")
    got = chat.wait(lambda: chat.with_url("sales", reply) and
                    chat.with_url("pr", reply), tap.timeout(15))
    tap.ok(got, "after the move, the thread goes to sales and still to "
           "pr, which watches the rule that started it")
    time.sleep(SETTLE)
    tap.eq(chat.with_url("rnd", reply), [],
           "rnd watched care, which no longer owns it: no copy")
    tap.eq(chat.with_url("care", reply), [], "nor does care get it")
    for name in ("rnd", "pr"):
        for text in (moved, "%s resolved by alice" % code,
                     "%s reopened by alice" % code):
            tap.eq(len(chat.with_text(name, text)), 1,
                   "%s got \"%s\" once" % (name, text.replace(code,
                                                               "CODE")))
    tap.eq([text_of(r["body"]) for r in chat.on("care")
            if code in text_of(r["body"]) and "alice" in
            text_of(r["body"])], [],
           "care, the old owner and no watcher, gets none of these notes")
    tap.eq(chat.on("ops"), [], "ops still got nothing")


def main():
    tap = Tap("watchers")
    need_binary(tap)
    wd = tap.subdir("watchers")
    t0 = int(time.time() * 1e6)
    events = [make_post(BOB, "3watchroot01", "the app is broken", t0),
              make_post(BOB, "3watchlove01", "I love the new app", t0 + 10),
              make_post(CAROL, "3watchrefund", "I want a refund", t0 + 20)]
    js, server = JetstreamServer(events=events), ChatServer()
    daemon = Daemon(wd)
    port = free_port()
    js.start()
    server.start()
    chat = Chat(server)
    try:
        daemon.write_config(config(daemon.state, js.port, server.port, port))
        daemon.start()
        code = tap.run("copies", check_copies, tap, chat, js, t0)
        if code:
            tap.run("notes", check_notes, tap, chat, port, js, code, t0)
        rc, _ = daemon.stop()
        tap.eq(rc, 0, "the daemon stops cleanly")
        log = daemon.log()
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log, "no sanitizer report",
               daemon.tail())
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
        js.stop()
        server.stop()
    tap.finish()


if __name__ == "__main__":
    main()
