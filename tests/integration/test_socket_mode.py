#!/usr/bin/env python3
"""Slack Socket Mode against a loopback Slack (tests/fakes/slack_socket.py)
and a daemon without a listener: apps.connections.open with the app token
in the Authorization header, slash commands answered in the ack within
Slack's 3 seconds, other envelopes acked without a payload, bad messages
skipped, an envelope Slack sends again not run twice, a fresh URL (never
a reused ticket) after a disconnect request and after a dropped socket, a
refused token retried with backoff and never logged, and a prompt clean
stop, also in the middle of an apps.connections.open."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (Daemon, Tap, WsClient, cstr, need_binary,  # noqa: E402
                    wait_until)
from slack_socket import OP_BINARY, SlackSocketServer  # noqa: E402

TOKEN = "xapp-1-A0FAKESOCKET-1234567890-s0ck3tT0kenF0rTests"
WRONG_TOKEN = "xapp-1-A0FAKESOCKET-1234567890-wr0ngT0kenF0rTests"
CHANNEL = "C0CARE"
ACK_WITHIN = 3.0        # Slack's limit for an ack


def config(state, api_url, token):
    # The source points at a closed port: this test is about commands.
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:1/subscribe"; reconnect_min = 1000;
  reconnect_max = 5000; } );
teams = ( { name = "care";
  chat = { type = "console"; channel_id = %s; }; } );
socket_mode = { app_token = %s; api_url = %s; };
""" % (cstr(state), cstr(CHANNEL), cstr(token), cstr(api_url))


def slash(text, channel=CHANNEL):
    """A slash_commands payload as Slack sends it over the socket."""
    return {"token": "deprecated", "team_id": "T0TEST",
            "team_domain": "acme", "channel_id": channel,
            "channel_name": "care", "user_id": "U0TEST",
            "user_name": "alice", "command": "/sb", "text": text,
            "api_app_id": "A0FAKESOCKET", "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0/1/x",
            "trigger_id": "1.2.3"}


def no_sanitizer_report(log):
    return "ERROR: AddressSanitizer" not in log and \
        "ERROR: LeakSanitizer" not in log and "runtime error" not in log


def lists_commands(text):
    """Whether text is the help: it names the commands (README)."""
    return "commands" in text and all(
        re.search(r"\b%s\b" % w, text)
        for w in ("show", "assign", "resolve", "reopen", "queue", "help"))


def one_ack(tap, srv, eid, desc):
    """Wait for the ack of eid; the ack (a dict) or None."""
    got = srv.wait(lambda s: s.ack_for(eid), tap.timeout(ACK_WITHIN + 2))
    if not tap.ok(got, "%s: acked" % desc, "acks: %r" % srv.acks()[-5:]):
        return None
    a = got[0]
    tap.ok(a["delay"] is not None and a["delay"] < ACK_WITHIN,
           "%s: within %.0f s" % (desc, ACK_WITHIN),
           "delay %r" % a["delay"])
    return a


def command(tap, srv, text, desc):
    """Send "/sb TEXT"; the payload of its ack, or None."""
    eid = srv.send_envelope("slash_commands", slash(text))
    a = one_ack(tap, srv, eid, desc)
    if a is None:
        return None
    tap.ok(isinstance(a["msg"].get("payload"), dict),
           "%s: the ack carries the answer" % desc, a["msg"])
    return a["msg"].get("payload")


def check_commands(tap, srv, daemon):
    first = srv.opens[0]
    tap.ok(first["auth_ok"] and first["body"] == "",
           "apps.connections.open gets the app token as a Bearer header "
           "and no form parameters", {k: v for k, v in first.items()
                                      if k != "time"})
    p = command(tap, srv, "help", "/sb help") or {}
    text = p.get("text", "")
    tap.ok(p.get("response_type") == "ephemeral" and
           lists_commands(text),
           "/sb help is answered in the ack with the list of commands", p)
    p = command(tap, srv, "show NOPE", "/sb show NOPE") or {}
    tap.ok(p.get("response_type") == "ephemeral" and
           "NOPE" in p.get("text", ""),
           "/sb show NOPE gets an ephemeral answer naming the code", p)
    p = command(tap, srv, "show", "/sb show") or {}
    tap.ok(p.get("response_type") == "ephemeral" and
           p.get("text", "").startswith("usage: /sb show"),
           "/sb show without a code gets its usage", p)
    tap.ok(daemon.wait_log(r"socket mode: slack command /sb from U0TEST "
                           r"in C0CARE", 2) is not None,
           "the command is logged with user and channel", daemon.tail())

    eid = srv.send_envelope("events_api", {
        "type": "event_callback", "event": {"type": "app_mention",
                                            "text": "<@U0BOT> hi"}})
    a = one_ack(tap, srv, eid, "events_api envelope")
    tap.eq(a and a["msg"], {"envelope_id": eid},
           "an events_api envelope is acked with its envelope_id alone")
    eid = srv.send_envelope("interactive", {"type": "block_actions"})
    a = one_ack(tap, srv, eid, "interactive envelope")
    tap.eq(a and a["msg"], {"envelope_id": eid},
           "an interactive envelope is acked with its envelope_id alone")


