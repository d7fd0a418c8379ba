#!/usr/bin/env python3
"""systemd readiness (Type=notify): the daemon tells $NOTIFY_SOCKET
READY=1 once running, RELOADING=1 (with MONOTONIC_USEC) then READY=1
around a SIGHUP reload, and STOPPING=1 on SIGTERM."""

import os
import signal
import socket
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    need_binary, render_config)


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
        tap.ok(any("READY=1" in m for m in msgs), "READY=1 after start",
               repr(msgs))
        daemon.send_signal(signal.SIGHUP)
        msgs = receive(sock, 10)
        joined = "\n".join(msgs)
        tap.ok("RELOADING=1" in joined and "MONOTONIC_USEC=" in joined and
               joined.index("RELOADING=1") < joined.rindex("READY=1"),
               "RELOADING=1 with MONOTONIC_USEC, then READY=1, on SIGHUP",
               repr(msgs))
        daemon.send_signal(signal.SIGTERM)
        msgs = receive(sock, 10)
        tap.ok(any("STOPPING=1" in m for m in msgs), "STOPPING=1 on SIGTERM",
               repr(msgs))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "exit status 0", "status %r" % rc)
    finally:
        del os.environ["NOTIFY_SOCKET"]
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        sock.close()
    tap.finish()


if __name__ == "__main__":
    main()
