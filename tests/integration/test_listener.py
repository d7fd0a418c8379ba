#!/usr/bin/env python3
"""The slash-command listener over real HTTP/1.1 on a loopback port:
/healthz, Slack commands signed as Slack signs them (and forged, stale,
future and replayed ones refused), Mattermost tokens, the HTTP errors
(404, 405, 411, 413, 415), a body that never completes not blocking
anyone else, secrets that change on reload, and a command that moves a
conversation to another team's chat."""

import http.client
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, message_urls, need_binary,
                    post_uri, slack_form, wait_until, web_url)
import sbtest  # noqa: E402

SLACK_SECRET = "s1gn1ngS3cretF0rTests"
SLACK_SECRET2 = "r0tatedS1gn1ngS3cret"
MM_TOKEN = "mmT0kenF0rTests42"
COMMANDS = ("commands: show, queue, reply, drafts, approve, reject, claim, "
            "unclaim, note, assign, resolve, reopen, baton, mute, unmute, "
            "help; /switchboard help COMMAND for its usage")


def unknown(word):
    """The ephemeral answer to a command name that does not exist."""
    return {"response_type": "ephemeral",
            "text": 'unknown command "%s"\n%s' % (word, COMMANDS)}


# The default form's text, "status please", names no command.
EPHEMERAL = unknown("status")
MAX_BODY = 2048


def config(state, port, secret, max_body=MAX_BODY):
    # The source points at a closed port: this test is about commands.
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:1/subscribe"; reconnect_min = 1000;
  reconnect_max = 5000; } );
teams = ( { name = "care"; chat = { type = "console"; }; } );
listener = { address = "127.0.0.1"; port = %d; max_body = %d;
  slack_signing_secret = %s; mattermost_token = %s; };
