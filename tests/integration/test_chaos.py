#!/usr/bin/env python3
"""Chaos: a daemon reading Jetstream, Mastodon and Nostr at once, three
teams on three chat servers, and for a minute (SB_CHAOS_SECONDS for a
longer run; SB_CHAOS_SEED picks another schedule) a seeded random
schedule of websocket drops on every source, chat destinations that
answer 429 (Retry-After 1), 500 or hang past the sink timeout, SIGHUPs
alternating a valid variant of the config with a broken one, and
SIGKILLs followed by a restart on the same state directory.  Then
everything settles and every post is accounted for: delivered to its
team's chat exactly once, or twice only in the documented window (at
most one in-flight message per destination per SIGKILL); none lost,
none misrouted, no sanitizer report in any run's log."""

import copy
import os
import random
import re
import signal
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
import sbnostr  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, load_jsonl, render_rule, route, url_of_id,
                    wait_until)
import chat_server  # noqa: E402
from mastodon_server import MastodonServer  # noqa: E402
from nostr_relay import NostrRelay  # noqa: E402

# Without TCP_NODELAY every webhook answer waits for a delayed ACK.
chat_server.ChatHandler.disable_nagle_algorithm = True

CHAOS_SECONDS = float(os.environ.get("SB_CHAOS_SECONDS") or 60)
SEED = int(os.environ.get("SB_CHAOS_SEED") or 7)
# The whole file must end within the CI budget; a longer run gets more.
sbtest.TEST_DEADLINE = int(CHAOS_SECONDS + 55)
JS_POSTS = int(2000 * CHAOS_SECONDS / 60)
TOOTS = int(240 * CHAOS_SECONDS / 60)
NOTES = int(180 * CHAOS_SECONDS / 60)
SINK_TIMEOUT = 2                # seconds, the chat groups' timeout
HANG = SINK_TIMEOUT + 1.5       # a hung answer comes after the timeout
MASTO_TOKEN = "sbChaosMastoToken77"
FEDI_TAG = "acmechaos"
NEVER = "zqxjvkwchaos"          # a word no post has
S32 = "234567abcdefghijklmnopqrstuvwxyz"
STARTED = r"switchboard \S+ started"
SANITIZER = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
             "runtime error:")
TEAMS = [("alpha", "slack", "walrus"), ("beta", "mattermost", "heron"),
         ("gamma", "slack", "osprey")]
URL_ANY = re.compile(r"https?://[^\s\"'<>|()\\]+")
NOTE_ANY = re.compile(r"note1[02-9ac-hj-np-z]+")


class ChaosChat(ChatServer):
    """A chat server whose webhook can be told, for a while, to answer
    429 with Retry-After 1, 500, or to hang past the client's timeout
    (then 503): none of these records the message."""

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.mode = None
        self.faults = {"429": 0, "500": 0, "hang": 0}

    def decide(self, path, raw):
        mode = self.mode
        if mode is None:
            return super().decide(path, raw)
        with self.cond:
            self.faults[mode] += 1
        if mode == "429":
            return 429, "rate_limited", {"Retry-After": "1"}, None
        if mode == "500":
            return 500, "internal_error", {}, None
        time.sleep(HANG)
        return 503, "service_unavailable", {}, None


def rkey(i):
    out = ""
    for _ in range(9):
        out = S32[i % 32] + out
        i //= 32
    return "3chs" + out


def js_events(n):
    """n copies of the recorded post creates, each its own post (own
    record key, time, no reply reference)."""
    base = [e for e in load_jsonl(sbtest.CORPUS)
            if e.get("kind") == "commit" and
            e["commit"].get("collection") == sbtest.POST and
            e["commit"].get("operation") == "create"]
    t0 = int(time.time() * 1e6) - 30 * 1000000
    out = []
    for i in range(n):
        ev = copy.deepcopy(base[i % len(base)])
        ev["time_us"] = t0 + i * 1000
        c = ev["commit"]
        c["rkey"] = c["rev"] = rkey(i)
        c["cid"] = "bafyreichaos%07d" % i
        c["record"].pop("reply", None)
        out.append(ev)
    return out


