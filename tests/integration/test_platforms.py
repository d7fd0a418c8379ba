#!/usr/bin/env python3
"""Discord, Microsoft Teams, Matrix and the signed JSON webhook end to
end: recorded posts (and synthetic conversations) routed to four teams,
one per platform, each reaching its chat exactly once through each
platform's own 429 signal (whose wait is checked), 5xx answers and a
timeout; Matrix retries reusing their transaction id; Discord and Matrix
threading a conversation's later posts under its first; every webhook
signature verifying; then SIGKILL while a request to every platform is
in flight and a restart: no post lost, doubles counted and within the
documented window (one message per destination, none on Matrix)."""

import os
import re
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (Daemon, JetstreamServer, Tap, cstr, clist,  # noqa: E402
                    post_uri, render_rule, route, url_of_id, wait_until,
                    web_url)
from chat_platforms import ChatPlatforms  # noqa: E402

TIMEOUT = 40
MATRIX_TOKEN = "syt_c2J0ZXN0_platformsTEST_0a1b2c"
MATRIX_ROOM = "!sbRoom:test.example"
WEBHOOK_SECRET = "whsec-platforms-0123456789abcdef"
DISCORD_HOOK = "1100000000000000001"
DID = "did:plc:sbtestplatforms0000000001"

# Team -> (platform, the rules it owns).  The recorded corpus splits by
# language and keyword; each team also owns one synthetic conversation
# whose later posts must land in the first one's thread.
TEAMS = [
    ("disc", "discord", [sbtest.rule("turkish", languages=["tr"]),
                         sbtest.rule("zebra", keywords=["zebra"])]),
    ("mx", "matrix", [sbtest.rule("asia", languages=["ja", "ko", "ru"]),
                      sbtest.rule("walrus", keywords=["walrus"])]),
    ("tms", "teams", [sbtest.rule("english", languages=["en"],
                                  keywords=["government", "america",
                                            "video", "show", "election"]),
                      sbtest.rule("otter", keywords=["otter"])]),
    ("hook", "webhook", [sbtest.rule("tags", hashtags=[
        "howtotellaitoshutup", "talesatwonderworld"]),
        sbtest.rule("heron", keywords=["heron"])]),
]
PLATFORM_OF = {t: p for t, p, _ in TEAMS}
WORDS = {"disc": "zebra", "mx": "walrus", "tms": "otter", "hook": "heron"}


def chat_group(platform, port):
    common = "rate = 20.0; burst = 10; timeout = 2;"
    if platform == "discord":
        return ("type = \"discord\"; webhook_url = \"http://127.0.0.1:%d/"
                "api/webhooks/%s/tokenDISC\"; forum = true; %s"
                % (port, DISCORD_HOOK, common))
    if platform == "teams":
        return ("type = \"teams\"; webhook_url = \"http://127.0.0.1:%d/"
                "workflows/0a1b/triggers/manual/paths/invoke?api-version="
                "2016-06-01&sig=SIGteams\"; %s" % (port, common))
    if platform == "matrix":
        return ("type = \"matrix\"; homeserver = \"http://127.0.0.1:%d\"; "
                "room_id = %s; access_token = %s; %s"
                % (port, cstr(MATRIX_ROOM), cstr(MATRIX_TOKEN), common))
    return ("type = \"webhook\"; webhook_url = \"http://127.0.0.1:%d/hooks/"
            "sb\"; secret = %s; %s" % (port, cstr(WEBHOOK_SECRET), common))


