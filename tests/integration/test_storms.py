#!/usr/bin/env python3
"""Storm alerts on a replay: the recorded Jetstream posts
(tests/data/jetstream-corpus.jsonl), re-timed to a steady rate over
three simulated hours with new record keys, a few outage complaints
sprinkled in, and a synthetic spike of outage posts injected at the
two-hour mark.  The daemon replays the file (storms go by the posts'
own times) and prints every team's chat on the console.  The alert
team must get exactly one storm alert, tipped by a post of the spike,
and one calm-down after it, calm_s after the spike ended; nothing
during the steady part, including the daemon's own cold start."""

import copy
import datetime
import json
import os
import random
import re
import sqlite3
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sbtest import (CORPUS, POST, Tap, cstr, load_jsonl,  # noqa: E402
                    make_post, need_binary, run_cli)

SEC = 1000000
MIN = 60 * SEC
WINDOW_S, BASELINE_S, CALM_S, MIN_POSTS, FACTOR = 300, 3600, 600, 20, 4
STEADY_EVERY = 10 * SEC         # about 30 posts per window: over
                                # min_posts, so a cold start must not
                                # take the first minutes for a storm
SPRINKLE_EVERY = 7 * MIN        # an outage complaint now and then
SPIKE_AT, SPIKE_LEN, SPIKE_EVERY = 120 * MIN, 3 * MIN, 3 * SEC // 2
END = 180 * MIN

SPIKE_TEXTS = [
    ("Acme video is down again, total outage, cannot login", True),
    ("outage? the app logs me out and nothing loads", False),
    ("Is Acme down for everyone? Outage here too", True),
    ("login fails, endless spinner, outage since lunch", False),
    ("third outage this month, login broken again", False),
]


def config(state, replay):
    return """
general = { state_directory = %s; log_level = "info"; };
sources = ( { name = "recorded"; type = "replay"; file = %s;
  exit_when_done = true; } );
teams = (
  { name = "care"; chat = { type = "console"; };
    rules = (
      { name = "outage"; priority = 10; keywords = [ "outage" ]; },
      { name = "general";
        languages = [ "en", "ja", "ko", "de", "tr", "es", "ru" ]; }
    ); },
  { name = "pr"; chat = { type = "console"; }; }
);
storms = { alert_team = "pr"; factor = %d; min_posts = %d;
  window_s = %d; baseline_s = %d; calm_s = %d; };
""" % (cstr(state), cstr(replay), FACTOR, MIN_POSTS, WINDOW_S, BASELINE_S,
       CALM_S)


