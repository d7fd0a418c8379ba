#!/usr/bin/env python3
"""Reload without restart, for everything: a storm of SIGHUPs during
traffic loses and doubles nothing; a bad file (a syntax error, an
unknown fallback team) changes nothing and says FILE:LINE; a reload
that changes one team's rules keeps every socket (Jetstream, Mastodon,
Nostr); a changed source reconnects alone and resumes from its cursor,
a removed one closes, an added one starts; a removed team's queue stays
queued, is counted in the log and goes out when the team is back; a
changed webhook URL, bot token, signing secret and permission list
apply to the next delivery or command."""

import copy
import http.client
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
import sbnostr  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    compare, cstr, expected_deliveries, free_port,
                    hooks_of, load_jsonl, make_post, render_rule, route,
                    slack_headers, slack_form, wait_delivered, wait_until)
import chat_server  # noqa: E402
from mastodon_server import MastodonServer  # noqa: E402
from nostr_relay import NostrRelay  # noqa: E402

TIMEOUT = 40
# Without TCP_NODELAY the fake's answer (head, then body) waits for a
# delayed ACK: 40 ms a message, and the storm's 1,600 deliveries, one
# at a time per channel, would take most of the test's time.
chat_server.ChatHandler.disable_nagle_algorithm = True
STORM_POSTS = 2000
STORM_SIGNALS = 50
S32 = "234567abcdefghijklmnopqrstuvwxyz"
NEVER = "zqxjvkwreload"         # a word no recorded post has
SECRET1 = "s1gn1ngS3cretF0rReload"
SECRET2 = "r0tatedS3cretF0rReload"
MASTO_TOKEN = "sbReloadMastoToken42"
FEDI_TAG = "acmefedi"
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
             "runtime error:")


# The configuration: rendered here rather than by sbtest.render_config,
# for several sources, chat settings beyond a webhook, the listener and
# the reply permissions.

def jetstream_source(name, port, rewind=0):
    return ("{ name = %s; type = \"jetstream\"; "
            "url = \"ws://127.0.0.1:%d/subscribe\"; rewind = %d; "
            "idle_timeout = 10; reconnect_min = 50; reconnect_max = 500; }"
            % (cstr(name), port, rewind))


def mastodon_source(port):
    return ("{ name = \"masto\"; type = \"mastodon\"; "
            "url = \"http://127.0.0.1:%d/\"; access_token = %s; "
            "notifications = false; hashtags = [ %s ]; idle_timeout = 10; "
            "reconnect_min = 50; reconnect_max = 500; }"
            % (port, cstr(MASTO_TOKEN), cstr(FEDI_TAG)))


def nostr_source(relay_url):
    return ("{ name = \"nostr\"; type = \"nostr\"; relays = [ %s ]; "
            "hashtags = [ %s ]; idle_timeout = 10; reconnect_min = 50; "
            "reconnect_max = 500; }" % (cstr(relay_url), cstr(FEDI_TAG)))


def hook_chat(port, hook, kind="slack", extra=""):
    return ("{ type = %s; webhook_url = \"http://127.0.0.1:%d/hooks/%s\"; "
            "rate = 1000.0; burst = 1000; timeout = 5;%s }"
            % (cstr(kind), port, hook, extra))


def team_block(name, chat, rules, reply=None):
    out = "  { name = %s;\n    chat = %s;\n" % (cstr(name), chat)
    if rules:
        out += "    rules = ( %s );\n" % ", ".join(render_rule(r)
                                                  for r in rules)
    if reply:
        out += "    reply = { %s };\n" % reply
    return out + "  }"


ROUTING = ("routing = { fallback_team = \"care\"; "
           "brand = { keywords = [ \"youtube\", \"files\" ]; }; "
           "drop = ( { name = \"politics\"; keywords = [ \"maga\" ]; } ); };")


def render(state, sources, teams, routing=ROUTING, tail=""):
    """teams: [(name, chat group text, rules, reply or None)]."""
    return "\n".join([
        "general = { state_directory = %s; log_level = \"debug\"; };"
        % cstr(state),
        "sources = ( %s );" % ",\n  ".join(sources),
        "teams = (\n%s\n);" % ",\n".join(team_block(*t) for t in teams),
        routing, tail]) + "\n"


