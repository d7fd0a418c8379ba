#!/usr/bin/env python3
"""Hostile input at the daemon's edges.

The listener: a slowloris body (one byte a second) is dropped at the
body timeout while other requests are answered at once; fifty stalled
connections do not block /healthz; a 64 KiB header and a body over
max_body are refused (431/413/400 or a clean close); wrong methods get
405 with Allow, wrong content types 415; invalid UTF-8 and NUL in a
signed form get 400; CR/LF smuggled into the path or the form never
comes back as a response header; and after a thousand such requests
the daemon's resident memory has grown by no more than a small bound,
with no sanitizer report.

Chat formatting: social posts carrying <!channel>, @here, @everyone,
markdown links and HTML reach Slack, Mattermost and Discord escaped
(no live mention, no forged link, bold or HTML).  A `/sb note` whose
text tries the same is escaped in its in-channel answer on Slack and
notifies nobody on Mattermost; a `/sb reply` is published to Bluesky
with Slack's markup undone (mentions as names, links as their URLs,
typed entities as typed), its answer and result in Slack carry no live
mention, and a blocked word hidden in Slack markup is refused.
"""

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, need_binary, slack_command,
                    slack_form, slack_headers, strings_in, wait_until)
from chat_platforms import ChatPlatforms  # noqa: E402
from bluesky_pds import BlueskyPDS  # noqa: E402

SLACK_SECRET = "h0stileS1gn1ngS3cretF0rTests"
MM_TOKEN = "h0stileMmT0kenF0rTests"
MAX_BODY = 4096
# Under ASan freed memory sits in a quarantine; keep it small so a leak
# shows as growth, not as the quarantine filling.
ASAN_QUARANTINE_MB = 2
RSS_BOUND_KB = 3 * 1024
# "Promptly", with room for a loaded CI machine running tests in parallel.
PROMPT = 2.0


def listener_config(state, port):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:1/subscribe"; reconnect_min = 1000;
  reconnect_max = 5000; } );
teams = ( { name = "care"; chat = { type = "console"; }; } );
listener = { address = "127.0.0.1"; port = %d; max_body = %d;
  slack_signing_secret = %s; mattermost_token = %s; };
""" % (cstr(state), port, MAX_BODY, cstr(SLACK_SECRET), cstr(MM_TOKEN))


def form(**fields):
    return slack_form(**dict({"command": "/switchboard"}, **fields))


def signed(body, ts=None):
    return slack_headers(body, SLACK_SECRET, ts)


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, [(name lower-cased, value)], body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, [(k.lower(), v) for k, v in r.getheaders()], data
    finally:
        c.close()


def raw_exchange(port, data, timeout=10):
    """Send raw bytes, read until the server closes: (status or None,
    the raw answer).  A reset is a close."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    text = out.decode("latin-1")
    m = re.match(r"HTTP/1\.[01] (\d{3})", text)
    return (int(m.group(1)) if m else None), text


def response_headers(raw):
    head = raw.split("\r\n\r\n", 1)[0]
    return [l.split(":", 1)[0].strip().lower()
            for l in head.split("\r\n")[1:] if ":" in l]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def healthz_time(port):
    t0 = time.monotonic()
    st, _, data = request(port, "GET", "/healthz", timeout=5)
    return st, time.monotonic() - t0


def closed_by_peer(sock):
    """True once the server has closed sock, None while it is open."""
    try:
        sock.settimeout(0.2)
        return sock.recv(4096) == b"" or None
    except socket.timeout:
        return None
    except OSError:
        return True