def render_config(state, js_port, chat_port):
    out = ["general = { state_directory = %s; log_level = \"debug\"; };"
           % cstr(state),
           "sources = ( { name = \"bluesky\"; type = \"jetstream\"; "
           "url = \"ws://127.0.0.1:%d/subscribe\"; rewind = 5; "
           "idle_timeout = 5; reconnect_min = 50; reconnect_max = 500; "
           "max_frame_size = 65536; } );" % js_port,
           "teams = ("]
    for i, (name, platform, rules) in enumerate(TEAMS):
        out.append("  { name = %s; chat = { %s }; rules = ( %s ); }%s" %
                   (cstr(name), chat_group(platform, chat_port),
                    ", ".join(render_rule(r) for r in rules),
                    "," if i + 1 < len(TEAMS) else ""))
    out.append(");")
    out.append("routing = { fallback_team = \"hook\"; brand = { keywords = "
               "%s; }; drop = ( { name = \"politics\"; keywords = "
               "[\"maga\"]; } ); };" % clist(["youtube", "files"]))
    return "\n".join(out) + "\n"


def conversation(team, n, t0):
    """A root post and n - 1 replies to it, for team's keyword."""
    word = WORDS[team]
    events = []
    root = None
    for i in range(n):
        rkey = "3sb%s%02d" % (word, i)
        text = "%s %s %d" % (word, "starts a conversation" if i == 0 else
                             "says more", i)
        ev = sbtest.make_post(DID, rkey, text, t0 + i * 1000)
        rec = ev["commit"]["record"]
        if root is None:
            root = {"uri": post_uri(DID, rkey), "cid": "bafyreitest" + rkey}
        else:
            rec["reply"] = {"root": dict(root), "parent": dict(root)}
        events.append(ev)
    return events


def stream_events(n):
    events = sbtest.load_jsonl(sbtest.CORPUS)
    t0 = max(e["time_us"] for e in events) + 1000
    for i, team in enumerate(sorted(WORDS)):
        events += conversation(team, n, t0 + i * 100000)
    return events


def roots_of(dump):
    """Post URL -> (the URL of its conversation's root, its place in the
    stream)."""
    out = {}
    for i, e in enumerate(sbtest.load_jsonl(dump)):
        c = e.get("commit") or {}
        if e.get("kind") != "commit" or c.get("collection") != sbtest.POST \
                or c.get("operation") != "create":
            continue
        url = web_url(e["did"], c["rkey"])
        reply = (c.get("record") or {}).get("reply") or {}
        root = (reply.get("root") or {}).get("uri")
        out[url] = (url_of_id(root) if root else url, i)
    return out


def post_url(rec):
    """The post a new message shows, from where each platform puts it."""
    b = rec.get("body") or {}
    try:
        if rec["platform"] == "discord":
            return b["embeds"][0]["url"]
        if rec["platform"] == "teams":
            card = b["attachments"][0]["content"]
            return card["actions"][0]["url"]
        if rec["platform"] == "matrix":
            m = sbtest.URL_RE.search(b["formatted_body"])
            return m.group(0) if m else None
        return b["post"]["url"]
    except (KeyError, IndexError, TypeError):
        return None


def expected(tap, daemon, dump):
    rc, rows, err, bad = route(daemon.conf, dump)
    exp = sbtest.expected_deliveries(rows, PLATFORM_OF)
    per = {p: sum(1 for v in exp.values() if v == p) for _, p, _ in TEAMS}
    tap.ok(rc == 0 and not bad and all(n >= 4 for n in per.values()),
           "the rules give every platform posts to deliver (%s)" %
           ", ".join("%s %d" % kv for kv in sorted(per.items())),
           "route status %d" % rc, err, *bad)
    return exp


def delivered(srv):
    """[(platform, post URL or None)] of accepted new messages."""
    return [(r["platform"], post_url(r)) for r in srv.new_messages()]


def counts(srv):
    seen = {}
    for platform, url in delivered(srv):
        seen.setdefault(url, []).append(platform)
    return seen


def all_arrived(srv, exp):
    seen = counts(srv)
    return all(u in seen for u in exp)


