#!/usr/bin/env bash
# test-windows.sh CLI.exe DESKTOP.exe : runs the cross-built Windows executables under Wine on
# this Linux machine (`make test-windows` builds, signs and then calls it).
#
#   1. both .exe files carry an Authenticode signature that osslsigncode verifies against
#      $WINDOWS_SIGN_CAFILE (make passes the test certificate), and one that it refuses
#      without that CA;
#   2. the CLI: version; validate between two sim:// controllers in simulated time with a
#      signed evidence bundle (GO, exit 0), a NO-GO pair (exit 1) and bad input (exit 2);
#      verify of the bundle with the key the validate made in %APPDATA% (exit 0), refused
#      from a workstation that does not know the key (exit 1), accepted again with --trust;
#   3. the desktop app starts under Xvfb and draws its window: once the window is mapped and a
#      screenshot of it has more than $MIN_COLOURS distinct colours (a blank window has one,
#      text and icons hundreds) and two frames in a row agree, it is written to $SCREENSHOT.
#
# Wine 8 (Debian 12) lacks bcryptprimitives.dll, which Go's runtime loads at start-up on every
# Windows it supports; bcryptprimitives.c beside this script stands in for it inside the
# test's own Wine prefix only (see that file). Wine's own chatter on stderr is filtered out of
# what is shown. Nothing sleeps blindly: every wait polls a condition against a deadline.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 CLI.exe DESKTOP.exe" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=$(realpath "$1")
desktop=$(realpath "$2")
work=${WINDOWS_TEST_DIR:-$root/.work/windows}
SCREENSHOT=${SCREENSHOT:-$root/docs/screenshots/windows-wine.png}
MIN_COLOURS=${MIN_COLOURS:-64}
DEADLINE=${WINDOWS_TEST_DEADLINE:-300} # seconds, for each wait on Wine
CAFILE=${WINDOWS_SIGN_CAFILE:-$work/sign/test-cert.pem}

export WINEPREFIX=${WINEPREFIX:-$work/wine}
export WINEARCH=win64 WINEDEBUG=-all
# no Mono or Gecko install prompts: patchgate needs neither .NET nor the HTML engine
export WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$work"
run=$(mktemp -d "$work/run.XXXXXX")

