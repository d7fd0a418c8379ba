#!/usr/bin/env python3
"""Delivery: every post the rules select reaches its team's chat exactly
once, through rate limits and server errors, through fragmented and
malformed websocket traffic, and through an outage in which every
destination is reported down and up again; a dead webhook is given up
on without holding up the other teams."""

import os
import re
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, FakeProcess, JetstreamServer,  # noqa
                    Tap, compare, expected_deliveries, hooks_of, read_jsonl,
                    render_config, route, wait_delivered, wait_until)

# The rules in sbtest.default_teams() select about 14 of the 17 recorded
# posts; fewer than this means the pipeline or the test is broken.
MIN_SELECTED = 10
TIMEOUT = 40


def expect(tap, daemon, dump, teams, copies):
    """Expected deliveries from the dry-run router on the served stream."""
    rc, rows, err, bad = route(daemon.conf, dump)
    exp = expected_deliveries(rows, hooks_of(teams))
    tap.ok(rc == 0 and not bad and len(exp) >= MIN_SELECTED * copies,
           "the rules select at least %d posts in the served stream (%d)"
           % (MIN_SELECTED * copies, len(exp)), "route status %d" % rc,
           err, *bad)
    return exp


def stop(tap, daemon, what):
    rc, secs = daemon.stop()
    tap.ok(rc == 0, "%s: SIGTERM stops the daemon with status 0 (%.1f s)"
           % (what, secs), "status %r" % rc, daemon.tail())
    return rc


