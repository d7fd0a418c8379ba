#!/usr/bin/env python3
"""Nostr: the daemon against two non-validating loopback relays carrying
overlapping events, genuine and forged.  Every genuine note the source
watches reaches its team exactly once, forged ones never, across a relay
connection drop (with notes only that relay has), a daemon SIGKILL and
restart, refused subscriptions and garbage; the cursor resumes at the
newest created_at less the margin and ignores clocks in the future."""

import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import sbtest  # noqa: E402
import sbnostr  # noqa: E402
from nostr_relay import NostrRelay, load_events  # noqa: E402
from sbtest import ChatServer, Daemon, Tap, rule, team, wait_until  # noqa

TIMEOUT = 30
RECORDED = os.path.join(sbtest.SRCDIR, "tests", "data", "nostr-events.jsonl")
VECTORS = os.path.join(sbtest.SRCDIR, "tests", "data", "bip340-vectors.csv")
# The key most recorded notes mention (a thread's root author).
RECORDED_P = "04c915daefee38317fa734444acee390a8269fe5810b2241e5e6dd343dfbecc9"
MARKERS = ("FORGED-",)

BRAND = sbnostr.Key("brand")
WATCHED = sbnostr.Key("watched author")
PEOPLE = [sbnostr.Key("person %d" % i) for i in range(6)]
TAG = "acmetag"

HOOKS = {"care": "/hooks/care", "rnd": "/hooks/rnd", "pr": "/hooks/pr"}


def teams():
    return [team("care", [rule("mentions", mentions=[BRAND.pub,
                                                     RECORDED_P])]),
            team("rnd", [rule("tags", hashtags=[TAG])], chat="mattermost"),
            team("pr", [rule("own", authors=[WATCHED.pub])])]


def owner(ev):
    """The team the rules give ev (the test's events match one rule)."""
    if ev["pubkey"] == WATCHED.pub:
        return HOOKS["pr"]
    if any(t[0] == "t" and t[1] == TAG for t in ev["tags"]):
        return HOOKS["rnd"]
    return HOOKS["care"]


class Notes:
    """Fresh signed notes, numbered so forged copies are recognisable."""

    def __init__(self):
        self.n = 0

    def make(self, what, created_at, author=None):
        self.n += 1
        author = author or PEOPLE[self.n % len(PEOPLE)]
        tags = []
        if what == "mention":
            tags = [["p", BRAND.pub]]
        elif what == "tag":
            tags = [["t", TAG]]
        elif what == "reaction":
            ev = author.sign("+", created_at, [["p", BRAND.pub],
                                               ["e", "00" * 32]], kind=7)
            sbnostr.remember([ev])
            return ev
        elif what == "other":
            tags = [["p", PEOPLE[0].pub]]
        text = "note %d about acme (%s): \"quotes\", tabs\tand \u00e9" % (
            self.n, what)
        ev = author.sign(text, created_at, tags)
        sbnostr.remember([ev])
        return ev

    def forge(self, ev):
        """Forged copies of ev; unless ev is the watched author's, one
        claims to be by the watched author."""
        self.n += 1
        who = WATCHED.pub if ev["pubkey"] != WATCHED.pub else None
        return list(sbnostr.forgeries(ev, "FORGED-%d" % self.n,
                                      impostor=who).values())


def stop(tap, daemon, what):
    rc, secs = daemon.stop(signal.SIGTERM, 5.0)
    tap.ok(rc == 0, "%s: SIGTERM stops the daemon with status 0 (%.1f s)"
           % (what, secs), "status %r" % rc, daemon.tail())


def records_of(chat):
    return lambda: chat.snapshot()[0]


def wait_ids(chat, ids, timeout):
    ids = set(ids)
    return wait_until(lambda: ids <= sbnostr.delivered_ids(
        chat.snapshot()[0]), timeout, 0.1)