def corpus_teams(chat_port, extra_rnd=()):
    """sbtest.default_teams() with a fast chat, rnd given extra rules."""
    out = []
    for t in sbtest.default_teams():
        rules = list(t["rules"])
        if t["name"] == "rnd":
            rules += list(extra_rnd)
        out.append((t["name"], hook_chat(chat_port, t["hook"], t["chat"]),
                    rules, None))
    return out


def listener_group(port, secret):
    return ("listener = { address = \"127.0.0.1\"; port = %d; "
            "slack_signing_secret = %s; };" % (port, cstr(secret)))


# Helpers.

def rkey(i, prefix="3mrl"):
    out = ""
    for _ in range(9):
        out = S32[i % 32] + out
        i //= 32
    return prefix + out


def storm_events(n):
    """n copies of the recorded post creates, each with its own record
    key and time and without its reply reference (so each starts its
    own conversation and the rules alone decide its team)."""
    base = [e for e in load_jsonl(sbtest.CORPUS)
            if e.get("kind") == "commit" and
            e["commit"].get("collection") == sbtest.POST and
            e["commit"].get("operation") == "create"]
    t0 = int(time.time() * 1e6) - 120 * 1000000
    out = []
    for i in range(n):
        ev = copy.deepcopy(base[i % len(base)])
        ev["time_us"] = t0 + i * 1000
        c = ev["commit"]
        c["rkey"] = c["rev"] = rkey(i)
        c["cid"] = "bafyreireload%07d" % i
        c["record"].pop("reply", None)
        out.append(ev)
    return out


def settle():
    wait_until(lambda: False, sbtest.SETTLE)


def no_sanitizer(tap, daemon, what):
    log = daemon.log()
    bad = [l for l in log.splitlines() if any(s in l for s in SANITIZER)]
    tap.ok(not bad, "%s: no sanitizer report" % what, *bad[:10])


def stop(tap, daemon, what):
    rc, secs = daemon.stop(signal.SIGTERM, 10.0)
    tap.ok(rc == 0, "%s: SIGTERM stops the daemon with status 0 (%.1f s)"
           % (what, secs), "status %r" % rc, daemon.tail())
    no_sanitizer(tap, daemon, what)


def reload(tap, daemon, text, what, want="configuration reloaded"):
    """Write text, SIGHUP, wait for want in the log; the log from the
    signal on, or None."""
    daemon.write_config(text)
    mark = len(daemon.log())
    daemon.send_signal(signal.SIGHUP)
    m = daemon.wait_log(re.escape(want), tap.timeout(10), mark)
    tap.ok(m is not None, "%s: SIGHUP logs \"%s\"" % (what, want),
           daemon.tail())
    return daemon.log()[mark:] if m else None


def bsky_records(chat):
    """Accepted messages showing a Bluesky post."""
    return [r for r in chat.snapshot()[0] if sbtest.message_urls(r["body"])]


def text_of(rec):
    return "\n".join(sbtest.strings_in(rec["body"]))


def paths_with(chat, needle):
    return [r["path"] for r in chat.snapshot()[0] if needle in text_of(r)]


class Notify:
    """A $NOTIFY_SOCKET read all the time, as systemd reads it (a full
    queue would block the daemon's sendto)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.cond = threading.Condition()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.msgs.append(data.decode())
                self.cond.notify_all()

    def take(self, timeout):
        """Messages so far and until one came and then none for 0.5 s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.msgs and time.monotonic() < deadline:
                self.cond.wait(0.1)
            n = -1
            while n != len(self.msgs):
                n = len(self.msgs)
                self.cond.wait(0.5)
            out, self.msgs = self.msgs, []
        return out

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def command(port, secret, text, user="U0BOB", name="bob",
            channel="C0CARE"):
    """A slash command signed with secret: (HTTP status, answer text)."""
    body = slack_form(text=text, user_id=user, user_name=name,
                      channel_id=channel)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/slack/commands", body=body,
                  headers=slack_headers(body, secret))
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    try:
        return r.status, json.loads(data.decode()).get("text")
    except (ValueError, AttributeError):
        return r.status, None


# 1 and 2: a reload storm during traffic, then bad files.

