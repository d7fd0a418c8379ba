#!/usr/bin/env python3
"""Nostr interop: switchboard against two instances of a real relay
written by others (@nostr-relay/core with its validator and SQLite
repository, behind a `ws` server), fed real notes signed by nostr-tools,
plus a non-validating loopback relay serving forged copies.  Every
genuine note that mentions the brand key or carries the brand hashtag
reaches chat exactly once; forged and unrelated notes never.

The relay and nostr-tools come from the npm registry at the versions
pinned in tests/interop/nostr/package-lock.json, installed with `npm ci`
into the build tree (the source tree may be read-only).  Skipped (exit
77) only when node or npm is missing."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import sbtest  # noqa: E402
import sbnostr  # noqa: E402
from nostr_relay import NostrRelay  # noqa: E402
from sbtest import ChatServer, Daemon, Tap, rule, team, wait_until  # noqa

# npm ci builds better-sqlite3 from source on a first run (about a
# minute on two cores); later runs reuse the installed tree.
sbtest.TEST_DEADLINE = 420
TIMEOUT = 30
SOURCE = os.path.join(sbtest.SRCDIR, "tests", "interop", "nostr")
FILES = ("package.json", "package-lock.json", "relay.mjs", "publish.mjs")
RUNDIR = os.path.join(sbtest.BUILDDIR, "tests", "interop", "nostr-run")
STAMP = os.path.join(RUNDIR, "node_modules", ".switchboard-stamp")

BRAND = sbnostr.Key("interop brand")
TAG = "acmeinterop"
HOOKS = {"mention": "/hooks/care", "tag": "/hooks/rnd"}


def skip(reason):
    sys.stdout.write("1..0 # SKIP %s\n" % reason)
    sys.stdout.flush()
    sys.exit(77)


def lock_digest():
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(SOURCE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def npm_env():
    env = dict(os.environ, npm_config_audit="false", npm_config_fund="false",
               npm_config_update_notifier="false")
    # node-gyp builds better-sqlite3 against the installed headers
    # instead of downloading them.
    if "npm_config_nodedir" not in env and \
            os.path.exists("/usr/include/node/node.h"):
        env["npm_config_nodedir"] = "/usr"
    return env


def install(tap):
    """Copy the package files into the build tree and `npm ci` there,
    unless the same lockfile is installed already.  Output goes to a
    log file, never to the TAP stream."""
    os.makedirs(RUNDIR, exist_ok=True)
    for name in FILES:
        src, dst = os.path.join(SOURCE, name), os.path.join(RUNDIR, name)
        if os.path.abspath(src) != os.path.abspath(dst):
            shutil.copyfile(src, dst)
    digest = lock_digest()
    try:
        with open(STAMP) as f:
            if f.read().strip() == digest:
                tap.diag("npm packages already installed in %s" % RUNDIR)
                return True
    except OSError:
        pass
    log = os.path.join(RUNDIR, "npm-ci.log")
    t0 = time.monotonic()
    with open(log, "wb") as out:
        rc = subprocess.call(["npm", "ci", "--no-audit", "--no-fund"],
                             cwd=RUNDIR, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT,
                             env=npm_env())
    with open(log, encoding="utf-8", errors="replace") as f:
        tail = f.read().splitlines()[-30:]
    ok = tap.ok(rc == 0, "npm ci installs the pinned relay and nostr-tools "
                "(%.0f s)" % (time.monotonic() - t0),
                "npm ci exited %d; log %s:" % (rc, log), *tail)
    if ok:
        with open(STAMP, "w") as f:
            f.write(digest + "\n")
    return ok


class NodeRelay:
    """relay.mjs in its own process; it exits when its stdin closes."""

    def __init__(self, workdir, name):
        self.port_file = os.path.join(workdir, name + ".port")
        self.log = os.path.join(workdir, name + ".log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ["node", "relay.mjs", self.port_file], cwd=RUNDIR,
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        sbtest._children.append(self.proc)
        ok = wait_until(lambda: os.path.exists(self.port_file) or
                        self.proc.poll() is not None, 20)
        if not ok or not os.path.exists(self.port_file):
            with open(self.log, encoding="utf-8", errors="replace") as f:
                raise RuntimeError("relay %s did not start: %s" %
                                   (name, f.read()))
        with open(self.port_file) as f:
            self.port = int(f.read())

    def url(self):
        return "ws://127.0.0.1:%d/" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def publish(workdir, notes, forge, first):
    """nostr-tools signs and publishes notes (what, relay URLs); returns
    publish.mjs's result."""
    spec = {"brand": BRAND.pub, "tag": TAG, "first": first, "forge": forge,
            "notes": [{"what": w, "relays": r} for w, r in notes]}
    err = os.path.join(workdir, "publish-%d.err" % first)
    with open(err, "wb") as e:
        p = subprocess.run(["node", "publish.mjs"], cwd=RUNDIR,
                           input=json.dumps(spec).encode(),
                           stdout=subprocess.PIPE, stderr=e, timeout=60)
    if p.returncode != 0:
        with open(err, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("publish.mjs exited %d: %s" %
                               (p.returncode, f.read()))
    res = json.loads(p.stdout.decode("utf-8"))
    # Chat links are matched with nostr-tools' NIP-19 encoding, so a
    # mistake in the daemon's encoder shows as an unknown link.
    for hex_id, note in res["note"].items():
        sbnostr.NOTE_TO_HEX[note] = hex_id
    return res


def teams():
    return [team("care", [rule("mentions", mentions=[BRAND.pub])]),
            team("rnd", [rule("tags", hashtags=[TAG])], chat="mattermost")]


def interop(tap):
    wd = tap.subdir("interop")
    r1, r2 = NodeRelay(wd, "relay1"), NodeRelay(wd, "relay2")
    fake = NostrRelay(ignore_filters=True, name="fake")
    chat = ChatServer()
    daemon = Daemon(wd)
    try:
        fake.start()
        u1, u2, uf = r1.url(), r2.url(), fake.url()
        # Stored before the daemon starts: on one relay or both.
        before = publish(wd, [("mention", [u1]), ("mention", [u2]),
                              ("mention", [u1, u2]), ("tag", [u1]),
                              ("tag", [u1, u2]), ("plain", [u1, u2])],
                         ["mention", "tag"], 0)
        genuine = before["notes"]
        bad_pub = ["%s: %s" % (n["event"]["id"], n["published"])
                   for n in genuine
                   if any(v != "ok" for v in n["published"].values())]
        tap.ok(not bad_pub, "both relays accept the %d notes nostr-tools "
               "signed" % len(genuine), *bad_pub)
        refused = [f for f in before["forged"]
                   if f["how"] in ("reid", "impostor")]
        tap.ok(refused and all(v.startswith("invalid")
                               for f in refused
                               for v in f["published"].values()),
               "the real relays refuse forged notes (wrong signature)",
               *[json.dumps(f["published"]) for f in before["forged"]])
        # The fake relay serves every forgery, plus copies of the real
        # notes, and anything to anyone.
        fake.add_events([f["event"] for f in before["forged"]] +
                        [n["event"] for n in genuine])
        daemon.write_config(sbnostr.render_config(
            daemon.state, [u1, u2, uf], chat.start(), teams(),
            {"mentions": [before["npub"]], "hashtags": [TAG],
             "initial_lookback": 600}))
        expected = {n["event"]["id"]: HOOKS[n["what"]] for n in genuine
                    if n["what"] in HOOKS}
        daemon.start()
        sbnostr_wait(chat, expected, tap.timeout(TIMEOUT))

        # Live, while the daemon is subscribed.
        live = publish(wd, [("mention", [u1, u2]), ("tag", [u2]),
                            ("plain", [u1])], ["mention"], 100)
        fake.add_events([f["event"] for f in live["forged"]])
        expected.update({n["event"]["id"]: HOOKS[n["what"]]
                         for n in live["notes"] if n["what"] in HOOKS})
        sbnostr_wait(chat, expected, tap.timeout(TIMEOUT))
        wait_until(lambda: False, sbtest.SETTLE)
        problems = sbnostr.compare(expected, chat.snapshot()[0],
                                   ("FORGED-",))
        tap.ok(not problems, "every genuine note mentioning the brand key "
               "or tagged #%s arrives once in its team's channel; forged "
               "and unrelated ones never (%d expected)"
               % (TAG, len(expected)),
               *(sbtest.few(problems) + [daemon.tail()]))
        log = daemon.log()
        eose = [u for u in (u1, u2) if "%s sent all it had stored" % u
                not in log]
        tap.ok(not eose, "both real relays answered the REQ through EOSE",
               *eose)
        forged = len(before["forged"]) + len(live["forged"])
        served = sum(1 for _, _, ev in fake.sent
                     if not sbnostr.verify(ev))
        tap.ok(log.count("forged or malformed event from %s" % uf) ==
               served >= forged, "each time the fake relay served one of "
               "the %d forged notes (%d) it was rejected" % (forged, served),
               daemon.tail(30))
        rc, secs = daemon.stop()
        tap.ok(rc == 0, "SIGTERM stops the daemon with status 0 (%.1f s)"
               % secs, daemon.tail())
    finally:
        if daemon.alive():
            daemon.kill()
        for r in (r1, r2):
            r.stop()
        fake.stop()
        chat.stop()


def sbnostr_wait(chat, ids, timeout):
    ids = set(ids)
    return wait_until(lambda: ids <= sbnostr.delivered_ids(
        chat.snapshot()[0]), timeout, 0.1)


def main():
    missing = [p for p in ("node", "npm") if shutil.which(p) is None]
    if missing:
        skip("%s not found: the Nostr interop test runs a relay and "
             "nostr-tools from the npm registry" % " and ".join(missing))
    tap = Tap("nostr-interop")
    sbtest.need_binary(tap)
    if install(tap):
        tap.run("interop", interop, tap)
    tap.finish()


if __name__ == "__main__":
    main()