def check_slowloris(tap, port):
    """Headers, then one body byte a second: the body timeout (10 s in
    src/listener.c) ends it however often a byte arrives, and meanwhile
    everyone else is answered at once."""
    body = form(text="slow " * 40)
    s = socket.create_connection(("127.0.0.1", port), 5)
    h = signed(body)
    s.sendall(("POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
               "".join("%s: %s\r\n" % kv for kv in h.items()) +
               "Content-Length: %d\r\n\r\n" % len(body)).encode())
    t0 = time.monotonic()
    sent, slow_ok, closed = 0, [], False
    while time.monotonic() - t0 < tap.timeout(25):
        try:
            s.sendall(body[sent:sent + 1])
            sent += 1
        except OSError:
            closed = True
            break
        if closed_by_peer(s):
            closed = True
            break
        st, took = healthz_time(port)
        slow_ok.append(st == 200 and took < PROMPT)
        time.sleep(0.8)
    took = time.monotonic() - t0
    s.close()
    tap.ok(closed and took < 20,
           "a body sent a byte a second is dropped at the body timeout",
           "closed %r after %.1f s and %d bytes" % (closed, took, sent))
    tap.ok(slow_ok and all(slow_ok),
           "/healthz answered promptly every second meanwhile",
           "%d of %d" % (slow_ok.count(True), len(slow_ok)))