def problems_of(exp, srv, doubles_ok=False):
    """Missing, doubled, misplaced and unexpected deliveries; with
    doubles_ok, doubles are counted per platform instead."""
    problems, doubles = [], {}
    seen = counts(srv)
    if None in seen:
        problems.append("%d messages show no post URL" % len(seen[None]))
    for url, want in sorted(exp.items()):
        got = seen.get(url, [])
        if not got:
            problems.append("missing: %s (for %s)" % (url, want))
        elif any(p != want for p in got):
            problems.append("wrong platform: %s on %s, want %s" %
                            (url, got, want))
        elif len(got) > 1:
            doubles[want] = doubles.get(want, 0) + len(got) - 1
            if not doubles_ok:
                problems.append("%d deliveries: %s on %s" %
                                (len(got), url, want))
    for url, got in sorted(seen.items()):
        if url is not None and url not in exp:
            problems.append("unexpected: %s on %s" % (url, got))
    return problems, doubles


def check_waits(tap, srv):
    """After a 429, that platform's next request comes no earlier than
    the wait its own signal asked for."""
    records, attempts = srv.snapshot()
    early, seen = [], set()
    for a in attempts:
        if a["status"] != 429 or not isinstance(a.get("retry_after"),
                                                (int, float)):
            continue
        seen.add(a["platform"])
        nxt = [r["t"] for r in records + attempts
               if r["platform"] == a["platform"] and r["t"] > a["t"]]
        if nxt and min(nxt) - a["t"] < a["retry_after"] - 0.05:
            early.append("%s: next request %.3f s after a 429 asking for "
                         "%.3f s" % (a["platform"], min(nxt) - a["t"],
                                     a["retry_after"]))
    tap.ok(seen == {"discord", "teams", "matrix", "webhook"} and not early,
           "every platform's 429 wait is honoured: Discord's retry_after, "
           "Matrix's Retry-After and retry_after_ms, Retry-After for Teams "
           "and the webhook (%s)" % ", ".join(sorted(seen)), *early)
    bucket = [a for a in attempts if a.get("retry_after") == "bucket"]
    emptied = [r for r in records if r["platform"] == "discord" and
               r.get("remaining") == 0]
    tap.ok(emptied and not bucket, "Discord's X-RateLimit bucket was "
           "emptied %d times and never overrun: Remaining 0 and "
           "Reset-After are honoured after a success" % len(emptied),
           "%d requests hit an empty bucket" % len(bucket))


def check_statuses(tap, srv):
    _, attempts = srv.snapshot()
    for platform in ("discord", "teams", "matrix", "webhook"):
        st = {a["status"] for a in attempts if a["platform"] == platform}
        want = {429, 0} | ({500} if platform != "teams" else {503})
        if platform == "matrix":
            want = {429, 500}
        tap.ok(want <= st, "%s: the scripted answers were all exercised "
               "(%s)" % (platform, sorted(st)))


def check_matrix_txns(tap, srv):
    records, attempts = srv.snapshot()
    stored = [r for r in records if r["platform"] == "matrix"]
    txns = [r["txn"] for r in stored]
    failed = {a["txn"] for a in attempts if a["platform"] == "matrix"}
    replays = list(srv.matrix_replays)
    tap.ok(len(txns) == len(set(txns)) and failed <= set(txns) and
           replays and {r["txn"] for r in replays} <= set(txns),
           "Matrix: every retry reused its transaction id (%d failed "
           "attempts, %d answered again from the transaction, %d events "
           "stored once each)" % (len(failed), len(replays), len(stored)),
           "failed txns never stored: %s" % sorted(failed - set(txns)))


