#!/usr/bin/env python3
"""The command line: --version, --help, --check-config on the shipped and
on broken files, usage errors, and the `route` dry run on recorded data."""

import os
import re
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sbtest  # noqa: E402
from sbtest import SRCDIR, Tap, run_cli  # noqa: E402


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


def main():
    tap = Tap("cli")
    sbtest.need_binary(tap)
    for fn in (check_version, check_help, check_usage_error,
               check_shipped_configs, check_bad_config, check_test_config,
               check_route, check_start_failure):
        tap.run(fn.__name__, fn, tap)
    tap.finish()


if __name__ == "__main__":
    main()