def check_once(tap, what, expected, chat, daemon):
    problems = sbnostr.compare(expected, chat.snapshot()[0], MARKERS)
    tap.ok(not problems, "%s: every genuine watched note arrives exactly "
           "once in its team's channel, no forged or unwatched one"
           % what, *(sbtest.few(problems) + [daemon.tail()]))


def wanted(ev):
    """Whether ev is what the test's source watches (kind 1, mentions
    the brand, tagged, or by the watched author)."""
    return ev.get("kind") == 1 and (
        ev.get("pubkey") == WATCHED.pub or
        any(t[:2] in (["p", BRAND.pub], ["t", TAG]) for t in ev["tags"]))


def served(*relays):
    """(forged, unwanted): how many such events the relays sent."""
    evs = [ev for r in relays for _, _, ev in r.sent]
    return (sum(1 for ev in evs if wanted(ev) and not sbnostr.verify(ev)),
            sum(1 for ev in evs if not wanted(ev)))


def rejections(daemon):
    return len(re.findall(r"forged or malformed event from", daemon.log()))


def settle():
    wait_until(lambda: False, sbtest.SETTLE)


def signer(tap):
    """The test's own BIP-340 signer must agree with the BIP before its
    events can say anything about the daemon."""
    bad = sbnostr.check_vectors(VECTORS)
    tap.ok(not bad, "the test's Python BIP-340 signer reproduces the 19 "
           "official vectors", *bad)
    evs = load_events(RECORDED)
    tap.ok(all(sbnostr.verify(e) for e in evs) and len(evs) >= 30,
           "its NIP-01 id and signature check accepts the %d recorded "
           "events" % len(evs))


