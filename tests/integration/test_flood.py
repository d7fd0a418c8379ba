#!/usr/bin/env python3
"""Flood: a hundred times the normal rate for a minute into one team.

"Normal" is what a busy team's Slack channel takes, one message a
second, a post to a message.  For a minute the Jetstream fake sends 100
matching posts a second, stamped with the time they are sent (about 2.5
times everything the whole Bluesky network posts).  The channel takes
digests of up to DIGEST_MAX posts, so for the minute the queue grows by
about 50 posts a second and then drains.  The test shows:

  - every post reaches the channel in exactly one message, counted by
    conversation code, with nothing left in the outbox;
  - the channel is never sent more than it allows (the fake answers 429
    to a message less than 0.9 s after the last one, and counts them),
    and no message breaks Block Kit's limits;
  - the daemon's memory stays under RSS_LIMIT_KIB and does not grow
    with the backlog: it keeps the backlog in the store, not in memory.

SB_FLOOD_SECONDS and SB_FLOOD_RATE change the length and the rate.
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
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap, clist,  # noqa
                    cstr, load_jsonl, wait_until)

SECONDS = float(os.environ.get("SB_FLOOD_SECONDS", "60"))
IN_RATE = float(os.environ.get("SB_FLOOD_RATE", "100"))   # posts a second
POSTS = int(SECONDS * IN_RATE)
RATE = 1.0              # messages a second the channel takes
MIN_INTERVAL = 0.9      # the fake's tolerance for timer jitter
DIGEST_MAX = 50         # posts a digest carries: half the flood's rate
DIGEST_AFTER = 5
# The documented bound (README, "Performance"), with AddressSanitizer's
# shadow memory and a 16 MiB quarantine included.
RSS_LIMIT_KIB = 128 * 1024
# Memory may not follow the backlog: between a backlog of BACKLOG_LOW
# posts and its peak, VmRSS grows by less than this.
BACKLOG_LOW = 500
GROWTH_LIMIT_KIB = 16 * 1024
DRAIN = POSTS / (DIGEST_MAX * RATE)     # seconds the channel needs
TIME_LIMIT = max(SECONDS, DRAIN) + 40
CHANNEL = "C0FLOOD"
S32 = "234567abcdefghijklmnopqrstuvwxyz"

CODE_LINE = re.compile(r"^`([0-9A-Z]{4,8})`", re.M)
CONTEXT_CODE = re.compile(r"conversation `([0-9A-Z]{4,8})`")

# The flood outlasts sbtest's usual limit for one test file.
sbtest.TEST_DEADLINE = TIME_LIMIT + 30


def rkey(i):
    """A record key in the TID alphabet, unique per copy."""
    out = ""
    for _ in range(9):
        out = S32[i % 32] + out
        i //= 32
    return "3mpz" + out


def recorded_posts():
    """The recorded post creates, and their authors."""
    base = [e for e in load_jsonl(sbtest.CORPUS)
            if e.get("kind") == "commit" and
            e["commit"].get("collection") == sbtest.POST and
            e["commit"].get("operation") == "create"]
    return base, sorted({e["did"] for e in base})


def flood_event(base, i):
    ev = copy.deepcopy(base[i % len(base)])
    ev["time_us"] = int(time.time() * 1e6)
    c = ev["commit"]
    c["rkey"] = rkey(i)
    c["rev"] = rkey(i)
    c["cid"] = "bafyreiflood%07d" % i
    c["record"].pop("reply", None)
    return ev


def feed(js, base, stop):
    """Send POSTS events at IN_RATE on an absolute schedule, in small
    batches so the rate holds whatever the fake's overhead."""
    t0 = time.monotonic()
    i = 0
    while i < POSTS and not stop.is_set():
        due = min(POSTS, int((time.monotonic() - t0) * IN_RATE) + 1)
        if due > i:
            js.add_events([flood_event(base, n) for n in range(i, due)])
            i = due
        stop.wait(0.01)


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


def proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def store_counts(db):
    """(posts recorded, deliveries pending), or None while locked."""
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=2)
        posts = c.execute("SELECT count(*) FROM posts").fetchone()[0]
        pending = c.execute("SELECT count(*) FROM outbox "
                            "WHERE state = 'pending'").fetchone()[0]
        c.close()
        return posts, pending
    except sqlite3.Error:
        return None


