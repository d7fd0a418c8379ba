#!/usr/bin/env python3
"""Replies published to Nostr.  A note mentioning the brand reaches the
team's chat through the daemon's nostr source; a signed Slack command
`/sb reply CODE text` makes the daemon sign a kind-1 reply with the
brand's key and offer it to the account's relays.

Against two instances of a real relay (@nostr-relay with its validator,
from tests/interop/nostr): the reply is stored, nostr-tools' verifyEvent
accepts its id and signature, and its NIP-10 tags are right (root and
reply markers, p tags for the parent's author and mentions, never our
own key).  Against the loopback fake relay: one relay refusing and one
accepting publishes once; all refusing fails with their reasons; all
silent retries with the very same event until one answers; a restart
in the middle of the retries sends that same event again, and stopping
the daemon while an attempt waits leaks nothing (AddressSanitizer).

The real relay and nostr-tools come from the npm registry at the
versions pinned in tests/interop/nostr/package-lock.json; without node
and npm that part is skipped and the rest runs."""

import fcntl
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import sbtest  # noqa: E402
import sbnostr  # noqa: E402
from nostr_relay import NostrRelay  # noqa: E402
from sbtest import (ChatServer, Daemon, Tap, clist, cstr,  # noqa: E402
                    free_port, need_binary, wait_until)

# A first `npm ci` builds better-sqlite3 from source (about a minute).
sbtest.TEST_DEADLINE = 420
TIMEOUT = 30
SLACK_SECRET = "r3plyS1gn1ngS3cretF0rTests"
ACCOUNT = "acme-nostr"
CHANNEL = "C0CARE"

BRAND = sbnostr.Key("reply brand")          # the account's key
CUSTOMER = sbnostr.Key("reply customer")
ROOTER = sbnostr.Key("reply thread starter")
FRIEND = sbnostr.Key("reply friend")
SECRETS = (BRAND.sk.hex(), sbnostr.nip19("nsec", BRAND.sk))

CODE_RE = re.compile(r"conversation `([0-9A-Z]+)`")
PUBLISHED_RE = re.compile(r"published: nostr:(note1[%s]{58})" % sbnostr.B32)
TEXT = 'Thanks "Yvonne" \\o/ — we\'re on it ✓ ünïcode'


SOURCE = os.path.join(sbtest.SRCDIR, "tests", "interop", "nostr")
FILES = ("package.json", "package-lock.json", "relay.mjs", "reply.mjs")
RUNDIR = os.path.join(sbtest.BUILDDIR, "tests", "interop",
                      "nostr-reply-run")
# test_nostr_interop.py's install of the same lockfile, reused if there.
SHARED = os.path.join(sbtest.BUILDDIR, "tests", "interop", "nostr-run")
STAMP = os.path.join("node_modules", ".switchboard-stamp")


# The daemon.

def config(state, source_relays, account_relays, chat_port, port):
    # The key as nsec: the config decodes it; the log must never show it.
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "nostr"; type = "nostr"; relays = %s;
  mentions = [ %s ]; initial_lookback = 600; idle_timeout = 5;
  reconnect_min = 50; reconnect_max = 400; } );
accounts = ( { name = %s; type = "nostr"; secret_key = %s;
  relays = %s; timeout = 1; } );
teams = ( { name = "care";
  chat = { type = "slack"; webhook_url = "http://127.0.0.1:%d/hooks/care";
    channel_id = %s; rate = 100.0; burst = 50; timeout = 5; };
  rules = ( { name = "mentions"; mentions = [ %s ]; } );
  reply = { accounts = [ %s ]; publishers = [ "*" ]; }; } );
listener = { address = "127.0.0.1"; port = %d;
  slack_signing_secret = %s; };
