#!/usr/bin/env bash
# Installs the Debian packages ctd builds against, if any is missing. Safe to run again.
# Swift 6.3 itself is assumed (https://swift.org/install); this script does not install it.
set -euo pipefail
packages=(zlib1g-dev libdeflate-dev libsqlite3-dev libdnnl-dev libsystemd-dev pkg-config)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 first (https://swift.org/install)" >&2; exit 1; }
