#!/usr/bin/env python3
"""The command line: --version, --help, --check-config on the shipped and
on broken files, usage errors, the `route` dry run on recorded data, and
`audit` printing the commands a running daemon took."""

import datetime
import http.client
import json
import os
import re
import socket
import sys
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import SRCDIR, Daemon, Tap, cstr, run_cli  # noqa: E402


def configure_version():
    with open(os.path.join(SRCDIR, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[switchboard\],\s*\[([^\]]+)\]", f.read())
    return m.group(1)


def check_version(tap):
    rc, out, err = run_cli(["--version"])
    tap.eq((rc, out), (0, "switchboard %s\n" % configure_version()),
           "--version prints the version from configure.ac, exit 0", err)


def check_help(tap):
    rc, out, err = run_cli(["--help"])
    tap.ok(rc == 0 and "--config" in out and "--check-config" in out and
           "route" in out, "--help exits 0 and documents --config, "
           "--check-config and route", "status %d" % rc, out, err)


def check_usage_error(tap):
    rc, out, err = run_cli(["--no-such-option"])
    tap.ok(rc == 2 and "usage" in err.lower() and out == "",
           "an unknown option exits 2 with the usage on stderr",
           "status %d" % rc, "stdout: " + out, "stderr: " + err)
    rc, out, err = run_cli(["route", "--config", "conf/demo.conf"])
    tap.ok(rc == 2 and "usage" in err.lower(),
           "route without a recording exits 2 with the usage",
           "status %d" % rc, err)


def check_shipped_configs(tap):
    for rel in ("conf/switchboard.conf", "conf/demo.conf"):
        rc, out, err = run_cli(["--config", rel, "--check-config"])
        tap.ok(rc == 0, "--check-config accepts %s" % rel,
               "status %d" % rc, out, err)


# Each error is on a known line; all of them must be reported at once.
BAD = """\
general = {
  log_level = "loud";
  colour = "red";
};
sources = ( { name = "bluesky"; type = "jetstream"; } );
teams = (
  { name = "care";
    chat = { type = "console"; };
    rules = ( { name = "r"; priority = 5000; keywords = ["refund"]; } );
  },
  { name = "care"; chat = { type = "console"; }; rules = (); }
);
routing = { fallback_team = "nobody"; };
"""
BAD_LINES = {2, 3, 9, 11, 13}


def check_bad_config(tap):
    path = os.path.join(tap.workdir, "bad.conf")
    with open(path, "w") as f:
        f.write(BAD)
    rc, out, err = run_cli(["--config", path, "--check-config"])
    rx = re.compile(r"^%s:(\d+): \S" % re.escape(path))
    lines = [l for l in err.splitlines() if l.strip()]
    unprefixed = [l for l in lines if not rx.match(l)]
    found = {int(rx.match(l).group(1)) for l in lines if rx.match(l)}
    tap.eq(rc, 1, "--check-config on a bad file exits 1", err)
    tap.ok(lines and not unprefixed,
           "every error is printed as FILE:LINE: message", *unprefixed)
    tap.ok(BAD_LINES <= found,
           "all errors are reported at once, each at its own line",
           "lines reported: %s" % sorted(found),
           "lines expected: %s" % sorted(BAD_LINES), err)

    path = os.path.join(tap.workdir, "syntax.conf")
    with open(path, "w") as f:
        f.write("general = {\n  log_level = \"info\";\n  x = ;\n};\n")
    rc, out, err = run_cli(["--config", path, "--check-config"])
    tap.ok(rc == 1 and re.search(r"^%s:3: syntax error" %
                                 re.escape(path), err, re.M),
           "a syntax error is reported as FILE:LINE: syntax error, exit 1",
           "status %d" % rc, err)

    rc, out, err = run_cli(["--config", os.path.join(tap.workdir, "none"),
                            "--check-config"])
    tap.ok(rc == 1 and "none" in err,
           "a missing config file exits 1 and names the file",
           "status %d" % rc, err)


def check_test_config(tap):
    """The config the other integration tests generate is valid, so
    their failures are never config mistakes."""
    path = os.path.join(tap.workdir, "itest.conf")
    with open(path, "w") as f:
        f.write(sbtest.render_config(os.path.join(tap.workdir, "state"),
                                     9, 9))
    rc, out, err = run_cli(["--config", path, "--check-config"])
    tap.ok(rc == 0, "the integration tests' config passes --check-config",
           "status %d" % rc, err)


def squash(s):
    return " ".join(s.split())


def check_route(tap):
    corpus = "tests/data/jetstream-corpus.jsonl"
    events = sbtest.load_jsonl(os.path.join(SRCDIR, corpus))
    posts = {}
    for e in events:
        c = e.get("commit") or {}
        if e["kind"] == "commit" and c.get("collection") == sbtest.POST \
                and c.get("operation") == "create":
            posts[sbtest.post_uri(e["did"], c["rkey"])] = c["record"]
    with open(os.path.join(SRCDIR, "conf", "demo.conf")) as f:
        names = set(re.findall(r'\bname\s*=\s*"([^"]+)"', f.read()))

    rc, out, err = run_cli(["route", "--config", "conf/demo.conf", corpus])
    lines = out.splitlines()
    tap.eq(rc, 0, "route exits 0", err)
    tap.eq(len(lines), len(posts),
           "route prints one line per post create in the recording (%d)"
           % len(posts), out)
    rows = [l.split("\t") for l in lines]
    bad = [l for l, f in zip(lines, rows) if len(f) != 4]
    tap.ok(not bad, "every line is TEAM<TAB>RULE<TAB>POST_ID<TAB>EXCERPT",
           *bad)
    rows = [f for f in rows if len(f) == 4]
    tap.eq(sorted(r[2] for r in rows), sorted(posts),
           "POST_IDs are the at:// URIs of exactly the recorded posts")

    wrong = []
    for team, rule, pid, _ in rows:
        if team == "ignore":
            ok = rule == "-"
        elif team == "drop":
            ok = rule.startswith("drop/") and rule[5:] in names
        else:
            ok = team in names and (
                rule in ("fallback", "thread") or
                (rule.startswith(team + "/") and
                 rule[len(team) + 1:] in names))
        if not ok:
            wrong.append("%s %s %s" % (team, rule, pid))
    tap.ok(not wrong, "TEAM names a configured team (or drop/ignore) and "
           "RULE matches it (TEAM/RULE, fallback, thread, drop/NAME, -)",
           *wrong)

    wrong = []
    for _, _, pid, excerpt in rows:
        text = squash(posts.get(pid, {}).get("text", ""))
        ex = squash(excerpt.rstrip("\u2026"))
        if not text.startswith(ex) or (text and not ex):
            wrong.append("%s: %r is not the start of %r" %
                         (pid, excerpt, text[:80]))
    tap.ok(not wrong, "EXCERPT is the start of the post's text", *wrong)

    teams = {r[0] for r in rows} - {"drop", "ignore"}
    tap.ok(len(teams) >= 2 and any(r[0] == "drop" for r in rows),
           "the demo config sends posts to several teams and drops one",
           "teams: %s" % sorted(teams))

    rc2, out2, _ = run_cli(["route", "--config", "conf/demo.conf", corpus])
    tap.ok(rc2 == 0 and out2 == out, "route is deterministic")


def check_start_failure(tap):
    """A source that cannot start (its file is missing) ends the daemon
    with status 1 and the reason, also when other sources follow it."""
    wd = tap.subdir("startfail")
    conf = os.path.join(wd, "two.conf")
    with open(conf, "w") as f:
        f.write("general = { state_directory = %s; };\n"
                "sources = (\n"
                "  { name = \"first\"; type = \"replay\"; file = %s; },\n"
                "  { name = \"second\"; type = \"replay\"; file = %s; }\n"
                ");\n"
                "teams = ( { name = \"care\"; chat = { type = \"console\"; };"
                " rules = ( { name = \"r\"; keywords = [\"x\"]; } ); } );\n"
                % (sbtest.cstr(wd), sbtest.cstr(os.path.join(wd, "none")),
                   sbtest.cstr(sbtest.CORPUS)))
    rc, out, err = run_cli(["--config", conf], cwd=wd)
    tap.ok(rc == 1 and "source first:" in err and
           "runtime error" not in err and "Sanitizer" not in err,
           "a source that cannot start, followed by another, exits 1 "
           "cleanly with its reason", "status %d" % rc, err[-3000:])


MM_TOKEN = "mmAuditT0kenForTests"


def audit_config(state, port):
    # The source points at a closed port: only commands matter here.
    return """
general = { state_directory = %s; };
sources = ( { name = "bluesky"; type = "jetstream";
  url = "ws://127.0.0.1:1/subscribe"; reconnect_min = 1000;
  reconnect_max = 5000; } );
teams = ( { name = "care"; chat = { type = "console";
  channel_id = "C0CARE"; }; } );
listener = { address = "127.0.0.1"; port = %d;
  mattermost_token = %s; };
""" % (cstr(state), port, cstr(MM_TOKEN))


def mattermost_command(port, text, channel="C0CARE"):
    body = urllib.parse.urlencode({
        "token": MM_TOKEN, "team_id": "T0", "team_domain": "acme",
        "channel_id": channel, "channel_name": "care",
        "user_id": "U0AUDIT", "user_name": "alice",
        "command": "/sb", "text": text,
        "response_url": "http://127.0.0.1:1/r",
        "trigger_id": "1.2"}).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/mattermost/commands", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Token " + MM_TOKEN})
        r = c.getresponse()
        return r.status, json.loads(r.read().decode() or "null")
    finally:
        c.close()


