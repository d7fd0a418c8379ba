#!/usr/bin/env python3
"""Health and metrics over real HTTP: /readyz says 503 until the source
connects, when it drops and while the store fails, and 200 otherwise;
/metrics parses as the Prometheus text format 0.0.4 (a strict parser
below) and its counters are exactly what the traffic predicts: events,
bad and oversize frames, posts routed per team and rule, dropped,
ignored and duplicate posts, deliveries ok/retried/failed and 429s per
destination, queue depth, a destination down, chat commands, label
values escaped; `switchboard status` shows the same numbers to a
person, and says so when the daemon is not reachable."""

import http.client
import os
import re
import sqlite3
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    cstr, free_port, make_post, need_binary, run_cli,
                    slack_command, wait_until)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DID = "did:plc:metricsmetricsmetrics22"
# A destination name no config allows, left in the store (as by an old
# version): its label value needs every escape the format has.
HOSTILE = 'we"ird\\team\nx'


def get(port, path):
    """(status, Content-Type, body) of GET path on the listener."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), \
            r.read().decode("utf-8")
    finally:
        c.close()


# The strict parser of the text exposition format 0.0.4.

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf"):
        return float(s)
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", s):
        raise ValueError("bad value %r" % s)
    return float(s)


def parse_labels(s, i):
    """Labels from s[i] (just after '{') to the closing '}': (dict,
    index after '}')."""
    labels = {}
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = LABEL_RE.match(s, i)
        if not m:
            raise ValueError("bad label name at %d" % i)
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ValueError("expected =\" after %s" % name)
        i += 2
        value = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                if esc not in '\\"n':
                    raise ValueError("bad escape \\%s" % esc)
                value.append("\n" if esc == "n" else esc)
                i += 2
            else:
                value.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise ValueError("label %s twice" % name)
        labels[name] = "".join(value)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ValueError("expected , or } at %d" % i)


def parse_metrics(text):
    """{family: {"help", "type", "samples": {labels tuple: value}}};
    raises ValueError on anything the format does not allow here."""
    if not text.endswith("\n"):
        raise ValueError("no final newline")
    fams, current = {}, None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        try:
            if line.startswith("# HELP "):
                name, _, help_ = line[7:].partition(" ")
                if not NAME_RE.fullmatch(name) or name in fams:
                    raise ValueError("bad or repeated family %r" % name)
                fams[name] = {"help": help_, "type": None, "samples": {}}
                current = name
            elif line.startswith("# TYPE "):
                name, _, typ = line[7:].partition(" ")
                if name != current or fams[name]["type"] is not None:
                    raise ValueError("TYPE %s without its HELP" % name)
                if typ not in TYPES:
                    raise ValueError("bad type %r" % typ)
                if typ == "counter" and not name.endswith("_total"):
                    raise ValueError("counter %s without _total" % name)
                fams[name]["type"] = typ
            elif line.startswith("#") or line == "":
                raise ValueError("stray line")
            else:
                m = NAME_RE.match(line)
                if not m or m.group(0) != current or \
                        fams[current]["type"] is None:
                    raise ValueError("sample outside its family")
                i, labels = m.end(), {}
                if line[i] == "{":
                    labels, i = parse_labels(line, i + 1)
                if line[i] != " ":
                    raise ValueError("expected one space")
                value = parse_value(line[i + 1:])
                key = tuple(sorted(labels.items()))
                if key in fams[current]["samples"]:
                    raise ValueError("sample twice")
                fams[current]["samples"][key] = value
        except (ValueError, IndexError) as e:
            raise ValueError("line %d %r: %s" % (n, line, e))
    for name, f in fams.items():
        if f["type"] is None:
            raise ValueError("family %s without TYPE" % name)
    return fams


def sample(fams, name, **labels):
    """The value of one sample, or None."""
    f = fams.get(name)
    if f is None:
        return None
    return f["samples"].get(tuple(sorted(labels.items())))


def scrape(port):
    st, ctype, body = get(port, "/metrics")
    if st != 200:
        raise ValueError("/metrics: HTTP %d" % st)
    return ctype, body, parse_metrics(body)


def config(state, js_port, chat_a, chat_b, port):
    hook_a = "http://127.0.0.1:%d/hooks/" % chat_a
    hook_b = "http://127.0.0.1:%d/hooks/" % chat_b
    return """
general = { state_directory = %s; log_level = "debug"; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:%d/subscribe"; rewind = 0; idle_timeout = 5;
  reconnect_min = 50; reconnect_max = 300; max_frame_size = 65536; } );
