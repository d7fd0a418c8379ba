#!/usr/bin/env python3
"""systemd readiness (Type=notify): the daemon tells $NOTIFY_SOCKET
READY=1 once running, RELOADING=1 (with MONOTONIC_USEC) then READY=1
around a SIGHUP reload, and STOPPING=1 on SIGTERM.  The watchdog: with
$WATCHDOG_USEC set, WATCHDOG=1 every half interval, held back while the
store stays failed longer than the interval; never without it."""

import os
import signal
import socket
import sqlite3
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    make_post, need_binary, render_config)

WATCHDOG_USEC = 400000          # pings every 200 ms


def receive(sock, timeout):
    """Messages until one arrives and timeout passes with no more."""
    out = []
    sock.settimeout(timeout)
    try:
        while True:
            out.append(sock.recv(4096).decode())
            sock.settimeout(0.3)
    except socket.timeout:
        pass
    return out


def drain(sock):
    """Messages already queued, without waiting."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return out


def pings_within(sock, seconds):
    """WATCHDOG=1 messages received during seconds."""
    n, end = 0, time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return n
        sock.settimeout(left)
        try:
            if "WATCHDOG=1" in sock.recv(4096).decode().split("\n"):
                n += 1
        except socket.timeout:
            return n


def sql(db, statement):
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute(statement)
        con.commit()
    finally:
        con.close()


def watchdog(tap):
    """WATCHDOG_USEC=400000: about five pings a second.  A store whose
    every write fails (a trigger on the cursors, which every burst
    writes) for longer than 400 ms stops them, so systemd would restart
    the daemon; they resume once a commit works."""
    wd = tap.subdir("watchdog")
    path = os.path.join(wd, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.environ["NOTIFY_SOCKET"] = path
    os.environ["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
    t0 = int((time.time() - 600) * 1e6)
    posts = [make_post("did:plc:watchdogwatchdogwatch22", "3watchdog%04d" % i,
                       "government news %d" % i, t0 + i * 1000)
             for i in range(10)]
    js = JetstreamServer(events=posts, repeat=300, trickle_ms=20)
    chat, daemon = ChatServer(), Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start()))
        daemon.start()
        n = pings_within(sock, 2.0)
        tap.ok(6 <= n <= 14, "WATCHDOG=1 every 200 ms: %d in 2 s" % n,
               daemon.tail())
        db = os.path.join(daemon.state, "switchboard.db")
        sql(db, "CREATE TRIGGER sb_test_broken BEFORE INSERT ON cursors "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        held = daemon.wait_log(r"no more watchdog pings", tap.timeout(10))
        tap.ok(held is not None, "a store failing for longer than the "
               "interval holds the pings back", daemon.tail())
        drain(sock)
        n = pings_within(sock, 1.5)
        tap.eq(n, 0, "no WATCHDOG=1 while the store keeps failing",
               daemon.tail())
        sql(db, "DROP TRIGGER sb_test_broken")
        tap.ok(daemon.wait_log(r"watchdog pings resume", tap.timeout(10),
                               held.end()) is not None,
               "the pings resume once a commit works", daemon.tail())
        n = pings_within(sock, 1.0)
        tap.ok(n >= 3, "WATCHDOG=1 again: %d in 1 s" % n)
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "watchdog: exit status 0", daemon.tail())
    finally:
        del os.environ["NOTIFY_SOCKET"]
        del os.environ["WATCHDOG_USEC"]
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        sock.close()


def watchdog_other_pid(tap):
    """$WATCHDOG_PID naming another process: the variables were meant
    for it, not for us (sd_watchdog_enabled(3)): no pings."""
    wd = tap.subdir("other_pid")
    path = os.path.join(wd, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(WATCHDOG_USEC),
           "WATCHDOG_PID": str(os.getpid())}
    os.environ.update(env)
    js, chat, daemon = JetstreamServer(), ChatServer(), Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start()))
        daemon.start()
        msgs = receive(sock, 10)
        msgs += receive(sock, 1.0)
        tap.ok(any("READY=1" in m for m in msgs) and
               not any("WATCHDOG=1" in m for m in msgs),
               "WATCHDOG_PID of another process: READY=1, no WATCHDOG=1",
               repr(msgs))
        daemon.stop()
    finally:
        for k in env:
            del os.environ[k]
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        sock.close()


def main():
    tap = Tap("notify")
    need_binary(tap)
    wd = tap.subdir("notify")
    path = os.path.join(wd, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.environ["NOTIFY_SOCKET"] = path
    js, chat, daemon = JetstreamServer(), ChatServer(), Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start()))
        daemon.start()
        msgs = receive(sock, 10)
        seen = list(msgs)
        tap.ok(any("READY=1" in m for m in msgs), "READY=1 after start",
               repr(msgs))
        daemon.send_signal(signal.SIGHUP)
        msgs = receive(sock, 10)
        seen.extend(msgs)
        joined = "\n".join(msgs)
        tap.ok("RELOADING=1" in joined and "MONOTONIC_USEC=" in joined and
               joined.index("RELOADING=1") < joined.rindex("READY=1"),
               "RELOADING=1 with MONOTONIC_USEC, then READY=1, on SIGHUP",
               repr(msgs))
        daemon.send_signal(signal.SIGTERM)
        msgs = receive(sock, 10)
        tap.ok(any("STOPPING=1" in m for m in msgs), "STOPPING=1 on SIGTERM",
               repr(msgs))
        seen.extend(msgs)
        tap.ok(not any("WATCHDOG=1" in m for m in seen),
               "no WATCHDOG=1 without $WATCHDOG_USEC", repr(seen))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "exit status 0", "status %r" % rc)
    finally:
        del os.environ["NOTIFY_SOCKET"]
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        sock.close()
    tap.run("watchdog", watchdog, tap)
    tap.run("watchdog_other_pid", watchdog_other_pid, tap)
    tap.finish()


if __name__ == "__main__":
    main()