def check_threads(tap, srv, roots):
    """Later posts of a conversation hang under its first message."""
    by_conv = {}
    for r in srv.new_messages():
        url = post_url(r)
        by_conv.setdefault((r["platform"], roots.get(url, (url, 0))[0]),
                           []).append(r)
    wrong, threaded = [], {"discord": 0, "matrix": 0, "webhook": 0}
    for (platform, root), msgs in sorted(by_conv.items()):
        if len(msgs) < 2 or platform == "teams":
            continue
        first, later = msgs[0], msgs[1:]
        places = [roots.get(post_url(m), (None, -1))[1] for m in msgs]
        if places != sorted(places):
            wrong.append("%s: conversation %s out of order: %s" %
                         (platform, root, places))
        for m in later:
            if platform == "discord":
                ok = first.get("started_thread") and \
                    m.get("thread") == first["id"]
            elif platform == "matrix":
                rel = m.get("relates_to") or {}
                ok = rel.get("rel_type") == "m.thread" and \
                    rel.get("event_id") == first["id"]
            else:
                ok = m["body"].get("thread") == first["id"]
            if ok:
                threaded[platform] += 1
            else:
                wrong.append("%s: %s not in the thread of %s" %
                             (platform, post_url(m), root))
    tap.ok(not wrong and threaded["discord"] >= 4 and
           threaded["matrix"] >= 4,
           "Discord (a forum thread), Matrix (m.thread) and the webhook "
           "(its receiver's id) put a conversation's later posts under its "
           "first, in order (%s)" % ", ".join(
               "%s %d" % kv for kv in sorted(threaded.items())),
           *sbtest.few(wrong))


def check_webhook(tap, srv):
    records, attempts = srv.snapshot()
    hooks = [r for r in records if r["platform"] == "webhook"]
    bad = [a for a in attempts if a["platform"] == "webhook" and
           a["status"] == 401]
    tap.ok(hooks and all(r.get("verified") for r in hooks) and not bad,
           "the webhook receiver verified the signature of every one of "
           "%d requests" % len(hooks), "%d refused" % len(bad))
    pings = [r for r in records if r["platform"] == "discord" and
             r.get("allowed_mentions") != {"parse": []}]
    tap.ok(not pings, "every Discord message forbids all mentions",
           *[str(r.get("allowed_mentions")) for r in pings[:5]])


def retries(tap):
    wd = tap.subdir("retries")
    dump = os.path.join(wd, "dump.jsonl")
    srv = ChatPlatforms(
        scripts={
            "discord": "ok,429:1.5,ok,ok,500,ok,hang,ok,ok,ok",
            "teams": "ok,429:1,ok,503,ok,hang,ok,ok",
            "matrix": "ok,429:2,ok,429ms:1500,ok,500,ok,slow,ok,ok",
            "webhook": "ok,429:1,ok,500,ok,hang,ok,ok",
        },
        discord_forum=[DISCORD_HOOK], matrix_token=MATRIX_TOKEN,
        matrix_room=MATRIX_ROOM, webhook_secret=WEBHOOK_SECRET, hang=3.0,
        attempts=os.path.join(wd, "attempts.jsonl"),
        record=os.path.join(wd, "record.jsonl"))
    js = JetstreamServer(events=stream_events(4), repeat=2, dump=dump)
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          srv.start()))
        exp = expected(tap, daemon, dump)
        daemon.start()
        wait_until(lambda: all_arrived(srv, exp), tap.timeout(TIMEOUT), 0.1)
        wait_until(lambda: False, sbtest.SETTLE)
        problems, _ = problems_of(exp, srv)
        tap.ok(not problems, "through 429s, 5xx and timeouts every post "
               "reaches its platform exactly once (%d posts)" % len(exp),
               *(sbtest.few(problems) + [daemon.tail()]))
        check_statuses(tap, srv)
        check_waits(tap, srv)
        check_matrix_txns(tap, srv)
        check_threads(tap, srv, roots_of(dump))
        check_webhook(tap, srv)
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, daemon.tail())
        tap.ok(MATRIX_TOKEN not in daemon.log() and WEBHOOK_SECRET not in
               daemon.log() and "tokenDISC" not in daemon.log() and
               "SIGteams" not in daemon.log(),
               "no token, secret or webhook credential reaches the log")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        srv.stop()