commands = { name = "/sb"; };
""" % (cstr(state), clist(source_relays), cstr(BRAND.npub()), cstr(ACCOUNT),
       cstr(SECRETS[1]), clist(account_relays), chat_port, cstr(CHANNEL),
       cstr(BRAND.pub), cstr(ACCOUNT), port, cstr(SLACK_SECRET))


def slack(port, text):
    """A /sb command signed as Slack signs it: (status, answer text)."""
    body = urllib.parse.urlencode({
        "token": "deprecated", "team_id": "T0TEST", "team_domain": "acme",
        "channel_id": CHANNEL, "channel_name": "care", "user_id": "U0ALICE",
        "user_name": "alice", "command": "/sb", "text": text,
        "response_url": "https://hooks.slack.com/commands/T0/1/x",
        "trigger_id": "1.2.3"}).encode()
    ts = str(int(time.time()))
    mac = hmac.new(SLACK_SECRET.encode(), b"v0:" + ts.encode() + b":" + body,
                   hashlib.sha256).hexdigest()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/slack/commands", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + mac})
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    try:
        answer = json.loads(data.decode()).get("text")
    except (ValueError, AttributeError):
        answer = data.decode("utf-8", "replace")
    return r.status, answer


def texts(chat):
    """The text of every chat message so far, in order."""
    return ["\n".join(sbtest.strings_in(r["body"]))
            for r in chat.snapshot()[0]]


def conversation_of(chat, hex_id, timeout):
    """The code of the conversation whose chat message shows note
    hex_id, waiting for it; None if it never came."""
    link = sbnostr.note_url(hex_id)

    def look():
        for t in texts(chat):
            m = CODE_RE.search(t)
            if link in t and m:
                return m.group(1)
        return None
    return wait_until(look, timeout, 0.1)


def published_notes(chat):
    """Every note1 id the daemon announced as published, one per chat
    message (a Slack message says it twice: text and blocks), in
    order."""
    out = []
    for t in texts(chat):
        out.extend(sorted({m.group(1) for m in PUBLISHED_RE.finditer(t)}))
    return out


def clean_log(tap, daemon, what):
    log = daemon.log()
    tap.ok("ERROR: AddressSanitizer" not in log and
           "runtime error" not in log and "LeakSanitizer" not in log,
           "%s: no sanitizer report" % what, daemon.tail(60))
    leaked = [s for s in SECRETS if s in log]
    tap.ok(not leaked, "%s: the secret key never appears in the log" % what)


def reply_tags(parent, root=None):
    """The tags the reply to parent must carry: NIP-10 markers, then p
    tags for the parent's author and its p tags, each once, never the
    brand's own key."""
    root = root or parent["id"]
    want = [["e", root, "", "root"]]
    if root != parent["id"]:
        want.append(["e", parent["id"], "", "reply"])
    seen = []
    for pk in [parent["pubkey"]] + [t[1] for t in parent["tags"]
                                    if t[0] == "p"]:
        if pk != BRAND.pub and pk not in seen:
            seen.append(pk)
    return want + [["p", pk] for pk in seen]


# The real relay and nostr-tools.