def iso(t):
    """A Bluesky createdAt for µs since the epoch."""
    return datetime.datetime.fromtimestamp(
        t / 1e6, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[
            :-3] + "Z"


def retime(ev, t, rkey):
    """The post as written and seen at t: storms count a post when it
    was written, so createdAt moves with time_us."""
    ev = copy.deepcopy(ev)
    ev["time_us"] = t
    ev["commit"]["record"]["createdAt"] = iso(t)
    ev["commit"]["rkey"] = ev["commit"]["rev"] = rkey
    ev["commit"]["cid"] = "bafyreiretimed" + rkey
    return ev


def spike_post(i, t):
    text, tag = SPIKE_TEXTS[i % len(SPIKE_TEXTS)]
    ev = make_post("did:plc:spike%020d" % (i % 37), "3spike%06d" % i, text,
                   t)
    ev["commit"]["record"]["createdAt"] = iso(t)
    if tag:
        text += " #acmedown"
        start = len(text.encode()) - len("#acmedown")
        ev["commit"]["record"]["text"] = text
        ev["commit"]["record"]["facets"] = [{
            "index": {"byteStart": start, "byteEnd": len(text.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#tag",
                          "tag": "acmedown"}]}]
    return ev


def build(path):
    """Write the replay file; rkey -> simulated time (µs from t0)."""
    posts = [e for e in load_jsonl(CORPUS)
             if e.get("kind") == "commit" and
             e["commit"].get("collection") == POST and
             e["commit"].get("operation") == "create"]
    t0 = posts[0]["time_us"] // MIN * MIN
    rnd = random.Random(5)
    events, when = [], {}

    def add(ev):
        events.append(ev)
        when[ev["commit"]["rkey"]] = ev["time_us"] - t0

    i, t = 0, 0
    while t < END:
        jitter = rnd.randint(-5 * SEC, 5 * SEC)
        add(retime(posts[i % len(posts)], t0 + t + jitter,
                   "3steady%06d" % i))
        i += 1
        t += STEADY_EVERY
    for k, t in enumerate(range(3 * MIN, END, SPRINKLE_EVERY)):
        ev = make_post("did:plc:sprinkle%017d" % k, "3sprinkle%04d" % k,
                       "is the acme app slow today? small outage maybe",
                       t0 + t)
        ev["commit"]["record"]["createdAt"] = iso(t0 + t)
        add(ev)
    for k, t in enumerate(range(SPIKE_AT, SPIKE_AT + SPIKE_LEN,
                                SPIKE_EVERY)):
        add(spike_post(k, t0 + t))
    events.sort(key=lambda e: e["time_us"])
    with open(path, "w", encoding="utf-8") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    return when


HEADER = re.compile(r"^── #(\S+)(?: \(team (\S+)\))? ── (\S+) ── (\S+)")


def blocks(out):
    """Console messages: (channel, owner, code, rule or kind, body)."""
    res, cur = [], None
    for line in out.splitlines():
        m = HEADER.match(line)
        if m:
            cur = [m.group(1), m.group(2) or m.group(1), m.group(3),
                   m.group(4), []]
            res.append(cur)
        elif cur is not None and line.strip():
            cur[4].append(line.strip())
    return [(c, o, code, r, "\n".join(b)) for c, o, code, r, b in res]


def routed_lines(err):
    """stderr in order: ("post", rkey) and ("storm"/"over", line)."""
    seq = []
    for line in err.splitlines():
        m = re.search(r"post \S+/post/([A-Za-z0-9]+) -> team ", line)
        if m:
            seq.append(("post", m.group(1)))
        elif "notice: storm: " in line:
            seq.append(("storm", line))
        elif "notice: storm over: " in line:
            seq.append(("over", line))
    return seq


def tipped_by(seq, kind):
    """The post logged just before each line of kind (the one whose
    counting started or ended the storm)."""
    out, last = [], None
    for k, v in seq:
        if k == "post":
            last = v
        elif k == kind:
            out.append((v, last))
    return out


def main():
    tap = Tap("storms")
    need_binary(tap)
    wd = tap.subdir("storms")
    replay = os.path.join(wd, "replay.jsonl")
    when = build(replay)
    conf = os.path.join(wd, "switchboard.conf")
    with open(conf, "w") as f:
        f.write(config(os.path.join(wd, "state"), replay))
    rc, out, err = run_cli(["--config", conf], timeout=tap.timeout(90),
                           cwd=wd)
    tap.eq(rc, 0, "the replay runs to its end", err[-3000:])
    tap.ok("ERROR: AddressSanitizer" not in err and
           "runtime error" not in err, "no sanitizer report", err[-3000:])
    stats = re.search(r"stats: .* routed (\d+), .* storms (\d+)", err)
    tap.ok(stats and int(stats.group(1)) >= 600 and stats.group(2) == "1",
           "the steady traffic and the spike were routed, and the stats "
           "count one storm", stats and stats.group(0))
    msgs = blocks(out)
    # Record key -> conversation code, as the daemon stored them.
    db = sqlite3.connect(os.path.join(wd, "state", "switchboard.db"))
    code_of = {pid.rsplit("/", 1)[1]: code for pid, code in db.execute(
        "SELECT p.id, c.code FROM posts p"
        " JOIN conversations c ON c.id = p.conversation")}
    db.close()

    notes = [m for m in msgs if "Storm" in m[4]]
    tap.ok(all(m[0] == "pr" for m in notes),
           "storm notes go to the alert team only",
           [m[:4] for m in notes])
    alerts = [m for m in notes if m[4].startswith("Storm: ")]
    overs = [m for m in notes if m[4].startswith("Storm over: ")]
    tap.eq(len(alerts), 1, "exactly one storm alert",
           [m[4] for m in alerts])
    tap.eq(len(overs), 1, "exactly one calm-down", [m[4] for m in overs])
    if len(alerts) != 1 or len(overs) != 1:
        tap.finish()
    alert, over = alerts[0], overs[0]

    m = re.match(r"Storm: care/outage at (\d+) posts in 5 min, "
                 r"([0-9.]+)x the usual ([0-9.]+); top words: ([^;]+); "
                 r"hashtags: ([^;]+); e\.g\. (.+)$", alert[4], re.S)
    if not tap.ok(m, "the alert names the rule, its volume, the usual "
                  "rate, top words, hashtags and examples", alert[4]):
        tap.finish()
    count, ratio, usual = int(m.group(1)), float(m.group(2)), \
        float(m.group(3))
    words = m.group(4).split(", ")
    tap.ok(count >= MIN_POSTS and count >= FACTOR * usual - 0.05,
           "the volume is over min_posts and %d times the usual" % FACTOR,
           alert[4])
    # The sprinkled complaints: one every 7 min, 5 min windows.
    tap.ok(0.3 <= usual <= 1.2, "the usual rate is the sprinkled "
           "complaints' (%.1f per window)" % usual)
    # The usual is shown to one decimal: the ratio fits one it rounds.
    tap.ok(count / (usual + 0.05) - 0.05 <= ratio <=
           count / max(usual - 0.05, 0.01) + 0.05,
           "the ratio is the volume over the usual", alert[4])
    tap.eq(words[0], "outage", "the top word is the spike's")
    tap.ok("login" in words, "login, in 3 spike posts of 5, is named",
           words)
    tap.eq(m.group(5), "#acmedown", "the spike's hashtag is named")
    examples = m.group(6)
    spike_codes = {code_of[k] for k in code_of if k.startswith("3spike")}
    named = re.findall(r"(?:^|, )([0-9A-Z]{4,6}) @?did:plc:spike", examples)
    tap.ok(named and all(c in spike_codes for c in named),
           "the examples are spike posts, by code and author", examples)

    seq = routed_lines(err)
    started = [(l, p) for l, p in tipped_by(seq, "storm")
               if "alert queued" in l]
    tap.eq(len(started), 1, "one storm alert queued in the log",
           [l for l, _ in started])
    team = [l for l, _ in tipped_by(seq, "storm") if "storm: care at" in l]
    tap.ok(len(team) == 1 and "alert queued" not in team[0],
           "the team's own storm, made of the rule's, is not announced "
           "again", team)
    if started:
        line, rkey = started[0]
        t = when.get(rkey, -1)
        tap.ok(rkey and rkey.startswith("3spike") and
               SPIKE_AT <= t < SPIKE_AT + SPIKE_LEN,
               "the alert was tipped by a post of the spike, %.1f min "
               "into it" % ((t - SPIKE_AT) / MIN), line, rkey)
        tap.eq(alert[2], code_of.get(rkey), "the alert is a note on the "
               "conversation of the post that tipped it")
    ended = [(l, p) for l, p in tipped_by(seq, "over")
             if "care/outage" in l]
    if tap.eq(len(ended), 1, "the rule's storm ended once",
              [l for l, _ in ended]):
        t = when.get(ended[0][1], -1)
        spike_end = SPIKE_AT + SPIKE_LEN
        tap.ok(spike_end + CALM_S * SEC <= t <=
               spike_end + (WINDOW_S + CALM_S + 60) * SEC,
               "it calmed down calm_s after the spike left the window "
               "(%.1f min after the spike)" % ((t - spike_end) / MIN))
    tap.eq(over[2], alert[2], "the calm-down lands in the alert's thread")
    mo = re.match(r"Storm over: care/outage back to (\d+) posts in 5 min$",
                  over[4])
    tap.ok(mo and int(mo.group(1)) < MIN_POSTS,
           "the calm-down gives the volume it is back to", over[4])
    tap.finish()


if __name__ == "__main__":
    main()
