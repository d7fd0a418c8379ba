#!/usr/bin/env python3
"""Replies published from chat to Mastodon and Bluesky, end to end.

A Mastodon direct mention (through the fake instance's streaming API)
and a Bluesky thread (through the fake Jetstream) become conversations
in the team's chat; `/sb reply CODE text`, signed as Slack signs it and
sent by one of the team's publishers, then reaches each network exactly
once: the fake Mastodon gets one status with the right in_reply_to_id,
visibility, "@acct " prefix, Bearer token and Idempotency-Key; the fake
PDS gets one session and one post record whose reply refs (root and
parent, uri and cid) and facets (links, resolved mentions, UTF-8 byte
offsets) are right.  Each result comes back to the team's chat as a
note.  A 500 before the success still publishes once; an expired
session is refreshed; a SIGKILL after the network accepted the reply
but before the daemon recorded it publishes nothing twice after the
restart (Mastodon's Idempotency-Key, Bluesky's record key).  An
unauthorised user and a blocked word are refused, and nothing goes out.
"""

import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, need_binary, post_uri,
                    slack_command, wait_until, web_url)
from mastodon_server import MastodonServer  # noqa: E402
from bluesky_pds import BlueskyPDS  # noqa: E402

TIMEOUT = 20
SLACK_SECRET = "r3plyT3stS1gn1ngS3cret"
CHANNEL = "C0CARE"
TOKEN = "mastoTok-" + os.urandom(8).hex()
APP_PASSWORD = "bsky-" + os.urandom(6).hex()
HANDLE = "acme.test"
BRAND_DID = "did:plc:acmereplybrand0000000001"
CUSTOMER = "did:plc:replycustomer00000000001"
FRIEND = "did:plc:replyfriend000000000001"
BOB = "did:plc:replybob0000000000000001"
ROOT_RKEY, PARENT_RKEY = "3lreplyroot22", "3lreplyparnt2"

CODE_RE = re.compile(r"conversation `([0-9A-Z]+)`")
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]"
                    r"{12}$")


def config(state, js_port, masto_port, pds_port, chat_port, port, acct,
           masto_host="127.0.0.1"):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = (
  { name = "bluesky"; type = "jetstream";
    url = "ws://127.0.0.1:%d/subscribe"; reconnect_min = 50;
    reconnect_max = 500; },
  { name = "masto"; type = "mastodon"; url = "http://127.0.0.1:%d/";
    access_token = %s; idle_timeout = 5; reconnect_min = 50;
    reconnect_max = 500; }
);
accounts = (
  { name = "acme-masto"; type = "mastodon";
    base_url = "http://%s:%d"; access_token = %s; timeout = 5; },
  { name = "acme-bsky"; type = "bluesky";
    base_url = "http://127.0.0.1:%d"; identifier = %s;
    app_password = %s; timeout = 5; }
);
teams = (
  { name = "care";
    chat = { type = "slack"; webhook_url = "http://127.0.0.1:%d/hooks/care";
      channel_id = %s; rate = 50.0; burst = 20; };
    rules = ( { name = "refunds"; keywords = [ "refund" ]; },
              { name = "mentions"; mentions = [ %s ]; } );
    reply = { accounts = [ "acme-masto", "acme-bsky" ];
      publishers = [ "@alice" ]; blocked_words = [ "idiot" ]; }; }
);
listener = { address = "127.0.0.1"; port = %d;
  slack_signing_secret = %s; };