def check_many_slow(tap, port):
    socks = []
    try:
        for i in range(50):
            s = socket.create_connection(("127.0.0.1", port), 5)
            s.sendall(b"POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/x-www-form-urlencoded"
                      b"\r\nContent-Length: 1000\r\n\r\ntext=")
            socks.append(s)
        # and as many that never finish their headers
        for i in range(20):
            s = socket.create_connection(("127.0.0.1", port), 5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        time.sleep(0.3)
        times = [healthz_time(port) for _ in range(5)]
        tap.ok(all(st == 200 and t < PROMPT for st, t in times),
               "70 stalled connections do not block /healthz", times)
        body = form(text="among the stalled")
        st, _, data = request(port, "POST", "/slack/commands", body,
                              signed(body))
        tap.eq(st, 200, "nor a signed command")
    finally:
        for s in socks:
            s.close()


def check_oversize(tap, port):
    head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n"
            % ("a" * 65536)).encode()
    st, text = raw_exchange(port, head)
    tap.ok(st in (400, 431, None), "a 64 KiB header is refused or the "
           "connection closed", repr(text[:200]))
    head = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            "".join("X-H%d: v\r\n" % i for i in range(2000)) +
            "\r\n").encode()
    st, text = raw_exchange(port, head)
    tap.ok(st in (400, 431, None), "2000 header lines are refused or the "
           "connection closed", repr(text[:200]))
    uri = "/healthz?" + "q" * 65536
    st, text = raw_exchange(port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" %
                                   uri).encode())
    tap.ok(st in (400, 414, 431, None), "a 64 KiB request line is refused "
           "or the connection closed", repr(text[:200]))
    body = form(text="x" * (MAX_BODY + 10))
    st, text = raw_exchange(port, (
        "POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    tap.ok(st == 413, "a body over max_body gets 413", repr(text[:200]))
    # A Content-Length that lies short: by HTTP/1.1 the extra bytes are
    # the next request, and as one they are refused too.
    small = form(text="hi")
    st, text = raw_exchange(port, (
        "POST /slack/commands HTTP/1.1\r\nHost: x\r\n" +
        "".join("%s: %s\r\n" % kv for kv in signed(small).items()) +
        "Content-Length: %d\r\n\r\n" % (len(small) - 10)).encode() + small)
    tap.ok(st in (400, 401, 413), "a Content-Length shorter than the body "
           "is refused", repr(text[:200]))
    statuses = re.findall(r"HTTP/1\.[01] (\d{3}) ", text)
    tap.ok(statuses and not [x for x in statuses if x.startswith("2")],
           "and its tail, read as the next request, is refused too",
           repr(text[:400]))
    for cl in ("-1", "99999999999999999999", "12abc", "1, 1"):
        st, text = raw_exchange(port, (
            "POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %s\r\n\r\nabc" % cl).encode())
        tap.ok(st in (400, 411, 413, None),
               "Content-Length %r is refused" % cl, repr(text[:200]))


def check_methods(tap, port):
    for method, path, allow in (("GET", "/slack/commands", "POST"),
                                ("DELETE", "/mattermost/commands", "POST"),
                                ("PUT", "/slack/commands", "POST"),
                                ("OPTIONS", "/slack/commands", "POST"),
                                ("POST", "/healthz", "GET"),
                                ("DELETE", "/healthz", "GET")):
        body = b"x=1" if method in ("PUT", "POST") else None
        st, h, _ = request(port, method, path, body,
                           {"Content-Type":
                            "application/x-www-form-urlencoded"})
        tap.eq((st, dict(h).get("allow")), (405, allow),
               "%s %s gets 405 with Allow: %s" % (method, path, allow))
    st, text = raw_exchange(port, b"BREW /slack/commands HTTP/1.1\r\n"
                                  b"Host: x\r\n\r\n")
    tap.ok(st in (400, 403, 405, 501, None), "an unknown method is refused",
           repr(text[:200]))
    body = form()
    for ctype in ("application/json", "text/plain", "multipart/form-data; "
                  "boundary=x", "application/x-www-form-urlencodedx", ""):
        h = signed(body)
        h["Content-Type"] = ctype
        st, _, _ = request(port, "POST", "/slack/commands", body, h)
        tap.eq(st, 415, "Content-Type %r gets 415" % ctype)


def check_form_bytes(tap, port):
    cases = (("invalid UTF-8 (lone continuation byte)", b"text=%80abc"),
             ("invalid UTF-8 (truncated sequence)", b"text=caf%C3"),
             ("invalid UTF-8 (overlong slash)", b"text=%C0%AF"),
             ("invalid UTF-8 (surrogate)", b"text=%ED%A0%80"),
             ("a NUL in the text", b"text=a%00b"),
             ("a NUL in the user id", b"user_id=U0%00x"),
             ("a raw NUL byte", b"text=a\x00b"),
             ("a bad percent escape", b"text=%zz"))
    base = form().replace(b"text=help", b"").replace(b"user_id=U0TEST", b"")
    for i, (desc, field) in enumerate(cases):
        body = base + b"&" + field
        if b"user_id" not in field:
            body += b"&user_id=U0TEST"
        st, _, data = request(port, "POST", "/slack/commands", body,
                              signed(body, int(time.time()) - i))
        tap.eq(st, 400, "a signed form with %s gets 400" % desc, data[:200])


def check_injection(tap, port):
    heads = []
    for path in ("/healthz%0d%0aX-Injected:%20yes",
                 "/slack/commands%0D%0AX-Injected: yes",
                 "/nowhere\r\nX-Injected: yes"):
        st, text = raw_exchange(port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                                       % path).encode())
        heads.append((path, st, response_headers(text)))
    body = form(text="help\r\nX-Injected: yes\r\n\r\nHTTP/1.1 200 OK",
                user_name="a\r\nX-Injected: yes",
                channel_id="C0\r\nSet-Cookie: x=1")
    st, h, data = request(port, "POST", "/slack/commands", body,
                          signed(body))
    heads.append(("form", st, [k for k, _ in h]))
    body = form(token=MM_TOKEN, text="help\r\nX-Injected: yes")
    st, h, data = request(port, "POST", "/mattermost/commands", body,
                          {"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": "Token " + MM_TOKEN})
    heads.append(("mattermost form", st, [k for k, _ in h]))
    bad = [x for x in heads if "x-injected" in x[2] or "set-cookie" in x[2]]
    tap.eq(bad, [], "CR/LF in the path or the form is never reflected as "
           "a response header", heads)
    # The answer splits no response either: the next request on the
    # same connection is answered normally.
    st, _, _ = request(port, "GET", "/healthz")
    tap.eq(st, 200, "the listener answers normally afterwards")


def hostile_round(port, n):
    """n hostile requests of every kind, fast; no assertions."""
    big = ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" %
           ("a" * 16384)).encode()
    over = form(text="x" * (MAX_BODY + 10))
    over_raw = ("POST /slack/commands HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: %d\r\n\r\n" % len(over)).encode() + over
    kinds = [
        lambda i: raw_exchange(port, big, 5),
        lambda i: raw_exchange(port, over_raw, 5),
        lambda i: request(port, "GET", "/slack/commands"),
        lambda i: request(port, "POST", "/slack/commands", b"x",
                          {"Content-Type": "text/plain"}),
        lambda i: request(port, "POST", "/slack/commands", b"text=%80",
                          signed(b"text=%80", int(time.time()) - i % 200)),
        lambda i: request(port, "POST", "/slack/commands", form(
            text="forged %d" % i), signed(b"other")),
        lambda i: request(port, "POST", "/mattermost/commands", b"text=a",
                          {"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": "Token wrong%d" % i}),
        lambda i: raw_exchange(port, b"GET /healthz%0d%0aX: y HTTP/1.1\r\n"
                                     b"Host: x\r\n\r\n", 5),
        lambda i: raw_exchange(port, b"\x16\x03\x01\x02\x00\x01\x00\x01"
                                     b"\xfc\x03\x03" + os.urandom(200), 5),
        lambda i: raw_exchange(port, b"POST /slack/commands HTTP/1.1\r\n"
                                     b"Host: x\r\nTransfer-Encoding: "
                                     b"chunked\r\n\r\n0\r\n\r\n", 5),
    ]
    errors = []

    def worker(start):
        for i in range(start, n, 4):
            try:
                kinds[i % len(kinds)](i)
            except OSError as e:
                errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def check_memory(tap, port, daemon):
    pid = daemon.proc.pid
    errors = hostile_round(port, 300)       # warm up: pools, caches
    before = rss_kb(pid)
    errors += hostile_round(port, 1000)
    time.sleep(0.5)
    after = rss_kb(pid)
    tap.diag("RSS %s KiB before, %s KiB after 1000 hostile requests" %
             (before, after))
    tap.ok(before and after and after - before <= RSS_BOUND_KB,
           "RSS grew by at most %d KiB over 1000 hostile requests"
           % RSS_BOUND_KB, "before %s KiB, after %s KiB" % (before, after))
    tap.ok(len(errors) < 20, "the hostile requests were all answered or "
           "closed", errors[:10])
    st, _, _ = request(port, "GET", "/healthz")
    tap.eq(st, 200, "and /healthz still answers")


