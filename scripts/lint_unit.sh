#!/usr/bin/env bash
# Checks systemd/ctd.service: `systemd-analyze verify` must say nothing at all (it exits 0 even on
# unknown keys, so its output is what counts), and `systemd-analyze security` must rate the unit's
# exposure at most CTD_MAX_EXPOSURE (default 2.0, "OK"). Prints the exposure line.
#
#   scripts/lint_unit.sh [CTD_BINARY]
#
# verify refuses an ExecStart= whose program does not exist, so the unit is checked as a copy whose
# ExecStart= names CTD_BINARY (a built ctd, e.g. .build/release/ctd) or, by default, a stub.
set -euo pipefail
cd "$(dirname "$0")/.."
unit=systemd/ctd.service
max=${CTD_MAX_EXPOSURE:-2.0}

command -v systemd-analyze >/dev/null || { echo "lint_unit: systemd-analyze not found (apt-get install systemd)" >&2; exit 2; }
[ -f "$unit" ] || { echo "lint_unit: $unit not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -ge 1 ]; then
    binary=$(realpath "$1")
    [ -x "$binary" ] || { echo "lint_unit: $1 is not an executable" >&2; exit 2; }
else
    binary=$work/ctd
    printf '#!/bin/sh\nexit 0\n' >"$binary"
    chmod 0755 "$binary"
fi
grep -q '^ExecStart=/usr/local/bin/ctd ' "$unit" || { echo "lint_unit: $unit: ExecStart= does not start with /usr/local/bin/ctd" >&2; exit 1; }
# The file name matters: systemd-analyze takes the unit's name from it.
sed "s#^ExecStart=/usr/local/bin/ctd #ExecStart=$binary #" "$unit" >"$work/ctd.service"

verify=$(systemd-analyze verify "$work/ctd.service" 2>&1) || true
if [ -n "$verify" ]; then
    echo "lint_unit: systemd-analyze verify $unit is not clean:" >&2
    printf '%s\n' "$verify" | sed "s#$work/#systemd/#g" >&2
    exit 1
fi
echo "systemd-analyze verify: clean"

security=$(systemd-analyze security --offline=true "$work/ctd.service" 2>&1) || {
    printf '%s\n' "$security" >&2
    echo "lint_unit: systemd-analyze security failed" >&2
    exit 1
}
line=$(printf '%s\n' "$security" | grep 'Overall exposure level' || true)
[ -n "$line" ] || { printf '%s\n' "$security" >&2; echo "lint_unit: no exposure level in systemd-analyze security's output" >&2; exit 1; }
echo "$line"
score=$(printf '%s\n' "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+).*/\1/')
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
    echo "lint_unit: exposure $score is above $max; the ✗ lines:" >&2
    printf '%s\n' "$security" | grep '✗' >&2 || true
    exit 1
fi
