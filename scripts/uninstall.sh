#!/usr/bin/env bash
# Removes what scripts/install.sh installed: stops and disables the service, removes ctd, ctctl and
# the unit. Keeps /etc/ctd (your configuration) and never touches /var/lib/ctd (scans, reports,
# models, database); it says how to remove them by hand. Run as root.
#
#   scripts/uninstall.sh [--root DIR] [--prefix DIR] [--remove-user]
#
#   --root DIR      uninstall from DIR as if it were / (systemctl and the user database are left
#                   alone; what would be done is printed)
#   --prefix DIR    the --prefix ctd was installed with (default /usr/local)
#   --remove-user   also delete the ctd system user and group
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
fail() { echo "uninstall.sh: $*" >&2; exit 1; }

root=/
prefix=/usr/local
remove_user=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || fail "--root needs a folder"; root=$2; shift 2 ;;
        --root=*) root=${1#*=}; shift ;;
        --prefix) [ $# -ge 2 ] || fail "--prefix needs a folder"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --remove-user) remove_user=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option: $1" ;;
    esac
done

case "$prefix" in
    /*) ;;
    *) fail "--prefix must be an absolute path: $prefix" ;;
esac
prefix=${prefix%/}
root=$(realpath -m -- "$root")
if [ "$root" = / ]; then
    [ "$(id -u)" -eq 0 ] || fail "must be run as root (or use --root DIR to uninstall from a folder)"
    dest=
else
    [ -d "$root" ] || fail "--root $root is not a folder"
    dest=$root
fi
bin_target=$prefix/bin
unit_target=$dest/etc/systemd/system/ctd.service

# 1. Stop and disable the service.
if [ "$root" = / ] && [ -d /run/systemd/system ]; then
    if systemctl cat ctd.service >/dev/null 2>&1; then
        systemctl disable --now ctd.service
        echo "service: stopped and disabled ctd"
    fi
elif [ "$root" = / ]; then
    echo "service: systemd is not running here; if you started ctd by hand, stop it (e.g. kill the ctd run process)"
fi

# 2. The programs and the unit (and any enablement links left behind).
removed=()
remove() {
    if [ -e "$1" ] || [ -L "$1" ]; then
        rm -f -- "$1"
        removed+=("$1")
    fi
}
remove "$dest$bin_target/ctd"
remove "$dest$bin_target/ctctl"
remove "$unit_target"
for link in "$dest"/etc/systemd/system/*.wants/ctd.service; do
    [ -L "$link" ] && remove "$link"
done
if [ "$root" = / ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl reset-failed ctd.service 2>/dev/null || true
fi

# 3. The user.
if [ "$remove_user" -eq 1 ]; then
    if [ "$root" = / ]; then
        if getent passwd ctd >/dev/null; then userdel ctd; echo "user: deleted the user ctd"; fi
        if getent group ctd >/dev/null; then groupdel ctd; echo "user: deleted the group ctd"; fi
        echo "user: files still owned by the old ctd ids (e.g. in /var/lib/ctd) now show numeric owners"
    else
        echo "user: not touching any user database under --root; on the target system, run:"
        echo "    userdel ctd; groupdel ctd"
    fi
fi

echo
echo "== removed"
if [ ${#removed[@]} -eq 0 ]; then echo "    nothing (ctd was not installed under $root with --prefix $prefix)"; fi
for path in "${removed[@]}"; do echo "    $path"; done
echo "kept:"
echo "    $dest/etc/ctd (your configuration); remove by hand: rm -r $dest/etc/ctd"
echo "    $dest/var/lib/ctd (scans, reports, models, database); remove by hand, after saving what you need: rm -r $dest/var/lib/ctd"
