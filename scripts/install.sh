#!/usr/bin/env bash
# Installs Yitiji's kiosk programs on a Debian kiosk: kioskd, kiosk and kioskctl, the embedded
# default configuration as /etc/yitiji (kept when one is there), the reader models and udev rule,
# the systemd units, shell completions and the documentation; then the accounts and groups.
#
#   scripts/install.sh                      # build (release, static Swift runtime) and install; needs root
#   scripts/install.sh --from DIR           # install binaries already built in DIR
#   scripts/install.sh --destdir DIR        # lay the files out under DIR (for a package); no accounts, no systemctl
#   scripts/install.sh --enable             # also enable and start kioskd and the interface on tty1
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DESTDIR=""
FROM=""
ENABLE=0

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) DESTDIR="${2:?--destdir needs a folder}"; shift 2 ;;
    --from) FROM="${2:?--from needs the folder holding kioskd, kiosk and kioskctl}"; shift 2 ;;
    --enable) ENABLE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install: installing on this machine needs root (or use --destdir DIR to lay the files out in a folder)" >&2
  exit 1
fi

if [ -z "$FROM" ]; then
  "$ROOT/scripts/setup.sh"
  echo "install: building the release binaries (several minutes)" >&2
  (cd "$ROOT" && swift build -c release --static-swift-stdlib --product kioskd \
    && swift build -c release --static-swift-stdlib --product kiosk \
    && swift build -c release --static-swift-stdlib --product kioskctl)
  FROM="$(cd "$ROOT" && swift build -c release --show-bin-path)"
fi
for program in kioskd kiosk kioskctl; do
  [ -x "$FROM/$program" ] || { echo "install: $FROM/$program is missing: build it first, or leave out --from" >&2; exit 1; }
done

D="$DESTDIR"
install -d -m 0755 "$D/usr/bin" "$D/usr/share/doc/yitiji/openapi" "$D/usr/share/bash-completion/completions" \
  "$D/usr/share/zsh/vendor-completions" "$D/usr/share/fish/vendor_completions.d" \
  "$D/etc/udev/rules.d" "$D/etc/systemd/system"
for program in kioskd kiosk kioskctl; do install -m 0755 "$FROM/$program" "$D/usr/bin/$program"; done

# The configuration: the embedded default, unless the kiosk already has one (central operations
# change it later through signed bundles; a reinstall never overwrites it).
if [ -e "$D/etc/yitiji/kiosk.yaml" ]; then
  echo "install: /etc/yitiji/kiosk.yaml exists; the configuration is kept as it is" >&2
else
  install -d -m 0755 "$D/etc/yitiji"
  cp -R "$ROOT/kiosk-config/." "$D/etc/yitiji/"
  # The demonstration fleet's root and document key are never installed: their private halves are
  # public. The fleet's own root.json and document keys go into /etc/yitiji/keys.
  rm -f "$D/etc/yitiji/keys/root.json" "$D/etc/yitiji/keys/demo-documents.pub"
  chmod -R u=rwX,go=rX "$D/etc/yitiji"