def relays(tap):
    """Two relays with overlapping genuine notes and forged copies; a
    live phase, a dropped connection, a future clock, SIGKILL."""
    wd = tap.subdir("relays")
    notes = Notes()
    now = int(time.time())
    margin = 5
    stored = ([notes.make("mention", now - 300 + i) for i in range(6)] +
              [notes.make("tag", now - 200 + i) for i in range(3)] +
              [notes.make("plain", now - 100 + i, WATCHED)
               for i in range(3)])
    m, h, w = stored[0:6], stored[6:9], stored[9:12]
    unwatched = [notes.make("plain", now - 50), notes.make("other", now - 49),
                 notes.make("reaction", now - 48)]
    forged = notes.forge(m[0]) + notes.forge(w[0])
    # A respects filters; B sends everything it has, as a relay that
    # does not index tags would.  m[0] and its forgeries are on both, in
    # both orders.
    a_events = m[0:4] + [h[0], h[1], w[0], w[1]] + forged
    b_events = forged + m[2:6] + [m[0], h[1], h[2], w[1], w[2]] + unwatched
    A = NostrRelay(events=a_events, name="A")
    B = NostrRelay(events=b_events, ignore_filters=True, name="B")
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "relays"
    try:
        A.start()
        B.start()
        cp = chat.start()
        daemon.write_config(sbnostr.render_config(
            daemon.state, [A.url(), B.url()], cp, teams(),
            {"mentions": [BRAND.npub()], "hashtags": ["#AcmeTag"],
             "authors": [WATCHED.pub.upper()], "since_margin": margin,
             "initial_lookback": 3600}))
        expected = {ev["id"]: owner(ev) for ev in stored}
        daemon.start()
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        settle()
        check_once(tap, "stored notes on two relays", expected, chat, daemon)
        reqs = [r for r in A.subscriptions + B.subscriptions
                if r["sub"] == "sb-nostr"]
        want = [{"kinds": [1], "#p": [BRAND.pub]},
                {"kinds": [1], "#t": [TAG]},
                {"kinds": [1], "authors": [WATCHED.pub]}]
        bad = []
        for r in reqs:
            fs = [dict(f) for f in r["filters"]]
            sinces = [f.pop("since", None) for f in fs]
            if r["sub"] != "sb-nostr" or fs != want or any(
                    x is None or abs(x - (now - 3600)) > 2 for x in sinces):
                bad.append(json.dumps(r))
        tap.ok(len(reqs) == 2 and not bad,
               "each relay gets one REQ \"sb-nostr\" with a filter per "
               "watched list (an npub and upper-case hex as lower-case "
               "hex, \"#AcmeTag\" as \"acmetag\"), since now - "
               "initial_lookback", *bad)
        n_forged, n_unwanted = served(A, B)
        tap.ok(rejections(daemon) == n_forged >= 2 * len(forged),
               "every forged copy served is rejected and counted (%d of "
               "%d)" % (rejections(daemon), n_forged), daemon.tail(20))
        tap.ok(len(re.findall(r"outside the subscription's filters",
                              daemon.log())) == n_unwanted >= len(unwatched),
               "notes outside the subscription from the relay that "
               "ignores filters are skipped (a reaction among them)")

        # Live notes, on one relay or both, with live forgeries.
        live = [notes.make("mention", now), notes.make("tag", now + 1),
                notes.make("plain", now + 2, WATCHED)]
        A.add_events([live[0], live[1]])
        B.add_events(notes.forge(live[0]) + [live[0], live[2]])
        expected.update({ev["id"]: owner(ev) for ev in live})
        wait_ids(chat, expected, tap.timeout(TIMEOUT))

        # A drops and refuses connections.  A note only A has, dated
        # just before the drop, is stored there meanwhile; B then
        # delivers a note dated after it (and a minute in the future),
        # which moves the cursor past the first note's time + margin.
        # A's resubscription must still reach back to it.
        A.pause()
        t_drop = int(time.time())
        A.drop_connections()
        A.wait(lambda r: r.refused_handshakes >= 2, tap.timeout(10))
        only_a = notes.make("mention", t_drop - 3)
        A.add_events([only_a])
        wait_until(lambda: False, 4.0)
        ahead = notes.make("mention", int(time.time()) + 60)
        B.add_events([ahead])
        wait_ids(chat, [ahead["id"]], tap.timeout(TIMEOUT))
        cursor = wait_until(lambda: sbnostr.saved_cursor(daemon.state),
                            tap.timeout(5))
        A.resume()
        got_a = wait_ids(chat, [only_a["id"]], tap.timeout(TIMEOUT))
        expected.update({only_a["id"]: owner(only_a),
                         ahead["id"]: owner(ahead)})
        resub = A.subscriptions[-1]
        since = sbnostr.req_since(resub)
        tap.ok(got_a and len(since) == 1 and
               since.pop() <= only_a["created_at"] <
               int(cursor or 0) - margin,
               "after the drop, A's new REQ reaches back to where A was "
               "left, not to the cursor B moved: the note only A has "
               "arrives", "REQ %s, note at %d, cursor %s" %
               (json.dumps(resub), only_a["created_at"], cursor))
        tap.ok(cursor is not None and
               int(cursor) <= time.time() and
               int(cursor) < ahead["created_at"],
               "a note dated a minute ahead moves the cursor only to the "
               "time it arrived (%s, note at %d)" %
               (cursor, ahead["created_at"]))

        # A genuine note dated an hour ahead: routed, not the cursor
        # (not even moved to the time it arrived).
        before = sbnostr.saved_cursor(daemon.state)
        wait_until(lambda: time.time() >= int(before) + 2, 3)
        future = notes.make("mention", int(time.time()) + 3600)
        B.add_events([future])
        expected[future["id"]] = owner(future)
        wait_ids(chat, [future["id"]], tap.timeout(TIMEOUT))
        wait_until(lambda: False, 0.5)
        after = sbnostr.saved_cursor(daemon.state)
        tap.ok(after == before, "a note dated an hour ahead is delivered "
               "but leaves the cursor alone (%s)" % after,
               "before %s, future note at %d" % (before,
                                                 future["created_at"]))
        tick = notes.make("tag", int(time.time()))
        A.add_events([tick])
        expected[tick["id"]] = owner(tick)
        wait_ids(chat, [tick["id"]], tap.timeout(TIMEOUT))
        after = wait_until(lambda: sbnostr.saved_cursor(daemon.state) !=
                           before and sbnostr.saved_cursor(daemon.state), 3)
        tap.ok(after and int(after) == tick["created_at"],
               "the next note dated now moves it on (%s)" % after)
        settle()
        check_once(tap, "live notes, a drop, future clocks", expected, chat,
                   daemon)

        # SIGKILL; notes arrive at both relays while the daemon is down.
        daemon.kill()
        saved = int(sbnostr.saved_cursor(daemon.state))
        n_a, n_b = len(A.subscriptions), len(B.subscriptions)
        t = int(time.time())
        down = [notes.make("mention", t), notes.make("tag", t),
                notes.make("plain", t, WATCHED)]
        A.add_events(down[0:2] + notes.forge(down[0]))
        B.add_events(down[1:3] + [down[0]])
        expected.update({ev["id"]: owner(ev) for ev in down})
        daemon.start()
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        settle()
        check_once(tap, "after SIGKILL and restart", expected, chat, daemon)
        sinces = [sbnostr.req_since(r) for r in
                  A.subscriptions[n_a:n_a + 1] + B.subscriptions[n_b:n_b + 1]]
        tap.ok(sinces == [{saved - margin}] * 2,
               "the restarted daemon asks both relays from the saved "
               "cursor (%d) less since_margin" % saved, repr(sinces))
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        A.stop()
        B.stop()
        chat.stop()


