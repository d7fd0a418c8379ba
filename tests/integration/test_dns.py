#!/usr/bin/env python3
"""Name lookups never stall the daemon.

A source URL with a host name is looked up off the event loop.  A
resolver preloaded into the daemon (slow_getaddrinfo.c, compiled here
with the system's cc) makes one name take SLOW seconds and another fail,
without any lookup leaving the machine (the name is "localhost": the
config takes ws:// only to loopback hosts):

  - while the slow lookup runs, /healthz answers at once (lws' own
    lookup blocked the whole loop: no source, no delivery, no slash
    command could be served meanwhile), then the source connects and
    its posts arrive;
  - a name that does not resolve is logged, retried with backoff, and
    /readyz says the source is not connected; the daemon serves on;
  - with the real resolver, "localhost" connects (to whichever of its
    addresses listens).
"""

import http.client
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, wait_until)

SLOW = 4                # seconds the slow name takes to resolve
# The config takes ws:// to loopback hosts only, so the test resolver
# makes "localhost" itself slow, or unknown.
SLOW_NAME = FAIL_NAME = "localhost"
DID = "did:plc:dnstest0000000000000000"


def build_shim(tap, wd):
    """The preloadable resolver, or None (and a SKIP) without a cc."""
    cc = os.environ.get("CC_FOR_TESTS") or shutil.which("cc") or \
        shutil.which("gcc")
    src = os.path.join(sbtest.SRCDIR, "tests", "integration",
                       "slow_getaddrinfo.c")
    out = os.path.join(wd, "slow_getaddrinfo.so")
    if cc is None:
        return None
    p = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", out, src,
                        "-ldl"], capture_output=True, text=True)
    if not tap.ok(p.returncode == 0, "the test resolver builds", p.stderr):
        return None
    return out


def config(state, host, js_port, chat_port, listen_port):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://%s:%d/subscribe"; rewind = 5; idle_timeout = 10;
  reconnect_min = 200; reconnect_max = 1000; } );
teams = ( { name = "care";
  chat = { type = "slack"; webhook_url = "http://127.0.0.1:%d/hooks/care";
    rate = 50.0; burst = 20; timeout = 5; };
  rules = ( { name = "all"; authors = [ %s ]; } ); } );
listener = { address = "127.0.0.1"; port = %d; };
""" % (cstr(state), host, js_port, chat_port, cstr(DID), listen_port)


def get(port, path, timeout=2.0):
    """(status, seconds taken), or (None, seconds) on no answer."""
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0


def posts(n, tag):
    t = int(time.time() * 1e6)
    return [make_post(DID, "3mdns%s%04d" % (tag, i), "dns %s %d" % (tag, i),
                      t + i) for i in range(n)]


def start(tap, wd, shim, host, env):
    js = JetstreamServer(events=posts(5, host[:4]))
    chat = ChatServer()
    daemon = Daemon(wd)
    listen_port = free_port()
    daemon.write_config(config(daemon.state, host, js.start(), chat.start(),
                               listen_port))
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["LD_PRELOAD"] = shim
    # The preloaded resolver comes before ASan's runtime in the list.
    os.environ["ASAN_OPTIONS"] = (saved.get("ASAN_OPTIONS", "") +
                                  ":verify_asan_link_order=0").lstrip(":")
    try:
        daemon.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return js, chat, daemon, listen_port


def clean_stop(tap, daemon, what):
    rc, _ = daemon.stop()
    log = daemon.log()
    tap.ok(rc == 0 and "ERROR: AddressSanitizer" not in log and
           "runtime error" not in log,
           "%s: the daemon stops cleanly, no sanitizer report" % what,
           daemon.tail())


def slow_lookup(tap, shim):
    wd = tap.subdir("slow")
    t_start = time.monotonic()
    js, chat, daemon, port = start(tap, wd, shim, SLOW_NAME,
                                   {"SB_SLOW_DNS": "%s=%d" % (SLOW_NAME,
                                                              SLOW)})
    try:
        up = wait_until(lambda: get(port, "/healthz")[0] == 200,
                        tap.timeout(10))
        t_up = time.monotonic()
        tap.ok(up, "the listener is up (after %.1f s)"
               % (t_up - t_start), daemon.tail())
        # Ask /healthz over and over while the lookup sleeps.
        slowest, answered, asked = 0.0, 0, 0
        while time.monotonic() - t_up < SLOW - 1 and not js.connections:
            st, took = get(port, "/healthz")
            asked += 1
            answered += st == 200
            slowest = max(slowest, took)
            time.sleep(0.05)
        tap.ok(asked >= 10 and answered == asked and
               slowest < 0.5,
               "while the source's host takes %d s to resolve, /healthz "
               "answers every time (%d of %d, slowest %.3f s)"
               % (SLOW, answered, asked, slowest), daemon.tail())
        st, _ = get(port, "/readyz")
        tap.eq(st, 503, "/readyz says not ready until the source is "
               "connected")
        tap.ok(js.wait(lambda s: s.connections, tap.timeout(SLOW + 10)),
               "then the source connects", daemon.tail())
        got = chat.wait(lambda c: len(c.records) >= 5, tap.timeout(15))
        tap.ok(got and len(chat.snapshot()[0]) == 5,
               "and its 5 posts arrive, once each (%d)"
               % len(chat.snapshot()[0]), daemon.tail())
        hosts = [c["host"] for c in js.connections]
        tap.ok(hosts and all(h == "%s:%d" % (SLOW_NAME, js.port) or
                             h == SLOW_NAME for h in hosts),
               "the Host header names the URL's host, not the address",
               repr(hosts))
        clean_stop(tap, daemon, "slow lookup")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def failed_lookup(tap, shim):
    wd = tap.subdir("fail")
    js, chat, daemon, port = start(tap, wd, shim, FAIL_NAME,
                                   {"SB_FAIL_DNS": FAIL_NAME})
    try:
        pattern = "cannot resolve the host of its URL"
        twice = wait_until(lambda: daemon.log().count(pattern) >= 2,
                           tap.timeout(10))
        tap.ok(twice, "a name that does not resolve is logged and "
               "retried", daemon.tail())
        st, took = get(port, "/healthz")
        tap.ok(st == 200 and took < 0.5, "the daemon serves on (%s in "
               "%.3f s)" % (st, took))
        st, _ = get(port, "/readyz")
        tap.eq(st, 503, "/readyz: the source is not connected")
        tap.eq(len(js.connections), 0, "nothing connected anywhere")
        clean_stop(tap, daemon, "failed lookup")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def localhost(tap, shim):
    wd = tap.subdir("localhost")
    js, chat, daemon, port = start(tap, wd, shim, "localhost", {})
    try:
        tap.ok(js.wait(lambda s: s.connections, tap.timeout(15)),
               "ws://localhost:PORT connects", daemon.tail())
        got = chat.wait(lambda c: len(c.records) >= 5, tap.timeout(15))
        tap.ok(got, "and its posts arrive", daemon.tail())
        clean_stop(tap, daemon, "localhost")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("dns")
    sbtest.need_binary(tap)
    if not (os.environ.get("CC_FOR_TESTS") or shutil.which("cc") or
            shutil.which("gcc")):
        tap.out("1..0 # SKIP no C compiler for the test resolver")
        sys.exit(0)
    shim = build_shim(tap, tap.workdir)
    if shim is not None:
        tap.run("slow lookup", slow_lookup, tap, shim)
        tap.run("failed lookup", failed_lookup, tap, shim)
        tap.run("localhost", localhost, tap, shim)
    tap.finish()


if __name__ == "__main__":
    main()
