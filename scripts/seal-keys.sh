#!/usr/bin/env bash
# Seals the keys that protect kioskd's state (outbox.key, audit.secret) as systemd credentials:
# encrypted with the machine's credential key, bound to the TPM where there is one, so that a
# copy of the disk (state and keys directory together) reads nothing. kioskd then gets them from
# $CREDENTIALS_DIRECTORY, which systemd fills for the service alone, and the plain copies are
# removed. Run as root once kioskd has made its keys (after its first start):
#
#   yitiji-seal-keys              # installed by scripts/install.sh
#
# Settings (environment): KEYS_DIR (/var/lib/yitiji-keys), CREDSTORE (/etc/credstore.encrypted),
# DROPIN_DIR (/etc/systemd/system/kioskd.service.d), WITH_KEY (auto: tpm2+host with a TPM, else host).
set -euo pipefail
KEYS_DIR="${KEYS_DIR:-/var/lib/yitiji-keys}"
CREDSTORE="${CREDSTORE:-/etc/credstore.encrypted}"
DROPIN_DIR="${DROPIN_DIR:-/etc/systemd/system/kioskd.service.d}"
WITH_KEY="${WITH_KEY:-auto}"
NAMES=(outbox.key audit.secret)

fail() { echo "yitiji-seal-keys: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root: the credentials are encrypted with the machine's key"
command -v systemd-creds >/dev/null || fail "systemd-creds is missing: apt-get install systemd (systemd 250 or later)"
systemd-creds setup >/dev/null 2>&1 || true   # makes the host credential key once

install -d -m 0700 "$CREDSTORE"
install -d -m 0755 "$DROPIN_DIR"
sealed=()
for name in "${NAMES[@]}"; do
  plain="$KEYS_DIR/$name" cred="$CREDSTORE/yitiji-$name"
  if [ ! -f "$plain" ]; then
    [ -f "$cred" ] && { sealed+=("$name"); continue; }
    fail "$plain is missing and not sealed yet: start kioskd once so that it makes its keys, then run this again"
  fi
  systemd-creds encrypt --name="$name" --with-key="$WITH_KEY" "$plain" "$cred.new"
  # Never remove the plain key before the sealed one is known to open to the same bytes.
  if ! systemd-creds decrypt --name="$name" "$cred.new" - | cmp -s - "$plain"; then
    rm -f "$cred.new"
    fail "the sealed $name does not decrypt to the key: nothing was changed"
  fi
  chmod 0600 "$cred.new"
  mv -f "$cred.new" "$cred"
  sync -f "$cred" 2>/dev/null || sync
  shred -u "$plain" 2>/dev/null || rm -f "$plain"
  sealed+=("$name")
done

{
  echo "# Made by yitiji-seal-keys: kioskd's state keys, sealed with systemd-creds."
  echo "[Service]"
  for name in "${sealed[@]}"; do echo "LoadCredentialEncrypted=$name:$CREDSTORE/yitiji-$name"; done
} >"$DROPIN_DIR/50-credentials.conf.new"
mv -f "$DROPIN_DIR/50-credentials.conf.new" "$DROPIN_DIR/50-credentials.conf"

echo "sealed ${sealed[*]} in $CREDSTORE (with-key $WITH_KEY); kioskd reads them from \$CREDENTIALS_DIRECTORY"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl try-restart kioskd.service
fi