def catch_up(tap):
    """A relay that caps its answers (as real ones cap "limit") is asked
    page by page for older events; a SIGKILL while a relay is still
    sending stored events, newest first, loses none of the older ones."""
    wd = tap.subdir("catch_up")
    notes = Notes()
    now = int(time.time())
    many = [notes.make("mention", now - 1500 + 10 * i) for i in range(120)]
    A = NostrRelay(events=many, max_limit=25, trickle=0.01, name="A")
    # The chat is down until the restart: a message accepted just
    # before SIGKILL would be sent again (the documented window).
    outage = os.path.join(wd, "outage")
    open(outage, "w").close()
    chat = ChatServer(outage=outage)
    daemon = Daemon(wd)
    what = "catch-up"
    try:
        A.start()
        daemon.write_config(sbnostr.render_config(
            daemon.state, [A.url()], chat.start(), teams(),
            {"mentions": [BRAND.pub], "since_margin": 5,
             "initial_lookback": 3600}))
        daemon.start()
        A.wait(lambda r: len(r.sent) >= 40, tap.timeout(TIMEOUT))
        daemon.kill()
        cursor = sbnostr.saved_cursor(daemon.state)
        tap.ok(cursor is None or int(cursor) <= many[0]["created_at"],
               "%s: killed while the relay was still sending stored notes "
               "(%d sent), no cursor beyond them was saved (%s)"
               % (what, len(A.sent), cursor))
        daemon.start()
        os.unlink(outage)
        expected = {ev["id"]: owner(ev) for ev in many}
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        settle()
        check_once(tap, what, expected, chat, daemon)
        reqs = A.subscriptions
        pages = [r for r in reqs if r["sub"] == "sb-nostr/older"]
        untils = [r["filters"][0].get("until") for r in pages]
        tap.ok(len(pages) >= 4 and untils == sorted(untils, reverse=True)
               and all(r["filters"][0].get("since") ==
                       reqs[0]["filters"][0]["since"] for r in pages
                       if r["conn"] == reqs[0]["conn"]),
               "%s: the capped relay is asked for older events, page by "
               "page (%d pages)" % (what, len(pages)),
               *[json.dumps(r) for r in reqs])
        tap.eq(sbnostr.saved_cursor(daemon.state),
               str(many[-1]["created_at"]),
               "%s: once caught up, the cursor is the newest note's "
               "created_at" % what)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        A.stop()
        chat.stop()


