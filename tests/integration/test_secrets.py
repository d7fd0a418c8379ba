#!/usr/bin/env python3
"""Secrets stay secret: webhook URLs carry their tokens in the path, and
neither the daemon's log (at debug level, through deliveries that fail
for good, retries and a reload) nor --check-config's errors may show
them."""

import os
import signal
import socket
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (Daemon, FakeProcess, JetstreamServer, Tap,  # noqa: E402
                    need_binary, read_jsonl, run_cli, wait_until)

TOKENS = ("T0SECRETWS", "B0SECRETWS", "tok3nS3cr3tV4lue", "Z9cl0sedP0rt")


def closed_port():
    """A loopback port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def config(state, js_port, chat_port, dead_port):
    # care: the chat server answers 404 to this path (given up at once);
    # rnd: nothing listens (retried); its URL comes from the environment.
    return """
general = { state_directory = "%s"; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; reconnect_min = 50; } );
teams = (
  { name = "care"; chat = { type = "slack"; webhook_url =
    "http://127.0.0.1:%d/services/T0SECRETWS/B0SECRETWS/tok3nS3cr3tV4lue";
    rate = 50.0; burst = 20; timeout = 2; };
    rules = ( { name = "english"; languages = ["en"]; } ); },
  { name = "rnd"; chat = { type = "mattermost"; webhook_url_env = "SB_RND";
    timeout = 2; };
    rules = ( { name = "other"; languages = ["tr", "ja", "ko", "ru"]; } ); }
);
""" % (state, js_port, chat_port)


def main():
    tap = Tap("secrets")
    need_binary(tap)
    wd = tap.subdir("secrets")
    dead = closed_port()
    os.environ["SB_RND"] = "http://127.0.0.1:%d/hooks/Z9cl0sedP0rt" % dead
    att = os.path.join(wd, "att.jsonl")
    chat = FakeProcess("chat_server.py", wd, "chat",
                       ["--record", os.path.join(wd, "rec.jsonl"),
                        "--attempts", att])
    js = JetstreamServer()
    daemon = Daemon(wd)
    try:
        daemon.write_config(config(daemon.state, js.start(), chat.port,
                                   dead))
        daemon.start()
        tap.ok(wait_until(lambda: len(read_jsonl(att)) >= 3,
                          tap.timeout(20)),
               "the 404 webhook was tried", daemon.tail())
        wait_until(lambda: "retry in" in daemon.log(), tap.timeout(10))
        tap.ok("retry in" in daemon.log(),
               "the unreachable webhook is being retried", daemon.tail())
        daemon.send_signal(signal.SIGHUP)
        daemon.wait_log("configuration reloaded", tap.timeout(10))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "the daemon stops cleanly", "status %r" % rc)
        log = daemon.log()
        leaked = [t for t in TOKENS if t in log]
        tap.ok(not leaked, "no webhook token appears in the debug log",
               "leaked: %s" % ", ".join(leaked))
        tap.ok("failed for good" in log,
               "the log still says which delivery failed and why")
    finally:
        daemon.proc and daemon.proc.poll() is None and daemon.kill()
        js.stop()
        chat.stop()

    # --check-config names the problem, never the value.
    bad = os.path.join(wd, "bad.conf")
    with open(bad, "w") as f:
        f.write(config(os.path.join(wd, "s2"), 1, 1, 1).replace(
            "http://127.0.0.1:1/services", "http://example.com/services"))
    os.environ["SB_RND"] = "http://example.org/hooks/Z9cl0sedP0rt"
    rc, out, err = run_cli(["--check-config", "--config", bad])
    tap.ok(rc == 1 and "webhook_url" in err,
           "insecure webhook URLs are refused with the key named", err)
    leaked = [t for t in TOKENS if t in out + err]
    tap.ok(not leaked, "the refused URLs' tokens are not printed",
           "leaked: %s" % ", ".join(leaked), err)
    tap.finish()


if __name__ == "__main__":
    main()
