#!/bin/sh
# "make install DESTDIR=..." from the build tree installs the binary,
# both manuals, the systemd unit and the sample configuration (never
# the configuration itself, so an existing one survives), the unit
# names the installed binary, the manuals render without a warning,
# and "make uninstall" takes back all of it.
echo "1..8"
build=${SB_BUILDDIR:-.}
n=0
ok() {	# ok CONDITION-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}
if ! [ -f "$build/Makefile" ]; then
	echo "ok 1 # SKIP no Makefile in $build"
	i=2; while [ $i -le 8 ]; do echo "ok $i # SKIP"; i=$((i + 1)); done
	exit 0
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
dest=$work/root
log=$work/log
files=$work/files
# A make of our own, not a job of the make running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
make -s -C "$build" install DESTDIR="$dest" >"$log" 2>&1
rc=$?
ok $rc "make install DESTDIR=... exits 0"
[ $rc = 0 ] || sed 's/^/# /' "$log"

# Where each went, by its place under the prefix.
find "$dest" -type f | sed "s|^$dest||" | sort >"$files"
missing=
for want in '/bin/switchboard' '/man8/switchboard.8' \
    '/man5/switchboard.conf.5' '/lib/systemd/system/switchboard.service' \
    '/switchboard/switchboard.conf.sample' '/README.md'; do
	grep -q "$want\$" "$files" || missing="$missing $want"
done
[ -z "$missing" ]
ok $? "installs the binary, switchboard(8), switchboard.conf(5), the unit, the sample config and the README"
[ -n "$missing" ] && { echo "# missing:$missing"; sed 's/^/# /' "$files"; }
grep -q '/switchboard/switchboard.conf$' "$files"
[ $? != 0 ]
ok $? "the configuration itself is not installed"

# The unit and the manual name the paths make install used.
unit="$dest$(grep '/lib/systemd/system/switchboard.service$' "$files")"
bin=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$unit" 2>/dev/null)
sample="$dest$(grep '/switchboard/switchboard.conf.sample$' "$files")"
conf=${sample%.sample}
man8="$dest$(grep '/man8/switchboard.8$' "$files")"
# (The manual may break a path after a slash: "\:".)
[ -n "$bin" ] && [ -x "$dest$bin" ] &&
    "$dest$bin" --check-config --config "$sample" >/dev/null 2>&1 &&
    sed 's/\\://g' "$man8" | grep -qF "$(dirname "${conf#$dest}")" &&
    grep -qF "${conf#$dest}" "$unit"
ok $? "the unit runs the installed binary, which accepts the sample; unit and manual name the installed config's place"

# An existing configuration survives another install.
echo '# the operator'"'"'s own' >"$conf"
make -s -C "$build" install DESTDIR="$dest" >>"$log" 2>&1 &&
    [ "$(cat "$conf")" = "# the operator's own" ]
ok $? "make install again leaves an existing switchboard.conf as it was"

# The manuals render without a warning.
warn=
for page in "$man8" \
    "$dest$(grep '/man5/switchboard.conf.5$' "$files")"; do
	if command -v groff >/dev/null 2>&1; then
		out=$(groff -mandoc -ww -z "$page" 2>&1)
		[ -z "$out" ] || warn="$warn
groff: $out"
	fi
	if command -v man >/dev/null 2>&1; then
		out=$(MANWIDTH=80 LC_ALL=C man -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || warn="$warn
man -l: $out"
	fi
	if command -v mandoc >/dev/null 2>&1; then
		out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
		[ -z "$out" ] || warn="$warn
mandoc: $out"
	fi
done
if ! command -v groff >/dev/null 2>&1 && ! command -v man >/dev/null 2>&1 &&
    ! command -v mandoc >/dev/null 2>&1; then
	n=$((n + 1)); echo "ok $n # SKIP neither groff, man nor mandoc"
else
	[ -z "$warn" ]
	ok $? "man -l, groff -ww and mandoc -Tlint render both manuals without a warning"
	[ -n "$warn" ] && echo "$warn" | sed 's/^/# /'
fi
grep -q 'outbox retry' "$man8" && grep -q 'SIGHUP' "$man8" &&
    grep -q 'yes-really-drop' "$man8"
ok $? "switchboard(8) covers the state tools and the signals"

# Uninstall takes back everything but the operator's file.
make -s -C "$build" uninstall DESTDIR="$dest" >>"$log" 2>&1
left=$(find "$dest" -type f | sed "s|^$dest||")
[ "$left" = "${conf#$dest}" ]
ok $? "make uninstall removes what make install put there"
[ "$left" = "${conf#$dest}" ] || echo "$left" | sed 's/^/# left: /'
exit 0