def storm(tap):
    wd = tap.subdir("storm")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(events=storm_events(STORM_POSTS), trickle_ms=2,
                         dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    lport = free_port()
    nsock_path = os.path.join(wd, "notify.sock")
    nsock = Notify(nsock_path)
    what = "storm"
    try:
        jp, cp = js.start(), chat.start()
        tail = listener_group(lport, SECRET1)
        added = [sbtest.rule("storm", keywords=[NEVER])]
        texts = [render(daemon.state, [jetstream_source("bluesky", jp)],
                        corpus_teams(cp), tail=tail),
                 render(daemon.state, [jetstream_source("bluesky", jp)],
                        corpus_teams(cp, added), tail=tail)]
        exps = []
        for i, text in enumerate(texts):
            path = os.path.join(wd, "variant%d.conf" % i)
            with open(path, "w") as f:
                f.write(text)
            rc, rows, err, bad = route(path, dump)
            exps.append(expected_deliveries(rows, hooks_of(
                sbtest.default_teams())))
            tap.ok(rc == 0 and not bad, "storm: variant %d routes the "
                   "stream (dry run)" % i, err, *bad[:5])
        exp = exps[0]
        tap.ok(exps[0] == exps[1] and len(exp) >= STORM_POSTS // 2,
               "storm: both variants route the %d posts alike (%d "
               "selected)" % (STORM_POSTS, len(exp)))
        daemon.write_config(texts[0])
        os.environ["NOTIFY_SOCKET"] = nsock_path
        try:
            daemon.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]
        chat.wait(lambda c: len(c.records) >= 20, tap.timeout(TIMEOUT))
        mark = len(daemon.log())
        started_mid = not js.connections[0]["caught_up"]
        rng = random.Random(6)
        for i in range(STORM_SIGNALS):
            daemon.write_config(texts[(i + 1) % 2])
            daemon.send_signal(signal.SIGHUP)
            time.sleep(rng.uniform(0.01, 0.12))
        ended_mid = not js.connections[0]["caught_up"]
        tap.ok(started_mid and ended_mid, "storm: the %d SIGHUPs land "
               "while the stream flows" % STORM_SIGNALS,
               str(js.connections[0]))
        done = wait_until(lambda: daemon.log()[mark:].count(
            "configuration reloaded") >= STORM_SIGNALS or
            not daemon.alive(), tap.timeout(20))
        log = daemon.log()[mark:]
        tap.eq((log.count("configuration reloaded"),
                log.count("reload failed")), (STORM_SIGNALS, 0),
               "storm: every SIGHUP is one successful reload",
               daemon.tail() if not done else "")
        wait_delivered(lambda: chat.snapshot()[0], exp,
                       tap.timeout(TIMEOUT))
        js.wait(lambda s: s.connections[-1]["caught_up"],
                tap.timeout(TIMEOUT))
        settle()
        problems = compare(exp, chat.snapshot()[0])
        tap.ok(not problems, "storm: every selected post arrives exactly "
               "once, in its team's channel (%d)" % len(exp),
               *(sbtest.few(problems) + [daemon.tail()]))
        conns = js.connections
        tap.eq(len(conns), 1, "storm: the Jetstream connection survives "
               "every reload", *[str(c) for c in conns])
        nsock.take(0.5)     # what the storm said

        bad_files(tap, daemon, js, chat, nsock, lport, cp)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        nsock.close()


