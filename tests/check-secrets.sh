#!/bin/sh
# After `make check`: no secret the test suite configures may appear in
# any log the suite left behind.  The secrets come from two places: the
# configs the tests wrote (every *.conf under the build tree and under
# the tests' work directories, values of the secret-named keys src/cfg.c
# redacts, and the contents of the files their *_file keys name), and the
# secret-shaped constants in the integration tests and fakes (a passing
# test removes its work directory unless SB_KEEP_WORKDIR was set).  The
# logs are tests/**/*.log in the build tree and every *.log/*.err in the
# work directories.  A hit is reported as file and secret name, never
# the value.
#
# usage: check-secrets.sh BUILDDIR [SRCDIR] [WORKROOT...]
# WORKROOT defaults to $TMPDIR (or /tmp): the tests' sb-* directories
# (only those changed since the file $CHECK_SECRETS_SINCE, if set).
# $SB_KEEP_WORKDIR, if set, is one more WORKROOT: sbtest.py moves every
# test's work directory there, passed or not.
set -u
build=${1:?usage: check-secrets.sh BUILDDIR [SRCDIR] [WORKROOT...]}
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
[ $# -ge 2 ] && shift 2 || shift $#
[ $# -gt 0 ] || set -- "${TMPDIR:-/tmp}"
[ -n "${SB_KEEP_WORKDIR:-}" ] && [ -d "$SB_KEEP_WORKDIR" ] &&
	set -- "$@" "$SB_KEEP_WORKDIR"
exec python3 - "$build" "$src" "$@" <<'EOF'
import glob
import os
import re
import sys

build, src, roots = sys.argv[1], sys.argv[2], sys.argv[3:]

# The keys src/cfg.c treats as secrets (kept in step by reading it).
keys = set()
try:
    with open(os.path.join(src, "src", "cfg.c"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"cfg_secret_names\[\]\s*=\s*\{(.*?)\}", text, re.S)
    if m:
        keys.update(re.findall(r'"([a-z_]+)"', m.group(1)))
except OSError:
    pass
keys.update(("access_token", "slack_signing_secret", "mattermost_token",
             "app_password", "secret_key", "app_token", "token", "secret"))

secrets = {}        # value -> name (first source that named it)
MIN = 8             # shorter values would match ordinary words


def add(value, name):
    if len(value) >= MIN and value not in secrets:
        secrets[value] = name


def add_url(url, name):
    """A webhook URL's secret is its long path segments (a loopback
    fake's /hooks/care is not, and logs name it)."""
    for seg in url.split("?")[0].split("/")[3:]:
        if len(seg) >= 16 and re.search(r"\d", seg) and \
                re.search(r"[A-Za-z]", seg):
            add(seg, name + " (path)")


since = 0
if os.environ.get("CHECK_SECRETS_SINCE"):
    since = os.stat(os.environ["CHECK_SECRETS_SINCE"]).st_mtime
work_dirs = [build]
for r in roots:
    work_dirs.extend(d for d in sorted(glob.glob(os.path.join(r, "sb-*")))
                     if os.path.isdir(d) and os.stat(d).st_mtime >= since
                     and d not in work_dirs)

conf_key = re.compile(r'\b([a-z_]+)\s*[=:]\s*"((?:[^"\\]|\\.)*)"')
for top in work_dirs:
    for dirpath, dirs, files in os.walk(top):
        # A distcheck tree is a copy of this one.
        dirs[:] = [d for d in dirs if not d.startswith("switchboard-")]
        for fn in files:
            if not fn.endswith(".conf"):
                continue
            path = os.path.join(dirpath, fn)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    conf = f.read()
            except OSError:
                continue
            for k, v in conf_key.findall(conf):
                v = v.encode().decode("unicode_escape", "replace") \
                    if "\\" in v else v
                name = "%s in %s" % (k, os.path.relpath(path, top))
                if k.endswith("_file") and k[:-5] in keys:
                    p = v if os.path.isabs(v) else \
                        os.path.join(dirpath, v)
                    try:
                        with open(p, encoding="utf-8",
                                  errors="replace") as f:
                            v = f.read().strip()
                    except OSError:
                        continue
                    k = k[:-5]
                if k == "webhook_url":
                    add_url(v, name)
                elif k in keys:
                    add(v, name)

const = re.compile(r'^\s*([A-Z0-9_]*(?:SECRET|TOKEN|PASSWORD)[A-Z0-9_]*)'
                   r'\s*=\s*(.*)$')
lit = re.compile(r'"([^"\\]{%d,})"' % MIN)
for pat in ("tests/integration/*.py", "tests/fakes/*.py"):
    for path in sorted(glob.glob(os.path.join(src, pat))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = const.match(line)
                if not m:
                    continue
                for v in lit.findall(m.group(2)):
                    add(v, "%s in %s" % (m.group(1),
                                          os.path.relpath(path, src)))

logs = []
for dirpath, dirs, files in os.walk(os.path.join(build, "tests")):
    logs.extend(os.path.join(dirpath, f) for f in files
                if f.endswith(".log"))
for top in work_dirs[1:]:
    for dirpath, dirs, files in os.walk(top):
        logs.extend(os.path.join(dirpath, f) for f in files
                    if f.endswith((".log", ".err")))

hits = []
for path in sorted(set(logs)):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        continue
    for value, name in secrets.items():
        if value in data:
            hits.append("%s: contains the secret %s" % (path, name))

print("check-secrets: %d secrets, %d logs, %d leaks" %
      (len(secrets), len(logs), len(hits)))
for h in hits:
    print("check-secrets: " + h)
sys.exit(1 if hits or not secrets else 0)
EOF