def listener_part(tap):
    wd = tap.subdir("listener")
    daemon = Daemon(wd)
    port = free_port()
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + \
        "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB
    try:
        daemon.write_config(listener_config(daemon.state, port))
        daemon.start()
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old
    try:
        up = daemon.wait_log(r"listener: on 127\.0\.0\.1 port %d" % port,
                             tap.timeout(15))
        if not tap.ok(up is not None, "the daemon listens", daemon.tail()):
            return
        tap.run("many slow", check_many_slow, tap, port)
        tap.run("oversize", check_oversize, tap, port)
        tap.run("methods", check_methods, tap, port)
        tap.run("form bytes", check_form_bytes, tap, port)
        tap.run("injection", check_injection, tap, port)
        tap.run("slowloris", check_slowloris, tap, port)
        tap.run("memory", check_memory, tap, port, daemon)
        tap.ok(daemon.alive(), "the daemon is still running")
        rc, _ = daemon.stop()
        tap.eq(rc, 0, "the daemon stops cleanly")
        log = daemon.log()
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log and
               "LeakSanitizer" not in log, "no sanitizer report",
               daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()


# Social posts and commands that try to ping everyone, forge links and
# markup.  Each team's keyword routes one post to it.
HOSTILE = ("%s <!channel> <!here|here> <!everyone> @here @everyone "
           "@channel @all <@U0ADMIN> <#C0SECRET> "
           "<https://evil.example/a|click me> [evil](https://evil.example/b) "
           "**bold** <b>bold</b> <script>alert(1)</script> "
           "<img src=x onerror=alert(1)> &lt;!channel&gt;")