commands = { name = "/sb"; };
""" % (cstr(state), js_port, masto_port, cstr(TOKEN), masto_host,
       masto_port, cstr(TOKEN), pds_port, cstr(HANDLE), cstr(APP_PASSWORD),
       chat_port, cstr(CHANNEL), cstr(acct), port, cstr(SLACK_SECRET))


def thread_events():
    """A customer's post and a friend's reply to it, both about a
    refund: one conversation, whose latest post is the reply."""
    now = int(time.time() * 1e6)
    root = make_post(CUSTOMER, ROOT_RKEY, "Still waiting for my refund",
                     now)
    parent = make_post(FRIEND, PARENT_RKEY, "Same here, no refund yet",
                       now + 1000)
    ref = {"uri": post_uri(CUSTOMER, ROOT_RKEY),
           "cid": root["commit"]["cid"]}
    parent["commit"]["record"]["reply"] = {"root": ref, "parent": ref}
    return root, parent


def byte_range(text, part):
    b = text.encode("utf-8")
    i = b.index(part.encode("utf-8"))
    return {"byteStart": i, "byteEnd": i + len(part.encode("utf-8"))}


class Scenario:
    def __init__(self, tap):
        self.tap = tap
        self.wd = tap.subdir("reply")
        self.root, self.parent = thread_events()
        self.js = JetstreamServer(events=[self.root, self.parent])
        self.masto = MastodonServer(token=TOKEN)
        self.pds = BlueskyPDS(handle=HANDLE, did=BRAND_DID,
                              password=APP_PASSWORD, access_uses=1,
                              handles={"bob.example.com": BOB})
        self.chat = ChatServer()
        self.daemon = Daemon(self.wd)
        self.port = free_port()

    def start(self):
        self.js.start()
        self.masto.start()
        self.pds.start()
        self.chat.start()
        self.acct = "acme@" + self.masto.host
        self.configure()
        self.daemon.start()

    def configure(self, masto_host="127.0.0.1"):
        self.daemon.write_config(config(
            self.daemon.state, self.js.port, self.masto.port, self.pds.port,
            self.chat.port, self.port, self.acct, masto_host))

    def stop(self):
        if self.daemon.alive():
            self.daemon.kill()
        for s in (self.js, self.masto, self.pds, self.chat):
            s.stop()

    def messages(self):
        return [json.dumps(r["body"], ensure_ascii=False)
                for r in self.chat.snapshot()[0] if r["path"] == "/hooks/care"]

    def code_of(self, url):
        """The conversation code of the chat message showing url."""
        def look():
            for m in self.messages():
                if url in m:
                    c = CODE_RE.search(m)
                    if c:
                        return c.group(1)
            return None
        return wait_until(look, self.tap.timeout(TIMEOUT), 0.1)

    def notes(self, word):
        """Result notes in the chat: "Reply by alice <word>: ..."."""
        return [m for m in self.messages()
                if "Reply by alice %s" % word in m]

    def command(self, text, user="alice", uid="U0ALICE"):
        return slack_command(self.port, SLACK_SECRET, text,
                             channel_id=CHANNEL, user_name=user,
                             user_id=uid)


def check_refused(tap, sc, mcode, bcode):
    st, ans = sc.command("reply %s we will fix it" % bcode, user="mallory",
                         uid="U0MALLORY")
    tap.ok(st == 200 and ans and "may not reply" in ans["text"],
           "a user who is not a publisher is refused", ans)
    st, ans = sc.command("reply %s do not be an idiot" % mcode)
    tap.ok(st == 200 and ans and ans["text"].startswith("not sent") and
           "idiot" in ans["text"],
           "a reply with a blocked word is refused", ans)
    time.sleep(1.0)
    tap.eq((sc.masto.posts_of(), sc.pds.calls()), ([], []),
           "nothing went to either network")


def check_mastodon(tap, sc, status, mcode):
    sc.masto.script_statuses(500)
    typed = "Thanks, we are on it"
    st, ans = sc.command("reply %s %s" % (mcode, typed))
    tap.ok(st == 200 and ans and "queued as acme-masto" in ans["text"],
           "/sb reply is accepted for the Mastodon conversation", ans)
    done = wait_until(lambda: sc.masto.created(), tap.timeout(TIMEOUT))
    if not tap.ok(done, "a status is published", sc.daemon.tail()):
        return None
    posts = sc.masto.posts_of()
    tap.eq([p["status"] for p in posts], [500, 200],
           "one 500, then one successful POST")
    tap.eq(len(sc.masto.created()), 1, "exactly one status was created")
    key = posts[-1]["key"]
    tap.ok(key and re.fullmatch(r"[0-9a-f]{32}", key) and
           all(p["key"] == key for p in posts),
           "both attempts carry the same Idempotency-Key", posts)
    tap.ok(all(p["auth"] == "Bearer " + TOKEN for p in posts),
           "with the account's Bearer token")
    body = posts[-1]["body"]
    want = {"status": "@%s %s" % (status["account"]["acct"], typed),
            "in_reply_to_id": status["id"], "visibility": "direct",
            "language": "en"}
    tap.eq(body, want, "the body replies to the status, keeps it direct "
           "and mentions its author first")
    made = sc.masto.created()[0]
    got = wait_until(lambda: [m for m in sc.notes("published")
                              if made["url"] in m], tap.timeout(TIMEOUT))
    tap.ok(got, "the result note with the status link reaches the chat",
           sc.messages()[-3:])
    return key


def check_bluesky(tap, sc, bcode):
    sc.pds.script("createRecord", 500)
    typed = ("Sorry, caf\u00e9 \u2615 @bob.example.com: see "
             "https://acme.example/help?id=1. (@ghost.example.com)")
    st, ans = sc.command("reply %s %s" % (bcode, typed))
    tap.ok(st == 200 and ans and "queued as acme-bsky" in ans["text"],
           "/sb reply is accepted for the Bluesky conversation", ans)
    done = wait_until(lambda: sc.pds.posts(), tap.timeout(TIMEOUT))
    if not tap.ok(done, "a post record is created", sc.daemon.tail()):
        return None
    calls = [(c["endpoint"], c["status"]) for c in sc.pds.calls()]
    tap.eq([c for c in calls if c[0] in ("createSession", "getRecord",
                                         "createRecord")],
           [("createSession", 200), ("getRecord", 400),
            ("createRecord", 500), ("getRecord", 400),
            ("createRecord", 200)],
           "one login; each attempt checks the record key first; a 500, "
           "then one success")
    creates = sc.pds.calls("createRecord")
    tap.ok(all(c["auth"] and c["auth"].startswith("Bearer acc.")
               for c in creates), "createRecord uses the access token")
    body = creates[-1]["body"]
    rec = body["record"]
    tap.eq((body["repo"], body["collection"], bool(TID_RE.match(
        body["rkey"])), body["rkey"] == creates[0]["body"]["rkey"]),
        (BRAND_DID, "app.bsky.feed.post", True, True),
        "repo, collection and the same TID record key on both attempts")
    tap.eq(rec["reply"], {
        "root": {"uri": post_uri(CUSTOMER, ROOT_RKEY),
                 "cid": sc.root["commit"]["cid"]},
        "parent": {"uri": post_uri(FRIEND, PARENT_RKEY),
                   "cid": sc.parent["commit"]["cid"]}},
        "reply.root is the thread's first post, reply.parent the latest")
    tap.eq((rec["text"], rec.get("langs")), (typed, ["en"]),
           "the text as typed, in the parent's language")
    link = "https://acme.example/help?id=1"
    tap.eq(rec.get("facets"), [
        {"index": byte_range(typed, "@bob.example.com"),
         "features": [{"$type": "app.bsky.richtext.facet#mention",
                       "did": BOB}]},
        {"index": byte_range(typed, link),
         "features": [{"$type": "app.bsky.richtext.facet#link",
                       "uri": link}]}],
        "a mention facet for the resolved handle and a link facet, by "
        "UTF-8 byte offsets; none for the unknown handle")
    tap.ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        rec["createdAt"]), "createdAt is ISO 8601 UTC "
           "with milliseconds", rec["createdAt"])
    url = "https://bsky.app/profile/%s/post/%s" % (BRAND_DID, body["rkey"])
    got = wait_until(lambda: [m for m in sc.notes("published") if url in m],
                     tap.timeout(TIMEOUT))
    tap.ok(got, "the result note with the post's link reaches the chat",
           sc.messages()[-3:])
    return body["rkey"]


def check_kill(tap, sc, mcode, bcode, first_rkey):
    """Both networks accept a reply whose answer never reaches the
    daemon: after the restart each is published exactly once."""
    sc.masto.hold_statuses = True
    sc.pds.hold("createRecord")
    st1, a1 = sc.command("reply %s Second answer, from before a crash"
                         % mcode)
    st2, a2 = sc.command("reply %s Second answer here too" % bcode)
    tap.ok(st1 == 200 and st2 == 200 and "queued" in a1["text"] and
           "queued" in a2["text"], "two more replies are queued", a1, a2)
    held = wait_until(lambda: sc.masto.held >= 1 and sc.pds.holding >= 1,
                      tap.timeout(TIMEOUT))
    if not tap.ok(held, "both networks accepted them and hold the answers",
                  sc.daemon.tail()):
        return
    # The session's one use went to the first record: this one needed a
    # refresh, not a second login.
    tap.eq([c["status"] for c in sc.pds.calls("refreshSession")], [200],
           "the expired access token was refreshed once")
    tap.eq(len(sc.pds.calls("createSession")), 1,
           "still only one createSession")
    sc.daemon.kill()
    sc.masto.release_statuses()
    sc.pds.hold("createRecord", False)
    n_created, n_records = len(sc.masto.created()), len(sc.pds.posts())
    tap.eq((n_created, n_records), (2, 2),
           "each network has the reply once before the restart")
    # The new process must log in again: the PDS first says "later".
    sc.pds.script("createSession", 429, headers={"Retry-After": "1"})
    logins = len(sc.pds.calls("createSession"))
    sc.daemon.start()
    got = wait_until(lambda: len(sc.notes("published")) >= 4,
                     tap.timeout(TIMEOUT))
    tap.ok(got, "after the restart both replies are reported published",
           sc.daemon.tail())
    key = sc.masto.created()[-1] and sc.masto.posts_of()[-1]["key"]
    again = sc.masto.posts_of(key=key)
    tap.ok(len(again) >= 2 and again[-1]["replayed"] and
           again[-1]["status"] == 200,
           "Mastodon got the same Idempotency-Key again and answered the "
           "first status", [(p["status"], p["replayed"]) for p in again])
    after = sc.pds.calls("createSession")[logins:]
    tap.ok([c["status"] for c in after] == [429, 200] and
           after[1]["t"] - after[0]["t"] >= 0.9,
           "a 429 on createSession is retried after its Retry-After",
           [(c["status"], c["t"]) for c in after])
    gets = sc.pds.calls("getRecord")
    tap.ok(gets and gets[-1]["status"] == 200,
           "Bluesky's getRecord found the record the killed attempt made")
    time.sleep(1.0)
    tap.eq((len(sc.masto.created()), len(sc.pds.posts())), (2, 2),
           "and nothing was published twice")
    rkeys = [p["rkey"] for p in sc.pds.posts()]
    tap.ok(rkeys[0] == first_rkey and rkeys[0] < rkeys[1],
           "record keys follow the replies' order", rkeys)
    tap.eq(sc.notes("failed"), [], "no reply failed")


def check_login_limit(tap, sc, bcode):
    """Access and refresh tokens both expired, a minute after the last
    login: no second createSession; the reply waits."""
    sc.pds.expire_sessions(refresh_too=True)
    logins = len(sc.pds.calls("createSession"))
    creates = len(sc.pds.calls("createRecord"))
    refreshes = len(sc.pds.calls("refreshSession"))
    mark = len(sc.daemon.log())
    st, ans = sc.command("reply %s A third answer" % bcode)
    tap.ok(st == 200 and ans and "queued" in ans["text"],
           "a third reply is queued", ans)
    waits = sc.daemon.wait_log(r"publish acme-bsky: reply \d+: Bluesky "
                               r"login: at most one a minute",
                               tap.timeout(TIMEOUT), mark)
    tap.ok(waits, "the publisher waits instead of logging in again",
           sc.daemon.tail())
    time.sleep(1.0)
    tap.eq(([c["status"] for c in sc.pds.calls("createRecord")[creates:]],
            [c["status"] for c in sc.pds.calls("refreshSession")[refreshes:]],
            len(sc.pds.calls("createSession")) - logins),
           ([400], [400], 0),
           "createRecord said ExpiredToken, the refresh was refused, and "
           "no createSession followed within the minute")
    tap.eq((len(sc.pds.posts()), sc.notes("failed")), (2, []),
           "nothing more was published and nothing failed")


def check_other_instance(tap, sc, status, mcode):
    """The account moves to an instance named differently from the one
    the status came from: the status' id there is found by a search
    for its link first."""
    sc.configure(masto_host="localhost")
    mark = len(sc.daemon.log())
    sc.daemon.send_signal(signal.SIGHUP)
    tap.ok(sc.daemon.wait_log("configuration reloaded", tap.timeout(10),
                              mark), "the account's new base_url is loaded",
           sc.daemon.tail())
    before = len(sc.masto.created())
    st, ans = sc.command("reply %s From our other instance" % mcode)
    tap.ok(st == 200 and ans and "queued" in ans["text"],
           "a reply is queued", ans)
    made = wait_until(lambda: sc.masto.created()[before:],
                      tap.timeout(TIMEOUT))
    if not tap.ok(made, "it is published", sc.daemon.tail()):
        return
    searches = [r for r in sc.masto.rest_requests()
                if r["path"] == "/api/v2/search"]
    tap.ok(len(searches) == 1 and searches[0]["query"].get("q") ==
           [status["url"]] and searches[0]["query"].get("resolve") ==
           ["true"], "the status was looked up by its link", searches)
    found = searches[0]["ids"] if searches else None
    tap.ok(found and found[0] != status["id"] and
           sc.masto.posts_of()[-1]["body"]["in_reply_to_id"] == found[0],
           "and the reply names the id the search found, not the "
           "other instance's", found, sc.masto.posts_of()[-1]["body"])


def main():
    tap = Tap("reply")
    need_binary(tap)
    sc = Scenario(tap)
    try:
        sc.start()
        subscribed = sc.masto.wait(lambda s: any(
            ("user:notification", None) in c.subs for c in s.open_conns()),
            tap.timeout(TIMEOUT))
        tap.ok(subscribed, "the Mastodon source streams notifications",
               sc.daemon.tail())
        status = sc.masto.make_status(0, text="I want a refund, please",
                                      mention=True, visibility="direct",
                                      language="en")
        sc.masto.post(status)
        mcode = sc.code_of(status["url"])
        bcode = sc.code_of(web_url(FRIEND, PARENT_RKEY))
        if not tap.ok(mcode and bcode, "both conversations reach the chat",
                      sc.daemon.tail(), sc.messages()):
            tap.finish()
        tap.run("refused", check_refused, tap, sc, mcode, bcode)
        key = tap.run("mastodon", check_mastodon, tap, sc, status, mcode)
        rkey = tap.run("bluesky", check_bluesky, tap, sc, bcode)
        if key and rkey:
            tap.run("kill", check_kill, tap, sc, mcode, bcode, rkey)
            tap.run("login limit", check_login_limit, tap, sc, bcode)
            tap.run("other instance", check_other_instance, tap, sc, status,
                    mcode)
        rc, _ = sc.daemon.stop(signal.SIGTERM)
        tap.eq(rc, 0, "the daemon stops cleanly")
        log = open(sc.daemon.logpath, encoding="utf-8",
                   errors="replace").read()
        tap.ok(TOKEN not in log and APP_PASSWORD not in log,
               "neither the token nor the app password is logged")
        tap.ok("Sanitizer" not in log and "runtime error" not in log,
               "no sanitizer report", sc.daemon.tail())
    finally:
        sc.stop()
    tap.finish()


if __name__ == "__main__":
    main()
