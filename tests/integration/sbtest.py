"""Shared helpers for switchboard's integration tests: TAP output, the
daemon under test and its config, the loopback fakes, a small websocket
client, and the comparison of what the chat server received with what
`switchboard route` says the rules select.

Environment (set by make check): SB_SRCDIR (source tree), SB_BUILDDIR,
SB_BINARY (the built daemon).  Optional: SB_VALGRIND ("1", or a whole
valgrind command line) runs every daemon and CLI run under memcheck and
adds a check on its logs to each file (tests/valgrind.sh sets it, with
a build without sanitizers); SB_VALGRIND_SLOW, the factor for the waits
then (default 8); SB_KEEP_WORKDIR=DIR moves every work directory under
DIR at the end, passed or not (for tests/check-secrets.sh).  Python 3
standard library only.
"""

import atexit
import base64
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.environ.get("SB_SRCDIR") or
                         os.path.join(HERE, "..", ".."))
BUILDDIR = os.path.abspath(os.environ.get("SB_BUILDDIR") or os.getcwd())
BINARY = os.environ.get("SB_BINARY") or os.path.join(BUILDDIR, "switchboard")
FAKES = os.path.join(HERE, "..", "fakes")
CORPUS = os.path.join(SRCDIR, "tests", "data", "jetstream-corpus.jsonl")

sys.path.insert(0, FAKES)
import jetstream_server  # noqa: E402
# Re-exported for the tests.
from jetstream_server import JetstreamServer, web_url, post_uri  # noqa
from chat_server import ChatServer  # noqa: E402,F401

# Valgrind memcheck.  Errors in leaks count only for leaks nobody can
# still reach (definite, indirect): libuv, lws and OpenSSL keep some
# memory until exit on purpose.  The log-file option comes last so it
# wins over one in a given command line: Tap.finish reads those logs.
VALGRIND = os.environ.get("SB_VALGRIND", "")
if VALGRIND in ("", "0"):
    VALGRIND_CMD = []
elif VALGRIND == "1":
    VALGRIND_CMD = [
        "valgrind", "--tool=memcheck", "--error-exitcode=99",
        "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect", "--track-origins=yes",
        "--num-callers=30", "--child-silent-after-fork=yes",
        "--suppressions=" + os.path.join(SRCDIR, "tests", "valgrind.supp")]
else:
    VALGRIND_CMD = shlex.split(VALGRIND)
# Everything the daemon does takes this many times longer under
# valgrind: the waits for it grow by as much (no assertion changes).
SLOW = float(os.environ.get("SB_VALGRIND_SLOW") or 8) if VALGRIND_CMD else 1
VALGRIND_LOG = "valgrind.%p.log"
VALGRIND_LOG_RE = re.compile(r"^valgrind\.\d+\.log$")

# A test file must end well within automake's patience and ours.
TEST_DEADLINE = 110 * SLOW
KEEP_WORKDIR = os.environ.get("SB_KEEP_WORKDIR", "")
MAX_DIAG = 25           # diagnostic items shown per failed check

POST = "app.bsky.feed.post"
URL_RE = re.compile(r"https://bsky\.app/profile/([^/\s\"'<>|()]+)"
                    r"/post/([A-Za-z0-9._:~-]+)")

_children = []          # processes to kill if a test dies early
_tap = None             # the file's Tap: where CLI runs put valgrind logs


def _cleanup():
    for p in _children:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_cleanup)


# TAP.