def flood(tap):
    wd = tap.subdir("flood")
    base, dids = recorded_posts()
    chat = ChatServer(min_interval=MIN_INTERVAL, channels=[CHANNEL],
                      lifetime=int(TIME_LIMIT) + 60)
    js = JetstreamServer(events=[], lifetime=int(TIME_LIMIT) + 60)
    daemon = Daemon(wd)
    # Under AddressSanitizer freed memory waits in a quarantine (256 MiB
    # by default) that VmRSS would count as ours; a small one leaves the
    # figure to what the daemon holds (plus ASan's shadow).
    opts = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
        "quarantine_size_mb=16"
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(js, base, stop))
    try:
        daemon.write_config(config(daemon.state, js.start(), chat.start(),
                                   dids))
        daemon.start()
        db = os.path.join(daemon.state, "switchboard.db")
        tap.ok(js.wait(lambda s: s.connections, 15),
               "the daemon connects to Jetstream", daemon.tail())
        t0 = time.monotonic()
        feeder.start()

        # Memory and backlog, twice a second, until the channel shows
        # every post.
        samples = []            # (seconds, VmRSS KiB, posts, pending)

        def sample():
            counts = store_counts(db)
            rss = proc_status_kib(daemon.proc.pid, "VmRSS")
            if counts is not None and rss is not None:
                samples.append((time.monotonic() - t0, rss) + counts)
            shown = sum(len(codes_of(r)[1]) for r in chat.snapshot()[0])
            return shown >= POSTS or not daemon.alive()
        done = wait_until(sample, tap.timeout(TIME_LIMIT), 0.5)
        elapsed = time.monotonic() - t0
        stop.set()
        feeder.join()
        wait_until(lambda: False, 2 * MIN_INTERVAL)
        hwm = proc_status_kib(daemon.proc.pid, "VmHWM")
        records, attempts = chat.snapshot()
        final = store_counts(db) or (None, None)

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

        peak = max(samples, key=lambda s: s[3]) if samples else None
        low = next((s for s in samples if s[3] >= BACKLOG_LOW), None)
        t_in = next((s[0] for s in samples if s[2] >= POSTS), None)
        growth = peak[1] - low[1] if peak and low else None
        tap.diag("flood: %d posts at %.0f a second for %.0f s, all "
                 "recorded after %s s; through the channel in %.1f s as "
                 "%d messages (%d digests of up to %d posts, %d single)"
                 % (POSTS, IN_RATE, SECONDS,
                    "%.1f" % t_in if t_in else "?", elapsed,
                    len(records), digests, biggest, singles))
        if peak and low:
            tap.diag("memory: VmRSS %d KiB at a backlog of %d (%.0f s), "
                     "%d KiB at the peak backlog of %d (%.0f s); VmHWM "
                     "%s KiB" % (low[1], low[3], low[0], peak[1], peak[3],
                                 peak[0], hwm))

        tap.ok(done and len(want) == POSTS and not missing,
               "every post is in a message (%d conversations, %d shown)"
               % (len(want), len(seen)), *(missing[:10] + [daemon.tail()]))
        tap.ok(not doubled and not stray, "every post is in exactly one "
               "message", *(doubled[:10] + stray[:10]))
        tap.eq(final[1], 0, "nothing is left in the outbox")
        tap.ok(t_in is not None and t_in < SECONDS + 5,
               "the daemon kept up with the flood: every post recorded "
               "%.1f s after the first was sent" % (t_in or -1))
        tap.ok(digests > 0 and biggest <= DIGEST_MAX and
               digests + singles <= POSTS / (DIGEST_MAX / 2),
               "digests carried the flood (%d digests, at most %d posts "
               "each)" % (digests, biggest))
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
        tap.ok(peak is not None and peak[3] >= 4 * BACKLOG_LOW,
               "the backlog built up in the store (peak %s pending)"
               % (peak[3] if peak else None))
        tap.ok(growth is not None and growth < GROWTH_LIMIT_KIB,
               "memory does not follow the backlog: VmRSS grew %s KiB "
               "from a backlog of %d to its peak (limit %d KiB)"
               % (growth, BACKLOG_LOW, GROWTH_LIMIT_KIB))
        tap.ok(hwm is not None and hwm < RSS_LIMIT_KIB,
               "the daemon's peak RSS stays under %d MiB (%s KiB)"
               % (RSS_LIMIT_KIB // 1024, hwm))
        rc, _ = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0",
               daemon.tail())
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join()
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