""" % (cstr(state), port, max_body, cstr(secret), cstr(MM_TOKEN))


def form(**fields):
    return slack_form(**dict({"command": "/switchboard",
                              "text": "status please"}, **fields))


def slack_headers(body, secret=SLACK_SECRET, ts=None):
    return sbtest.slack_headers(body, secret, ts)


def request(port, method, path, body=None, headers=None):
    """(status, headers dict lower-cased, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return (r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


def raw_exchange(port, head, body=b"", timeout=10):
    """Send raw bytes, read until the server closes: (status, text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        s.sendall(head + body)
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        text = data.decode("latin-1")
        status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") \
            else None
        return status, text
    finally:
        s.close()


def json_of(data):
    try:
        return json.loads(data.decode())
    except ValueError:
        return None


def check_basics(tap, port):
    st, h, data = request(port, "GET", "/healthz")
    tap.eq((st, data, h.get("content-type", "").split(";")[0]),
           (200, b"ok\n", "text/plain"), "GET /healthz answers 200 ok")
    st, _, _ = request(port, "GET", "/nowhere")
    tap.eq(st, 404, "an unknown path gets 404")
    st, _, _ = request(port, "POST", "/slack/commandsx", form(),
                       slack_headers(form()))
    tap.eq(st, 404, "a path that only starts like ours gets 404")
    st, h, _ = request(port, "GET", "/slack/commands")
    tap.eq((st, h.get("allow")), (405, "POST"),
           "GET on the Slack endpoint gets 405 with Allow: POST")
    st, h, _ = request(port, "PUT", "/mattermost/commands", b"x=1",
                       {"Content-Type": "application/x-www-form-urlencoded"})
    tap.eq((st, h.get("allow")), (405, "POST"),
           "PUT on the Mattermost endpoint gets 405 with Allow: POST")
    st, h, _ = request(port, "POST", "/healthz", b"x",
                       {"Content-Type": "text/plain"})
    tap.eq((st, h.get("allow")), (405, "GET"),
           "POST on /healthz gets 405 with Allow: GET")
    body = form()
    hd = slack_headers(body)
    hd["Content-Type"] = "application/json"
    st, _, _ = request(port, "POST", "/slack/commands", body, hd)
    tap.eq(st, 415, "a JSON content type gets 415")


def check_slack(tap, port, daemon):
    body = form()
    hd = slack_headers(body)
    st, h, data = request(port, "POST", "/slack/commands", body, hd)
    tap.eq((st, h.get("content-type"), json_of(data)),
           (200, "application/json", EPHEMERAL),
           "a correctly signed Slack command gets the ephemeral answer")
    tap.ok(daemon.wait_log(r"slack command /switchboard from U0TEST in "
                           r"C0TEST", 5) is not None,
           "the decoded command is logged", daemon.tail())
    st, _, data = request(port, "POST", "/slack/commands", body, hd)
    tap.eq(st, 401, "the same request again (a replay) gets 401")
    hd2 = slack_headers(body, secret="not-the-secret")
    st, _, _ = request(port, "POST", "/slack/commands", body, hd2)
    tap.eq(st, 401, "a request signed with another secret gets 401")
    forged = form(text="delete everything")
    st, _, _ = request(port, "POST", "/slack/commands", forged,
                       slack_headers(body))
    tap.eq(st, 401, "a changed body under a valid signature gets 401")
    now = int(time.time())
    st, _, _ = request(port, "POST", "/slack/commands", body,
                       slack_headers(body, ts=now - 400))
    tap.eq(st, 401, "a correctly signed but stale request gets 401")
    st, _, _ = request(port, "POST", "/slack/commands", body,
                       slack_headers(body, ts=now + 400))
    tap.eq(st, 401, "a correctly signed request from the future gets 401")
    hd3 = {"Content-Type": "application/x-www-form-urlencoded"}
    st, _, _ = request(port, "POST", "/slack/commands", body, hd3)
    tap.eq(st, 401, "a request without signature headers gets 401")
    bad = form(text="caf%C3")
    bad = bad.replace(b"caf%25C3", b"caf%C3")
    st, _, _ = request(port, "POST", "/slack/commands", bad,
                       slack_headers(bad))
    tap.eq(st, 400, "a signed body that is not valid form data gets 400")
    # Same body, another second: a new request, not a replay.
    st, _, data = request(port, "POST", "/slack/commands", body,
                          slack_headers(body, ts=now - 1))
    tap.eq((st, json_of(data)), (200, EPHEMERAL),
           "the same command signed at another second is accepted")


def check_mattermost(tap, port):
    body = form(token=MM_TOKEN)
    base = {"Content-Type": "application/x-www-form-urlencoded"}
    st, h, data = request(port, "POST", "/mattermost/commands", body,
                          dict(base, Authorization="Token " + MM_TOKEN))
    tap.eq((st, h.get("content-type"), json_of(data)),
           (200, "application/json", EPHEMERAL),
           "a Mattermost command with the right token is answered")
    st, _, _ = request(port, "POST", "/mattermost/commands", body,
                       dict(base, Authorization="Token " + MM_TOKEN + "x"))
    tap.eq(st, 401, "a wrong Mattermost token gets 401")
    st, _, _ = request(port, "POST", "/mattermost/commands", body,
                       dict(base, Authorization="Bearer " + MM_TOKEN))
    tap.eq(st, 401, "a Bearer header instead of Token gets 401")
    st, _, _ = request(port, "POST", "/mattermost/commands", body, base)
    tap.eq(st, 401, "a Mattermost command without a token gets 401")


def check_limits(tap, port):
    # Only the headers: the answer must come without the body.
    head = ("POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\n\r\n" % (MAX_BODY + 1)).encode()
    st, text = raw_exchange(port, head)
    tap.eq(st, 413, "a body over max_body gets 413 before it is sent",
           text[:300])
    body = form(text="x" * MAX_BODY)
    st, _, _ = request(port, "POST", "/slack/commands", body,
                       slack_headers(body))
    tap.eq(st, 413, "a whole body over max_body gets 413")
    head = ("POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    st, text = raw_exchange(port, head, b"0\r\n\r\n")
    tap.ok(st in (400, 411, 413), "a chunked body is refused", text[:300])
    head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n"
            "\r\n" % ("a" * 8192)).encode()
    st, text = raw_exchange(port, head)
    tap.ok(st != 200, "headers over lws' limit are refused",
           text[:300])


def check_slow_body(tap, port):
    slow = socket.create_connection(("127.0.0.1", port), 10)
    slow.sendall(("POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 500\r\n\r\ncommand=%2F").encode())
    time.sleep(0.3)
    t0 = time.monotonic()
    st, _, data = request(port, "GET", "/healthz")
    took = time.monotonic() - t0
    tap.ok(st == 200 and took < 2,
           "/healthz answers while another body never completes",
           "status %r after %.2f s" % (st, took))
    # Another text: the first command's body in the same second would
    # rightly be a replay.
    body = form(text="while a body stalls")
    st, _, _ = request(port, "POST", "/slack/commands", body,
                       slack_headers(body))
    tap.eq(st, 200, "and so does a signed command")

    # lws' body timeout ends the stalled connection.
    def closed():
        try:
            slow.settimeout(0.2)
            return slow.recv(4096) == b"" or None
        except socket.timeout:
            return None
        except OSError:
            return True
    tap.ok(wait_until(lambda: closed() is not None, tap.timeout(20), 0.2),
           "the stalled connection is closed by the body timeout")
    slow.close()


def check_reload(tap, port, daemon, state):
    daemon.write_config(config(state, port + 1 if port < 65535 else port - 1,
                               SLACK_SECRET2))
    mark = len(daemon.log())
    daemon.send_signal(signal.SIGHUP)
    tap.ok(daemon.wait_log("configuration reloaded", tap.timeout(10),
                           mark) is not None, "the new config is loaded",
           daemon.tail())
    tap.ok(daemon.wait_log(r"listener .*changed: restart to apply", 1,
                           mark) is not None,
           "a changed port is reported as needing a restart", daemon.tail())
    body = form(text="after reload")
    st, _, _ = request(port, "POST", "/slack/commands", body,
                       slack_headers(body))
    tap.eq(st, 401, "after reload the old signing secret is refused "
           "(on the old port, still open)")
    st, _, data = request(port, "POST", "/slack/commands", body,
                          slack_headers(body, secret=SLACK_SECRET2))
    tap.eq((st, json_of(data)), (200, unknown("after")),
           "after reload the new signing secret is accepted")


CARE_DID = "did:plc:assigncustomer000000000"


def assign_config(state, port, js_port, chat_port):
    hook = "http://127.0.0.1:%d/hooks/" % chat_port
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; reconnect_min = 50;
  reconnect_max = 500; } );
teams = (
  { name = "care"; chat = { type = "slack"; webhook_url = %s;
      channel_id = "C0CARE"; };
    rules = ( { name = "refunds"; keywords = [ "refund" ]; } ); },
  { name = "sales"; chat = { type = "slack"; webhook_url = %s;
      channel_id = "C0SALES"; };
    rules = ( { name = "prices"; keywords = [ "price" ]; } ); }
);
listener = { address = "127.0.0.1"; port = %d;
  slack_signing_secret = %s; };
commands = { admins = [ "U0TEST" ]; };
""" % (cstr(state), js_port, cstr(hook + "care"), cstr(hook + "sales"),
       port, cstr(SLACK_SECRET))


def slack_command(port, text, channel="C0CARE"):
    body = form(text=text, channel_id=channel)
    st, _, data = request(port, "POST", "/slack/commands", body,
                          slack_headers(body))
    return st, json_of(data)


def check_assign(tap, wd):
    """/switchboard assign CODE sales, signed as Slack signs it: the
    conversation's next reply goes to sales' webhook, not care's."""
    root = make_post(CARE_DID, "3assignroot0", "where is my refund",
                     int(time.time() * 1e6))
    js, chat = JetstreamServer(events=[root]), ChatServer()
    daemon = Daemon(wd)
    port = free_port()
    js.start()
    chat.start()
    try:
        daemon.write_config(assign_config(daemon.state, port, js.port,
                                          chat.port))
        daemon.start()
        root_url = web_url(CARE_DID, "3assignroot0")

        def on(path, url):
            return [r for r in chat.snapshot()[0]
                    if r["path"] == path and url in message_urls(r["body"])]
        got = chat.wait(lambda c: on("/hooks/care", root_url),
                        tap.timeout(15))
        if not tap.ok(got, "the root post goes to care", daemon.tail()):
            return
        m = re.search(r"conversation `([0-9A-Z]+)`",
                      json.dumps(got[0]["body"], ensure_ascii=False))
        if not tap.ok(m, "its message names the conversation code",
                      got[0]["body"]):
            return
        code = m.group(1)
        st, answer = slack_command(port, "assign %s sales" % code.lower())
        tap.eq((st, answer), (200, {
            "response_type": "in_channel",
            "text": "%s: care → sales by alice; its next posts go to "
                    "sales" % code}),
            "a signed /switchboard assign by an admin moves the "
            "conversation, and the channel is told")
        st, answer = slack_command(port, "queue", channel="C0SALES")
        tap.ok(st == 200 and answer and answer["text"].startswith(
            "sales: 1 open conversation") and code in answer["text"],
            "it is in sales' queue now", answer)
        reply = make_post(CARE_DID, "3assignreply", "still no refund",
                          root["time_us"] + 1000)
        ref = {"uri": post_uri(CARE_DID, "3assignroot0"),
               "cid": root["commit"]["cid"]}
        reply["commit"]["record"]["reply"] = {"root": ref, "parent": ref}
        js.add_events([reply])
        reply_url = web_url(CARE_DID, "3assignreply")
        got = chat.wait(lambda c: on("/hooks/sales", reply_url),
                        tap.timeout(15))
        tap.ok(got, "the next reply goes to sales' webhook", daemon.tail())
        tap.eq(on("/hooks/care", reply_url), [],
               "and not to care's, whose rule it matches")
        st, answer = slack_command(port, "assign %s ops" % code)
        tap.eq((st, answer and answer["text"]),
               (200, 'no team named "ops" (teams: care, sales)'),
               "assigning to a team that is not configured is refused")
        rc, _ = daemon.stop()
        tap.eq(rc, 0, "that daemon stops cleanly too")
        log = daemon.log()
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log, "no sanitizer report there",
               daemon.tail())
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("listener")
    need_binary(tap)
    wd = tap.subdir("listener")
    daemon = Daemon(wd)
    port = free_port()
    try:
        daemon.write_config(config(daemon.state, port, SLACK_SECRET))
        daemon.start()
        up = daemon.wait_log(r"listener: on 127\.0\.0\.1 port %d" % port,
                             tap.timeout(15))
        tap.ok(up is not None, "the daemon listens on the configured port",
               daemon.tail())
        if up is None:
            tap.finish()
        tap.run("basics", check_basics, tap, port)
        tap.run("slack", check_slack, tap, port, daemon)
        tap.run("mattermost", check_mattermost, tap, port)
        tap.run("limits", check_limits, tap, port)
        tap.run("slow body", check_slow_body, tap, port)
        tap.run("reload", check_reload, tap, port, daemon, daemon.state)
        st, _, _ = request(port, "GET", "/healthz")
        tap.eq(st, 200, "the listener still answers at the end")
        rc, _ = daemon.stop()
        tap.eq(rc, 0, "the daemon stops cleanly")
        log = daemon.log()
        leaked = [s for s in (SLACK_SECRET, SLACK_SECRET2, MM_TOKEN)
                  if s in log]
        tap.ok(not leaked, "no secret appears in the debug log",
               "leaked: %s" % ", ".join(leaked))
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log, "no sanitizer report",
               daemon.tail())
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()
    tap.run("assign", check_assign, tap, tap.subdir("assign"))
    tap.finish()


if __name__ == "__main__":
    main()