def bad_files(tap, daemon, js, chat, nsock, lport, cp):
    """A syntax error, an @include of a directory, then a file that
    parses but names an unknown fallback team.  Each would also move
    posts saying "sentinelword" to rnd, were it taken."""
    what = "bad file"
    moved = render(daemon.state, [jetstream_source("bluesky", js.port)],
                   corpus_teams(cp, [sbtest.rule("moved", priority=50,
                                                 keywords=["sentinelword"])]),
                   tail=listener_group(lport, SECRET1))
    lines = moved.split("\n")
    syntax_line = 3
    lines.insert(syntax_line - 1, "this is not = libconfig (")
    syntax = "\n".join(lines)
    # libconfig 1.5 exit()s reading an included directory.
    lines = moved.split("\n")
    lines.insert(syntax_line - 1, '@include ""')
    include_dir = "\n".join(lines)
    semantic = moved.replace('fallback_team = "care"',
                             'fallback_team = "nosuchteam"')
    semantic_line = 1 + semantic.split("\n").index(next(
        l for l in semantic.split("\n") if "nosuchteam" in l))
    failures = 0
    for text, line, kind in ((syntax, syntax_line, "a syntax error"),
                             (include_dir, syntax_line,
                              "an @include of a directory"),
                             (semantic, semantic_line,
                              "an unknown fallback team")):
        failures += 1
        daemon.write_config(text)
        mark = len(daemon.log())
        daemon.send_signal(signal.SIGHUP)
        m = daemon.wait_log(r"reload failed", tap.timeout(10), mark)
        log = daemon.log()[mark:]
        tap.ok(m and re.search(r"%s:%d: " % (re.escape(daemon.conf), line),
                               log),
               "%s: %s is logged as FILE:LINE" % (what, kind), log)
        tap.ok(re.search(r"reload failed \(%d failed reloads? so far\)"
                         % failures, log),
               "%s: the failure counter reads %d" % (what, failures), log)
        msgs = "\n".join(nsock.take(5))
        tap.ok("RELOADING=1" in msgs and "READY=1" in msgs and
               msgs.index("RELOADING=1") < msgs.rindex("READY=1") and
               "reload failed" in msgs,
               "%s: systemd hears RELOADING=1, then READY=1 with a status "
               "saying the reload failed" % what, repr(msgs))
    # The same rules without the error would move the sentinel.
    path = os.path.join(daemon.workdir, "moved.conf")
    with open(path, "w") as f:
        f.write(moved)
    ev = make_post("did:plc:reloadsentinel0000000000", "3zzzreloadsent",
                   "sentinelword: the government video", js.stream[-1][
                       "time_us"] + 1000)
    js.add_events([ev])
    url = sbtest.web_url(ev["did"], ev["commit"]["rkey"])
    want_moved = expected_deliveries(route(path, js.dump_path)[1],
                                     hooks_of(sbtest.default_teams()))
    tap.eq(want_moved.get(url), "/hooks/rnd", "%s: the broken files' rules "
           "would send the sentinel to rnd" % what)
    ok = wait_delivered(lambda: chat.snapshot()[0], [url],
                        tap.timeout(TIMEOUT))
    settle()
    got = [p for p, u in sbtest.deliveries(chat.snapshot()[0]) if u == url]
    tap.ok(ok and daemon.alive() and got == ["/hooks/care"],
           "%s: the daemon keeps routing with the last good rules" % what,
           "delivered to %s" % got, daemon.tail())
    st, body = http_get(lport, "/metrics")
    if st == 200:
        got = {}
        for l in body.splitlines():
            f = l.split()
            if len(f) == 2 and not l.startswith("#"):
                got[f[0]] = float(f[1])
        want = {'switchboard_reloads_total{result="ok"}': STORM_SIGNALS,
                'switchboard_reloads_total{result="failed"}': failures,
                "switchboard_config_errors": 1}
        tap.eq({k: got.get(k) for k in want}, want, "%s: /metrics counts "
               "%d good and %d failed reloads, and the last one's error"
               % (what, STORM_SIGNALS, failures))
    else:
        tap.diag("no /metrics on the listener (%d): counter checked in "
                 "the log only" % st)


# 3 and 4: sockets kept, and sources changed, removed and added.

class Fedi:
    """Mastodon statuses and Nostr notes the test posts, by marker."""

    def __init__(self, masto, relay):
        self.masto = masto
        self.relay = relay
        self.key = sbnostr.Key("reload")
        self.expected = {}      # marker -> hook path
        self.n = 0

    def status(self, hook, words=""):
        self.n += 1
        s = self.masto.make_status(self.n, text="%s toot %d" %
                                   (words, self.n), tags=[FEDI_TAG])
        self.masto.post(s)
        self.expected[s["url"]] = hook
        return s["url"]

    def note(self, hook, words="", send=True):
        self.n += 1
        ev = self.key.sign("%s note %d #%s" % (words, self.n, FEDI_TAG),
                           int(time.time()), [["t", FEDI_TAG]])
        marker = sbnostr.note_id(ev["id"])
        if send:
            self.relay.add_events([ev])
        self.expected[marker] = hook
        return marker

    def problems(self, chat):
        out = []
        for marker, hook in sorted(self.expected.items()):
            got = paths_with(chat, marker)
            if got != [hook]:
                out.append("%s: delivered to %s, want [%s]"
                           % (marker, got, hook))
        return out


