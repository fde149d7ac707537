#!/usr/bin/env bash
# Installs the Debian packages Yitiji builds, tests and demos with.
# Idempotent and quick when everything is already there. Needs root (or sudo) to install.
set -euo pipefail

PACKAGES=(
  # ID-card reader: libusb, and the emulated USB reader for tests and the demo
  libusb-1.0-0-dev umockdev libumockdev-dev gir1.2-umockdev-1.0 python3-gi usbutils dbus
  # printing: CUPS client library, a private cupsd and virtual IPP printers
  libcups2-dev cups cups-client cups-ipp-utils
  # documents: cairo, pango, qrencode, CJK fonts; poppler to check the PDFs
  libcairo2-dev libpango1.0-dev libqrencode-dev fonts-noto-cjk poppler-utils
  # registry: SQLite, and PostgreSQL for the scale-out store
  libsqlite3-dev postgresql
  # the text interface, its tests, and benchmarks
  libncurses-dev tmux wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