DID = "did:plc:hostilecustomer000000001"
BRAND_DID = "did:plc:hostilebrand0000000000001"
HANDLE = "acme.test"
APP_PASSWORD = "bsky-h0stile-app-passw0rd"
DISCORD_HOOK = "1200000000000000002"
DISCORD_TOKEN = "tokH0stileDiscordWebh00k"
CODE_RE = re.compile(r"conversation `([0-9A-Z]+)`")
# What a live mention or forged markup looks like on each platform.
SLACK_LIVE = re.compile(r"<[!@#]|<https?://evil|<mailto:")
MM_LIVE = re.compile(r"(?<![\\\w])@(here|channel|all|everyone)\b|"
                     r"(?<!\\)\]\(https?://evil|<b>|<script|<img|"
                     r"(?<!\\)\*\*bold(?<!\\)\*\*")
DISCORD_LIVE = re.compile(r"(?<!\\)\]\(https?://evil|"
                          r"(?<!\\)\*\*bold|(?<!\\)<[@#]")
MM_MENTION = re.compile(r"(?<![\\\w])@(here|channel|all|everyone|bob)\b")


def chat_config(state, js_port, chat_port, plat_port, pds_port, port):
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; reconnect_min = 50;
  reconnect_max = 500; } );
accounts = ( { name = "acme-bsky"; type = "bluesky";
  base_url = "http://127.0.0.1:%d"; identifier = %s;
  app_password = %s; timeout = 5; } );
teams = (
  { name = "slk"; chat = { type = "slack";
      webhook_url = "http://127.0.0.1:%d/hooks/slk"; channel_id = "C0SLK";
      rate = 50.0; burst = 20; };
    rules = ( { name = "aardvark"; keywords = [ "aardvark" ]; } );
    reply = { accounts = [ "acme-bsky" ]; publishers = [ "@alice" ];
      blocked_words = [ "idiot" ]; }; },
  { name = "mm"; chat = { type = "mattermost";
      webhook_url = "http://127.0.0.1:%d/hooks/mm"; channel_id = "C0MM";
      rate = 50.0; burst = 20; };
    rules = ( { name = "bison"; keywords = [ "bison" ]; } ); },
  { name = "disc"; chat = { type = "discord";
      webhook_url = "http://127.0.0.1:%d/api/webhooks/%s/%s";
      rate = 20.0; burst = 10; };
    rules = ( { name = "coyote"; keywords = [ "coyote" ]; } ); }
);
listener = { address = "127.0.0.1"; port = %d;
  slack_signing_secret = %s; mattermost_token = %s; };