class Tap:
    """TAP producer for automake's tap-driver: one line per check, the
    plan at the end, then the plain "N passed, N failed" line."""

    def __init__(self, name):
        self.name = name
        self.t0 = time.monotonic()
        self.n = 0
        self.failed = 0
        self.keep = False       # keep the work directory for diagnosis
        self.workdir = tempfile.mkdtemp(prefix="sb-%s-" % name)
        global _tap
        _tap = self
        self._timer = threading.Timer(TEST_DEADLINE, self._deadline)
        self._timer.daemon = True
        self._timer.start()

    def _deadline(self):
        self.out("Bail out! %s did not finish within %d s (work dir %s)" %
                 (self.name, TEST_DEADLINE, self.workdir))
        _cleanup()
        os._exit(1)

    def out(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def diag(self, *lines):
        for text in lines:
            for l in str(text).splitlines() or [""]:
                self.out("# " + l)

    def ok(self, cond, desc, *diag):
        self.n += 1
        desc = desc.replace("#", "\\#")
        if cond:
            self.out("ok %d - %s" % (self.n, desc))
        else:
            self.failed += 1
            self.keep = True
            self.out("not ok %d - %s" % (self.n, desc))
            self.diag(*diag)
        return bool(cond)

    def eq(self, got, want, desc, *diag):
        return self.ok(got == want, desc, "got:  %r" % (got,),
                       "want: %r" % (want,), *diag)

    def run(self, desc, fn, *args):
        """Run one scenario; an exception is a failed check."""
        t0 = time.monotonic()
        try:
            return fn(*args)
        except Exception:
            self.ok(False, "%s: raised" % desc, traceback.format_exc())
            return None
        finally:
            self.diag("%s: %.1f s" % (desc, time.monotonic() - t0))

    def timeout(self, seconds):
        """seconds (times SLOW under valgrind), or less so the file still
        ends before its deadline (a broken daemon then fails checks
        instead of bailing out)."""
        left = TEST_DEADLINE - 10 - (time.monotonic() - self.t0)
        return max(1.0, min(seconds * SLOW, left))

    def subdir(self, name):
        d = os.path.join(self.workdir, name)
        os.makedirs(d, exist_ok=True)
        return d

    def valgrind_check(self):
        """One check over every memcheck log of this file's runs: each
        says "ERROR SUMMARY: 0 errors", or, for a run killed before its
        summary, shows no error report."""
        logs = []
        for dirpath, _, files in os.walk(self.workdir):
            logs.extend(os.path.join(dirpath, f) for f in files
                        if VALGRIND_LOG_RE.match(f))
        bad, unfinished = [], 0
        for path in sorted(logs):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            errors, finished = valgrind_errors(text)
            unfinished += not finished
            if errors:
                bad.append("%s: %d errors" % (path, errors))
                bad.extend(valgrind_first_error(text))
        self.ok(logs and not bad, "valgrind: no memcheck error in %d runs "
                "(%d killed before their summary)" % (len(logs), unfinished),
                *(bad or ["no valgrind log in %s" % self.workdir]))

    def finish(self):
        self._timer.cancel()
        _cleanup()
        if VALGRIND_CMD:
            self.valgrind_check()
        self.out("1..%d" % self.n)
        self.out("# %d passed, %d failed" % (self.n - self.failed,
                                            self.failed))
        if KEEP_WORKDIR:
            # Passed or not, for check-secrets.sh; the name stays sb-*.
            try:
                os.makedirs(KEEP_WORKDIR, exist_ok=True)
                dest = os.path.join(KEEP_WORKDIR,
                                    os.path.basename(self.workdir))
                shutil.move(self.workdir, dest)
                self.workdir = dest
            except OSError as e:
                self.diag("could not move the work directory to %s: %s"
                          % (KEEP_WORKDIR, e))
            if self.keep:
                self.out("# work directory kept: %s" % self.workdir)
            else:
                self.diag("work directory moved to %s" % self.workdir)
        elif self.keep:
            self.out("# work directory kept: %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        # Failures are "not ok" lines; a non-zero status would make the
        # TAP driver count them a second time as an ERROR.
        sys.exit(0)


# What memcheck calls an error, each the first line of its report.
VALGRIND_ERROR_RE = re.compile(
    r"^==\d+== (Invalid (read|write|free)|Mismatched free|"
    r"Conditional jump or move depends|Use of uninitialised|"
    r"Syscall param|Source and destination overlap|Argument .* of "
    r"function|.* are (definitely|indirectly) lost|Process terminating)",
    re.M)


def valgrind_errors(text):
    """(error count, whether the run got to its summary) of one log."""
    m = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
    if m:
        return int(m.group(1).replace(",", "")), True
    return len(VALGRIND_ERROR_RE.findall(text)), False


def valgrind_first_error(text, n=40):
    """The first error report of a log, for the diagnostics."""
    m = VALGRIND_ERROR_RE.search(text)
    if not m:
        return []
    return text[m.start():].splitlines()[:n]


def valgrind_prefix(logdir):
    """The command line to put before the binary ([] without valgrind).
    A test that sizes ASan's quarantine of freed memory (to measure
    growth) gets memcheck's equivalent, the queue of freed blocks."""
    if not VALGRIND_CMD:
        return []
    extra = []
    m = re.search(r"quarantine_size_mb=(\d+)",
                  os.environ.get("ASAN_OPTIONS", ""))
    if m and VALGRIND == "1":
        extra.append("--freelist-vol=%d" % (int(m.group(1)) << 20))
    return VALGRIND_CMD + extra + ["--log-file=" +
                                   os.path.join(logdir, VALGRIND_LOG)]


def need_binary(tap):
    """Skip the whole file (exit 77 is not TAP: print a SKIP plan)."""
    if not os.access(BINARY, os.X_OK):
        tap._timer.cancel()
        tap.out("1..0 # SKIP switchboard not built (%s)" % BINARY)
        shutil.rmtree(tap.workdir, ignore_errors=True)
        sys.exit(0)


def wait_until(pred, timeout, interval=0.05):
    """Poll pred until it is true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# The daemon under test.

class Daemon:
    """One switchboard process (and its restarts) in a work directory.
    Its stderr and stdout go to DIR/daemon.log; each start() appends."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.conf = os.path.join(workdir, "switchboard.conf")
        self.state = os.path.join(workdir, "state")
        self.logpath = os.path.join(workdir, "daemon.log")
        self.proc = None
        self.log_start = 0
        self.starts = 0

    def write_config(self, text):
        tmp = self.conf + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def start(self, *extra):
        with open(self.logpath, "ab") as f:
            f.write(b"===== start %d =====\n" % (self.starts + 1))
            self.log_start = f.tell()
        logf = open(self.logpath, "ab")
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.proc = subprocess.Popen(
            valgrind_prefix(self.workdir) +
            [BINARY, "--config", self.conf] + list(extra),
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            cwd=self.workdir, env=env)
        logf.close()
        _children.append(self.proc)
        self.starts += 1
        return self.proc

    def log(self):
        """This run's output so far."""
        with open(self.logpath, "rb") as f:
            f.seek(self.log_start)
            return f.read().decode("utf-8", "replace")

    def tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, pattern, timeout, after=0):
        """The first match of pattern in this run's output at or after
        offset after, waiting for it (timeout times SLOW); None on
        timeout or exit."""
        rx = re.compile(pattern)
        timeout *= SLOW

        def look():
            m = rx.search(self.log(), after)
            if m:
                return m
            return None if self.alive() else False
        m = wait_until(lambda: look() is not None, timeout)
        return rx.search(self.log(), after) if m else None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal, wait up to timeout (times SLOW: memcheck's leak search
        comes after the daemon's exit): (exit status or None, seconds)."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            rc = None
            self.proc.kill()
            self.proc.wait(5)
        return rc, time.monotonic() - t0

    def kill(self):
        self.proc.kill()
        self.proc.wait(5)


def run_cli(args, timeout=30, cwd=None):
    """Run the binary to completion: (status, stdout, stderr)."""
    vg = valgrind_prefix(_tap.workdir) if _tap else []
    p = subprocess.run(vg + [BINARY] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout * SLOW, cwd=cwd or SRCDIR)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# Configuration.

def cstr(s):
    """A libconfig string literal."""
    return json.dumps(s, ensure_ascii=False)


def clist(items):
    return "[" + ", ".join(cstr(i) for i in items) + "]"


def team(name, rules, chat="slack", hook=None):
    return {"name": name, "chat": chat, "hook": hook or name,
            "rules": rules}


def rule(name, **keys):
    return dict(keys, name=name)


def render_rule(r):
    parts = ["name = %s;" % cstr(r["name"])]
    for k, v in r.items():
        if k == "name":
            continue
        if isinstance(v, list):
            parts.append("%s = %s;" % (k, clist(v)))
        elif isinstance(v, str):
            parts.append("%s = %s;" % (k, cstr(v)))
        else:
            parts.append("%s = %s;" % (k, v))
    return "{ " + " ".join(parts) + " }"


# The teams most tests use, written for the recorded corpus: English
# posts on these words go to care, Turkish ones (a thread of three) to
# sales over Mattermost, two hashtags to rnd, Japanese/Korean/Russian to
# intl; "maga" is noise; "youtube" and "files" are the brand, caught by
# the fallback.  About 14 of the 17 recorded posts are selected.
def default_teams():
    return [
        team("care", [rule("english", languages=["en"],
                           keywords=["government", "america", "video",
                                     "show", "election"])]),
        team("sales", [rule("turkish", languages=["tr"])],
             chat="mattermost"),
        team("rnd", [rule("tags", hashtags=["howtotellaitoshutup",
                                            "talesatwonderworld"])]),
        team("intl", [rule("asia", languages=["ja", "ko", "ru"])]),
    ]


DEFAULT_ROUTING = {
    "fallback": "care",
    "brand": {"keywords": ["youtube", "files"]},
    "drop": [{"name": "politics", "keywords": ["maga"]}],
}


def render_config(state_dir, js_port, chat_port, teams=None, routing=None,
                  rewind=5, idle_timeout=5, general_extra=""):
    teams = default_teams() if teams is None else teams
    routing = DEFAULT_ROUTING if routing is None else routing
    out = []
    out.append("general = { state_directory = %s; log_level = \"debug\";%s };"
               % (cstr(state_dir), general_extra))
    out.append("sources = ( { name = \"bluesky\"; type = \"jetstream\"; "
               "url = \"ws://127.0.0.1:%d/subscribe\"; rewind = %d; "
               "idle_timeout = %d; reconnect_min = 50; reconnect_max = 500; "
               "max_frame_size = 65536; } );"
               % (js_port, rewind, idle_timeout))
    out.append("teams = (")
    for i, t in enumerate(teams):
        out.append("  { name = %s;" % cstr(t["name"]))
        out.append("    chat = { type = %s; webhook_url = "
                   "\"http://127.0.0.1:%d/hooks/%s\"; rate = 50.0; "
                   "burst = 20; timeout = 5; };"
                   % (cstr(t["chat"]), chat_port, t["hook"]))
        out.append("    rules = ( %s );" %
                   ", ".join(render_rule(r) for r in t["rules"]))
        out.append("  }%s" % ("," if i + 1 < len(teams) else ""))
    out.append(");")
    r = ["routing = {"]
    if routing.get("fallback"):
        r.append("  fallback_team = %s;" % cstr(routing["fallback"]))
    if routing.get("brand"):
        b = routing["brand"]
        r.append("  brand = { %s };" % " ".join(
            "%s = %s;" % (k, clist(v)) for k, v in b.items()))
    if routing.get("drop"):
        r.append("  drop = ( %s );" % ", ".join(
            render_rule(d) for d in routing["drop"]))
    r.append("};")
    out.extend(r)
    return "\n".join(out) + "\n"


def hooks_of(teams):
    """Team name -> the webhook path its messages arrive on."""
    return {t["name"]: "/hooks/" + t["hook"] for t in teams}


# Posts, routes and deliveries.

def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def post_urls(events):
    """Web URL -> stream index, for every post create in events."""
    out = {}
    for i, e in enumerate(events):
        c = e.get("commit") or {}
        if e.get("kind") == "commit" and c.get("collection") == POST and \
                c.get("operation") in ("create", "update"):
            out.setdefault(web_url(e["did"], c["rkey"]), i)
    return out


def url_of_id(post_id):
    """The web URL for a post id printed by `switchboard route`."""
    if post_id.startswith("at://"):
        parts = post_id[5:].split("/")
        if len(parts) == 3 and parts[1] == POST:
            return web_url(parts[0], parts[2])
        return None
    m = URL_RE.fullmatch(post_id)
    return post_id if m else None


def route(conf, jsonl):
    """`switchboard route`: (status, [(team, rule, id, excerpt)], stderr,
    malformed lines)."""
    rc, out, err = run_cli(["route", "--config", conf, jsonl], timeout=60)
    rows, bad = [], []
    for line in out.splitlines():
        f = line.split("\t", 3)
        if len(f) == 4:
            rows.append(tuple(f))
        else:
            bad.append(line)
    return rc, rows, err, bad


def expected_deliveries(rows, hooks):
    """URL -> hook path for every post the router gives to a team."""
    exp = {}
    for t, _, pid, _ in rows:
        if t in ("drop", "ignore"):
            continue
        exp[url_of_id(pid)] = hooks.get(t, "/hooks/" + t)
    return exp


def strings_in(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings_in(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings_in(v)


def message_urls(body):
    urls = set()
    for s in strings_in(body):
        for m in URL_RE.finditer(s):
            urls.add(m.group(0))
    return urls


def deliveries(records):
    """[(path, url or None)] for accepted messages: the post a message
    shows is the one post URL in its body."""
    out = []
    for r in records:
        urls = message_urls(r["body"])
        out.append((r["path"], urls.pop() if len(urls) == 1 else None))
    return out


def compare(expected, records, either=None):
    """Diagnostics (empty when every expected post arrived exactly once
    on its path and nothing else arrived).  either: URL -> the acceptable
    outcomes for posts whose fate may go two ways, each a path or None
    for "not delivered"."""
    either = either or {}
    problems = []
    seen = {}
    for path, url in deliveries(records):
        if url is None:
            problems.append("message on %s without exactly one post URL"
                            % path)
            continue
        seen.setdefault(url, []).append(path)
    for url, want in sorted(expected.items()):
        got = seen.get(url, [])
        if not got:
            problems.append("missing: %s (for %s)" % (url, want))
        elif len(got) > 1:
            problems.append("%d deliveries: %s on %s" % (len(got), url, got))
        elif got[0] != want:
            problems.append("wrong channel: %s on %s, want %s" %
                            (url, got[0], want))
    for url, options in sorted(either.items()):
        got = seen.get(url, [])
        if len(got) > 1:
            problems.append("%d deliveries: %s on %s" % (len(got), url, got))
        elif (got[0] if got else None) not in options:
            problems.append("%s: %s, want one of %s" %
                            (url, got[0] if got else "missing", options))
    for url, got in sorted(seen.items()):
        if url not in expected and url not in either:
            problems.append("unexpected: %s on %s" % (url, got))
    return problems


def few(problems):
    """At most MAX_DIAG problems, for diagnostics."""
    if len(problems) <= MAX_DIAG:
        return list(problems)
    return problems[:MAX_DIAG] + ["... and %d more" %
                                  (len(problems) - MAX_DIAG)]


def delivered_urls(records):
    return {u for _, u in deliveries(records) if u}


def wait_delivered(get_records, urls, timeout):
    """Wait until every URL in urls was delivered at least once."""
    urls = set(urls)
    return wait_until(lambda: urls <= delivered_urls(get_records()),
                      timeout, 0.1)


# A settle time after the last expected delivery, so a late duplicate
# or stray message is caught.  Only used where no event can be awaited.
SETTLE = 1.5


def make_post(did, rkey, text, time_us, langs=("en",)):
    """A Jetstream post-create event, for posts injected by a test."""
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": rkey, "operation": "create",
                       "collection": POST, "rkey": rkey,
                       "record": {"$type": POST, "text": text,
                                  "langs": list(langs),
                                  "createdAt": "2026-07-04T14:40:00.000Z"},
                       "cid": "bafyreitest" + rkey}}


# Fakes as separate processes (the script interface).

class FakeProcess:
    """A fake started as a script; its port comes from its port file."""

    def __init__(self, script, workdir, name, args):
        self.name = name
        self.port_file = os.path.join(workdir, name + ".port")
        self.errpath = os.path.join(workdir, name + ".err")
        err = open(self.errpath, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(FAKES, script),
             "--port-file", self.port_file] + [str(a) for a in args],
            stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
        err.close()
        _children.append(self.proc)
        ok = wait_until(lambda: os.path.exists(self.port_file) or
                        self.proc.poll() is not None, 15)
        if not ok or not os.path.exists(self.port_file):
            raise RuntimeError("%s did not start: %s" %
                               (name, open(self.errpath).read()))
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def read_jsonl(path):
    """Complete lines of a file another process appends to."""
    try:
        with open(path, encoding="utf-8") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split("\n")[:-1]:
        if line.strip():
            out.append(json.loads(line))
    return out


# A websocket client, to check the Jetstream fake itself.

class WsClient:
    def __init__(self, port, target, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (target, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise EOFError("closed during handshake")
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        self.accept_ok = self.headers.get("sec-websocket-accept") == \
            jetstream_server.accept_key(key)

    def send(self, opcode, payload=b"", fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def recv(self):
        """(opcode, payload, fragments) of the next message; control
        frames are returned as they come."""
        parts, first, count = [], None, 0
        while True:
            fin, op, payload = jetstream_server.read_frame(self.sock, False)
            if op >= 0x8:
                return op, payload, 1
            count += 1
            if first is None:
                first = op
            parts.append(payload)
            if fin:
                return first, b"".join(parts), count

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# Slash commands, signed as Slack signs them (test_listener.py checks
# the signature itself; these are for tests that only need a command
# accepted).

def free_port():
    """A loopback port nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def slack_form(**fields):
    """A Slack slash-command form body; fields override the defaults."""
    import urllib.parse
    base = {"token": "deprecated", "team_id": "T0TEST",
            "team_domain": "acme", "channel_id": "C0TEST",
            "channel_name": "care", "user_id": "U0TEST",
            "user_name": "alice", "command": "/sb", "text": "help",
            "response_url": "https://hooks.slack.com/commands/T0/1/x",
            "trigger_id": "1.2.3"}
    base.update(fields)
    return urllib.parse.urlencode(base).encode()


def slack_headers(body, secret, ts=None):
    """The headers Slack signs body with (v0 HMAC-SHA256)."""
    import hashlib
    import hmac
    ts = str(int(time.time()) if ts is None else ts)
    mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body,
                   hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + mac}


def slack_command(port, secret, text, **fields):
    """POST a signed command to the listener: (HTTP status, the answer's
    JSON or None)."""
    import http.client
    body = slack_form(text=text, **fields)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/slack/commands", body=body,
                  headers=slack_headers(body, secret))
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    try:
        return r.status, json.loads(data.decode())
    except ValueError:
        return r.status, None