def check_garbage(tap, srv, daemon):
    before = len(srv.acks())
    conn = srv.current()
    srv.send_raw(b'{"envelope_id": "half a mess')
    srv.send_raw(b"not JSON at all")
    srv.send_raw(b"[1, 2, 3]")
    srv.send_raw(json.dumps({"envelope_id": "bin-1", "type":
                             "events_api"}).encode(), OP_BINARY)
    srv.send_json({"type": "slash_commands", "payload": slash("help")})
    srv.send_json({"envelope_id": 42, "type": "events_api"})
    srv.send_raw(json.dumps({"envelope_id": "big-1", "type": "events_api",
                             "payload": {"x": "y" * (1100 * 1024)}})
                 .encode())
    p = command(tap, srv, "help", "after garbage") or {}
    tap.ok(lists_commands(p.get("text", "")),
           "after bad messages the next command is still answered", p)
    tap.eq(len(srv.acks()), before + 1,
           "the bad messages (no envelope id, binary, oversize) got no "
           "ack", [a["msg"] for a in srv.acks()[before:]])
    tap.ok(srv.current() is conn and conn.bad == [],
           "on the same connection, and the daemon sent nothing but acks",
           conn.bad[:3])
    tap.ok(daemon.alive(), "the daemon is still running")


def check_resent(tap, srv, daemon):
    """Slack sends an envelope again when it saw no ack: the command
    must not run twice (it may publish), the answer comes again."""
    eid = srv.send_envelope("slash_commands", slash("queue"))
    a = one_ack(tap, srv, eid, "queue")
    n = len(re_all(daemon, r"socket mode: slack command"))
    srv.send_envelope("slash_commands", slash("queue"), envelope_id=eid,
                      retry_attempt=1)
    srv.wait(lambda s: len(s.ack_for(eid)) >= 2, tap.timeout(5))
    got = srv.ack_for(eid)
    tap.ok(got and a and got[1]["msg"] == a["msg"],
           "an envelope sent again gets the same ack again",
           srv.ack_for(eid))
    tap.eq(len(re_all(daemon, r"socket mode: slack command")), n,
           "without running its command a second time")


def re_all(daemon, pattern):
    return re.findall(pattern, daemon.log())


def reconnected(tap, srv, daemon, old, opens_before, desc):
    """After old was told to go or dropped: a new open, a new
    connection with its own ticket, and the next envelope answered
    once."""
    got = srv.wait(lambda s: len(s.opens) > opens_before and
                   s.current() not in (None, old), tap.timeout(15))
    if not tap.ok(got, "%s: apps.connections.open again and a new "
                  "connection" % desc, daemon.tail()):
        return None
    new = srv.current()
    tap.ok(new.ticket != old.ticket and
           new.ticket == srv.opens[-1].get("ticket"),
           "%s: the new connection uses the newly issued ticket" % desc)
    tap.ok(srv.wait(lambda s: old.closed, tap.timeout(5)),
           "%s: the old connection is closed" % desc)
    tap.eq(srv.refused, [], "%s: no ticket was ever reused" % desc)
    eid = srv.send_envelope("slash_commands", slash("help"))
    one_ack(tap, srv, eid, "%s: the next command" % desc)
    time.sleep(1.0)         # a duplicate ack would come by now
    acks = srv.ack_for(eid)
    tap.ok(len(acks) == 1 and acks[0]["conn"] == new.number,
           "%s: answered exactly once, on the new connection" % desc,
           acks)
    return new


def check_disconnect(tap, srv, daemon):
    old = srv.current()
    opens = len(srv.opens)
    srv.disconnect("refresh_requested")
    tap.ok(daemon.wait_log(r"Slack asks to reconnect \(refresh_requested\)",
                           tap.timeout(5)) is not None,
           "the disconnect request is logged", daemon.tail())
    if reconnected(tap, srv, daemon, old, opens, "disconnect") is None:
        return
    # The fake really refuses what the daemon never does.
    c = WsClient(srv.port, "/link/?ticket=%s&app_id=A0FAKESOCKET"
                 % old.ticket)
    tap.ok(c.status == 401 and srv.refused[-1] == (old.ticket, "used"),
           "the fake refuses a reused ticket", c.status, srv.refused)
    c.close()
    srv.refused.clear()


def check_drop(tap, srv, daemon):
    old = srv.drop()
    opens = len(srv.opens)
    reconnected(tap, srv, daemon, old, opens, "TCP drop")


