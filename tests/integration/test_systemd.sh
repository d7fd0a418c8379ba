#!/bin/sh
# The systemd unit passes "systemd-analyze verify" with this build's
# binary, and keeps its promises: notify type, reload by SIGHUP after a
# config check, a state directory, the sandboxing options, and a
# watchdog that restarts a wedged daemon.
echo "1..4"
src=${SB_SRCDIR:-.}
bin=${SB_BINARY:-./switchboard}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "ok 1 # SKIP systemd-analyze not installed"
	echo "ok 2 # SKIP"; echo "ok 3 # SKIP"; echo "ok 4 # SKIP"; exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bindir=$(cd "$(dirname "$bin")" && pwd)
sed -e "s|@bindir@|$bindir|g" -e "s|@sysconfdir@|$dir|g" \
    -e "s|@docdir@|$dir|g" "$src/systemd/switchboard.service.in" \
    >"$dir/switchboard.service"
# The man pages are checked once installed (test_install.sh).
out=$(systemd-analyze verify --man=no "$dir/switchboard.service" 2>&1)
if [ $? = 0 ] && [ -z "$out" ]; then
	echo "ok 1 - systemd-analyze verify passes"
else
	echo "not ok 1 - systemd-analyze verify passes"
	echo "$out" | sed 's/^/# /'
fi
unit="$dir/switchboard.service"
ok=1
for line in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'StateDirectory=switchboard' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
    'DynamicUser=yes' 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
	grep -qxF "$line" "$unit" || { echo "# missing: $line"; ok=0; }
done
[ $ok = 1 ] && echo "ok 2 - unit has notify, reload and hardening" ||
	echo "not ok 2 - unit has notify, reload and hardening"
grep -q -- '--check-config' "$unit" &&
	echo "ok 3 - config is checked before start and reload" ||
	echo "not ok 3 - config is checked before start and reload"
# The watchdog: systemd restarts a daemon that stops pinging, which it
# only does when it fails (Restart=on-failure covers a watchdog kill).
if grep -qx 'WatchdogSec=30' "$unit" && grep -qx 'Restart=on-failure' "$unit"
then
	echo "ok 4 - WatchdogSec=30 with Restart=on-failure"
else
	echo "not ok 4 - WatchdogSec=30 with Restart=on-failure"
fi