def audit_rows(out):
    return [l.split("\t") for l in out.splitlines()]


def check_audit(tap):
    """switchboard audit, while the daemon runs and after it stopped:
    one line per command, oldest first, the result of each, and -n and
    --since."""
    rc, out, err = run_cli(["--help"])
    tap.ok(rc == 0 and "switchboard audit [-c FILE] [-s DIR] [-n N] "
           "[--since YYYY-MM-DD]" in out, "--help shows audit's usage", out)
    wd = tap.subdir("audit")
    daemon = Daemon(wd)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    daemon.write_config(audit_config(daemon.state, port))
    sent = ["help queue", "queue", "frobnicate now", "note nope9 a\tb\nc\\d",
            "queue"]
    channels = ["C0CARE", "C0CARE", "C0CARE", "C0CARE", "C0ELSEWHERE"]
    try:
        daemon.start()
        up = daemon.wait_log(r"listener: on 127\.0\.0\.1 port %d" % port,
                             tap.timeout(15))
        if not tap.ok(up is not None, "the daemon takes commands",
                      daemon.tail()):
            return
        t0 = datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0)
        answers = [mattermost_command(port, t, c)
                   for t, c in zip(sent, channels)]
        tap.ok(all(st == 200 for st, _ in answers),
               "five commands are answered", answers)

        rc, out, err = run_cli(["audit", "-c", daemon.conf], cwd=wd)
        t1 = datetime.datetime.now(datetime.timezone.utc)
        tap.eq(rc, 0, "audit exits 0 while the daemon runs", err)
        rows = audit_rows(out)
        tap.eq([len(r) for r in rows], [7] * 5,
               "one line per command, TIME USER TEAM CODE ACTION RESULT "
               "TEXT separated by tabs", out)
        if len(rows) != 5 or any(len(r) != 7 for r in rows):
            return
        times = []
        for r in rows:
            try:
                times.append(datetime.datetime.strptime(
                    r[0], "%Y-%m-%dT%H:%M:%SZ").replace(
                        tzinfo=datetime.timezone.utc))
            except ValueError:
                times.append(None)
        tap.ok(all(t is not None and t0 <= t <= t1 for t in times) and
               times == sorted(times),
               "times are UTC ISO-8601, within the test, oldest first",
               [r[0] for r in rows], "between %s and %s" % (t0, t1))
        tap.eq([r[1:6] for r in rows], [
            ["alice (U0AUDIT)", "care", "-", "command", "ok"],
            ["alice (U0AUDIT)", "care", "-", "command", "ok"],
            ["alice (U0AUDIT)", "care", "-", "command",
             'refused: unknown command "frobnicate"'],
            ["alice (U0AUDIT)", "care", "NOPE9", "command",
             'refused: no conversation with code "nope9"'],
            ["alice (U0AUDIT)", "-", "-", "command",
             "refused: this channel belongs to no team"]],
            "user, the channel's team, the code, action and result", out)
        tap.eq([r[6] for r in rows],
               ["help queue", "queue", "frobnicate now",
                "note nope9 a\\tb\\nc\\\\d", "queue"],
               "the text as typed, one line (\\n, \\t and \\\\ escaped)")

        rc, out2, err = run_cli(["audit", "-c", daemon.conf, "-n", "2"],
                                cwd=wd)
        tap.eq((rc, out2.splitlines()), (0, out.splitlines()[-2:]),
               "-n 2 prints the newest two, oldest first", err)
        rc, out3, err = run_cli(["-s", daemon.state, "audit"], cwd=wd)
        tap.eq((rc, out3), (0, out),
               "-s DIR before the subcommand reads the same store "
               "without a config", err)
        day = times[0].date()
        rc, out4, err = run_cli(["audit", "--since", day.isoformat(),
                                 "-s", daemon.state], cwd=wd)
        tap.eq((rc, out4), (0, out), "--since today keeps today's", err)
        later = (day + datetime.timedelta(days=1)).isoformat()
        rc, out5, err = run_cli(["audit", "--since", later, "-s",
                                 daemon.state], cwd=wd)
        tap.eq((rc, out5), (0, ""), "--since tomorrow prints nothing", err)

        for args, why in ((["--since", "2024-02-30"], "an impossible date"),
                          (["--since", "yesterday"], "a word for a date"),
                          (["-n", "0"], "-n 0"), (["-n", "5x"], "-n 5x"),
                          (["extra"], "an extra argument")):
            rc, out6, err = run_cli(["audit", "-s", daemon.state] + args,
                                    cwd=wd)
            tap.ok(rc == 2 and out6 == "" and err,
                   "audit refuses %s with status 2" % why,
                   "status %d" % rc, out6, err)
        none = os.path.join(wd, "nostate")
        rc, out7, err = run_cli(["audit", "-s", none], cwd=wd)
        tap.ok(rc == 1 and "no store there" in err and
               not os.path.exists(none),
               "a state directory without a store: exit 1, nothing created",
               "status %d" % rc, err)

        rc, _ = daemon.stop()
        tap.eq(rc, 0, "the daemon stops cleanly")
        rc, out8, err = run_cli(["audit", "-c", daemon.conf], cwd=wd)
        tap.eq((rc, out8), (0, out), "the log is kept after it stopped",
               err)
        log = daemon.log()
        tap.ok("ERROR: AddressSanitizer" not in log and
               "runtime error" not in log, "no sanitizer report",
               daemon.tail())
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


def main():
    tap = Tap("cli")
    sbtest.need_binary(tap)
    for fn in (check_version, check_help, check_usage_error,
               check_shipped_configs, check_bad_config, check_test_config,
               check_route, check_start_failure, check_audit):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
