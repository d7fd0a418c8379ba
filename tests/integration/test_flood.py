#!/usr/bin/env python3
"""Flood: 5,000 matching posts in a burst to a Slack channel that takes
one message a second.  Every post reaches the channel in exactly one
message (a digest, or a message of its own), counted by conversation
code; digests carry the load; no message breaks Block Kit's limits; the
channel is never sent more than it allows (the fake answers 429 to a
message less than 0.9 s after the last one, and counts them); the
daemon's peak memory stays bounded and the run ends in reasonable time.

The posts are synthetic copies of the real posts recorded from Bluesky
(tests/data/jetstream-corpus.jsonl): each recorded post's record, with
a new record key and time and without its reply reference, so each copy
starts its own conversation.
"""

import copy
import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap, clist,  # noqa
                    cstr, load_jsonl, wait_until)

POSTS = 5000
RATE = 1.0              # messages a second the channel takes
MIN_INTERVAL = 0.9      # the fake's tolerance for timer jitter
DIGEST_MAX = 200
DIGEST_AFTER = 5
RSS_LIMIT_KIB = 200 * 1024      # generous: ASan's shadow memory included
TIME_LIMIT = 85
CHANNEL = "C0FLOOD"
S32 = "234567abcdefghijklmnopqrstuvwxyz"

CODE_LINE = re.compile(r"^`([0-9A-Z]{4,8})`", re.M)
CONTEXT_CODE = re.compile(r"conversation `([0-9A-Z]{4,8})`")


def rkey(i):
    """A record key in the TID alphabet, unique per copy."""
    out = ""
    for _ in range(9):
        out = S32[i % 32] + out
        i //= 32
    return "3mpz" + out


def flood_events():
    """POSTS copies of the recorded post creates, in a fresh time span."""
    base = [e for e in load_jsonl(sbtest.CORPUS)
            if e.get("kind") == "commit" and
            e["commit"].get("collection") == sbtest.POST and
            e["commit"].get("operation") == "create"]
    t0 = int(time.time() * 1e6) - 60 * 1000000
    out = []
    for i in range(POSTS):
        ev = copy.deepcopy(base[i % len(base)])
        ev["time_us"] = t0 + i * 100
        c = ev["commit"]
        c["rkey"] = rkey(i)
        c["rev"] = rkey(i)
        c["cid"] = "bafyreiflood%07d" % i
        c["record"].pop("reply", None)
        out.append(ev)
    return out, sorted({e["did"] for e in base})


def config(state, js_port, chat_port, dids):
    return """
general = { state_directory = %s; log_level = "info"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; rewind = 5; idle_timeout = 30;
  reconnect_min = 50; reconnect_max = 500; max_frame_size = 65536; } );
teams = (
  { name = "care";
    chat = { type = "slack"; token = "xoxb-test"; channel = %s;
      api_url = "http://127.0.0.1:%d/api"; rate = %.1f; burst = 1;
      timeout = 10; digest_after = %d; digest_max = %d; };
    rules = ( { name = "recorded"; authors = %s; } ); }
);
""" % (cstr(state), js_port, cstr(CHANNEL), chat_port, RATE, DIGEST_AFTER,
       DIGEST_MAX, clist(dids))