def sockets(tap):
    wd = tap.subdir("sockets")
    dump = os.path.join(wd, "dump.jsonl")
    # Two relays serving the same recording: the source moves from one
    # to the other, as from a relay to its fallback.
    js1 = JetstreamServer(repeat=4, trickle_ms=15, dump=dump)
    js2 = JetstreamServer(repeat=4, trickle_ms=15)
    masto = MastodonServer(token=MASTO_TOKEN)
    relay = NostrRelay(name="R")
    chat = ChatServer()
    daemon = Daemon(wd)
    fedi = Fedi(masto, relay)
    what = "sockets"
    try:
        jp1, jp2, mp, cp = js1.start(), js2.start(), masto.start(), \
            chat.start()
        relay.start()

        def text(js_port, nostr=True, rnd=()):
            srcs = [jetstream_source("bluesky", js_port), mastodon_source(mp)]
            if nostr:
                srcs.append(nostr_source(relay.url()))
            teams = corpus_teams(cp, rnd) + [
                ("fedi", hook_chat(cp, "fedi"),
                 [sbtest.rule("tagged", priority=100,
                              hashtags=[FEDI_TAG])], None)]
            return render(daemon.state, srcs, teams)
        rnd_rule = [sbtest.rule("reloaded", priority=200, keywords=[NEVER])]
        base, changed = text(jp1), text(jp1, rnd=rnd_rule)
        exp = {}
        for i, t in enumerate((base, changed)):
            path = os.path.join(wd, "rules%d.conf" % i)
            with open(path, "w") as f:
                f.write(t)
            rc, rows, err, bad = route(path, dump)
            e = expected_deliveries(rows, hooks_of(sbtest.default_teams()))
            exp = exp or e
            tap.ok(rc == 0 and e == exp and len(e) >= 40, "%s: the "
                   "recording routes alike under both rule sets (%d posts)"
                   % (what, len(e)), err, *bad[:5])
        daemon.write_config(base)
        daemon.start()
        up = wait_until(lambda: js1.connections and masto.open_conns() and
                        any(c["open"] for c in relay.connections) and
                        relay.subscriptions, tap.timeout(TIMEOUT))
        tap.ok(up, "%s: Jetstream, Mastodon and Nostr connected" % what,
               daemon.tail())
        fedi.status("/hooks/fedi")
        fedi.note("/hooks/fedi")
        chat.wait(lambda c: not fedi.problems(c), tap.timeout(TIMEOUT))

        # 3: only one team's rules change.
        counts = (len(js1.connections), len(masto.connections),
                  len(relay.connections))
        tap.eq(counts, (1, 1, 1), "%s: one handshake each so far" % what)
        log = reload(tap, daemon, changed, "rules only")
        tap.ok(log and "3 kept, 0 reconnected, 0 added, 0 removed" in log,
               "rules only: the log says all 3 sources were kept", log)
        fedi.status("/hooks/rnd", NEVER)
        fedi.note("/hooks/rnd", NEVER)
        ok = chat.wait(lambda c: not fedi.problems(c), tap.timeout(TIMEOUT))
        tap.ok(ok, "rules only: the new rule routes the next toot and note",
               *fedi.problems(chat))
        mid = not js1.connections[0]["caught_up"]
        counts = (len(js1.connections), len(masto.connections),
                  len(relay.connections))
        tap.eq(counts, (1, 1, 1), "rules only: no new Jetstream, Mastodon "
               "or Nostr handshake")

        # 4a: the Jetstream source moves to the other relay.
        log = reload(tap, daemon, text(jp2, rnd=rnd_rule), "changed URL")
        tap.ok(log and "1 reconnected" in log and "2 kept" in log,
               "changed URL: only that source reconnects", log)
        js2.wait(lambda s: s.connections, tap.timeout(TIMEOUT))
        old, new = js1.connections, js2.connections
        tap.ok(mid and len(old) == 1 and len(new) == 1 and
               new[0]["cursor"] is not None and old[0]["last_time_us"] and
               new[0]["cursor"] <= old[0]["last_time_us"] and
               new[0]["cursor"] > js1.stream[0]["time_us"],
               "changed URL: mid-stream, the new connection resumes from "
               "the cursor (at most the last event the old one got, after "
               "the start)", str(old), str(new))
        tap.ok(js1.wait(lambda s: not s.connections[0]["open"], 10),
               "changed URL: the old connection is closed")
        tap.eq((len(masto.connections), len(relay.connections)), (1, 1),
               "changed URL: Mastodon and Nostr keep their connections")
        wait_delivered(lambda: bsky_records(chat), exp, tap.timeout(TIMEOUT))
        js2.wait(lambda s: s.connections[-1]["caught_up"],
                 tap.timeout(TIMEOUT))

        # 4b: the Nostr source is removed, then added back.
        log = reload(tap, daemon, text(jp2, nostr=False, rnd=rnd_rule),
                     "removed source")
        tap.ok(log and "1 removed" in log and
               relay.wait(lambda r: not any(c["open"] for c in
                                            r.connections), 10),
               "removed source: its relay connection is closed",
               str(relay.connections), log)
        away = fedi.note("/hooks/fedi", "away")
        fedi.status("/hooks/fedi", "meanwhile")
        settle()
        tap.eq(paths_with(chat, away), [], "removed source: a note sent "
               "while it is gone is not read")
        nreqs = len(relay.subscriptions)
        cursor = sbnostr.saved_cursor(daemon.state)
        log = reload(tap, daemon, text(jp2, rnd=rnd_rule), "added source")
        tap.ok(log and "1 added" in log and
               relay.wait(lambda r: len(r.connections) == 2 and
                          r.connections[1]["open"], 10),
               "added source: it connects", str(relay.connections), log)
        relay.wait(lambda r: len(r.reqs) > nreqs, 10)
        since = set()
        for r in relay.subscriptions[nreqs:]:
            since |= sbnostr.req_since(r)
        tap.ok(cursor is not None and since == {int(cursor) - 600},
               "added source: a source added back resumes from its kept "
               "cursor, less the margin (since %s, cursor %s)"
               % (sorted(since, key=str), cursor))
        fedi.note("/hooks/fedi", "back")
        chat.wait(lambda c: not fedi.problems(c), tap.timeout(TIMEOUT))
        settle()
        problems = fedi.problems(chat)
        tap.ok(not problems, "%s: every toot and note arrives exactly once, "
               "the one sent while the source was gone included" % what,
               *problems)
        problems = compare(exp, bsky_records(chat))
        tap.ok(not problems, "%s: every selected Bluesky post arrives "
               "exactly once across the move (%d)" % (what, len(exp)),
               *(sbtest.few(problems) + [daemon.tail()]))
        tap.eq((len(js1.connections), len(js2.connections),
                len(masto.connections)), (1, 1, 1),
               "%s: no other handshake happened" % what)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        for s in (js1, js2, masto, relay, chat):
            s.stop()


