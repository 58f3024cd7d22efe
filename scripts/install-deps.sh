#!/usr/bin/env bash
# Installs the Debian packages the exporter and its tests need. Idempotent: installs only what is missing.
set -euo pipefail
packages=(libmicrohttpd-dev libgnutls28-dev libcrypt-dev openssl libcurl4-openssl-dev libsimdjson-dev libre2-dev zlib1g-dev libisal-dev pkg-config prometheus prometheus-alertmanager python3 python3-yaml python3-prometheus-client curl chromium tmux)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
