#!/usr/bin/env bash
# A Debian bookworm machine with systemd as its PID 1, in a systemd-nspawn container, for tests
# of the units as systemd runs them (Type=notify readiness, STATUS=, the journal's priorities,
# reload, sandboxing, stop). Nothing of the host is changed: the machine's root is a folder, its
# changes go to a tmpfs (--volatile=overlay) and vanish when it stops, and it has a network of its
# own (loopback only), so its ports never meet the host's.
#
#   systemd-machine.sh prepare ROOT     debootstrap bookworm into ROOT once (about a minute; reused
#                                       while ROOT/.ready names the same package list)
#   systemd-machine.sh boot ROOT DIR    boot it; DIR gets leader (the machine's PID 1 seen from
#                                       here), nspawn.pid and console.log; waits until systemd is up
#   systemd-machine.sh run DIR CMD...   runs CMD inside the machine (nsenter), its exit status
#   systemd-machine.sh copy DIR FILE... copies files into the machine's /tmp/in
#   systemd-machine.sh stop DIR         powers the machine off (SIGKILL after 30 s)
#
# The programs under test may be debug builds that find the Swift runtime through their
# RUNPATH in /opt/swift: the host's /opt/swift is bound into the machine read-only, when present,
# and so are the host's Noto CJK fonts.
# Needs root, debootstrap and systemd-container (scripts/setup.sh installs them).
set -euo pipefail

# The libraries kioskd, kioskctl and registryd link, the packages' other dependencies but the printing
# system, screen and input method (the units are what is tested here: procps's /bin/kill reloads
# kioskd), systemd and dbus, and curl for checks from inside.
PACKAGES="systemd,systemd-sysv,dbus,libpam-systemd,procps,curl,ca-certificates,libcups2,libusb-1.0-0,libqrencode4,libcairo2,libpango-1.0-0,libpangocairo-1.0-0,libpangoft2-1.0-0,libharfbuzz0b,libfontconfig1,libsqlite3-0,libstdc++6,zlib1g,fonts-dejavu-core"
MIRROR="${SYSTEMD_MACHINE_MIRROR:-http://deb.debian.org/debian}"

die() { echo "systemd-machine: $*" >&2; exit 1; }

leader() { cat "${1:?}/leader"; }
inside() {
  local dir="$1"; shift
  nsenter --target "$(leader "$dir")" --mount --uts --ipc --net --pid -- \
    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

case "${1:-}" in
  prepare)
    root="${2:?prepare needs a folder}"
    [ "$(cat "$root/.ready" 2>/dev/null)" = "$PACKAGES" ] && exit 0
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
    rm -rf "$root"; mkdir -p "$root"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
      || { tail -20 "$root.log" >&2; die "debootstrap into $root failed (log: $root.log)"; }
    echo "yitiji-test" >"$root/etc/hostname"
    # A machine of its own: no login prompt on the console, nothing waiting on a network.
    rm -f "$root/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
    mkdir -p "$root/opt/swift" "$root/tmp/in"
    echo "$PACKAGES" >"$root/.ready"
    ;;
  boot)
    root="${2:?boot needs the prepared folder}"; dir="${3:?boot needs a run folder}"
    [ -f "$root/.ready" ] || die "$root is not prepared: run '$0 prepare $root' first"
    command -v systemd-nspawn >/dev/null || die "systemd-nspawn is missing: apt-get install systemd-container"
    mkdir -p "$dir"
    bind=()
    [ -d /opt/swift ] && bind+=(--bind-ro=/opt/swift)
    # The documents' CJK fonts (fonts-noto-cjk, a dependency of the kiosk's package) are large:
    # the host's copy is lent rather than downloaded again.
    [ -d /usr/share/fonts/opentype/noto ] && bind+=(--bind-ro=/usr/share/fonts/opentype/noto)
    # --register=no and --keep-unit: the host need not run systemd itself.
    setsid systemd-nspawn --quiet --register=no --keep-unit --volatile=overlay --private-network \
      --directory="$root" "${bind[@]}" --boot >"$dir/console.log" 2>&1 </dev/null &
    echo $! >"$dir/nspawn.pid"
    for _ in $(seq 1 300); do
      pid="$(pgrep -P "$(cat "$dir/nspawn.pid")" 2>/dev/null | head -1 || true)"
      if [ -n "$pid" ]; then
        echo "$pid" >"$dir/leader"
        state="$(inside "$dir" systemctl is-system-running 2>/dev/null || true)"
        case "$state" in running|degraded) exit 0 ;; esac
      fi
      kill -0 "$(cat "$dir/nspawn.pid")" 2>/dev/null || { tail -20 "$dir/console.log" >&2; die "the machine did not boot"; }
      sleep 0.2
    done
    tail -20 "$dir/console.log" >&2
    die "systemd in the machine was not up within 60 s (state: ${state:-none})"
    ;;
  run)
    dir="${2:?run needs the run folder}"; shift 2
    inside "$dir" "$@"
    ;;
  copy)
    dir="${2:?copy needs the run folder}"; shift 2
    for file in "$@"; do
      inside "$dir" /bin/sh -c "mkdir -p /tmp/in && cat > /tmp/in/$(basename "$file")" <"$file"
    done
    ;;
  stop)
    dir="${2:?stop needs the run folder}"
    nspawn="$(cat "$dir/nspawn.pid" 2>/dev/null || true)"
    [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null || exit 0
    inside "$dir" systemctl poweroff --no-block >/dev/null 2>&1 || kill -TERM "$nspawn" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$nspawn" 2>/dev/null || exit 0; sleep 0.2; done
    kill -KILL "$nspawn" 2>/dev/null || true
    ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
