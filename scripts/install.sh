#!/usr/bin/env bash
# Installs ctd as a systemd service: builds release (unless told not to), installs ctd and ctctl,
# the unit, the default configuration (never over an operator's), and the ctd system user, then
# enables and starts the service. Run as root. Safe to run again: that is how ctd is upgraded.
#
#   scripts/install.sh [--root DIR] [--prefix DIR] [--no-build [--bin-dir DIR]] [--no-enable]
#
#   --root DIR     install into DIR as if it were / (an image or a test tree). The user database
#                  is left alone and systemctl is not called; what would be done is printed.
#   --prefix DIR   where the programs go: DIR/bin (default /usr/local)
#   --no-build     do not build; take ctd and ctctl from --bin-dir (default .build/release)
#   --bin-dir DIR  the folder holding already-built ctd and ctctl (implies --no-build)
#   --no-enable    do not call systemctl (no daemon-reload, enable or start)
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
fail() { echo "install.sh: $*" >&2; exit 1; }

root=/
prefix=/usr/local
build=1
bin_dir=
enable=1
while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || fail "--root needs a folder"; root=$2; shift 2 ;;
        --root=*) root=${1#*=}; shift ;;
        --prefix) [ $# -ge 2 ] || fail "--prefix needs a folder"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --bin-dir) [ $# -ge 2 ] || fail "--bin-dir needs a folder"; bin_dir=$2; build=0; shift 2 ;;
        --bin-dir=*) bin_dir=${1#*=}; build=0; shift ;;
        --no-enable) enable=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; fail "unknown option: $1" ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
case "$prefix" in
    /*) ;;
    *) fail "--prefix must be an absolute path (it is written into the unit): $prefix" ;;
esac
case "$prefix" in
    *[[:space:]#\\]*) fail "--prefix must not contain spaces, '#' or '\\': $prefix" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
root=$(realpath -m -- "$root")
if [ "$root" = / ]; then
    [ "$(id -u)" -eq 0 ] || fail "must be run as root (or use --root DIR to install into a folder)"
    dest=
else
    dest=$root
fi
bin_target=${prefix%/}/bin
unit_source=$repo/systemd/ctd.service
config_source=$repo/config/ctd.yaml
[ -f "$unit_source" ] || fail "$unit_source is missing"
[ -f "$config_source" ] || fail "$config_source is missing"

# 1. The programs.
if [ "$build" -eq 1 ]; then
    echo "== building ctd and ctctl (release)"
    (
        cd "$repo"
        scripts/install-deps.sh
        swift build -c release --product ctd
        swift build -c release --product ctctl
    )
    bin_dir=$(cd "$repo" && swift build -c release --show-bin-path)
elif [ -z "$bin_dir" ]; then
    bin_dir=$repo/.build/release
fi
for tool in ctd ctctl; do
    [ -x "$bin_dir/$tool" ] || fail "$bin_dir/$tool is missing or not executable (build it, or pass --bin-dir)"
done

installed=()
# Copies to a temporary name beside the target, then renames: a running ctd keeps its old file.
put() { # mode source target
    local mode=$1 source=$2 target=$3 temporary
    mkdir -p -- "$(dirname -- "$target")"
    temporary=$(dirname -- "$target")/.$(basename -- "$target").new.$$
    install -m "$mode" -- "$source" "$temporary"
    mv -f -- "$temporary" "$target"
    installed+=("$target")
}

echo "== installing into ${root}"
for tool in ctd ctctl; do
    put 0755 "$bin_dir/$tool" "$dest$bin_target/$tool"
done

# 2. The unit, naming the installed program (without --root: that is where it will run).
unit_target=$dest/etc/systemd/system/ctd.service
unit_temporary=$(mktemp)
trap 'rm -f "$unit_temporary"' EXIT
sed "s#/usr/local/bin/#$bin_target/#g" "$unit_source" >"$unit_temporary"
put 0644 "$unit_temporary" "$unit_target"

# 3. The configuration: never overwrite what is there.
config_target=$dest/etc/ctd/ctd.yaml
config_note=
if [ ! -e "$config_target" ]; then
    put 0644 "$config_source" "$config_target"
    config_note="installed the default configuration"
elif cmp -s "$config_source" "$config_target"; then
    config_note="kept $config_target (same as the shipped one)"
else
    put 0644 "$config_source" "$config_target.dist"
    config_note="kept your $config_target; the shipped one differs and is in $config_target.dist (compare: diff -u $config_target $config_target.dist)"
fi
echo "config: $config_note"

# 4. The ctd system user and group (the unit runs as them; systemd creates /var/lib/ctd for them).
nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false
if [ "$root" = / ]; then
    if ! getent group ctd >/dev/null; then
        groupadd --system ctd
        echo "user: created the system group ctd"
    fi
    if ! getent passwd ctd >/dev/null; then
        useradd --system --gid ctd --home-dir /var/lib/ctd --no-create-home --shell "$nologin" \
            --comment "ctd CT-scan classification daemon" ctd
        echo "user: created the system user ctd"
    else
        echo "user: ctd exists"
    fi
else
    echo "user: not touching any user database under --root; on the target system, run:"
    echo "    groupadd --system ctd"
    echo "    useradd --system --gid ctd --home-dir /var/lib/ctd --no-create-home --shell $nologin ctd"
fi

# 5. Enable and start.
start_note=
if [ "$enable" -eq 0 ]; then
    start_note="not enabled (--no-enable); to start: systemctl daemon-reload && systemctl enable --now ctd"
elif [ "$root" != / ]; then
    start_note="not enabled (--root); on the target system: systemctl enable --now ctd"
elif [ ! -d /run/systemd/system ]; then
    start_note="systemd is not running here, so ctd was not started. To run it by hand:
    install -d -o ctd -g ctd -m 0750 /var/lib/ctd /run/ctd
    runuser -u ctd -- $bin_target/ctd run --config /etc/ctd/ctd.yaml"
else
    systemctl daemon-reload
    systemctl enable --quiet ctd
    if systemctl is-active --quiet ctd; then
        start_note="restarted ctd with the new version"
    else
        start_note="enabled and started ctd"
    fi
    # Type=notify: this returns once ctd said READY=1, or fails if it did not.
    systemctl restart ctd || fail "ctd did not start; see: systemctl status ctd; journalctl -u ctd -n 50"
fi

echo
echo "== installed"
for path in "${installed[@]}"; do echo "    $path"; done
echo "service: $start_note"
echo "state:   /var/lib/ctd (created on first start: inbox/, outbox/, archive/, models/, ...)"
echo
echo "next:"
echo "    $bin_target/ctctl status"
echo "    journalctl -u ctd -f"
if [ "$root" = / ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    echo "    usermod -aG ctd $SUDO_USER    # to use ctctl and read reports without sudo (then log in again)"
fi