fi
install -d -m 0755 "$D/etc/yitiji/readers"
install -m 0644 "$ROOT/drivers/readers/models.json" "$D/etc/yitiji/readers/models.json"
install -m 0644 "$ROOT/drivers/udev/70-yitiji-readers.rules" "$D/etc/udev/rules.d/70-yitiji-readers.rules"
install -m 0644 "$ROOT/dist/systemd/kioskd.service" "$ROOT/dist/systemd/kiosk@.service" "$D/etc/systemd/system/"
install -D -m 0755 "$ROOT/scripts/seal-keys.sh" "$D/usr/sbin/yitiji-seal-keys"
install -D -m 0644 "$ROOT/dist/screen/foot.ini" "$D/usr/share/yitiji/foot.ini"
# The programs' own data (/usr/share/yitiji): the default configuration, without the demonstration
# keys, and the reader models; /etc/yitiji is the site's layer over it.
install -d -m 0755 "$D/usr/share/yitiji/readers"
rm -rf "$D/usr/share/yitiji/kiosk-config"
cp -R "$ROOT/kiosk-config" "$D/usr/share/yitiji/kiosk-config"
rm -f "$D/usr/share/yitiji/kiosk-config/keys/root.json" "$D/usr/share/yitiji/kiosk-config/keys/demo-documents.pub"
chmod -R u=rwX,go=rX "$D/usr/share/yitiji/kiosk-config"
install -m 0644 "$ROOT/drivers/readers/models.json" "$D/usr/share/yitiji/readers/models.json"
install -m 0644 "$ROOT/README.md" "$D/usr/share/doc/yitiji/README.md"
install -m 0644 "$ROOT"/openapi/*.yaml "$D/usr/share/doc/yitiji/openapi/"
"$D/usr/bin/kioskctl" --generate-completion-script bash > "$D/usr/share/bash-completion/completions/kioskctl"
"$D/usr/bin/kioskctl" --generate-completion-script zsh > "$D/usr/share/zsh/vendor-completions/_kioskctl"
"$D/usr/bin/kioskctl" --generate-completion-script fish > "$D/usr/share/fish/vendor_completions.d/kioskctl.fish"

if [ -n "$DESTDIR" ]; then
  echo "install: laid out under $DESTDIR; on the kiosk, create the accounts as scripts/install.sh does without --destdir" >&2
  exit 0
fi

# What the citizen's screen runs on: cage (a kiosk Wayland compositor) and foot (a terminal that
# draws Chinese), the CJK fonts, and the RIME data of the pinyin input.
RUNTIME=(cage foot xwayland fonts-noto-cjk librime1 rime-data-luna-pinyin rime-prelude rime-essay libopencc-data)
missing=()
for p in "${RUNTIME[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Accounts: kioskd runs as yitiji (reader and printer groups, and both socket groups so it can
# hand the sockets to them); the interface as yitiji-screen in yitiji-citizen; technicians are
# added to yitiji-tech (`usermod -aG yitiji-tech NAME`).
for group in yitiji yitiji-citizen yitiji-tech; do getent group "$group" >/dev/null || groupadd --system "$group"; done
getent passwd yitiji >/dev/null || useradd --system --gid yitiji --home-dir /var/lib/yitiji --shell /usr/sbin/nologin yitiji
getent passwd yitiji-screen >/dev/null || useradd --system --gid yitiji-citizen --home-dir /nonexistent --shell /usr/sbin/nologin yitiji-screen
for group in plugdev lp dialout yitiji-citizen yitiji-tech; do
  getent group "$group" >/dev/null && usermod -aG "$group" yitiji
done
install -d -m 0750 -o yitiji -g yitiji /var/lib/yitiji
install -d -m 0700 -o yitiji -g yitiji /var/lib/yitiji-keys   # the keys that protect the state, kept apart from it

# The kiosk's cupsd keeps no printed document once a job has ended (kioskd also purges each job
# after its outcome), and a failed job is not printed again later behind the citizen's back.
if [ -f /etc/cups/cupsd.conf ]; then
  if grep -q '^PreserveJobFiles' /etc/cups/cupsd.conf; then
    sed -i 's/^PreserveJobFiles.*/PreserveJobFiles No/' /etc/cups/cupsd.conf
  else
    echo 'PreserveJobFiles No' >> /etc/cups/cupsd.conf
  fi
  if [ -d /run/systemd/system ]; then systemctl try-restart cups.service || true; fi
  echo "install: cupsd keeps no job files (PreserveJobFiles No); set each kiosk queue's error policy: lpadmin -p QUEUE -o printer-error-policy=abort-job" >&2
fi

if command -v udevadm >/dev/null && [ -d /run/udev ]; then udevadm control --reload && udevadm trigger --subsystem-match=usb --subsystem-match=tty || true; fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$ENABLE" = 1 ]; then
    systemctl enable --now kioskd.service
    systemctl enable --now kiosk@tty1.service
  fi
fi

echo "install: done. Next:" >&2
echo "  install -m 0644 root.json /etc/yitiji/keys/root.json                                # the fleet's root, from central operations" >&2
echo "  runuser -u yitiji -- kioskd --enrol --config /etc/yitiji --state /var/lib/yitiji   # the kiosk's registry and document keys; hand what it prints to central operations" >&2
echo "  usermod -aG yitiji-tech TECHNICIAN                                                   # who may use kioskctl" >&2
echo "  systemctl enable --now kioskd kiosk@tty1                                             # or run this script with --enable" >&2
echo "  yitiji-seal-keys                                                                     # once kioskd has made its keys: seal them as systemd credentials (TPM where there is one)" >&2
echo "  kioskctl diag                                                                        # every check, and what to do" >&2