commands = { name = "/sb"; };
""" % (cstr(state), js_port, pds_port, cstr(HANDLE), cstr(APP_PASSWORD),
       chat_port, chat_port, plat_port, DISCORD_HOOK, DISCORD_TOKEN, port,
       cstr(SLACK_SECRET), cstr(MM_TOKEN))


def texts(body):
    return list(strings_in(body))


def check_posts(tap, chat, plat, daemon):
    def on(path):
        return [r for r in chat.snapshot()[0] if r["path"] == path]
    slk = chat.wait(lambda c: on("/hooks/slk"), tap.timeout(15))
    mm = chat.wait(lambda c: on("/hooks/mm"), tap.timeout(15))
    disc = plat.wait(lambda p: p.new_messages("discord"), tap.timeout(15))
    if not tap.ok(slk and mm and disc, "each platform got its post",
                  daemon.tail()):
        return None
    slk, mm, disc = slk[0]["body"], mm[0]["body"], disc[0]["body"]
    st = texts(slk)
    tap.eq([m.group(0) for t in st for m in SLACK_LIVE.finditer(t)], [],
           "Slack: no mention, channel link or evil link is live",
           json.dumps(slk)[:1500])
    tap.ok(any("&lt;!channel&gt;" in t for t in st) and
           any("&lt;https://evil.example/a|click me&gt;" in t for t in st)
           and any("&amp;lt;!channel&amp;gt;" in t for t in st),
           "Slack: the post's markup is shown as text, entities too",
           json.dumps(slk)[:1500])
    mt = texts(mm)
    tap.eq([m.group(0) for t in mt for m in MM_LIVE.finditer(t)], [],
           "Mattermost: no @here/@channel/@all, link, HTML or bold is live",
           json.dumps(mm, ensure_ascii=False)[:1500])
    tap.ok(any("@\u200bhere" in t for t in mt),
           "Mattermost: @here is shown, broken by a zero-width space",
           json.dumps(mm)[:1500])
    dt = texts(disc)
    tap.eq([m.group(0) for t in dt for m in DISCORD_LIVE.finditer(t)], [],
           "Discord: no markdown link, bold or raw mention is live",
           json.dumps(disc, ensure_ascii=False)[:1500])
    tap.eq(disc.get("allowed_mentions"), {"parse": []},
           "Discord: allowed_mentions lets nobody be pinged")
    tap.ok(any("evil.example" in t for t in dt),
           "Discord: the post's text is there, as text",
           json.dumps(disc, ensure_ascii=False)[:1500])
    m = CODE_RE.search(json.dumps(slk, ensure_ascii=False))
    tap.ok(m, "the Slack message names the conversation", slk)
    mmc = CODE_RE.search(json.dumps(mm, ensure_ascii=False))
    return (m.group(1) if m else None), (mmc.group(1) if mmc else None)


def mm_command(port, text):
    body = form(token=MM_TOKEN, text=text, command="/sb",
                channel_id="C0MM")
    st, _, data = request(port, "POST", "/mattermost/commands", body,
                          {"Content-Type":
                           "application/x-www-form-urlencoded",
                           "Authorization": "Token " + MM_TOKEN})
    try:
        return st, json.loads(data.decode())
    except ValueError:
        return st, None


# What Slack sends for the hostile text typed into its box: the typed
# <, > and & as entities, the mentions and links it recognised as
# markup.
SLACK_TYPED = ("<!channel> <!here> @here <@U0ADMIN|admin> "
               "<https://evil.example/a|click me> [evil](https://evil."
               "example/b) **bold** &lt;b&gt;x&lt;/b&gt; &amp;lt;!channel"
               "&amp;gt;")


def check_note(tap, port, code, mm_code):
    st, ans = slack_command(port, SLACK_SECRET, "note %s %s" %
                            (code, SLACK_TYPED), channel_id="C0SLK")
    text = ans.get("text", "") if ans else ""
    tap.ok(st == 200 and text.startswith("note on %s" % code),
           "a Slack note with hostile text is taken", (st, ans))
    tap.eq(SLACK_LIVE.findall(text), [],
           "Slack: the note's answer carries no live mention or link",
           text)
    tap.ok("@channel" in text and "&lt;b&gt;x&lt;/b&gt;" in text and
           "&amp;lt;!channel&amp;gt;" in text,
           "Slack: the answer shows the mention as a name and the typed "
           "markup as text, escaped again", text)
    if mm_code is None:
        tap.ok(False, "the Mattermost message names its conversation")
        return
    st, ans = mm_command(port, "note %s @here @channel @all @bob "
                         "[evil](https://evil.example/b)" % mm_code)
    text = ans.get("text", "") if ans else ""
    tap.ok(st == 200 and text.startswith("note on %s" % mm_code) and
           ans.get("response_type") == "in_channel",
           "a Mattermost note with hostile text is taken, answered in the "
           "channel", (st, ans))
    # Mattermost shows a teammate's text as typed (their own link is
    # theirs to post), but the answer is the bot's: no one is notified.
    tap.eq([m.group(0) for m in MM_MENTION.finditer(text)], [],
           "Mattermost: the note's answer notifies nobody", text)
    tap.ok("@\u200bhere" in text and "@\u200bbob" in text,
           "Mattermost: the mentions are shown, broken by a zero-width "
           "space", text)


# What the network must get for SLACK_TYPED: Slack's markup undone (a
# mention its name, a link its URL, not a label that could hide it),
# its entities decoded to what was typed; Bluesky text is plain.
PUBLISHED = ("@channel @here @here @admin https://evil.example/a "
             "[evil](https://evil.example/b) **bold** <b>x</b> "
             "&lt;!channel&gt;")


def check_reply(tap, port, code, pds, chat):
    def slk():
        return [r["body"] for r in chat.snapshot()[0]
                if r["path"] == "/hooks/slk"]
    before = len(slk())
    st, ans = slack_command(port, SLACK_SECRET, "reply %s %s" %
                            (code, SLACK_TYPED), channel_id="C0SLK")
    text = ans.get("text", "") if ans else ""
    tap.ok(st == 200 and "queued as acme-bsky" in text,
           "a Slack reply with hostile text is queued", (st, ans))
    tap.eq(SLACK_LIVE.findall(text), [],
           "Slack: its answer carries no live mention or link", text)
    done = wait_until(lambda: pds.posts(), tap.timeout(15))
    if not tap.ok(done, "it is published"):
        return
    rec = pds.posts()[0]["value"]
    tap.eq(rec["text"], PUBLISHED, "the published text has Slack's markup "
           "undone: mentions as names, links as their URLs, typed "
           "entities as typed")
    raw = rec["text"].encode()
    lying = [f for f in rec.get("facets", [])
             for feat in f["features"]
             if feat["$type"].endswith("#link") and
             raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() !=
             feat["uri"]]
    tap.eq(lying, [], "every link facet shows the URL it goes to")
    got = wait_until(lambda: [b for b in slk()[before:]
                              if "published" in json.dumps(b)],
                     tap.timeout(15))
    tap.ok(got, "the result reaches the Slack channel", slk()[before:])
    tap.eq([m.group(0) for b in slk()[before:] for t in texts(b)
            for m in SLACK_LIVE.finditer(t)], [],
           "Slack: nothing the daemon posted after the reply is a live "
           "mention or link")
    # The code of conduct judges the text as it will be published: a
    # blocked word hidden in Slack's entities or a link label is found.
    n = len(pds.posts())
    for typed in ("you are &lt;idiot&gt;", "see <mailto:x@y.example|idiot>",
                  "<@U0IDIOT|idiot> said"):
        st, ans = slack_command(port, SLACK_SECRET, "reply %s %s" %
                                (code, typed), channel_id="C0SLK")
        tap.ok(st == 200 and ans and ans.get("text", "").startswith(
            "not sent: contains the blocked word \"idiot\""),
               "a blocked word inside Slack markup is refused: %r" % typed,
               ans)
    time.sleep(1)
    tap.eq(len(pds.posts()), n, "and nothing more is published")


def chat_part(tap):
    wd = tap.subdir("chat")
    now = int(time.time() * 1e6)
    posts = [make_post(DID, "3hostile%s" % w[:4], HOSTILE % w, now + i)
             for i, w in enumerate(("aardvark", "bison", "coyote"))]
    js = JetstreamServer(events=posts)
    chat = ChatServer()
    plat = ChatPlatforms(bucket=50)
    pds = BlueskyPDS(handle=HANDLE, did=BRAND_DID, password=APP_PASSWORD)
    daemon = Daemon(wd)
    port = free_port()
    js.start()
    chat.start()
    plat.start()
    pds.start()
    try:
        daemon.write_config(chat_config(daemon.state, js.port, chat.port,
                                        plat.port, pds.port, port))
        daemon.start()
        codes = check_posts(tap, chat, plat, daemon)
        if codes and codes[0]:
            tap.run("note", check_note, tap, port, codes[0], codes[1])
            tap.run("reply", check_reply, tap, port, codes[0], pds, chat)
        rc, _ = daemon.stop()
        tap.eq(rc, 0, "that daemon stops cleanly")
        log = daemon.log()
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log, "no sanitizer report there",
               daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()
        plat.stop()
        pds.stop()


def main():
    tap = Tap("hostile")
    need_binary(tap)
    tap.run("chat", chat_part, tap)
    tap.run("listener", listener_part, tap)
    tap.finish()


if __name__ == "__main__":
    main()