def codes_of(rec):
    """(is a digest, the conversation codes a message shows)."""
    body = rec["body"]
    if (body.get("text") or "").startswith("[care] Digest of "):
        text = "\n".join(b["text"]["text"] for b in body["blocks"][1:])
        return True, CODE_LINE.findall(text)
    ctx = str(body.get("blocks"))
    return False, CONTEXT_CODE.findall(ctx)


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def flood(tap):
    wd = tap.subdir("flood")
    events, dids = flood_events()
    chat = ChatServer(min_interval=MIN_INTERVAL, channels=[CHANNEL])
    js = JetstreamServer(events=events)
    daemon = Daemon(wd)
    # Under AddressSanitizer freed memory waits in a quarantine (256 MiB
    # by default) that VmHWM would count as ours; a small one leaves the
    # figure to what the daemon holds (plus ASan's shadow).
    opts = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
        "quarantine_size_mb=16"
    try:
        daemon.write_config(config(daemon.state, js.start(), chat.start(),
                                   dids))
        t0 = time.monotonic()
        daemon.start()
        db = os.path.join(daemon.state, "switchboard.db")

        def all_recorded():
            try:
                c = sqlite3.connect("file:%s?mode=ro" % db, uri=True,
                                    timeout=5)
                n = c.execute("SELECT count(*) FROM posts").fetchone()[0]
                c.close()
                return n >= POSTS
            except sqlite3.Error:
                return False
        recorded = wait_until(all_recorded, tap.timeout(TIME_LIMIT), 0.5)
        t_in = time.monotonic() - t0
        tap.ok(recorded, "all %d posts recorded (%.1f s)" % (POSTS, t_in),
               daemon.tail())

        def shown(c):
            return sum(len(codes_of(r)[1]) for r in c.records) >= POSTS
        done = chat.wait(shown, tap.timeout(TIME_LIMIT - t_in))
        elapsed = time.monotonic() - t0
        wait_until(lambda: False, 2 * MIN_INTERVAL)
        hwm = vm_hwm_kib(daemon.proc.pid)
        records, attempts = chat.snapshot()

        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
        want = [r[0] for r in con.execute(
            "SELECT code FROM conversations")]
        con.close()
        seen, digests, singles, biggest = {}, 0, 0, 0
        for r in records:
            is_digest, codes = codes_of(r)
            digests += is_digest
            singles += not is_digest
            biggest = max(biggest, len(codes))
            for c in codes:
                seen[c] = seen.get(c, 0) + 1
        missing = sorted(set(want) - set(seen))
        doubled = sorted(c for c, n in seen.items() if n > 1)
        stray = sorted(set(seen) - set(want))
        tap.diag("flood: %d posts in %d messages (%d digests of up to %d "
                 "posts, %d single) in %.1f s; daemon VmHWM %s KiB"
                 % (POSTS, len(records), digests, biggest, singles,
                    elapsed, hwm))
        tap.ok(done and len(want) == POSTS and not missing,
               "every post is in a message (%d conversations, %d shown)"
               % (len(want), len(seen)), *(missing[:10] + [daemon.tail()]))
        tap.ok(not doubled and not stray, "every post is in exactly one "
               "message", *(doubled[:10] + stray[:10]))
        tap.ok(digests >= POSTS // DIGEST_MAX and biggest <= DIGEST_MAX,
               "digests carried the flood (%d, at most %d posts each)"
               % (digests, biggest))
        tap.ok(not chat.violations, "no message over Block Kit's limits "
               "(50 blocks, 3000 characters a section)",
               *chat.violations[:10])
        over = [a for a in attempts if a["status"] == 429]
        tap.ok(chat.limited == 0 and not over and not attempts,
               "the channel was never sent more than 1 message a second "
               "(%d answered 429)" % chat.limited,
               *[repr(a) for a in attempts[:10]])
        gaps = [b["t"] - a["t"] for a, b in zip(records, records[1:])]
        tap.ok(not gaps or min(gaps) >= MIN_INTERVAL,
               "messages at least %.1f s apart (closest %.2f s)"
               % (MIN_INTERVAL, min(gaps) if gaps else 0))
        tap.ok(hwm is not None and hwm < RSS_LIMIT_KIB,
               "the daemon's peak RSS stays under %d MiB (%s KiB)"
               % (RSS_LIMIT_KIB // 1024, hwm))
        tap.ok(done and elapsed < TIME_LIMIT, "the flood is through in "
               "%.1f s (limit %d s)" % (elapsed, TIME_LIMIT))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0",
               daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("flood")
    sbtest.need_binary(tap)
    tap.run("flood", flood, tap)
    tap.finish()


if __name__ == "__main__":
    main()