def chat_group(kind, port, hook):
    return ("{ type = %s; webhook_url = \"http://127.0.0.1:%d/hooks/%s\"; "
            "rate = 1000.0; burst = 1000; timeout = %d; }"
            % (cstr(kind), port, hook, SINK_TIMEOUT))


def render(state, js_port, masto_port, relay_url, chats, variant):
    """variant 0 or 1: both route every post of the test alike."""
    srcs = [
        "{ name = \"bluesky\"; type = \"jetstream\"; "
        "url = \"ws://127.0.0.1:%d/subscribe\"; rewind = 2; "
        "idle_timeout = 10; reconnect_min = 50; reconnect_max = 500; }"
        % js_port,
        "{ name = \"masto\"; type = \"mastodon\"; "
        "url = \"http://127.0.0.1:%d/\"; access_token = %s; "
        "notifications = false; hashtags = [ %s ]; idle_timeout = 10; "
        "reconnect_min = 50; reconnect_max = 500; }"
        % (masto_port, cstr(MASTO_TOKEN), cstr(FEDI_TAG)),
        "{ name = \"nostr\"; type = \"nostr\"; relays = [ %s ]; "
        "hashtags = [ %s ]; idle_timeout = 10; reconnect_min = 50; "
        "reconnect_max = 500; }" % (cstr(relay_url), cstr(FEDI_TAG))]
    langs = {"alpha": ["en"], "beta": ["tr", "ja", "ko", "ru"]}
    blocks = []
    for name, kind, word in TEAMS:
        rules = [sbtest.rule(word, priority=100, keywords=[word])]
        if name in langs:
            rules.append(sbtest.rule("lang", languages=langs[name]))
        if variant and name == "gamma":
            rules.append(sbtest.rule("never", priority=200,
                                     keywords=[NEVER]))
        blocks.append("  { name = %s;\n    chat = %s;\n    rules = ( %s );"
                      "\n  }" % (cstr(name),
                                 chat_group(kind, chats[name].port, name),
                                 ", ".join(render_rule(r) for r in rules)))
    return "\n".join([
        "general = { state_directory = %s; log_level = \"debug\"; };"
        % cstr(state),
        "sources = ( %s );" % ",\n  ".join(srcs),
        "teams = (\n%s\n);" % ",\n".join(blocks),
        "routing = { fallback_team = \"gamma\"; };"]) + "\n"


BROKEN = "general = { state_directory = \"x\"; \nteams = ( oops\n"


def markers_of(rec):
    """The post markers a message shows: Bluesky and Mastodon URLs,
    Nostr note ids."""
    out = set()
    for s in sbtest.strings_in(rec["body"]):
        out.update(URL_ANY.findall(s))
        out.update(NOTE_ANY.findall(s))
    return out


def account(expected, chats):
    """(lost, misrouted, doubled, stray, diagnostics)."""
    seen = {}
    stray = 0
    for name, chat in chats.items():
        for rec in chat.snapshot()[0]:
            ms = [m for m in markers_of(rec) if m in expected]
            if len(ms) != 1:
                stray += 1
                continue
            seen.setdefault(ms[0], []).append(name)
    lost, wrong, doubled, diag = 0, 0, 0, []
    for m, want in sorted(expected.items()):
        got = seen.get(m, [])
        if not got:
            lost += 1
            diag.append("lost: %s (for %s)" % (m, want))
        elif any(g != want for g in got):
            wrong += 1
            diag.append("misrouted: %s on %s, want %s" % (m, got, want))
        elif len(got) > 1:
            doubled += len(got) - 1
            diag.append("%d deliveries: %s on %s" % (len(got), m, want))
    return lost, wrong, doubled, stray, diag