teams = (
  { name = "care"; chat = { type = "slack"; webhook_url = %s;
      rate = 50.0; burst = 20; timeout = 5; };
    rules = ( { name = "english"; keywords = [ "alpha" ]; } ); },
  { name = "sales"; chat = { type = "slack"; webhook_url = %s;
      rate = 50.0; burst = 20; timeout = 5; down_after = 2; };
    rules = ( { name = "beta"; keywords = [ "beta" ]; } ); },
  { name = "ops"; chat = { type = "slack"; webhook_url = %s;
      rate = 50.0; burst = 20; timeout = 5; };
    rules = ( { name = "gamma"; keywords = [ "gamma" ]; } ); }
);
routing = { drop = ( { name = "noise"; keywords = [ "noise" ]; } ); };
listener = { address = "127.0.0.1"; port = %d;
  slack_signing_secret = %s; };
""" % (cstr(state), js_port, cstr(hook_a + "care"), cstr(hook_b + "sales"),
       cstr(hook_a + "ops"), port, cstr(SECRET))


def traffic(t0):
    """Eight posts a second apart from t0 (µs): two for care, one for
    sales, two for ops, one dropped, one nobody wants, and care's first
    again (a duplicate)."""
    texts = ["alpha one", "beta one", "gamma one", "alpha two",
             "noise here", "nothing to see", "gamma two"]
    evs = [make_post(DID, "3metricspost%d" % i, t, t0 + i * 1000000)
           for i, t in enumerate(texts)]
    dup = make_post(DID, "3metricspost0", texts[0], t0 + 7 * 1000000)
    return evs + [dup]


def sql(db, statement, *args):
    con = sqlite3.connect(db, timeout=10)
    try:
        con.execute(statement, args)
        con.commit()
    finally:
        con.close()


def inject_hostile(db):
    """A copy of a pending sales delivery, for a destination named
    HOSTILE, due far in the future."""
    con = sqlite3.connect(db, timeout=10)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(outbox)")
                if r[1] not in ("id", "destination", "next_try_ms")]
        con.execute("INSERT INTO outbox (destination, next_try_ms, %s) "
                    "SELECT ?, ?, %s FROM outbox WHERE destination = "
                    "'sales' AND state = 'pending' LIMIT 1"
                    % (", ".join(cols), ", ".join(cols)),
                    (HOSTILE, int(time.time() * 1000) + 86400000))
        con.commit()
    finally:
        con.close()


def rows(text, first):
    """The whitespace-split row of a status table starting with first."""
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == first:
            return f
    return None


def check_counters(tap, fams, t_last):
    m = lambda *a, **k: sample(fams, *a, **k)  # noqa: E731
    src = {"source": "bluesky"}
    tap.eq((m("switchboard_events_received_total", **src),
            m("switchboard_parse_errors_total", **src),
            m("switchboard_oversize_frames_total", **src)),
           (12.0, 3.0, 1.0), "frames: 8 posts and 4 garbage messages, "
           "3 of them bad and 1 oversize")
    tap.eq(m("switchboard_posts_total"), 8.0, "8 posts parsed")
    routed = {k: v for k, v in
              fams["switchboard_posts_routed_total"]["samples"].items()}
    tap.eq(routed, {(("rule", "care/english"), ("team", "care")): 2.0,
                    (("rule", "sales/beta"), ("team", "sales")): 1.0,
                    (("rule", "ops/gamma"), ("team", "ops")): 2.0},
           "posts routed per team and rule")
    tap.eq((m("switchboard_posts_dropped_total"),
            m("switchboard_posts_ignored_total"),
            m("switchboard_posts_duplicate_total")), (1.0, 1.0, 1.0),
           "one post dropped, one ignored, one duplicate")
    d = lambda dest, res: m("switchboard_deliveries_total",  # noqa: E731
                            destination=dest, result=res)
    tap.eq((d("care", "ok"), d("care", "retried"), d("care", "failed"),
            m("switchboard_rate_limited_total", destination="care")),
           (2.0, 2.0, None, 2.0), "care: 2 delivered, each after one 429 "
           "that was retried")
    tap.eq((d("ops", "ok"), d("ops", "retried"), d("ops", "failed"),
            m("switchboard_rate_limited_total", destination="ops")),
           (None, None, 2.0, None), "ops: 2 deliveries failed for good "
           "(404)")
    tap.eq((m("switchboard_outbox_depth", destination="care"),
            m("switchboard_outbox_depth", destination="ops"),
            m("switchboard_outbox_depth", destination="sales"),
            m("switchboard_outbox_depth", destination=HOSTILE)),
           (0.0, 0.0, 1.0, 1.0), "queue depth per destination, the "
           "hostile name's included")
    age = m("switchboard_outbox_oldest_age_seconds", destination="sales")
    tap.ok(age is not None and 0 < age < 100, "sales' oldest queued "
           "delivery has an age (%r s)" % age)
    tap.eq((m("switchboard_destination_down", destination="sales"),
            m("switchboard_destination_down", destination="care")),
           (1.0, 0.0), "sales is down after 2 failures in a row, care up")
    lag = m("switchboard_source_lag_seconds", **src)
    want = time.time() - t_last / 1e6
    tap.ok(lag is not None and abs(lag - want) < 5, "source lag is now "
           "minus the newest post's time (%r, want about %.1f)"
           % (lag, want))
    tap.eq((m("switchboard_source_connected", **src),
            m("switchboard_source_reconnects_total", **src),
            m("switchboard_store_writable")), (1.0, 0.0, 1.0),
           "connected, never dropped, store writable")
    c = lambda name, res: m("switchboard_commands_total",  # noqa: E731
                            command=name, result=res)
    tap.eq((c("help", "ok"), c("show", "error"), c("unknown", "error")),
           (1.0, 1.0, 1.0), "commands by name and result; an unknown "
           "name is not a label value")
    tap.eq((m("switchboard_reloads_total", result="ok"),
            m("switchboard_reloads_total", result="failed"),
            m("switchboard_storms_started_total")), (0.0, 0.0, 0.0),
           "no reloads, no storms")
    build = fams["switchboard_build_info"]["samples"]
    tap.ok(len(build) == 1 and list(build.values()) == [1.0],
           "build info carries the version", repr(build))


def sales_retries_stable(tap, port, chat_b):
    """sales' retried counter equals the 500s its fake answered, read
    while no attempt is in flight."""
    got = []

    def stable():
        a = len(chat_b.snapshot()[1])
        _, _, fams = scrape(port)
        b = len(chat_b.snapshot()[1])
        r = sample(fams, "switchboard_deliveries_total",
                   destination="sales", result="retried")
        got.append((a, r, b))
        return a == b and r == float(a) and a >= 2
    tap.ok(wait_until(stable, tap.timeout(15), 0.2), "sales: one retry "
           "counted per 500 answered", repr(got[-5:]))


def check_status(tap, daemon, port):
    rc, out, err = run_cli(["status", "--config", daemon.conf])
    tap.eq(rc, 0, "status exits 0", err, out)
    tap.ok("daemon: running at http://127.0.0.1:%d" % port in out,
           "status names the daemon it asked", out)
    src = rows(out, "bluesky")
    tap.ok(src is not None and src[1:3] == ["jetstream", "connected"] and
           src[4:] == ["12", "0"], "status: the source, connected, with "
           "its events and reconnects", out)
    want = {"care": ["0", "-", "up"], "sales": ["1", None, "down"],
            "ops": ["0", "-", "up"]}
    got = {}
    for name in want:
        r = rows(out, name)
        got[name] = r and [r[1], r[2] if name != "sales" else None, r[3]]
    tap.eq(got, want, "status: queues per destination (depth, oldest, "
           "down)", out)
    tap.ok(any(l.startswith('we"ird\\team?x ') and
               l.endswith("not in the configuration")
               for l in out.splitlines()), "status: a queue for a "
           "destination the config lacks, its name on one line", out)
    teams = out[out.find("TEAM"):]
    tap.eq([rows(teams, t)[1] if rows(teams, t) else None
            for t in ("care", "sales", "ops")], ["2", "1", "2"],
           "status: open conversations per team", out)
    dead = free_port()
    rc, out, err = run_cli(["status", "--config", daemon.conf, "--url",
                            "http://127.0.0.1:%d" % dead])
    src = rows(out, "bluesky")
    tap.ok(rc == 0 and "daemon: not reachable" in out and src and
           src[3:6] == ["?", "?", "?"] and rows(out, "sales")[1] == "1",
           "status without the daemon says so and still shows the "
           "store's queues", out, err)


def main():
    tap = Tap("metrics")
    need_binary(tap)
    wd = tap.subdir("metrics")
    chat_a = ChatServer(script="429:0,ok", gone=("/hooks/ops",))
    chat_b = ChatServer(script="500")
    js_port, port = free_port(), free_port()
    t0 = int((time.time() - 30) * 1e6)
    evs = traffic(t0)
    js = JetstreamServer(events=evs, garbage=2, oversize=70000,
                         port=js_port)
    daemon = Daemon(wd)
    try:
        daemon.write_config(config(daemon.state, js_port, chat_a.start(),
                                   chat_b.start(), port))
        daemon.start()
        up = daemon.wait_log(r"listener: on 127\.0\.0\.1 port", 20)
        tap.ok(up is not None, "the listener starts", daemon.tail())
        st, ctype, body = get(port, "/readyz")
        tap.ok(st == 503 and body == "source bluesky: not connected\n",
               "/readyz: 503 naming the source before it connects",
               st, body)
        ctype, body, fams = scrape(port)
        tap.eq(ctype, CONTENT_TYPE, "/metrics Content-Type")
        tap.eq(sample(fams, "switchboard_source_connected",
                      source="bluesky"), 0.0, "not connected yet")
        js.start()
        tap.ok(wait_until(lambda: get(port, "/readyz")[0] == 200,
                          tap.timeout(20)), "/readyz: 200 once connected",
               daemon.tail())
        tap.eq(get(port, "/readyz")[2], "ready\n", "/readyz says ready")
        records = lambda: chat_a.snapshot()  # noqa: E731
        settled = lambda: (  # noqa: E731
            len(records()[0]) >= 2 and
            len([a for a in records()[1] if a.get("status") == 404]) >= 2
            and len(chat_b.snapshot()[1]) >= 2 and
            daemon.wait_log(r"chat sales: down", 0) is not None)
        tap.ok(wait_until(settled, tap.timeout(30)), "traffic settled: "
               "care delivered, ops refused, sales down", daemon.tail())
        for text in ("help", "show ZZZZ", "bogus words"):
            st, _ = slack_command(port, SECRET, text)
            tap.eq(st, 200, "command %r answered" % text)
        db = os.path.join(daemon.state, "switchboard.db")
        inject_hostile(db)
        ctype, body, fams = scrape(port)
        tap.ok('switchboard_outbox_depth{destination="we\\"ird\\\\team'
               '\\nx"} 1\n' in body, "a hostile label value is escaped",
               body)
        check_counters(tap, fams, evs[-1]["time_us"])
        tap.eq(len([a for a in chat_a.snapshot()[1]
                    if a["path"] == "/hooks/care"]), 2,
               "the fake answered care 429 twice")
        sales_retries_stable(tap, port, chat_b)
        check_status(tap, daemon, port)
        # The store fails: not ready until a commit works again.
        sql(db, "CREATE TRIGGER sb_test_broken BEFORE INSERT ON posts "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        js.add_events([make_post(DID, "3metricspost9", "alpha three",
                                 evs[-1]["time_us"] + 1000000)])
        tap.ok(daemon.wait_log(r"store: write failed", tap.timeout(10))
               is not None, "a write fails", daemon.tail())
        st, _, body = get(port, "/readyz")
        tap.ok(st == 503 and "store: the last write failed" in body,
               "/readyz: 503 while the store fails", st, body)
        _, _, fams = scrape(port)
        tap.ok(sample(fams, "switchboard_store_writable") == 0.0 and
               sample(fams, "switchboard_store_errors_total") >= 1,
               "metrics: store not writable, errors counted")
        sql(db, "DROP TRIGGER sb_test_broken")
        tap.ok(wait_until(lambda: get(port, "/readyz")[0] == 200,
                          tap.timeout(20)), "/readyz: 200 once a commit "
               "works again", daemon.tail())
        # The source's server goes away: not ready, one drop counted.
        js.stop()
        tap.ok(wait_until(lambda: get(port, "/readyz")[0] == 503,
                          tap.timeout(10)), "/readyz: 503 when the source "
               "loses its server", daemon.tail())
        _, _, fams = scrape(port)
        tap.eq((sample(fams, "switchboard_source_connected",
                       source="bluesky"),
                sample(fams, "switchboard_source_reconnects_total",
                       source="bluesky")), (0.0, 1.0),
               "metrics: disconnected, one dropped connection")
        st, _, body = get(port, "/healthz")
        tap.eq((st, body), (200, "ok\n"), "/healthz stays ok (alive)")
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat_a.stop()
        chat_b.stop()
    tap.finish()


if __name__ == "__main__":
    main()
