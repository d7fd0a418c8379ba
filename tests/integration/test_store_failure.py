#!/usr/bin/env python3
"""A failing store loses nothing: while writes to the database fail (a
trigger stands in for a full or broken disk), the daemon undoes each
burst, restarts its source from the last committed cursor and, once the
database works again, every selected post reaches its channel exactly
once."""

import os
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
    tap.finish()


if __name__ == "__main__":
    main()
