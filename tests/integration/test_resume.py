#!/usr/bin/env python3
"""Resilience: dropped connections resume from the saved cursor, a reload
keeps the stream and applies the new rules, a SIGKILL loses and repeats
nothing, a silent relay is detected and left; every selected post still
reaches its team exactly once."""

import os
import re
import signal
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    compare, expected_deliveries, hooks_of, load_jsonl,
                    make_post, post_urls, render_config, route,
                    wait_delivered, wait_until)

MIN_SELECTED = 10       # per copy of the recording; about 14 are
TIMEOUT = 40
IDLE_TIMEOUT = 5        # seconds, the smallest the config allows


def records_of(chat):
    return lambda: chat.snapshot()[0]


def expect(tap, conf, dump, teams, copies, what):
    rc, rows, err, bad = route(conf, dump)
    exp = expected_deliveries(rows, hooks_of(teams))
    tap.ok(rc == 0 and not bad and len(exp) >= MIN_SELECTED * copies,
           "%s: the rules select at least %d posts (%d)"
           % (what, MIN_SELECTED * copies, len(exp)), "route status %d" % rc,
           err, *bad)
    return exp


def stop(tap, daemon, what, sig=signal.SIGTERM):
    rc, secs = daemon.stop(sig, 5.0)
    tap.ok(rc == 0, "%s: %s stops the daemon with status 0 within 5 s "
           "(%.1f s)" % (what, signal.Signals(sig).name, secs),
           "status %r" % rc, daemon.tail())


def settle():
    """Give a late duplicate the chance to show up."""
    wait_until(lambda: False, sbtest.SETTLE)


def check_exactly_once(tap, what, exp, chat, daemon, either=None):
    problems = compare(exp, chat.snapshot()[0], either)
    tap.ok(not problems, "%s: every selected post arrives exactly once, "
           "in its team's channel" % what,
           *(sbtest.few(problems) + [daemon.tail()]))


def sentinel(js, n, text, langs=("en",)):
    """A fresh post after everything served so far."""
    last = js.stream[-1]["time_us"]
    ev = make_post("did:plc:sentinelsentinelsentine2", "3zzzsentinel%d" % n,
                   text, last + 1000, langs)
    js.add_events([ev])
    return sbtest.web_url(ev["did"], ev["commit"]["rkey"])


def drops(tap):
    """The relay drops the TCP connection three times mid-stream."""
    wd = tap.subdir("drops")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(repeat=20, drop_at=[100, 220, 330], dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "drops"
    try:
        # A one-second rewind is shorter than the gaps between drops, so
        # a resumed stream visibly starts after the beginning.
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start(), rewind=1))
        exp = expect(tap, daemon.conf, dump, sbtest.default_teams(), 20,
                     what)
        daemon.start()
        wait_delivered(records_of(chat), exp, tap.timeout(TIMEOUT))
        js.wait(lambda s: any(c["caught_up"] for c in s.connections),
                tap.timeout(TIMEOUT))
        settle()
        check_exactly_once(tap, what, exp, chat, daemon)
        conns = js.connections
        tap.eq(len(conns), 4, "drops: one reconnection per drop",
               *[str(c) for c in conns])
        first = js.stream[0]["time_us"]
        bad = []
        for prev, c in zip(conns, conns[1:]):
            if c["cursor"] is None or c["cursor"] > prev["last_time_us"]:
                bad.append("connection %d: cursor %r, previous connection's "
                           "last event %r" % (c["conn"], c["cursor"],
                                              prev["last_time_us"]))
        tap.ok(len(conns) > 1 and not bad, "drops: each reconnection "
               "carries a cursor no later "
               "than the last event received", *bad)
        tap.ok(any(c["cursor"] and c["cursor"] > first for c in conns[1:]),
               "drops: the stream resumes after its beginning, not from "
               "scratch", *["cursor %r" % c["cursor"] for c in conns])
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def new_teams():
    """The reloaded rules: English posts about videos now go to rnd (a
    higher priority than care's rule).  In the recording only one post
    matches, and it is not a reply: a reply would rightly stay with the
    team that owns its conversation (sticky ownership), which the dry run
    of the new rules alone cannot know."""
    teams = sbtest.default_teams()
    for t in teams:
        if t["name"] == "rnd":
            t["rules"].append(sbtest.rule("media", priority=10,
                                          languages=["en"],
                                          keywords=["video"]))
    return teams


BAD_RULE_LINE = 3