def crash(tap):
    wd = tap.subdir("crash")
    dump = os.path.join(wd, "dump.jsonl")
    # Each answer comes 0.6 s after the message is stored: a kill in
    # that time leaves a message the daemon never heard was delivered.
    srv = ChatPlatforms(discord_forum=[DISCORD_HOOK], bucket=50,
                        matrix_token=MATRIX_TOKEN, matrix_room=MATRIX_ROOM,
                        webhook_secret=WEBHOOK_SECRET, slow=0.6)
    js = JetstreamServer(events=stream_events(5), repeat=2, dump=dump)
    daemon = Daemon(wd)
    platforms = ("discord", "teams", "matrix", "webhook")
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          srv.start()))
        exp = expected(tap, daemon, dump)
        daemon.start()

        def all_in_flight(s):
            return all(s.held[p] > 0 and len(s.new_messages(p)) >= 2
                       for p in platforms)
        caught = srv.wait(all_in_flight, tap.timeout(TIMEOUT))
        if caught:
            daemon.kill()
        held = dict(srv.held)
        tap.ok(caught, "SIGKILL while a request to every platform was "
               "stored but not yet answered (%s)" % held, daemon.tail())
        srv.slow = 0.0
        before = len(srv.matrix_replays)
        daemon.start()
        wait_until(lambda: all_arrived(srv, exp), tap.timeout(TIMEOUT), 0.1)
        wait_until(lambda: False, sbtest.SETTLE)
        problems, doubles = problems_of(exp, srv, doubles_ok=True)
        tap.ok(not problems, "after the restart no post is lost (%d "
               "posts)" % len(exp),
               *(sbtest.few(problems) + [daemon.tail()]))
        tap.diag("doubles after SIGKILL: %s" % (doubles or "none"))
        tap.ok(doubles.get("matrix", 0) == 0 and
               len(srv.matrix_replays) > before,
               "Matrix: no double, the resent transaction was answered "
               "with its event (%d replays)" %
               (len(srv.matrix_replays) - before))
        over = {p: n for p, n in doubles.items() if n > 1}
        tap.ok(not over, "at most one double per other platform, the "
               "message in flight at the kill (%s)" % (doubles or "none"),
               str(over))
        recs = srv.new_messages("webhook")
        dup_ids = sum(len(r.get("doubles") or []) for r in recs)
        tap.eq(dup_ids, doubles.get("webhook", 0), "the webhook receiver "
               "recognises each double by its X-Switchboard-Delivery id")
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM after the restart: status 0 (%.1f s)"
               % secs, daemon.tail())
        tap.ok(not re.search(r"runtime error|AddressSanitizer",
                             daemon.log()), "no sanitizer report")
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        srv.stop()


def reference_example(tap):
    """The commented teams of the four platforms in conf/switchboard.conf
    are valid: uncommented, they pass --check-config as four more."""
    wd = tap.subdir("config")
    ref = os.path.join(sbtest.SRCDIR, "conf", "switchboard.conf")
    with open(ref, encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = lines.index("\t# The other chat platforms, one team each "
                        "(uncomment to use).") + 2
    end = lines.index(");", start)
    types = []
    for j in range(start, end):
        lines[j] = re.sub(r"^\t# ?", "\t", lines[j])
        m = re.search(r'type = "(\w+)";', lines[j])
        if m:
            types.append(m.group(1))
    conf = os.path.join(wd, "reference.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.environ["SWITCHBOARD_MATRIX_TOKEN"] = "syt_example"
    os.environ["SWITCHBOARD_ANALYTICS_SECRET"] = "0123456789abcdef-example"
    rc, out, err = sbtest.run_cli(["--check-config", "--config", conf])
    rc0, out0, err0 = sbtest.run_cli(["--check-config", "--config", ref])
    n = [re.search(r"(\d+) teams", o) for o in (out0, out)]
    tap.ok(rc == 0 and rc0 == 0 and all(n) and
           int(n[1].group(1)) == int(n[0].group(1)) + 4 and
           sorted(types) == ["discord", "matrix", "teams", "webhook"],
           "the examples of the four platforms in conf/switchboard.conf, "
           "uncommented, pass --check-config (%s)" % ", ".join(types),
           out0, err0, out, err)


def main():
    tap = Tap("platforms")
    sbtest.need_binary(tap)
    for fn in (reference_example, retries, crash):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