def retries(tap):
    """429 with Retry-After, 500 and 503 in rotation with successes.  Each
    channel gets its own rotation and no delivery fails twice in a row,
    so the daemon's backoff stays short and the run is bounded."""
    wd = tap.subdir("retries")
    rec, att = os.path.join(wd, "record.jsonl"), os.path.join(wd, "att.jsonl")
    chat = FakeProcess("chat_server.py", wd, "chat",
                       ["--script", "429:1,ok,500,ok,503,ok", "--record", rec,
                        "--attempts", att])
    js = JetstreamServer(repeat=2, dump=os.path.join(wd, "dump.jsonl"))
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.port))
        exp = expect(tap, daemon, os.path.join(wd, "dump.jsonl"),
                     sbtest.default_teams(), 2)
        daemon.start()
        wait_delivered(lambda: read_jsonl(rec), exp, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        records, attempts = read_jsonl(rec), read_jsonl(att)
        problems = compare(exp, records)
        tap.ok(not problems, "through 429/500/503 answers every selected "
               "post arrives exactly once, in its team's channel",
               *(sbtest.few(problems) + [daemon.tail()]))
        statuses = {a["status"] for a in attempts}
        tap.ok({429, 500, 503} <= statuses,
               "the scripted 429, 500 and 503 answers were all exercised",
               "statuses seen: %s" % sorted(statuses))
        # After a 429 with Retry-After: 1, that channel stays quiet for
        # a second.
        early = []
        for a in attempts:
            if a["status"] != 429:
                continue
            nxt = [r["t"] for r in records + attempts
                   if r["path"] == a["path"] and r["t"] > a["t"]]
            if nxt and min(nxt) - a["t"] < a["retry_after"] - 0.1:
                early.append("%s: next request %.3f s after a 429" %
                             (a["path"], min(nxt) - a["t"]))
        tap.ok(not early, "Retry-After is honoured per channel", *early)
        stop(tap, daemon, "retries")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def bad_frames(tap):
    """Fragmented messages, malformed and oversized frames."""
    wd = tap.subdir("frames")
    dump, log = os.path.join(wd, "dump.jsonl"), os.path.join(wd, "js.jsonl")
    js = FakeProcess("jetstream_server.py", wd, "jetstream",
                     ["--repeat", 2, "--fragment", "--garbage", 5,
                      "--oversize", 100000, "--dump", dump, "--log", log])
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.port,
                                          chat.start()))
        exp = expect(tap, daemon, dump, sbtest.default_teams(), 2)
        daemon.start()
        records = lambda: chat.snapshot()[0]  # noqa: E731
        wait_delivered(records, exp, tap.timeout(TIMEOUT))
        # Wait for the stream to be fully sent, then settle.
        wait_until(lambda: any(c["caught_up"] for c in read_jsonl(log)),
                   tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = compare(exp, records())
        tap.ok(not problems, "with fragmented frames and garbage every "
               "selected post arrives exactly once",
               *(sbtest.few(problems) + [daemon.tail()]))
        junk = [u for u in sbtest.delivered_urls(records())
                if "garbage" in u]
        tap.ok(not junk, "no post carried by a malformed, binary or "
               "oversized frame was delivered", *junk)
        conns = read_jsonl(log)
        garbage = sum(c["garbage"] for c in conns)
        tap.ok(len(conns) == 1 and garbage >= 8,
               "bad frames are skipped without reconnecting "
               "(%d connection, %d bad frames)" % (len(conns), garbage),
               *[str(c) for c in conns])
        stop(tap, daemon, "bad frames")
        m = re.search(r"frames (\d+) \(bad (\d+), oversize (\d+)\)",
                      daemon.log())
        counted = int(m.group(2)) + int(m.group(3)) if m else None
        tap.ok(counted == garbage, "the daemon counted every bad frame "
               "(%r of %d)" % (counted, garbage),
               m.group(0) if m else "no stats line in the log")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def gone(tap):
    """One team's webhook answers 404 while others see 500s now and then."""
    wd = tap.subdir("gone")
    teams = sbtest.default_teams()
    for t in teams:
        if t["name"] == "intl":
            t["hook"] = "gone"
    js = JetstreamServer(repeat=2, dump=os.path.join(wd, "dump.jsonl"))
    chat = ChatServer(gone=["/hooks/gone"], fail_every=4, fail_status=500)
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start(), teams=teams))
        exp = expect(tap, daemon, os.path.join(wd, "dump.jsonl"), teams, 2)
        lost = {u for u, p in exp.items() if p == "/hooks/gone"}
        live = {u: p for u, p in exp.items() if p != "/hooks/gone"}
        tap.ok(lost and live, "some posts go to the dead webhook (%d), "
               "others to live ones (%d)" % (len(lost), len(live)))
        daemon.start()

        def gone_attempts(c):
            return [a for a in c.attempts if a["path"] == "/hooks/gone"]
        wait_delivered(lambda: chat.snapshot()[0], live, tap.timeout(TIMEOUT))
        chat.wait(lambda c: len(gone_attempts(c)) >= len(lost),
                  tap.timeout(TIMEOUT))
        wait_until(lambda: False, 2 * sbtest.SETTLE)
        records, attempts = chat.snapshot()
        problems = compare(live, records)
        tap.ok(not problems, "the other teams get every post exactly once "
               "(with a 500 every 4th request)",
               *(sbtest.few(problems) + [daemon.tail()]))
        n = len(gone_attempts(chat))
        tap.ok(n == len(lost), "each delivery to the 404 webhook is tried "
               "once and given up (%d attempts for %d posts)"
               % (n, len(lost)), daemon.tail())
        tap.ok(any(a["status"] == 500 for a in attempts),
               "the scripted 500s were exercised")
        stop(tap, daemon, "gone")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def down_and_up(tap):
    """Every channel fails for a while (503s): after chat.down_after (2)
    failed attempts in a row each destination is reported down once,
    with its queue, which is kept; when the outage ends each is reported
    up again and every post arrives exactly once."""
    wd = tap.subdir("down_and_up")
    outage = os.path.join(wd, "outage")
    open(outage, "w").close()
    js = JetstreamServer(repeat=1, dump=os.path.join(wd, "dump.jsonl"))
    chat = ChatServer(outage=outage)
    daemon = Daemon(wd)
    teams = sbtest.default_teams()
    try:
        conf = render_config(daemon.state, js.start(), chat.start())
        daemon.write_config(conf.replace("timeout = 5; };",
                                         "timeout = 5; down_after = 2; };"))
        exp = expect(tap, daemon, os.path.join(wd, "dump.jsonl"), teams, 1)
        dests = sorted({p.rsplit("/", 1)[1] for p in exp.values()})
        daemon.start()
        down = re.compile(r"chat (\S+): down after (\d+) failed attempts "
                          r"in a row \(HTTP 503[^)]*\); its (\d+) queued")
        ok = wait_until(lambda: {m.group(1) for m in
                                 down.finditer(daemon.log())} >= set(dests),
                        tap.timeout(TIMEOUT))
        tap.ok(ok, "every failing destination is reported down (%s)"
               % ", ".join(dests), daemon.tail())
        # A few more failed attempts while down: still one report each.
        chat.wait(lambda c: len(c.attempts) >= 3 * len(dests) + 4,
                  tap.timeout(10))
        found = down.findall(daemon.log())
        tap.ok(sorted(f[0] for f in found) == dests and
               all(f[1] == "2" and int(f[2]) > 0 for f in found),
               "down is reported once per destination, after 2 attempts, "
               "with its queue", *[repr(f) for f in found])
        tap.ok(not chat.snapshot()[0], "nothing is delivered during the "
               "outage")
        os.unlink(outage)
        up = re.compile(r"chat (\S+): up again")
        ok = wait_until(lambda: {m.group(1) for m in
                                 up.finditer(daemon.log())} >= set(dests),
                        tap.timeout(TIMEOUT))
        tap.ok(ok, "after the outage every destination is up again",
               daemon.tail())
        records = lambda: chat.snapshot()[0]  # noqa: E731
        wait_delivered(records, exp, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = compare(exp, records())
        tap.ok(not problems, "the kept queues are delivered, each post "
               "exactly once", *(sbtest.few(problems) + [daemon.tail()]))
        stop(tap, daemon, "down_and_up")
        tap.ok("failed for good" not in daemon.log(),
               "no delivery was given up", daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def huge_retry_after(tap):
    """A Retry-After too large for any clock (here 10^20 s) still means
    "not now": the delivery waits instead of being tried again at once."""
    wd = tap.subdir("huge_retry_after")
    rec, att = os.path.join(wd, "record.jsonl"), os.path.join(wd, "att.jsonl")
    chat = FakeProcess("chat_server.py", wd, "chat",
                       ["--script", "429:100000000000000000000,ok",
                        "--record", rec, "--attempts", att])
    js = JetstreamServer(repeat=1, dump=os.path.join(wd, "dump.jsonl"))
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.port))
        daemon.start()
        tap.ok(wait_until(lambda: read_jsonl(att), tap.timeout(20)),
               "the chat server answers 429 with a huge Retry-After",
               daemon.tail())
        wait_until(lambda: False, 2.5)
        got = read_jsonl(rec)
        tap.ok(not got, "nothing is sent again within 2.5 s of it "
               "(%d messages were)" % len(got), daemon.tail())
        tap.ok(daemon.alive() and "runtime error" not in daemon.log(),
               "the daemon keeps running, no undefined behaviour",
               daemon.tail())
        stop(tap, daemon, "huge_retry_after")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def many_wanted_dids(tap):
    """A long wanted_dids list (300 accounts here; Jetstream takes up to
    10,000) still connects, and Jetstream is told every one of them."""
    wd = tap.subdir("many_dids")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(repeat=1, dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        port = js.start()
        events = sbtest.load_jsonl(dump)
        dids = sorted({e["did"] for e in events}) + \
            ["did:plc:sbtestwanted%012d" % i for i in range(300)]
        conf = render_config(daemon.state, port, chat.start())
        conf = conf.replace("max_frame_size = 65536;",
                            "max_frame_size = 65536; wanted_dids = %s;"
                            % sbtest.clist(dids), 1)
        daemon.write_config(conf)
        exp = expect(tap, daemon, dump, sbtest.default_teams(), 1)
        daemon.start()
        tap.ok(daemon.wait_log(r"source bluesky: connected",
                               tap.timeout(15)) is not None,
               "many_dids: the source connects", daemon.tail())

        def told(server):
            for c in server.connections:
                got = set(c["query"].get("wantedDids", []))
                for u in c["options_updates"]:
                    got |= set(u.get("wantedDids") or [])
                if got == set(dids):
                    return True
            return False
        tap.ok(js.wait(told, tap.timeout(10)),
               "many_dids: Jetstream gets every wanted DID",
               repr([(c["query"].keys(), len(c["options_updates"]))
                     for c in js.connections]))
        records = lambda: chat.snapshot()[0]  # noqa: E731
        wait_delivered(records, exp, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = compare(exp, records())
        tap.ok(not problems, "many_dids: every selected post arrives once",
               *(sbtest.few(problems) + [daemon.tail()]))
        stop(tap, daemon, "many_dids")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("delivery")
    sbtest.need_binary(tap)
    for fn in (retries, bad_frames, gone, down_and_up, huge_retry_after,
               many_wanted_dids):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