def recorded(tap):
    """Real notes recorded from relays, resumed from a saved cursor:
    only what the REQ's since reaches is asked for, each once, the
    forged copies never, and the cursor ends at the newest note although
    relays send newest first."""
    wd = tap.subdir("recorded")
    real = load_events(RECORDED)
    sbnostr.remember(real)
    watched = [e for e in real if e["kind"] == 1 and
               any(t[:2] == ["p", RECORDED_P] for t in e["tags"])]
    times = sorted(e["created_at"] for e in watched)
    cursor = times[len(times) // 2]
    margin = 600
    since = cursor - margin
    want = [e for e in watched if e["created_at"] >= since]
    notes = Notes()
    forged = []
    for e in watched:
        forged.extend(notes.forge(e))
    A = NostrRelay(events=real, name="A")
    B = NostrRelay(events=forged + watched[::2], name="B")
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "recorded"
    try:
        A.start()
        B.start()
        daemon.write_config(sbnostr.render_config(
            daemon.state, [A.url(), B.url()], chat.start(), teams(),
            {"mentions": [RECORDED_P], "since_margin": margin}))
        # A first run creates the database; nothing in it is older
        # than now, so nothing arrives.  Then a saved cursor from the
        # recorded period, as a daemon running back then would leave.
        daemon.start()
        A.wait(lambda r: len(r.subscriptions) >= 1, tap.timeout(10))
        stop(tap, daemon, "recorded, first run")
        first = len(chat.snapshot()[0])
        sbnostr.set_cursor(daemon.state, cursor)
        daemon.start()
        expected = {e["id"]: HOOKS["care"] for e in want}
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        settle()
        tap.ok(first == 0 and 5 <= len(want) < len(watched),
               "the saved cursor selects part of the recorded notes "
               "(%d of %d)" % (len(want), len(watched)))
        check_once(tap, what, expected, chat, daemon)
        stop(tap, daemon, what)
        tap.eq(sbnostr.saved_cursor(daemon.state), str(times[-1]),
               "the cursor is the newest created_at delivered, though "
               "relays send newest first")
        tap.eq({json.dumps(sorted(sbnostr.req_since(r)))
                for r in A.subscriptions[1:] + B.subscriptions[1:]},
               {json.dumps([since])},
               "the resumed REQs ask from the saved cursor less "
               "since_margin")
    finally:
        if daemon.alive():
            daemon.kill()
        A.stop()
        B.stop()
        chat.stop()


def refusals(tap):
    """CLOSED, NOTICE, garbage and events for other subscriptions."""
    wd = tap.subdir("refusals")
    notes = Notes()
    A = NostrRelay(name="A")
    B = NostrRelay(name="B")
    A.refuse_next(1, "error: shutting down for a moment")
    B.refuse_next(1, "auth-required: members only")
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "refusals"
    try:
        A.start()
        B.start()
        cp = chat.start()
        daemon.write_config(sbnostr.render_config(
            daemon.state, [A.url(), B.url()], cp, teams(),
            {"mentions": [BRAND.pub], "hashtags": [TAG]}))
        daemon.start()
        A.wait(lambda r: len(r.subscriptions) >= 2, tap.timeout(10))
        B.wait(lambda r: len(r.subscriptions) >= 1, tap.timeout(10))
        wait_until(lambda: False, 1.5)
        ra, rb = A.subscriptions, B.subscriptions
        tap.ok(len(ra) == 2 and ra[0]["refused"] and ra[1]["conn"] == 1 and
               not ra[1]["refused"],
               "a relay's CLOSED \"error:\" is answered by a new REQ on the "
               "same connection after a backoff", json.dumps(ra))
        tap.ok(len(rb) == 1 and daemon.wait_log(
            r"refused the subscription: \"auth-required: members only\"",
            1), "CLOSED \"auth-required:\" is logged and not retried on "
            "that connection", json.dumps(rb), daemon.tail())
        B.drop_connections()
        B.wait(lambda r: len(r.subscriptions) >= 2, tap.timeout(10))
        tap.ok(B.subscriptions[-1]["conn"] == 2,
               "the next connection subscribes again")

        good = [notes.make("mention", int(time.time())),
                notes.make("tag", int(time.time()))]
        mark = len(daemon.log())
        A.broadcast(["NOTICE", "hello\nforged log line"])
        A.broadcast(b"this is not JSON [")
        A.broadcast(["EVENT", "someone-else", good[0]])
        A.broadcast(["EVENT", "sb-nostr", {"id": "zz"}])
        A.add_events(good[:1])
        B.add_events(good)
        expected = {ev["id"]: owner(ev) for ev in good}
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        settle()
        log = daemon.log()[mark:]
        tap.ok(daemon.alive() and
               "notice from %s: hello?forged log line" % A.url() in log and
               log.count("skipped a bad frame") >= 3 and
               "unknown subscription" in log,
               "garbage, an event for another subscription and a malformed "
               "event are skipped and counted; a NOTICE is logged on one "
               "line", log[-3000:])

        # A reload that changes the teams, not the source, keeps the
        # relay connections and goes on with the new configuration.
        conns = len(A.connections) + len(B.connections)
        daemon.write_config(sbnostr.render_config(
            daemon.state, [A.url(), B.url()], cp, teams() + [
                team("hr", [rule("jobs", keywords=["hiring"])])],
            {"mentions": [BRAND.pub], "hashtags": [TAG]}))
        mark = len(daemon.log())
        daemon.send_signal(signal.SIGHUP)
        reloaded = daemon.wait_log(r"configuration reloaded", 10, mark)
        after = notes.make("mention", int(time.time()))
        B.add_events([after])
        expected[after["id"]] = owner(after)
        wait_ids(chat, expected, tap.timeout(TIMEOUT))
        tap.ok(reloaded and daemon.alive() and
               len(A.connections) + len(B.connections) == conns and
               after["id"] in sbnostr.delivered_ids(chat.snapshot()[0]),
               "a reload that leaves the source alone keeps its relay "
               "connections, and notes keep arriving", daemon.tail())
        settle()
        check_once(tap, what, expected, chat, daemon)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        A.stop()
        B.stop()
        chat.stop()


def reference_example(tap):
    """The commented nostr source in conf/switchboard.conf is valid
    (tests/conf/bad/nostr.conf covers the mistakes, line by line)."""
    wd = tap.subdir("config")
    ref = os.path.join(sbtest.SRCDIR, "conf", "switchboard.conf")
    with open(ref, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = end = None
    for i, l in enumerate(lines):
        if l == "\t#\ttype = \"nostr\";":
            start = max((j for j in range(i) if lines[j] == "\t# , {"),
                        default=None)
            end = min((j for j in range(i, len(lines))
                       if lines[j] == "\t# }"), default=None)
            break
    ok = start is not None and end is not None
    err = "no commented nostr source in %s" % ref
    if ok:
        for j in range(start, end + 1):
            lines[j] = re.sub(r"^\t# ?", "\t", lines[j])
        conf = os.path.join(wd, "reference.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        rc, out, err = sbtest.run_cli(["--check-config", "--config", conf])
        rc0, out0, _ = sbtest.run_cli(["--check-config", "--config", ref])
        n = [re.search(r"\((\d+) sources?", o) for o in (out0, out)]
        ok = rc == 0 and rc0 == 0 and all(n) and \
            int(n[1].group(1)) == int(n[0].group(1)) + 1
        err = "\n".join([err, out0, out])
    tap.ok(ok, "the nostr example in conf/switchboard.conf, uncommented, "
           "passes --check-config as one more source", err)


def main():
    tap = Tap("nostr")
    sbtest.need_binary(tap)
    for fn in (signer, reference_example, relays, catch_up, recorded, refusals):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