def reload(tap):
    """SIGHUP mid-stream with changed rules, then with a broken file."""
    wd = tap.subdir("reload")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(repeat=6, trickle_ms=40, dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "reload"
    try:
        jp, cp = js.start(), chat.start()
        old_text = render_config(daemon.state, jp, cp)
        new_text = render_config(daemon.state, jp, cp, teams=new_teams())
        old_conf, new_conf = (os.path.join(wd, "old.conf"),
                              os.path.join(wd, "new.conf"))
        for path, text in ((old_conf, old_text), (new_conf, new_text)):
            with open(path, "w") as f:
                f.write(text)
        new = expect(tap, new_conf, dump, new_teams(), 6, "new rules")
        old = expect(tap, old_conf, dump, sbtest.default_teams(), 6,
                     "old rules")
        daemon.write_config(old_text)
        index = post_urls(load_jsonl(dump))

        changed = {u for u in set(old) | set(new)
                   if old.get(u) != new.get(u)}
        events = load_jsonl(dump)
        replies = [u for u in changed
                   if "reply" in events[index[u]]["commit"]["record"]]
        tap.ok(changed and not replies, "reload: the new rules move some "
               "posts, none of them replies", *replies)

        # Reload once the old rules have routed a post the new ones
        # route elsewhere.
        daemon.start()
        chat.wait(lambda c: sbtest.delivered_urls(c.records) & changed,
                  tap.timeout(TIMEOUT))
        seen = sbtest.delivered_urls(chat.snapshot()[0])
        before = max((index[u] for u in seen if u in index), default=-1)
        daemon.write_config(new_text)
        mark = len(daemon.log())
        daemon.send_signal(signal.SIGHUP)
        m = daemon.wait_log(r"configuration reloaded", 10, mark)
        # No frame from next_index on had started to go out: those
        # reach the daemon after the reload.
        after = js.connections[-1]["next_index"]
        tap.ok(m, "reload: SIGHUP with a valid file logs "
               "\"configuration reloaded\"", daemon.tail())
        tap.ok(any(index[u] <= before for u in changed) and
               any(index[u] >= after for u in changed),
               "reload: the reload lands mid-stream, between posts the "
               "new rules route differently (%d before, %d after)"
               % (before, after))
        exp, either = {}, {}
        for u in set(old) | set(new):
            if index[u] <= before and u in old:
                exp[u] = old[u]
            elif index[u] >= after and u in new:
                exp[u] = new[u]
            elif before < index[u] < after:
                either[u] = [old.get(u), new.get(u)]
        wait_delivered(records_of(chat), exp, tap.timeout(TIMEOUT))
        js.wait(lambda s: s.connections[-1]["caught_up"],
                tap.timeout(TIMEOUT))
        settle()
        check_exactly_once(tap, "reload", exp, chat, daemon, either)
        tap.eq(len(js.connections), 1, "reload: the Jetstream connection "
               "survives the reload (sources unchanged)")

        # A broken file: every error logged, the running rules kept.
        lines = new_text.split("\n")
        lines.insert(BAD_RULE_LINE - 1, "bogus_setting = 1;")
        daemon.write_config("\n".join(lines))
        mark = len(daemon.log())
        daemon.send_signal(signal.SIGHUP)
        m = daemon.wait_log(r"reload failed", 10, mark)
        tap.ok(m and re.search(r"%s:%d: " % (re.escape(daemon.conf),
                                            BAD_RULE_LINE),
                               daemon.log()[mark:]),
               "reload: a broken file logs FILE:LINE: and \"reload "
               "failed\"", daemon.log()[mark:])
        url = sentinel(js, 1, "A new video about the show")
        want_new = expected_deliveries(route(new_conf, dump)[1],
                                       hooks_of(new_teams())).get(url)
        want_old = expected_deliveries(route(old_conf, dump)[1],
                                       hooks_of(new_teams())).get(url)
        ok = wait_delivered(records_of(chat), [url], tap.timeout(TIMEOUT))
        settle()
        paths = [p for p, u in sbtest.deliveries(chat.snapshot()[0])
                 if u == url]
        tap.ok(ok and daemon.alive() and want_new != want_old and
               paths == [want_new],
               "reload: after a failed reload the daemon keeps running and "
               "routing with the last good rules",
               "delivered to %s; new rules say %s, old rules %s"
               % (paths, want_new, want_old))
        tap.eq(len(js.connections), 1, "reload: still one connection")
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def kill_restart(tap):
    """SIGKILL while deliveries are queued behind an outage, restart, then
    SIGKILL while idle and restart again."""
    wd = tap.subdir("kill")
    dump = os.path.join(wd, "dump.jsonl")
    outage = os.path.join(wd, "outage")
    open(outage, "w").close()
    js = JetstreamServer(repeat=4, trickle_ms=40, dump=dump)
    chat = ChatServer(outage=outage)
    daemon = Daemon(wd)
    what = "kill"
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start()))
        exp = expect(tap, daemon.conf, dump, sbtest.default_teams(), 4, what)
        daemon.start()
        js.wait(lambda s: s.connections and
                s.connections[0]["events"] >= 40, tap.timeout(TIMEOUT))
        chat.wait(lambda c: c.attempts, tap.timeout(TIMEOUT))
        daemon.kill()
        mid = js.connections[0]
        tap.ok(not mid["caught_up"] and not chat.snapshot()[0],
               "kill: SIGKILL lands mid-stream during the outage "
               "(%d events sent, nothing delivered)" % mid["events"])

        daemon.start()
        js.wait(lambda s: len(s.connections) >= 2, tap.timeout(TIMEOUT))
        conns = js.connections
        tap.ok(len(conns) == 2 and conns[1]["cursor"] is not None and
               conns[1]["cursor"] <= conns[0]["last_time_us"],
               "kill: the restarted daemon resumes from its saved cursor",
               *[str(c) for c in conns])
        os.unlink(outage)
        wait_delivered(records_of(chat), exp, tap.timeout(2 * TIMEOUT))
        js.wait(lambda s: s.connections[-1]["caught_up"],
                tap.timeout(TIMEOUT))
        settle()
        check_exactly_once(tap, "kill mid-stream", exp, chat, daemon)

        # Idle: everything delivered.  A restart replays the rewind
        # window, which must not post anything again.  A fresh post
        # served after the replay shows the replay was processed.
        daemon.kill()
        daemon.start()
        js.wait(lambda s: len(s.connections) >= 3 and
                s.connections[-1]["caught_up"], tap.timeout(TIMEOUT))
        url = sentinel(js, 2, "Is the government video out yet?")
        rc, rows, err, bad = route(daemon.conf, dump)
        exp2 = expected_deliveries(rows, hooks_of(sbtest.default_teams()))
        tap.ok(url in exp2 and len(exp2) == len(exp) + 1,
               "kill: the fresh post is selected by the rules")
        wait_delivered(records_of(chat), [url], tap.timeout(TIMEOUT))
        settle()
        conns = js.connections
        tap.ok(len(conns) == 3 and conns[2]["cursor"] is not None,
               "kill: one connection per start, resumed from the cursor",
               *[str(c) for c in conns])
        check_exactly_once(tap, "kill while idle", exp2, chat, daemon)
        stop(tap, daemon, what)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def silent(tap):
    """The relay stops sending and answering pings on the first
    connection; the idle timeout must notice and reconnect."""
    wd = tap.subdir("silent")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(repeat=2, silent_after=25, dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    what = "silent"
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start(),
                                          idle_timeout=IDLE_TIMEOUT))
        exp = expect(tap, daemon.conf, dump, sbtest.default_teams(), 2, what)
        daemon.start()
        wait_delivered(records_of(chat), exp, tap.timeout(TIMEOUT))
        js.wait(lambda s: len(s.connections) >= 2 and
                s.connections[-1]["caught_up"], tap.timeout(TIMEOUT))
        settle()
        check_exactly_once(tap, what, exp, chat, daemon)
        conns = js.connections
        tap.ok(len(conns) == 2 and conns[0]["silent"] and
               not conns[0]["open"] and conns[0]["pings"] >= 1 and
               conns[1]["cursor"] is not None,
               "silent: the daemon pings, gives up on the silent "
               "connection and reconnects with a cursor",
               *[str(c) for c in conns])
        gap = conns[1]["opened"] - conns[0]["last_sent"] \
            if len(conns) >= 2 else float("inf")
        tap.ok(gap <= IDLE_TIMEOUT + 2.5, "silent: the dead stream is left "
               "after about idle_timeout (%d s): reconnected %.1f s after "
               "the last frame" % (IDLE_TIMEOUT, gap))
        stop(tap, daemon, what, signal.SIGINT)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("resume")
    sbtest.need_binary(tap)
    for fn in (drops, reload, kill_restart, silent):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