# 5 and 6: a removed team's queue; chat settings, secrets, permissions.

def teams(tap):
    wd = tap.subdir("teams")
    outage = os.path.join(wd, "outage")
    open(outage, "w").close()
    js = JetstreamServer(events=[])
    chat = ChatServer(slack_token="xoxb-old")
    down = ChatServer(outage=outage)
    daemon = Daemon(wd)
    lport = free_port()
    what = "teams"
    seq = [0]

    def post(text):
        seq[0] += 1
        last = js.stream[-1]["time_us"] if js.stream else \
            int(time.time() * 1e6)
        ev = make_post("did:plc:reloadteams00000000000", rkey(seq[0], "3mtm"),
                       text, last + 1000)
        js.add_events([ev])
        return sbtest.web_url(ev["did"], ev["commit"]["rkey"])

    def delivered(url):
        return [(r["path"], r.get("channel"))
                for r in chat.snapshot()[0] + down.snapshot()[0]
                if url in sbtest.message_urls(r["body"])]
    try:
        jp, cp, dp = js.start(), chat.start(), down.start()

        def text(ops=True, v2=False):
            care = hook_chat(cp, "care2" if v2 else "care",
                             extra=" channel_id = \"C0CARE\";")
            api = ("{ type = \"slack\"; token = %s; channel = \"C0API\"; "
                   "api_url = \"http://127.0.0.1:%d/api\"; rate = 100.0; }"
                   % (cstr("xoxb-new" if v2 else "xoxb-old"), cp))
            ts = [("care", care, [sbtest.rule("refunds",
                                              keywords=["refund"])],
                   "managers = [ \"U0BOB\" ];" if v2 else
                   "managers = [ \"U0ALICE\" ];")]
            if ops:
                ts.append(("ops", hook_chat(dp, "ops"),
                           [sbtest.rule("outages", keywords=["outage"])],
                           None))
            ts.append(("api", api, [sbtest.rule("prices",
                                                keywords=["pricing"])], None))
            return render(daemon.state, [jetstream_source("bluesky", jp)],
                          ts, routing="",
                          tail=listener_group(lport,
                                              SECRET2 if v2 else SECRET1))
        daemon.write_config(text())
        daemon.start()
        js.wait(lambda s: s.connections, tap.timeout(TIMEOUT))

        # Before: the old settings work.
        u1, u2 = post("where is my refund"), post("pricing question")
        queued = [post("is there an outage %d" % i) for i in range(3)]
        ok = wait_until(lambda: delivered(u1) and delivered(u2),
                        tap.timeout(TIMEOUT))
        tap.ok(ok and delivered(u1) == [("/hooks/care", None)] and
               delivered(u2) == [("/api/chat.postMessage", "C0API")],
               "%s: before the reload, care's webhook and the API team's "
               "token work" % what, str(delivered(u1)), str(delivered(u2)))
        st, answer = command(lport, SECRET1, "mute did:plc:spammer")
        tap.ok(st == 200 and answer and "only a manager" in answer,
               "%s: bob may not mute for care yet" % what, st, answer)
        down.wait(lambda c: len(c.attempts) >= 1, tap.timeout(TIMEOUT))
        routed = wait_until(lambda: daemon.log().count("-> team ops") >= 3,
                            tap.timeout(TIMEOUT))
        tap.ok(routed and down.snapshot()[0] == [],
               "%s: 3 posts for ops are queued behind its outage" % what,
               daemon.tail())

        # 5: ops removed; its queue stays and is counted.
        log = reload(tap, daemon, text(ops=False), "removed team")
        m = daemon.wait_log(r"chat ops: no such team in the configuration; "
                            r"its (\d+) queued deliveries stay queued",
                            tap.timeout(10), len(daemon.log()) - len(log))
        tap.ok(m and m.group(1) == "3", "removed team: the log names ops "
               "and its 3 queued deliveries", daemon.tail())
        os.unlink(outage)
        settle()
        tap.eq(down.snapshot()[0], [],
               "removed team: nothing goes to its chat while it is gone")
        log = reload(tap, daemon, text(ops=False), "still removed")
        tap.ok(log and re.search(r"chat ops: still no such team in the "
                                 r"configuration; its 3 queued deliveries",
                                 log),
               "still removed: a reload that leaves it out says so again, "
               "with the count", log)

        # 6, and ops back: everything changed at once.
        chat.slack_token = "xoxb-new"       # the old token is revoked
        reload(tap, daemon, text(ops=True, v2=True), "changed settings")
        ok = down.wait(lambda c: len(c.records) >= 3, tap.timeout(TIMEOUT))
        settle()
        got = sorted(u for _, u in sbtest.deliveries(down.snapshot()[0]))
        tap.ok(ok and got == sorted(queued), "changed settings: ops is back "
               "and its 3 queued posts arrive, each once", str(got))
        u3, u4 = post("another refund"), post("pricing again")
        ok = wait_until(lambda: delivered(u3) and delivered(u4),
                        tap.timeout(TIMEOUT))
        settle()
        tap.eq(delivered(u3), [("/hooks/care2", None)],
               "changed settings: the next post goes to care's new webhook "
               "URL")
        tap.eq(delivered(u4), [("/api/chat.postMessage", "C0API")],
               "changed settings: the next API delivery uses the new token")
        st, _ = command(lport, SECRET1, "help")
        tap.eq(st, 401, "changed settings: the old signing secret is "
               "refused")
        st, answer = command(lport, SECRET2, "mute did:plc:spammer")
        tap.ok(st == 200 and answer and "muted for care" in answer,
               "changed settings: the new secret is accepted, and bob, "
               "now a manager, may mute", st, answer)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        down.stop()


def main():
    tap = Tap("reload")
    sbtest.need_binary(tap)
    for fn in (storm, sockets, teams):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
