#!/usr/bin/env python3
"""The state tools against a running daemon: `switchboard outbox list`
shows the deliveries a failing chat holds back, `outbox retry` makes
them go out at once (the daemon notices the change another process made
to its store), `outbox drop` refuses without --yes-really-drop and then
marks them failed for good, `conversations list` and `show` match what
was routed, and `switchboard backup` makes a verified copy that a fresh
daemon resumes from: the same cursors, no post sent twice."""

import json
import os
import shutil
import sqlite3
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import (ChatServer, Daemon, JetstreamServer, Tap,  # noqa: E402
                    expected_deliveries, hooks_of, load_jsonl, render_config,
                    route, run_cli, wait_until)
from chat_server import BODIES  # noqa: E402

TIMEOUT = 30
HOLD = 3600             # Retry-After of the channels held back, seconds
REWIND = 5              # the source's rewind, seconds
POLL_S = 2              # how often the daemon looks for others' changes
# A retried delivery must go out well before its own retry was due (an
# hour) and within the daemon's poll interval plus a generous margin.
RETRY_WITHIN = 10


class SwitchChat(ChatServer):
    """The chat fake with channels that can be made to fail: path ->
    (status, Retry-After seconds or None), changed while it runs."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.failing = {}

    def decide(self, path, raw):
        fail = self.failing.get(path)
        if fail is not None:
            status, after = fail
            headers = {} if after is None else {"Retry-After": str(after)}
            return status, BODIES.get(status, "error"), headers, None
        return super().decide(path, raw)


def tool(*args):
    """Run `switchboard ARGS`: (status, stdout lines, stderr)."""
    rc, out, err = run_cli([str(a) for a in args])
    return rc, [l for l in out.split("\n") if l], err


def outbox(daemon, *args):
    """`outbox list` rows as dicts (from -s DIR)."""
    rc, lines, err = tool("outbox", "list", "-s", daemon.state, *args)
    rows = []
    for l in lines:
        f = l.split("\t")
        if len(f) != 9:
            raise ValueError("outbox list: bad line %r" % l)
        rows.append({"id": int(f[0]), "dest": f[1], "kind": f[2],
                     "state": f[3], "code": f[4], "attempts": int(f[5]),
                     "next": f[6], "age": f[7], "error": f[8]})
    return rc, rows, err


def lasting(rows):
    """What a drop without --yes-really-drop must leave as it was."""
    return [(r["id"], r["dest"], r["state"], r["attempts"], r["error"])
            for r in rows]


def conversations(*args):
    rc, lines, err = tool("conversations", "list", *args)
    rows = []
    for l in lines:
        f = l.split("\t")
        if len(f) != 9:
            raise ValueError("conversations list: bad line %r" % l)
        rows.append({"code": f[0], "team": f[1], "status": f[2],
                     "platform": f[3], "posts": int(f[4]), "claimed": f[7],
                     "first": f[8]})
    return rc, rows, err


def on_path(chat, path):
    return [r for r in chat.snapshot()[0] if r["path"] == path]


def db_rows(path, sql):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def expected_conversations(rows, dump):
    """team -> sorted post counts of its conversations, from the dry run:
    a post's conversation is its reply root, owned by the team of the
    first post routed in it."""
    events = {}
    for e in load_jsonl(dump):
        c = e.get("commit") or {}
        if c.get("collection") == sbtest.POST:
            uri = "at://%s/%s/%s" % (e["did"], sbtest.POST, c["rkey"])
            events[uri] = (c.get("record") or {}).get("reply")
    owner, posts = {}, {}
    for team, _, pid, _ in rows:
        if team in ("drop", "ignore"):
            continue
        reply = events.get(pid)
        root = reply["root"]["uri"] if reply else pid
        owner.setdefault(root, team)
        posts[root] = posts.get(root, 0) + 1
    out = {}
    for root, team in owner.items():
        out.setdefault(team, []).append(posts[root])
    return {t: sorted(v) for t, v in out.items()}


def held_back(tap, daemon, chat, exp):
    """Care and sales answer 429 for an hour, intl 404: wait until the
    daemon has tried each and check what outbox list shows."""
    want = {}
    for url, path in exp.items():
        want[path] = want.get(path, 0) + 1

    def settled():
        rc, rows, _ = outbox(daemon)
        if rc != 0:
            return None
        by = {}
        for r in rows:
            by.setdefault((r["dest"], r["state"]), []).append(r)
        care = by.get(("care", "pending"), [])
        sales = by.get(("sales", "pending"), [])
        ok = (len(care) == want["/hooks/care"] and care[0]["attempts"] and
              len(sales) == want["/hooks/sales"] and sales[0]["attempts"]
              and len(by.get(("intl", "failed"), [])) == want["/hooks/intl"]
              and len(by.get(("rnd", "done"), [])) == want["/hooks/rnd"])
        return rows if ok else None
    rows = wait_until(settled, tap.timeout(TIMEOUT), 0.2)
    tap.ok(rows, "outbox list: care and sales pending after their 429s, "
           "intl failed after its 404s, rnd done (%s)" % sorted(
               want.items()), daemon.tail())
    if not rows:
        raise RuntimeError("the daemon never reached the expected state")
    tap.eq(len(rows), len(exp), "outbox list: one row per routed post")
    heads = {}
    for r in rows:
        heads.setdefault(r["dest"], r)
    care, intl = heads["care"], heads["intl"]
    tap.ok(care["kind"] == "post" and care["attempts"] == 1 and
           care["next"].startswith("in ") and "429" in care["error"] and
           len(care["code"]) >= 4,
           "outbox list: the head of care is a post tried once, its next "
           "try an hour away, its last error the 429", str(care))
    tap.ok(all(r["next"] == "now" and r["attempts"] == 0 and
               r["error"] == "-"
               for r in rows if r["dest"] == "care" and r is not care),
           "outbox list: the rest of care's queue is due, untried, behind "
           "its head", *[str(r) for r in rows if r["dest"] == "care"])
    tap.ok("404" in intl["error"] and intl["next"] == "-",
           "outbox list: a failed delivery shows its 404 and no next try",
           str(intl))

    rc, failed, err = outbox(daemon, "--state", "failed")
    tap.ok(rc == 0 and failed and {r["dest"] for r in failed} == {"intl"},
           "outbox list --state failed: only intl's", err)
    rc, mine, err = outbox(daemon, "--destination", "care")
    tap.ok(rc == 0 and [r["id"] for r in mine] ==
           [r["id"] for r in rows if r["dest"] == "care"],
           "outbox list --destination care: care's rows in queue order", err)
    rc, two, err = outbox(daemon, "-n", "2")
    tap.ok(rc == 0 and [r["id"] for r in two] ==
           sorted(r["id"] for r in rows)[-2:],
           "outbox list -n 2: the newest two, oldest first", err)
    rc, lines, err = tool("outbox", "list", "-c", daemon.conf)
    tap.ok(rc == 0 and len(lines) == len(rows),
           "outbox list -c CONFIG: the config's state directory", err)
    return rows


def usage_errors(tap, daemon):
    s = daemon.state
    cases = [
        (("outbox", "list", "-s", s, "--state", "sent"), 2),
        (("outbox", "list", "-s", s, "-n", "0"), 2),
        (("outbox", "list", "-s", s, "--force"), 2),
        (("outbox", "frob", "-s", s), 2),
        (("outbox",), 2),
        (("outbox", "retry", "-s", s), 2),
        (("outbox", "retry", "-s", s, "3", "--destination", "care"), 2),
        (("outbox", "retry", "-s", s, "x7"), 2),
        (("outbox", "retry", "-s", s, "999999"), 1),
        (("outbox", "retry", "-s", s, "--destination", "nowhere"), 1),
        (("conversations", "list", "-s", s, "--open", "--resolved"), 2),
        (("conversations", "show", "-s", s), 2),
        (("conversations", "show", "-s", s, "ZZZZZZZ"), 1),
        (("backup", "-s", s), 2),
        (("outbox", "list", "-s", os.path.join(daemon.workdir, "none")), 1),
    ]
    bad = []
    for args, want in cases:
        rc, _, err = tool(*args)
        if rc != want or not err.strip():
            bad.append("%s: status %d (want %d), stderr %r" %
                       (" ".join(args), rc, want, err))
    tap.ok(not bad, "wrong arguments exit 2, nothing to act on exits 1, "
           "each with a message on stderr", *bad)
    tap.ok(not os.path.exists(os.path.join(daemon.workdir, "none")),
           "a state directory without a store is not created")


def retry_destination(tap, daemon, chat, rows):
    """care answers 200 again; `retry --destination care` sends its queue
    now instead of in an hour."""
    care = [r for r in rows if r["dest"] == "care"]
    chat.failing.pop("/hooks/care")
    t0 = time.monotonic()
    rc, out, err = tool("outbox", "retry", "-s", daemon.state,
                        "--destination", "care")
    tap.ok(rc == 0 and out and out[0].startswith("%d deliveries" %
                                                 len(care)),
           "outbox retry --destination care: %d deliveries due now"
           % len(care), out, err)
    got = wait_until(lambda: len(on_path(chat, "/hooks/care")) >=
                     len(care), tap.timeout(RETRY_WITHIN), 0.1)
    took = time.monotonic() - t0
    tap.ok(got, "the running daemon sends care's queue %.1f s after the "
           "retry, not an hour later (within %d s)" % (took, RETRY_WITHIN),
           daemon.tail())
    wait_until(lambda: not outbox(daemon, "--destination", "care",
                                  "--state", "pending")[1],
               tap.timeout(5), 0.2)
    rc, after, err = outbox(daemon, "--destination", "care")
    tap.ok(rc == 0 and all(r["state"] == "done" for r in after) and
           after[0]["attempts"] == 1 and "429" in after[0]["error"],
           "care's rows are done, the head's attempts and last error kept",
           *[str(r) for r in after])
    tap.eq(len(on_path(chat, "/hooks/care")), len(care),
           "each of care's posts went out once")


def drop_destination(tap, daemon, chat, rows):
    sales = [r for r in rows if r["dest"] == "sales"]
    before = lasting(outbox(daemon)[1])
    rc, out, err = tool("outbox", "drop", "-s", daemon.state,
                        "--destination", "sales")
    tap.ok(rc == 2 and "would drop %d pending deliveries" % len(sales) in
           err and "--yes-really-drop" in err and not out,
           "outbox drop without --yes-really-drop: exit 2, says it would "
           "drop %d and how to confirm" % len(sales), out, err)
    tap.eq(lasting(outbox(daemon)[1]), before,
           "outbox drop without --yes-really-drop changes nothing")
    rc, out, err = tool("outbox", "drop", "-s", daemon.state,
                        "999999", "--yes-really-drop")
    tap.ok(rc == 1 and "999999" in err, "outbox drop of an unknown id: "
           "exit 1, names it", out, err)
    rc, out, err = tool("outbox", "drop", "-c", daemon.conf,
                        "--destination", "sales", "--yes-really-drop")
    tap.ok(rc == 0 and out and out[0].startswith("%d deliveries" %
                                                 len(sales)),
           "outbox drop --yes-really-drop: %d dropped" % len(sales),
           out, err)
    rc, after, err = outbox(daemon, "--destination", "sales")
    tap.ok(rc == 0 and len(after) == len(sales) and
           all(r["state"] == "failed" and
               r["error"] == "dropped by an operator" for r in after),
           "sales' rows are kept, failed, \"dropped by an operator\"",
           *[str(r) for r in after])
    chat.failing.pop("/hooks/sales")
    wait_until(lambda: False, POLL_S + sbtest.SETTLE)
    tap.eq(len(on_path(chat, "/hooks/sales")), 0,
           "dropped deliveries are never sent, though sales answers again")


def retry_one(tap, daemon, chat, rows):
    intl = [r for r in rows if r["dest"] == "intl"]
    chosen = intl[-1]
    chat.failing.pop("/hooks/intl")
    done = [r for r in outbox(daemon, "--state", "done")[1]][0]
    rc, out, err = tool("outbox", "retry", "-s", daemon.state,
                        chosen["id"], done["id"])
    tap.ok(rc == 1 and str(done["id"]) in err,
           "outbox retry with a done id: exit 1, names it", out, err)
    tap.eq(lasting(outbox(daemon, "--destination", "intl")[1]),
           lasting(intl), "...and changes nothing, the good id included")
    rc, out, err = tool("outbox", "retry", "-s", daemon.state,
                        chosen["id"])
    tap.ok(rc == 0 and out and out[0].startswith("1 delivery"),
           "outbox retry ID: one failed delivery due again", out, err)
    got = wait_until(lambda: on_path(chat, "/hooks/intl"),
                     tap.timeout(RETRY_WITHIN), 0.1)
    wait_until(lambda: False, sbtest.SETTLE)
    sent = on_path(chat, "/hooks/intl")
    tap.ok(got and len(sent) == 1 and
           chosen["code"] in json.dumps(sent[0]["body"]),
           "the daemon sends that one delivery (conversation %s), and "
           "only it" % chosen["code"], *[json.dumps(r["body"])[:200]
                                         for r in sent])
    rc, after, err = outbox(daemon, "--destination", "intl")
    states = {r["id"]: r["state"] for r in after}
    tap.ok(states.pop(chosen["id"], None) == "done" and
           set(states.values()) == {"failed"},
           "the retried row is done, the other failed rows stay failed",
           str(after))


def conversation_checks(tap, daemon, rows, dump):
    want = expected_conversations(rows, dump)
    rc, convs, err = conversations("-c", daemon.conf)
    got = {}
    for c in convs:
        got.setdefault(c["team"], []).append(c["posts"])
    got = {t: sorted(v) for t, v in got.items()}
    tap.ok(rc == 0 and got == want, "conversations list: the "
           "conversations and post counts the dry run routes, per team",
           "got:  %r" % got, "want: %r" % want, err)
    tap.ok(convs and all(c["status"] == "open" and
                         c["platform"] == "bluesky" and c["claimed"] == "-"
                         and ": " in c["first"] for c in convs),
           "conversations list: open, bluesky, unclaimed, with the first "
           "post's author and text", *[str(c) for c in convs[:5]])
    rc, care, err = conversations("-s", daemon.state, "--team", "care")
    tap.ok(rc == 0 and care and {c["team"] for c in care} == {"care"} and
           len(care) == len(want.get("care", [])),
           "conversations list --team care: care's only", err)
    rc, opened, _ = conversations("-s", daemon.state, "--open")
    rc2, resolved, _ = conversations("-s", daemon.state, "--resolved")
    tap.ok(rc == 0 and rc2 == 0 and len(opened) == len(convs) and
           not resolved, "conversations list --open: all of them; "
           "--resolved: none")
    rc, one, _ = conversations("-s", daemon.state, "-n", "1")
    tap.ok(rc == 0 and len(one) == 1 and one[0] == convs[-1],
           "conversations list -n 1: the newest", str(one))

    thread = max(convs, key=lambda c: c["posts"])
    rc, out, err = tool("conversations", "show", "-s", daemon.state,
                        thread["code"].lower())
    head = "%s: %s, open, %d posts" % (thread["code"], thread["team"],
                                       thread["posts"])
    numbered = [l for l in out[1:] if l[:1].isdigit()]
    author = thread["first"].split(": ", 1)[0]
    tap.ok(rc == 0 and out and out[0] == head and
           len(numbered) == min(thread["posts"], 10) and
           numbered[0].startswith("1. %s: " % author),
           "conversations show CODE: as the chat's show, \"%s\" and "
           "its posts, the first by %s" % (head, author), *(out + [err]))


def backup_checks(tap, daemon, js):
    """A backup taken while the daemon runs, once the stream is idle."""
    wd = daemon.workdir
    path = os.path.join(wd, "backup.db")
    js.wait(lambda s: s.connections and s.connections[-1]["caught_up"],
            tap.timeout(TIMEOUT))
    rc, out, err = tool("backup", "-s", daemon.state, path)
    tap.ok(rc == 0 and os.path.exists(path) and out and
           out[0].startswith(path + ": a copy of"),
           "backup FILE while the daemon runs: exit 0, FILE written",
           out, err)
    tap.eq(db_rows(path, "PRAGMA integrity_check"), [("ok",)],
           "the backup passes PRAGMA integrity_check")
    leftovers = [f for f in os.listdir(wd) if ".tmp-" in f]
    tap.eq(leftovers, [], "no temporary file is left beside the backup")
    st = os.stat(path)
    rc, out, err = tool("backup", "-c", daemon.conf, path)
    tap.ok(rc == 1 and "--force" in err and os.stat(path) == st,
           "backup to an existing file: refused (exit 1), file untouched",
           out, err)
    rc, out, err = tool("backup", "-s", daemon.state, "--force", path)
    tap.ok(rc == 0, "backup --force replaces it", out, err)
    store = os.path.join(daemon.state, "switchboard.db")
    rc, out, err = tool("backup", "-s", daemon.state, "--force", store)
    tap.ok(rc == 1 and "store itself" in err and
           db_rows(store, "PRAGMA integrity_check") == [("ok",)],
           "backup --force onto the store itself: refused, store intact",
           out, err)
    return path


TABLES = ("posts", "conversations", "outbox", "cursors", "chat_messages")


def snapshot(path):
    snap = {t: db_rows(path, "SELECT count(*) FROM %s" % t)[0][0]
            for t in TABLES}
    snap["cursors"] = db_rows(path, "SELECT source, value FROM cursors "
                              "ORDER BY source")
    snap["states"] = db_rows(path, "SELECT destination, state, count(*) "
                             "FROM outbox GROUP BY 1, 2 ORDER BY 1, 2")
    return snap


def restore(tap, daemon, js, chat, backup):
    """The backup, restored into a new state directory, is where a fresh
    daemon resumes."""
    live = snapshot(os.path.join(daemon.state, "switchboard.db"))
    saved = snapshot(backup)
    tap.ok(saved["cursors"], "the backup holds the source's cursor",
           str(saved))
    tap.eq(saved, live, "the backup holds what the store held when the "
           "daemon stopped: cursors, posts, conversations, outbox states")
    restored = os.path.join(daemon.workdir, "restored")
    os.makedirs(restored, mode=0o700)
    shutil.copyfile(backup, os.path.join(restored, "switchboard.db"))
    sent = len(chat.snapshot()[0])
    nconn = len(js.connections)
    daemon.start("--state-dir", restored)
    ok = js.wait(lambda s: len(s.connections) > nconn and
                 s.connections[-1]["caught_up"], tap.timeout(TIMEOUT))
    conn = js.connections[-1] if len(js.connections) > nconn else {}
    cursor = int(saved["cursors"][0][1])
    tap.ok(ok and conn.get("cursor") == cursor - REWIND * 1000000,
           "the restored daemon resumes from the backup's cursor, rewound "
           "%d s" % REWIND, "connection: %r" % conn.get("cursor"),
           "backup cursor: %d" % cursor, daemon.tail())
    wait_until(lambda: False, POLL_S + sbtest.SETTLE)
    tap.eq(len(chat.snapshot()[0]), sent, "the restored daemon sends no "
           "post again", daemon.tail())
    rc, secs = daemon.stop()
    tap.ok(rc == 0, "the restored daemon stops with status 0", daemon.tail())
    after = snapshot(os.path.join(restored, "switchboard.db"))
    tap.eq({k: after[k] for k in TABLES if k != "cursors"},
           {k: saved[k] for k in TABLES if k != "cursors"},
           "the restored store records nothing new")


def scenario(tap):
    wd = tap.subdir("tools")
    dump = os.path.join(wd, "dump.jsonl")
    js = JetstreamServer(dump=dump)
    chat = SwitchChat()
    chat.failing = {"/hooks/care": (429, HOLD), "/hooks/sales": (429, HOLD),
                    "/hooks/intl": (404, None)}
    daemon = Daemon(wd)
    try:
        daemon.write_config(render_config(daemon.state, js.start(),
                                          chat.start(), rewind=REWIND))
        rc, rows, err, bad = route(daemon.conf, dump)
        exp = expected_deliveries(rows, hooks_of(sbtest.default_teams()))
        paths = set(exp.values())
        tap.ok(rc == 0 and {"/hooks/care", "/hooks/sales", "/hooks/intl",
                            "/hooks/rnd"} <= paths,
               "the rules route posts to all four teams", err, *bad)
        daemon.start()
        listed = held_back(tap, daemon, chat, exp)
        usage_errors(tap, daemon)
        retry_destination(tap, daemon, chat, listed)
        drop_destination(tap, daemon, chat, listed)
        retry_one(tap, daemon, chat, listed)
        conversation_checks(tap, daemon, rows, dump)
        backup = backup_checks(tap, daemon, js)
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "the daemon stops with status 0", daemon.tail())
        restore(tap, daemon, js, chat, backup)
    finally:
        if daemon.alive():
            daemon.kill()
        js.stop()
        chat.stop()


def main():
    tap = Tap("state-tools")
    sbtest.need_binary(tap)
    tap.run("state tools", scenario, tap)
    tap.finish()


if __name__ == "__main__":
    main()