fails=0 passes=0
pass() { passes=$((passes + 1)); echo "ok   $*"; }
fail() { fails=$((fails + 1)); echo "FAIL $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
# winenoise drops Wine's own diagnostics (err:/fixme:/warn: lines, "wine: ..." notes) from a log
winenoise() { grep -Ev '^[0-9a-f]{4}:(err|fixme|warn|trace):|^wine: |^wine client error|^Could not find Wine Gecko|^Could not find Wine Mono' "$@" || true; }

xvfb_pid="" app_pid=""
cleanup() {
	if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
	wineserver -k 2>/dev/null || true # only this prefix's processes, all started here
	if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
	rm -rf "$run"
}
trap cleanup EXIT

# waitfor SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds (0), gives up (2) or
# time runs out
waitfor() {
	local secs=$1 what=$2 rc
	local limit=$(($(date +%s) + secs))
	shift 2
	while :; do
		rc=0
		"$@" || rc=$?
		[ "$rc" -eq 0 ] && return 0
		[ "$rc" -eq 2 ] && return 2
		if [ "$(date +%s)" -ge "$limit" ]; then
			echo "timed out after ${secs}s waiting for $what" >&2
			return 1
		fi
		sleep 0.5
	done
}

# expect NAME WANT_CODE PATTERN -- EXE ARGS...: runs a Windows command, checks its exit code and
# that PATTERN (an extended regexp) is on its stdout or stderr.
expect() {
	local name=$1 want=$2 pattern=$3
	shift 4
	local code=0
	(cd "$run" && wine "$@" >"$run/out" 2>"$run/err.raw") || code=$?
	winenoise "$run/err.raw" >"$run/err"
	if [ "$code" -ne "$want" ]; then
		fail "$name: exit $code, want $want"
		sed 's/^/     | /' "$run/out" "$run/err" | tail -30
	elif ! grep -Eq -- "$pattern" "$run/out" "$run/err"; then
		fail "$name: exit $code but no line matches /$pattern/"
		sed 's/^/     | /' "$run/out" "$run/err" | tail -30
	else
		pass "$name (exit $code): $(grep -Eh -m1 -- "$pattern" "$run/out" "$run/err" | head -1)"
	fi
}

echo "== signatures (osslsigncode, CA $CAFILE)"
for exe in "$cli" "$desktop"; do
	if osslsigncode verify -CAfile "$CAFILE" -in "$exe" >"$run/sig" 2>&1 && grep -q '^Signature verification: ok' "$run/sig"; then
		pass "signature of $(basename "$exe") verifies: $(grep -m1 'Subject:' "$run/sig" | sed 's/^[[:space:]]*//')"
	else
		fail "signature of $(basename "$exe")"
		tail -20 "$run/sig"
	fi
	# a test signature is refused against the system's CAs: the check above did use our CA
	if [ "$CAFILE" = "$work/sign/test-cert.pem" ]; then
		if osslsigncode verify -in "$exe" >"$run/sig" 2>&1; then
			fail "the test signature on $(basename "$exe") verified without the test CA"
		else
			pass "without the test CA the signature is refused: $(grep -m1 -o 'Error: .*' "$run/sig")"
		fi
	fi
done

echo "== Xvfb and the Wine prefix ($WINEPREFIX)"
# Xvfb picks a free display and writes its number to fd 5
rm -f "$run/display"
Xvfb -displayfd 5 -screen 0 1280x900x24 -nolisten tcp 5>"$run/display" 2>"$run/xvfb.log" &
xvfb_pid=$!
waitfor "$DEADLINE" "Xvfb to start" test -s "$run/display"
DISPLAY=:$(head -1 "$run/display")
export DISPLAY
start=$(date +%s)
if ! [ -s "$WINEPREFIX/system.reg" ]; then
	# a new prefix (a minute or so); a kept one is brought up to date by Wine itself
	wineboot -i >"$run/boot.log" 2>&1 || { winenoise "$run/boot.log"; fail "wineboot"; exit 1; }
	wineserver -w # wineboot returns before the prefix's set-up has finished
fi
wineserver -p # one server for every command below: no start-up per command; killed at exit
echo "prefix ready in $(($(date +%s) - start)) s ($(wine --version))"
sys32=$WINEPREFIX/drive_c/windows/system32
if ! [ -e "$sys32/bcryptprimitives.dll" ]; then
	x86_64-w64-mingw32-gcc -shared -O2 -Wl,--kill-at -o "$sys32/bcryptprimitives.dll" "$here/bcryptprimitives.c" -ladvapi32
	echo "this Wine has no bcryptprimitives.dll: installed the stand-in from bcryptprimitives.c"
fi

echo "== CLI $(basename "$cli")"
scen=$(winepath -w "$root/scenarios/tank-alarm-trip.yaml")
appdata_keys="$WINEPREFIX/drive_c/users/$(id -un)/AppData/Roaming/patchgate/keys"
rm -rf "$appdata_keys"
mkdir -p "$run/stranger"
expect "version" 0 '^patchgate [0-9]' -- "$cli" version
expect "validate, bad input" 2 'scenario' -- "$cli" validate --before sim://tank --after sim://tank
expect "validate GO with a bundle" 0 '^GO  tank-alarm-trip  \(3\.2\.0 -> 3\.2\.1\)' -- \
	"$cli" validate --scenario "$scen" --before 'sim://tank?seed=7' --after 'sim://tank?firmware=benign&seed=7' \
	--fast --db 'register.db' --bundle 'evidence.zip'
check "validate printed the bundle's hash" grep -q '^  evidence: evidence.zip (sha256 [0-9a-f]\{64\})' "$run/out"
check "bundle and register written" test -s "$run/evidence.zip" -a -s "$run/register.db"
check "workstation key made in %APPDATA%\\patchgate\\keys" test -s "$appdata_keys/pub.pem"
expect "validate NO-GO" 1 '^NO-GO  tank-alarm-trip' -- \
	"$cli" validate --scenario "$scen" --before 'sim://tank?seed=7' --after 'sim://tank?firmware=alarm-shift&seed=7' --fast --db 'register.db'
expect "verify on the workstation that signed" 0 '^OK: [0-9]+ files, verdict GO, signed by [0-9a-f]+' -- "$cli" verify 'evidence.zip'
expect "verify elsewhere refuses an unknown signer" 1 'REFUSED: signed by an unknown key' -- "$cli" verify 'evidence.zip' --key-dir 'stranger'
expect "verify elsewhere with --trust" 0 '^OK: [0-9]+ files, verdict GO' -- \
	"$cli" verify 'evidence.zip' --key-dir 'stranger' --trust "$(winepath -w "$appdata_keys/pub.pem")"

echo "== desktop $(basename "$desktop")"
# a new workspace each time, so that what a kept prefix stored in earlier runs does not show
mkdir -p "$run/workspace"
(cd "$run" && exec wine "$desktop" -workspace "$(winepath -w "$run/workspace")") >"$run/desktop.log" 2>&1 &
app_pid=$!
window() { xdotool search --onlyvisible --name '^patchgate$' >"$run/wid" 2>/dev/null; }
alive() { kill -0 "$app_pid" 2>/dev/null || { echo "the desktop app exited:"; winenoise "$run/desktop.log" | tail -20; return 2; }; }
drawn() {
	alive || return 2
	window || return 1
	import -window "$(head -1 "$run/wid")" "$run/shot.png" 2>/dev/null || return 1
	colours=$(identify -format %k "$run/shot.png")
	[ "$colours" -gt "$MIN_COLOURS" ]
}
start=$(date +%s)
colours=0
if waitfor "$DEADLINE" "a drawn patchgate window" drawn; then
	# the first frame with content may still be filling in: wait until two frames in a row
	# have as many colours
	settled() {
		alive || return 2
		import -window "$(head -1 "$run/wid")" "$run/shot2.png" 2>/dev/null || return 1
		local now
		now=$(identify -format %k "$run/shot2.png")
		[ "$now" -eq "$colours" ] && return 0
		colours=$now
		return 1
	}
	st=0
	waitfor "$DEADLINE" "the window to settle" settled || st=$?
	if [ "$st" -eq 2 ]; then
		fail "desktop app exited after drawing its window"
	else
		[ -s "$run/shot2.png" ] || cp "$run/shot.png" "$run/shot2.png"
		mkdir -p "$(dirname "$SCREENSHOT")"
		cp "$run/shot2.png" "$SCREENSHOT"
		pass "desktop window drawn after $(($(date +%s) - start)) s: $(identify -format '%wx%h, %k colours' "$SCREENSHOT") -> $SCREENSHOT"
	fi
else
	fail "desktop window (last screenshot: $colours colours)"
	winenoise "$run/desktop.log" | tail -20
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
