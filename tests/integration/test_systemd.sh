#!/bin/sh
# The systemd unit passes "systemd-analyze verify" with this build's
# binary, and keeps its promises: notify type, reload by SIGHUP after a
# config check, a state directory, and the sandboxing options.
echo "1..3"
src=${SB_SRCDIR:-.}
bin=${SB_BINARY:-./switchboard}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "ok 1 # SKIP systemd-analyze not installed"
	echo "ok 2 # SKIP"; echo "ok 3 # SKIP"; exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bindir=$(cd "$(dirname "$bin")" && pwd)
sed -e "s|@bindir@|$bindir|g" -e "s|@sysconfdir@|$dir|g" \
    -e "s|@docdir@|$dir|g" "$src/systemd/switchboard.service.in" \
    >"$dir/switchboard.service"
out=$(systemd-analyze verify "$dir/switchboard.service" 2>&1)
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