def lock_digest():
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(SOURCE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def stamped(d, digest):
    try:
        with open(os.path.join(d, STAMP)) as f:
            return f.read().strip() == digest
    except OSError:
        return False


def npm_env():
    env = dict(os.environ, npm_config_audit="false", npm_config_fund="false",
               npm_config_update_notifier="false")
    if "npm_config_nodedir" not in env and \
            os.path.exists("/usr/include/node/node.h"):
        env["npm_config_nodedir"] = "/usr"
    return env


def install(tap):
    """The pinned packages in RUNDIR: copied (hard links) from the
    interop test's install of the same lockfile, else `npm ci`.  A lock
    keeps two runs of this test from installing at once."""
    os.makedirs(RUNDIR, exist_ok=True)
    for name in FILES:
        shutil.copyfile(os.path.join(SOURCE, name),
                        os.path.join(RUNDIR, name))
    digest = lock_digest()
    with open(os.path.join(RUNDIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamped(RUNDIR, digest):
            return True
        shutil.rmtree(os.path.join(RUNDIR, "node_modules"),
                      ignore_errors=True)
        if stamped(SHARED, digest) and subprocess.call(
                ["cp", "-al", os.path.join(SHARED, "node_modules"),
                 RUNDIR], stderr=subprocess.DEVNULL) == 0 and \
                stamped(RUNDIR, digest):
            tap.diag("npm packages linked from %s" % SHARED)
            return True
        log = os.path.join(RUNDIR, "npm-ci.log")
        t0 = time.monotonic()
        with open(log, "wb") as out:
            rc = subprocess.call(["npm", "ci", "--no-audit", "--no-fund"],
                                 cwd=RUNDIR, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT,
                                 env=npm_env())
        with open(log, encoding="utf-8", errors="replace") as f:
            tail = f.read().splitlines()[-30:]
        ok = tap.ok(rc == 0, "npm ci installs the pinned relay and "
                    "nostr-tools (%.0f s)" % (time.monotonic() - t0),
                    "npm ci exited %d; log %s:" % (rc, log), *tail)
        if ok:
            with open(os.path.join(RUNDIR, STAMP), "w") as f:
                f.write(digest + "\n")
        return ok


class NodeRelay:
    """relay.mjs in its own process; it exits when its stdin closes."""

    def __init__(self, workdir, name):
        self.port_file = os.path.join(workdir, name + ".port")
        self.log = os.path.join(workdir, name + ".log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ["node", "relay.mjs", self.port_file], cwd=RUNDIR,
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        sbtest._children.append(self.proc)
        ok = wait_until(lambda: os.path.exists(self.port_file) or
                        self.proc.poll() is not None, 20)
        if not ok or not os.path.exists(self.port_file):
            with open(self.log, encoding="utf-8", errors="replace") as f:
                raise RuntimeError("relay %s did not start: %s" %
                                   (name, f.read()))
        with open(self.port_file) as f:
            self.port = int(f.read())

    def url(self):
        return "ws://127.0.0.1:%d/" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def node(workdir, spec, name):
    """reply.mjs with spec on stdin: its JSON result."""
    err = os.path.join(workdir, name + ".err")
    with open(err, "wb") as e:
        p = subprocess.run(["node", "reply.mjs"], cwd=RUNDIR,
                           input=json.dumps(spec).encode(),
                           stdout=subprocess.PIPE, stderr=e, timeout=60)
    if p.returncode != 0:
        with open(err, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("reply.mjs exited %d: %s" %
                               (p.returncode, f.read()))
    return json.loads(p.stdout.decode("utf-8"))


def interop(tap):
    """The thread starter's note does not mention the brand; the
    customer's reply to it does (and tags a friend and the brand): the
    daemon's reply answers the customer's note in the starter's thread,
    on both real relays."""
    wd = tap.subdir("interop")
    r1, r2 = NodeRelay(wd, "relay1"), NodeRelay(wd, "relay2")
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        urls = [r1.url(), r2.url()]
        now = int(time.time())
        root = node(wd, {"op": "post", "relays": urls, "notes": [{
            "sk": ROOTER.sk.hex(), "created_at": now - 60, "tags": [],
            "content": "who else uses acme?"}]}, "post-root")["events"][0]
        parent = node(wd, {"op": "post", "relays": urls, "notes": [{
            "sk": CUSTOMER.sk.hex(), "created_at": now - 30,
            "tags": [["e", root["event"]["id"], "", "root"],
                     ["p", ROOTER.pub], ["p", BRAND.pub], ["p", FRIEND.pub]],
            "content": "my acme order never came, nostr:%s" %
            BRAND.npub()}]}, "post-parent")["events"][0]
        posted = [root, parent]
        tap.ok(all(v == "ok" for ev in posted
                   for v in ev["published"].values()),
               "both real relays accept the two notes nostr-tools signed",
               *[json.dumps(ev["published"]) for ev in posted])
        parent = parent["event"]
        root_id = root["event"]["id"]
        port = free_port()
        daemon.write_config(config(daemon.state, urls, urls, chat.start(),
                                   port))
        daemon.start()
        code = conversation_of(chat, parent["id"], tap.timeout(TIMEOUT))
        if not tap.ok(code, "the customer's note reaches the team's chat "
                      "with a conversation code", daemon.tail()):
            return
        st, answer = slack(port, "reply %s %s" % (code, TEXT))
        tap.ok(st == 200, "a signed /sb reply is answered (%r)" % answer,
               daemon.tail())
        ok = wait_until(lambda: published_notes(chat), tap.timeout(TIMEOUT),
                        0.1)
        if not tap.ok(ok, "the team is told the reply was published",
                      daemon.tail(60)):
            return
        note = published_notes(chat)[0]
        want_tags = reply_tags(parent, root_id)
        for r in (r1, r2):
            res = node(wd, {"op": "query", "relay": r.url(),
                            "filter": {"kinds": [1],
                                       "authors": [BRAND.pub]},
                            "notes": [note]}, "query-%d" % r.port)
            evs = res["events"]
            tap.eq(len(evs), 1, "%s stores the reply, once" % r.url())
            if not evs:
                continue
            ev = evs[0]
            e = ev["event"]
            tap.ok(ev["verified"], "nostr-tools verifyEvent accepts its id "
                   "and signature (%s)" % r.url(), json.dumps(e))
            tap.eq(e["tags"], want_tags, "its tags: e root = the thread's "
                   "start, e reply = the customer's note, p = the customer "
                   "then the parent's p tags, not the brand's own key")
            tap.eq((ev["nip10"]["root"], ev["nip10"]["reply"]),
                   (root_id, parent["id"]),
                   "nostr-tools' NIP-10 parser finds the same root and "
                   "parent")
            tap.eq((e["content"], e["kind"], e["pubkey"]),
                   (TEXT, 1, BRAND.pub),
                   "the text as typed, kind 1, signed by the brand's key")
            tap.ok(now - 5 <= e["created_at"] <= time.time() + 5,
                   "created_at is when the reply was written",
                   e["created_at"])
            tap.eq(res["notes"].get(note), e["id"],
                   "the note1 link in chat is the event's id (decoded by "
                   "nostr-tools)")
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, daemon.tail())
        clean_log(tap, daemon, "interop")
    finally:
        if daemon.alive():
            daemon.kill()
        for r in (r1, r2):
            r.stop()
        chat.stop()


# The loopback fake relay.

class Fakes:
    """Two fake relays (A also serves the source), a chat server and a
    daemon whose account publishes to A and B."""

    def __init__(self, tap, wd):
        self.tap = tap
        self.A = NostrRelay(name="A")
        self.B = NostrRelay(name="B")
        self.chat = ChatServer()
        self.daemon = Daemon(wd)
        self.port = free_port()
        self.n = 0
        self.A.start()
        self.B.start()
        self.daemon.write_config(config(
            self.daemon.state, [self.A.url()],
            [self.A.url(), self.B.url()], self.chat.start(), self.port))

    def stop(self):
        if self.daemon.alive():
            self.daemon.kill()
        self.A.stop()
        self.B.stop()
        self.chat.stop()

    def received(self, hex_parent=None):
        """EVENTs both relays received: (relay, event), those replying
        to hex_parent if given."""
        out = [(name, r["event"]) for name, relay in (("A", self.A),
                                                      ("B", self.B))
               for r in relay.received]
        if hex_parent:
            out = [(n, e) for n, e in out
                   if ["e", hex_parent, "", "root"] in e.get("tags", [])]
        return out

    def ask(self, what):
        """A new customer note on A, routed to the team; then the reply
        command for it.  The note, or None if something failed."""
        self.n += 1
        parent = CUSTOMER.sign("%s: help with my acme order #%d" % (
            what, self.n), int(time.time()) - 5,
            [["p", BRAND.pub], ["p", FRIEND.pub]])
        self.A.add_events([parent])
        code = conversation_of(self.chat, parent["id"],
                               self.tap.timeout(TIMEOUT))
        if not self.tap.ok(code, "%s: the note reaches chat" % what,
                           self.daemon.tail()):
            return None
        st, answer = slack(self.port, "reply %s %s (%s)" % (code, TEXT, what))
        if not self.tap.ok(st == 200, "%s: /sb reply is answered (%r)" %
                           (what, answer), self.daemon.tail()):
            return None
        return parent

    def check_event(self, what, parent, events):
        """Every EVENT sent for parent is one and the same genuine,
        correctly tagged event."""
        tap = self.tap
        distinct = {json.dumps(e, sort_keys=True) for _, e in events}
        tap.eq(len(distinct), 1, "%s: every relay and attempt got the very "
               "same event (id and signature), %d sends" %
               (what, len(events)), *sorted(distinct))
        if not events:
            return None
        ev = events[0][1]
        tap.ok(sbnostr.verify(ev), "%s: it is genuine (id and BIP-340 "
               "signature checked in Python)" % what, json.dumps(ev))
        tap.eq(ev["tags"], reply_tags(parent), "%s: a reply to a root "
               "note: one e tag marked root, p tags for the author and "
               "the friend, not for the brand" % what)
        return ev["id"]


def fake_refused_and_accepted(f):
    tap, what = f.tap, "one refuses, one accepts"
    f.A.answer_events("false", "blocked: not on the allow list")
    f.B.answer_events("true")
    before = len(published_notes(f.chat))
    parent = f.ask(what)
    if parent is None:
        return
    ok = wait_until(lambda: len(published_notes(f.chat)) > before,
                    tap.timeout(TIMEOUT), 0.1)
    if not tap.ok(ok, "%s: the team is told it was published" % what,
                  f.daemon.tail(60)):
        return
    wait_until(lambda: False, sbtest.SETTLE)
    sent = f.received(parent["id"])
    hex_id = f.check_event(what, parent, sent)
    tap.eq(sorted(n for n, _ in sent), ["A", "B"],
           "%s: sent once to each relay, no retry" % what)
    tap.eq(published_notes(f.chat)[before:], [sbnostr.note_id(hex_id)],
           "%s: published once, the chat link naming that event" % what)
    stored = [e["id"] for e in f.B.client_events if e["id"] == hex_id]
    tap.eq(stored, [hex_id], "%s: the accepting relay stored it once" %
           what)


def fake_all_refuse(f):
    tap, what = f.tap, "all refuse"
    f.A.answer_events("false", "blocked: spam")
    f.B.answer_events("false", "invalid: not today")
    parent = f.ask(what)
    if parent is None:
        return

    def failed():
        return [t for t in texts(f.chat) if "failed:" in t and
                "blocked: spam" in t]
    ok = wait_until(failed, tap.timeout(TIMEOUT), 0.1)
    tap.ok(ok and "invalid: not today" in failed()[0],
           "%s: the team is told it failed, with each relay's reason" %
           what, *(texts(f.chat)[-3:] + [f.daemon.tail(30)]))
    wait_until(lambda: False, sbtest.SETTLE)
    sent = f.received(parent["id"])
    tap.eq(sorted(n for n, _ in sent), ["A", "B"],
           "%s: refused for good: sent once to each relay, not retried" %
           what)


def fake_silent_then_ok(f):
    tap, what = f.tap, "all silent"
    f.A.answer_events("hold")
    f.B.answer_events("hold")
    before = len(published_notes(f.chat))
    parent = f.ask(what)
    if parent is None:
        return
    ok = wait_until(lambda: len([1 for n, _ in f.received(parent["id"])
                                 if n == "A"]) >= 2, tap.timeout(TIMEOUT),
                    0.1)
    tap.ok(ok, "%s: no answer within the timeout: tried again" % what,
           f.daemon.tail(30))
    tap.eq(published_notes(f.chat)[before:], [],
           "%s: nothing announced while no relay answered" % what)
    f.B.answer_events("true")
    ok = wait_until(lambda: len(published_notes(f.chat)) > before,
                    tap.timeout(TIMEOUT), 0.1)
    if not tap.ok(ok, "%s: published once B answers" % what,
                  f.daemon.tail(60)):
        return
    wait_until(lambda: False, sbtest.SETTLE)
    sent = f.received(parent["id"])
    hex_id = f.check_event(what, parent, sent)
    tap.eq(published_notes(f.chat)[before:], [sbnostr.note_id(hex_id)],
           "%s: announced once" % what)
    tap.eq([e["id"] for e in f.B.client_events if e["id"] == hex_id],
           [hex_id], "%s: B stored the event once, however often it was "
           "offered (%d sends in all)" % (what, len(sent)))
    later = len(f.received(parent["id"]))
    wait_until(lambda: False, sbtest.SETTLE)
    tap.eq(len(f.received(parent["id"])), later,
           "%s: nothing sent after it was published" % what)


def fake_restart(f):
    tap, what = f.tap, "restart"
    f.A.answer_events("hold")
    f.B.answer_events("hold")
    before = len(published_notes(f.chat))
    parent = f.ask(what)
    if parent is None:
        return
    ok = wait_until(lambda: len([1 for n, _ in f.received(parent["id"])
                                 if n == "A"]) >= 2, tap.timeout(TIMEOUT),
                    0.05)
    tap.ok(ok, "%s: retrying" % what, f.daemon.tail(30))
    # Right after a send: the attempt is waiting for its OK.
    rc, secs = f.daemon.stop()
    tap.ok(rc == 0, "%s: SIGTERM while an attempt waits stops the daemon "
           "with status 0 (%.1f s)" % (what, secs), f.daemon.tail())
    clean_log(tap, f.daemon, "%s, first run" % what)
    first = len(f.received(parent["id"]))
    f.B.answer_events("true")
    f.daemon.start()
    ok = wait_until(lambda: len(published_notes(f.chat)) > before,
                    tap.timeout(TIMEOUT), 0.1)
    if not tap.ok(ok, "%s: the restarted daemon publishes the pending "
                  "reply" % what, f.daemon.tail(60)):
        return
    wait_until(lambda: False, sbtest.SETTLE)
    sent = f.received(parent["id"])
    tap.ok(len(sent) > first, "%s: sent again after the restart (%d sends "
           "before, %d in all)" % (what, first, len(sent)))
    hex_id = f.check_event(what, parent, sent)
    tap.eq(published_notes(f.chat)[before:], [sbnostr.note_id(hex_id)],
           "%s: announced once" % what)
    tap.eq([e["id"] for e in f.B.client_events if e["id"] == hex_id],
           [hex_id], "%s: B stored it once" % what)


def fakes(tap):
    f = Fakes(tap, tap.subdir("fakes"))
    try:
        f.daemon.start()
        up = f.daemon.wait_log(r"listener: on 127\.0\.0\.1 port %d" %
                               f.port, tap.timeout(15))
        if not tap.ok(up, "the daemon starts with a Nostr account",
                      f.daemon.tail()):
            return
        for fn in (fake_refused_and_accepted, fake_all_refuse,
                   fake_silent_then_ok, fake_restart):
            tap.run(fn.__name__, fn, f)
        rc, secs = f.daemon.stop()
        tap.ok(rc == 0, "the daemon stops with status 0 (%.1f s)" % secs,
               f.daemon.tail())
        clean_log(tap, f.daemon, "fakes")
    finally:
        f.stop()


def main():
    tap = Tap("reply-nostr")
    need_binary(tap)
    tap.run("fake relays", fakes, tap)
    missing = [p for p in ("node", "npm") if shutil.which(p) is None]
    if missing:
        tap.out("ok %d - real relay # SKIP %s not found" %
                (tap.n + 1, " and ".join(missing)))
        tap.n += 1
    elif install(tap):
        tap.run("interop", interop, tap)
    tap.finish()


if __name__ == "__main__":
    main()
