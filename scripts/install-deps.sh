#!/usr/bin/env bash
# Installs the Debian packages the exporter and its tests need, and the pinned Python packages of
# scripts/monitoring/requirements.txt. Idempotent: installs only what is missing or at another version.
set -euo pipefail
packages=(libmicrohttpd-dev libgnutls28-dev libcrypt-dev openssl libcurl4-openssl-dev libsimdjson-dev libre2-dev zlib1g-dev libisal-dev pkg-config prometheus prometheus-alertmanager python3 python3-pip python3-yaml python3-prometheus-client python3-pytest curl chromium tmux man-db groff-base libnats-dev nats-server)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python packages (pinned) for the monitoring scripts, into the python3 that runs them. Debian's own
# python3 is "externally managed" and pip refuses without PIP_BREAK_SYSTEM_PACKAGES; the package is
# pure Python with no dependencies, so it replaces nothing of Debian's.
requirements="$(dirname "$0")/monitoring/requirements.txt"
while read -r pin; do
    name=${pin%%==*} want=${pin#*==}
    have=$(python3 -c 'import sys; from importlib import metadata; print(metadata.version(sys.argv[1]))' "$name" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
        echo "installing: $pin"
        $SUDO env PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps "$pin"
    fi
done < <(grep -Ev '^[[:space:]]*(#|$)' "$requirements")

# Python packages (pinned, the whole closure) for scripts/check-openapi.py, into a venv of their own
# (.build-openapi/venv, ignored by git) so they replace nothing of the system's python3.
openapi_venv="$(dirname "$0")/../.build-openapi/venv"
[ -x "$openapi_venv/bin/python" ] || python3 -m venv "$openapi_venv"
while read -r pin; do
    name=${pin%%==*} want=${pin#*==}
    have=$("$openapi_venv/bin/python" -c 'import sys; from importlib import metadata; print(metadata.version(sys.argv[1]))' "$name" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
        echo "installing (openapi venv): $pin"
        "$openapi_venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$pin"
    fi
done < <(grep -Ev '^[[:space:]]*(#|$)' "$(dirname "$0")/openapi-requirements.txt")