def check_bad_token(tap, srv, wd):
    """A refused token: the daemon keeps running and retries no sooner
    than 1 s, and never writes the token in its log."""
    daemon = Daemon(wd)
    try:
        daemon.write_config(config(daemon.state, srv.api_url, WRONG_TOKEN))
        n, hellos = len(srv.opens), srv.hellos()
        t0 = time.monotonic()
        daemon.start()
        got = srv.wait(lambda s: len(s.opens) >= n + 2, tap.timeout(10))
        tap.ok(got, "a refused token is retried", daemon.tail())
        if got:
            a, b = srv.opens[n], srv.opens[n + 1]
            tap.ok(not a["auth_ok"] and
                   a["answer"] == {"ok": False, "error": "invalid_auth"},
                   "the fake refused it with invalid_auth", a)
            tap.ok(b["time"] - a["time"] >= 1.0,
                   "the retry waits at least 1 s",
                   "%.3f s" % (b["time"] - a["time"]))
        tap.ok(daemon.wait_log(r"apps\.connections\.open failed: .*"
                               r"invalid_auth; retrying in", 2) is not None,
               "the error is logged with Slack's error code", daemon.tail())
        tap.ok(daemon.alive(), "the daemon keeps running")
        tap.eq(srv.hellos(), hellos, "no socket is opened without a URL")
        rc, took = daemon.stop()
        tap.ok(rc == 0 and took < 3, "SIGTERM during the backoff exits 0 "
               "promptly", "status %r after %.1f s" % (rc, took))
        log = daemon.log()
        tap.ok(WRONG_TOKEN not in log and "s0ck3t" not in log and
               "wr0ng" not in log, "the token is not in the debug log")
        tap.ok(no_sanitizer_report(log), "no sanitizer report",
               daemon.tail())
        tap.diag("first open after %.2f s" % (
            srv.opens[n]["time"] - t0 if len(srv.opens) > n else -1))
    finally:
        if daemon.alive():
            daemon.kill()


def check_stop_mid_open(tap, srv, wd):
    """SIGTERM while apps.connections.open has not answered yet."""
    daemon = Daemon(wd)
    srv.open_delay = 8.0
    try:
        daemon.write_config(config(daemon.state, srv.api_url, TOKEN))
        n = len(srv.opens)
        daemon.start()
        got = srv.wait(lambda s: len(s.opens) > n, tap.timeout(10))
        tap.ok(got, "the daemon asks for a URL", daemon.tail())
        time.sleep(0.3)
        rc, took = daemon.stop()
        tap.ok(rc == 0 and took < 3, "SIGTERM in the middle of "
               "apps.connections.open exits 0 promptly",
               "status %r after %.1f s" % (rc, took), daemon.tail())
        tap.ok(no_sanitizer_report(daemon.log()),
               "no sanitizer report (nothing leaked)", daemon.tail())
    finally:
        srv.open_delay = 0
        if daemon.alive():
            daemon.kill()


def main():
    tap = Tap("socket_mode")
    need_binary(tap)
    srv = SlackSocketServer(TOKEN, lifetime=150)
    srv.start()
    daemon = Daemon(tap.subdir("main"))
    try:
        daemon.write_config(config(daemon.state, srv.api_url, TOKEN))
        daemon.start()
        up = srv.wait(lambda s: s.current() is not None, tap.timeout(15))
        tap.ok(up, "the daemon opens a socket and gets hello, without a "
               "listener", daemon.tail())
        if not up:
            tap.finish()
        tap.ok(daemon.wait_log(r"Slack said hello", 5) is not None,
               "it logs the hello", daemon.tail())
        tap.eq(len(srv.opens), 1, "one apps.connections.open for it")
        tap.run("commands", check_commands, tap, srv, daemon)
        tap.run("garbage", check_garbage, tap, srv, daemon)
        tap.run("resent", check_resent, tap, srv, daemon)
        tap.run("disconnect", check_disconnect, tap, srv, daemon)
        tap.run("drop", check_drop, tap, srv, daemon)
        rc, took = daemon.stop()
        tap.ok(rc == 0 and took < 3, "SIGTERM exits 0 promptly",
               "status %r after %.1f s" % (rc, took))
        log = daemon.log()
        tap.ok(TOKEN not in log and "s0ck3t" not in log,
               "the app token is not in the debug log")
        tap.ok(no_sanitizer_report(log), "no sanitizer report",
               daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
    tap.run("bad token", check_bad_token, tap, srv, tap.subdir("badtoken"))
    tap.run("stop mid open", check_stop_mid_open, tap, srv,
            tap.subdir("midopen"))
    srv.stop()
    tap.finish()


if __name__ == "__main__":
    main()