def chaos(tap):
    wd = tap.subdir("chaos")
    rng = random.Random(SEED)
    events = js_events(JS_POSTS)
    dump = os.path.join(wd, "posts.jsonl")
    with open(dump, "w", encoding="utf-8") as f:
        for ev in events:
            f.write(sbtest.json.dumps(ev) + "\n")
    key = sbnostr.Key("chaos")

    def notes(first, last):
        """Notes first to last - 1, signed now (the source asks for
        what was written since it started, less a margin)."""
        out = []
        for i in range(first, last):
            name, _, word = TEAMS[i % 3]
            ev = key.sign("%s chaos note %d #%s" % (word, i, FEDI_TAG),
                          int(time.time()), [["t", FEDI_TAG]])
            expected[sbnostr.note_id(ev["id"])] = name
            out.append(ev)
        return out

    def toots(first, last):
        for i in range(first, last):
            name, _, word = TEAMS[i % 3]
            s = masto.make_status(i, text="%s chaos toot %d" % (word, i),
                                  tags=[FEDI_TAG])
            masto.post(s)
            expected[s["url"]] = name

    js = JetstreamServer(events=events[:1])
    masto = MastodonServer(token=MASTO_TOKEN)
    relay = NostrRelay(name="R")
    chats = {name: ChaosChat(name) for name, _, _ in TEAMS}
    daemon = Daemon(wd)
    counts = {"drops": 0, "reload_ok": 0, "reload_bad": 0, "kills": 0}
    try:
        jp, mp = js.start(), masto.start()
        relay.start()
        for c in chats.values():
            c.start()
            # A SIGKILL resets connections: not worth a traceback.
            c.httpd.handle_error = lambda request, address: None
        texts = [render(daemon.state, jp, mp, relay.url(), chats, v)
                 for v in (0, 1)]
        expected = {}
        for v, text in enumerate(texts):
            path = os.path.join(wd, "variant%d.conf" % v)
            with open(path, "w") as f:
                f.write(text)
            rc, rows, err, bad = route(path, dump)
            exp = {}
            for t, _, pid, _ in rows:
                if t not in ("drop", "ignore"):
                    exp[url_of_id(pid)] = t
            per = {n: sum(1 for x in exp.values() if x == n)
                   for n, _, _ in TEAMS}
            tap.ok(rc == 0 and not bad and len(exp) >= JS_POSTS // 2 and
                   (not expected or exp == expected) and
                   per["alpha"] > 0 and per["beta"] > 0,
                   "variant %d routes most Bluesky posts, alike (%s)" %
                   (v, ", ".join("%s %d" % kv for kv in sorted(per.items()))),
                   "route status %d" % rc, err, *bad[:5])
            expected = expected or exp

        variant = 0
        daemon.write_config(texts[0])
        daemon.start()
        up = daemon.wait_log(STARTED, 20)
        tap.ok(up is not None, "the daemon starts", daemon.tail())

        # The schedule.
        t0 = time.monotonic()
        end = t0 + CHAOS_SECONDS
        fed_js, fed_toots, fed_notes = 1, 0, 0
        restore = []            # (monotonic time, chat) to heal
        next_kill = t0 + rng.uniform(5, 10)
        last_hup = 0.0
        broken_next = False
        while True:
            now = time.monotonic()
            if now >= end:
                break
            frac = min(1.0, (now - t0) / (CHAOS_SECONDS * 0.85))
            # Feed the posts, spread over most of the window.
            want = int(JS_POSTS * frac)
            if want > fed_js:
                js.add_events(events[fed_js:want])
                fed_js = want
            want = int(TOOTS * frac)
            if want > fed_toots:
                toots(fed_toots, want)
                fed_toots = want
            want = int(NOTES * frac)
            if want > fed_notes:
                relay.add_events(notes(fed_notes, want))
                fed_notes = want
            for item in list(restore):
                if now >= item[0]:
                    item[1].mode = None
                    restore.remove(item)
            # One random act, now and then.
            r = rng.random()
            if now >= next_kill:
                daemon.kill()
                counts["kills"] += 1
                daemon.start()
                ok = daemon.wait_log(STARTED, 20)
                if not ok:
                    tap.ok(False, "restart after SIGKILL %d" %
                           counts["kills"], daemon.tail())
                    break
                next_kill = time.monotonic() + rng.uniform(7, 14)
            elif r < 0.10:
                which = rng.choice(("js", "masto", "nostr"))
                if which == "js":
                    with js.cond:
                        conns = [c for c in js.conns if not c.closed]
                    for c in conns:
                        c.close("chaos")
                elif which == "masto":
                    masto.drop_connections()
                else:
                    relay.drop_connections()
                counts["drops"] += 1
            elif r < 0.18:
                free = [c for c in chats.values() if c.mode is None]
                if free:
                    c = rng.choice(free)
                    c.mode = rng.choice(("429", "500", "hang"))
                    restore.append((now + rng.uniform(2, 4), c))
            elif r < 0.24 and now - last_hup > 2:
                last_hup = now
                mark = len(daemon.log())
                if broken_next:
                    daemon.write_config(BROKEN)
                    want_log = r"reload failed"
                else:
                    variant = 1 - variant
                    daemon.write_config(texts[variant])
                    want_log = r"configuration reloaded"
                daemon.send_signal(signal.SIGHUP)
                m = daemon.wait_log(want_log, 10, mark)
                tap.ok(m is not None, "SIGHUP %s logs \"%s\"" %
                       ("broken" if broken_next else "variant %d" %
                        variant, want_log), daemon.tail())
                counts["reload_bad" if broken_next else "reload_ok"] += 1
                if broken_next:
                    # The daemon keeps the last good config; the file
                    # goes back to it so a later restart reads it.
                    daemon.write_config(texts[variant])
                broken_next = not broken_next
            time.sleep(rng.uniform(0.2, 0.6))
        for c in chats.values():
            c.mode = None
        tap.ok(daemon.alive(), "the daemon runs at the end of the chaos "
               "(%.0f s)" % (time.monotonic() - t0), daemon.tail())
        # Everything left is fed, then it settles.
        js.add_events(events[fed_js:])
        toots(fed_toots, TOOTS)
        relay.add_events(notes(fed_notes, NOTES))

        def done():
            return account(expected, chats)[0] == 0
        wait_until(done, tap.timeout(40), 0.5)
        wait_until(lambda: False, sbtest.SETTLE)
        lost, wrong, doubled, stray, diag = account(expected, chats)
        faults = {k: sum(c.faults[k] for c in chats.values())
                  for k in ("429", "500", "hang")}
        tap.diag("chaos: seed %d, posts %d (of %d sent), drops %d, 429s %d, 500s %d, "
                 "hangs %d, reloads %d ok/%d bad, kills %d, lost %d, "
                 "doubled %d" % (SEED, len(expected),
                                 JS_POSTS + TOOTS + NOTES, counts["drops"],
                                 faults["429"], faults["500"],
                                 faults["hang"], counts["reload_ok"],
                                 counts["reload_bad"], counts["kills"],
                                 lost, doubled))
        tap.ok(len(expected) >= 1500 * min(1.0, CHAOS_SECONDS / 60),
               "thousands of posts across the three sources (%d)" %
               len(expected))
        tap.ok(counts["kills"] >= 2 and counts["drops"] >= 2 and
               counts["reload_ok"] >= 1 and counts["reload_bad"] >= 1 and
               all(faults.values()),
               "every kind of chaos happened", str(counts), str(faults))
        tap.eq(lost, 0, "no post lost", *sbtest.few(diag))
        tap.eq(wrong, 0, "no post misrouted", *sbtest.few(diag))
        tap.eq(stray, 0, "no message without exactly one known post")
        tap.ok(doubled <= counts["kills"] * len(chats),
               "doubles (%d) within the window: at most one per "
               "destination per SIGKILL (%d kills, %d destinations)" %
               (doubled, counts["kills"], len(chats)), *sbtest.few(diag))
        rc, secs = daemon.stop(signal.SIGTERM, 10.0)
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, "status %r" % rc, daemon.tail())
        with open(daemon.logpath, encoding="utf-8", errors="replace") as f:
            bad = [l for l in f if any(s in l for s in SANITIZER)]
        tap.ok(not bad, "no sanitizer report in any of the %d runs" %
               daemon.starts, *bad[:10])
    finally:
        if daemon.alive():
            daemon.kill()
        for s in [js, masto, relay] + list(chats.values()):
            s.stop()


def main():
    tap = Tap("chaos")
    sbtest.need_binary(tap)
    tap.run("chaos", chaos, tap)
    tap.finish()


if __name__ == "__main__":
    main()
