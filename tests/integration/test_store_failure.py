#!/usr/bin/env python3
"""A failing store loses nothing: while writes to the database fail (a
trigger stands in for a full or broken disk), the daemon undoes each
burst, restarts its source from the last committed cursor and, once the
database works again, every selected post reaches its channel exactly
once."""

import json
import os
import signal
import socket
import sqlite3
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    compare, expected_deliveries, hooks_of, need_binary,
                    render_config, route, wait_delivered, wait_until)

TIMEOUT = 40


def sql(db, statement):
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute(statement)
        con.commit()
    finally:
        con.close()


def main():
    tap = Tap("store_failure")
    need_binary(tap)
    wd = tap.subdir("store")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(repeat=6, trickle_ms=20, dump=dump)
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start()))
        rc, rows, err, bad = route(daemon.conf, dump)
        exp = expected_deliveries(rows, hooks_of(sbtest.default_teams()))
        tap.ok(rc == 0 and len(exp) >= 60,
               "the rules select at least 60 posts (%d)" % len(exp), err)
        daemon.start()
        records = lambda: chat.snapshot()[0]  # noqa: E731
        tap.ok(wait_until(lambda: len(records()) >= 5, tap.timeout(20)),
               "deliveries start", daemon.tail())
        db = os.path.join(daemon.state, "switchboard.db")
        sql(db, "CREATE TRIGGER sb_test_broken BEFORE INSERT ON posts "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        failed = daemon.wait_log(r"store: write failed", tap.timeout(20))
        tap.ok(failed is not None, "the failing write is noticed and the "
               "burst undone", daemon.tail())
        tap.ok(daemon.wait_log(r"restarting sources from their saved "
                               r"cursors", tap.timeout(10)) is not None,
               "the source restarts from its committed cursor",
               daemon.tail())
        sql(db, "DROP TRIGGER sb_test_broken")
        wait_delivered(records, exp, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = compare(exp, records())
        tap.ok(not problems, "every selected post arrives exactly once "
               "after the store recovers",
               *(sbtest.few(problems) + [daemon.tail()]))
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
    tap.run("reload_while_failing", reload_while_failing, tap)
    tap.run("failed_burst_keeps_deliveries", failed_burst_keeps_deliveries,
            tap)
    tap.finish()


def reload_while_failing(tap):
    """A reload between a failed write and the restart of the sources
    that follows it starts the new source once, not a second time when
    the restart comes: the daemon still stops cleanly on SIGTERM."""
    wd = tap.subdir("reload")
    js = JetstreamServer(repeat=6, trickle_ms=20)
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        port = js.start()
        conf = render_config(daemon.state, port, chat.start())
        daemon.write_config(conf)
        daemon.start()
        tap.ok(daemon.wait_log(r"source bluesky: connected",
                               tap.timeout(20)) is not None,
               "reload: the source connects", daemon.tail())
        db = os.path.join(daemon.state, "switchboard.db")
        sql(db, "CREATE TRIGGER sb_test_broken BEFORE INSERT ON posts "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        failed = daemon.wait_log(r"store: write failed", tap.timeout(20))
        tap.ok(failed is not None, "reload: a write fails", daemon.tail())
        # The new source never gets a post (nothing listens there), so
        # no failure of its own stops it before the restart comes.
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        daemon.write_config(conf.replace(
            "} );", "}, { name = \"second\"; type = \"jetstream\"; "
            "url = \"ws://127.0.0.1:%d/subscribe\"; reconnect_min = 50; "
            "reconnect_max = 500; } );" % dead_port, 1))
        daemon.send_signal(signal.SIGHUP)
        tap.ok(daemon.wait_log(r"configuration reloaded", tap.timeout(10),
                               failed.end()) is not None,
               "reload: the new config is taken while writes fail",
               daemon.tail())
        again = daemon.wait_log(r"restarting sources", tap.timeout(10),
                                failed.end())
        tap.ok(again is not None, "reload: the sources restart",
               daemon.tail())
        sql(db, "DROP TRIGGER sb_test_broken")
        wait_until(lambda: False, sbtest.SETTLE)
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "reload: SIGTERM then stops the daemon with status "
               "0 (%.1f s)" % secs, "status %r" % rc, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


REPLAY_LINES_PER_TICK = 256     # src/source_replay.c: one burst each


def failed_burst_keeps_deliveries(tap):
    """A burst whose commit fails takes back only what the burst wrote:
    chat messages that were accepted while it was open stay done, and
    are not sent a second time after the sources restart."""
    wd = tap.subdir("burst")
    state = os.path.join(wd, "state")
    recording = os.path.join(wd, "posts.jsonl")
    did = "did:plc:sbtestburst000000000000"
    lines, urls = [], {}
    # The first burst: 100 posts for care, the rest for nobody; their
    # deliveries are still going out while the second burst (256 posts
    # for care) fails to commit, again and again.
    for i in range(2 * REPLAY_LINES_PER_TICK):
        rkey = "3burst%06d" % i
        routed = i < 100 or i >= REPLAY_LINES_PER_TICK
        lines.append(json.dumps(sbtest.make_post(
            did, rkey, "%s, number %d" % ("refund please" if routed else
                                          "nice weather", i),
            1783170000000000 + i)) + "\n")
        if routed:
            urls[sbtest.web_url(did, rkey)] = "/hooks/care"
    with open(recording, "w", encoding="utf-8") as f:
        f.writelines(lines)
    offset = sum(len(l.encode("utf-8")) for l in lines)
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        daemon.write_config(
            "general = { state_directory = %s; log_level = \"debug\"; };\n"
            "sources = ( { name = \"recorded\"; type = \"replay\";"
            " file = %s; } );\n"
            "teams = ( { name = \"care\"; chat = { type = \"slack\";"
            " webhook_url = \"http://127.0.0.1:%d/hooks/care\";"
            " rate = 1000.0; burst = 1000; timeout = 5; };"
            " rules = ( { name = \"refunds\"; keywords = [\"refund\"]; } );"
            " } );\n" % (sbtest.cstr(state), sbtest.cstr(recording),
                          chat.start()))
        # The schema comes from the daemon: a first run on nothing.
        empty = os.path.join(wd, "empty.jsonl")
        open(empty, "w").close()
        first = Daemon(wd)
        first.conf = os.path.join(wd, "first.conf")
        with open(daemon.conf) as f:
            text = f.read()
        with open(first.conf, "w") as f:
            f.write(text.replace(sbtest.cstr(recording), sbtest.cstr(empty)))
        first.start()
        first.wait_log(r"end of file", tap.timeout(20))
        first.stop()
        db = os.path.join(state, "switchboard.db")
        # Only the commit of the second burst fails: its cursor.
        for when in ("INSERT", "UPDATE"):
            sql(db, "CREATE TRIGGER sb_test_burst_%s BEFORE %s ON cursors "
                    "WHEN NEW.value = '%d' BEGIN SELECT RAISE(ABORT, "
                    "'disk on fire'); END" % (when.lower(), when, offset))
        daemon.start()
        seen = 0
        for _ in range(4):
            m = daemon.wait_log(r"store: write failed", tap.timeout(10),
                                seen)
            if m is None:
                break
            seen = m.end()
        tap.ok(m is not None, "burst: the commit of the second burst fails "
               "four times", daemon.tail())
        for when in ("insert", "update"):
            sql(db, "DROP TRIGGER sb_test_burst_%s" % when)
        records = lambda: chat.snapshot()[0]  # noqa: E731
        wait_delivered(records, urls, tap.timeout(40))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = compare(urls, records())
        tap.ok(not problems, "burst: every post arrives exactly once",
               *(sbtest.few(problems) + [daemon.tail()]))
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "burst: SIGTERM stops the daemon with status 0",
               "status %r" % rc, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        chat.stop()

if __name__ == "__main__":
    main()
