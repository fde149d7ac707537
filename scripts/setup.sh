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
  libcairo2-dev libpango1.0-dev libqrencode-dev fonts-noto-cjk poppler-utils libharfbuzz-bin
  # registry: SQLite, and PostgreSQL for the scale-out store
  libsqlite3-dev postgresql
  # the text interface, its tests, and benchmarks
  libncurses-dev tmux wrk curl
  # keys sealed as systemd credentials (systemd-creds)
  systemd
  # the citizen's pinyin input: librime with the luna-pinyin schema (simplified through OpenCC)
  librime-dev rime-data-luna-pinyin rime-prelude rime-essay libopencc-data
  # the citizen's screen as installed (cage, foot), and its headless test: screenshots read back by OCR
  # and searched for a reference rendering (HarfBuzz's hb-view, numpy)
  cage foot xwayland grim tesseract-ocr tesseract-ocr-chi-sim python3-numpy
  # the Debian packages and their checks, and a Debian machine booted with systemd to run the units in
  debhelper lintian fakeroot dpkg-dev debootstrap systemd-container
  # a daemon under test that stops answering has its threads' stacks printed (gdb attaches)
  gdb
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_missing() {

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
}

if [ ${#missing[@]} -gt 0 ]; then install_missing; fi

# Document fonts: desubroutinized Noto CJK for small PDFs (a few seconds, once).
FONT_DIR="${YITIJI_FONT_DIR:-/var/cache/yitiji/fonts}"
if mkdir -p "$FONT_DIR" 2>/dev/null && [ -w "$FONT_DIR" ]; then
  bash "$(dirname "$0")/fonts.sh" "$FONT_DIR"
else
  echo "setup: cannot write $FONT_DIR; documents use the original Noto CJK fonts (larger PDFs)" >&2
fi
