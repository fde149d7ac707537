#!/usr/bin/env bash
# Builds the Debian packages yitiji-kiosk and yitiji-registry with debhelper, and runs lintian.
#
#   scripts/package.sh                      # release build (static Swift runtime), then package
#   scripts/package.sh --from DIR           # package binaries already built in DIR
#   scripts/package.sh --out DIR            # where the .deb files go (default: dist/packages)
#   scripts/package.sh --no-lintian         # skip lintian
#   scripts/package.sh --fast               # no debug-symbol packages, quick compression (tests)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FROM=""; OUT="$ROOT/dist/packages"; LINTIAN=1
while [ $# -gt 0 ]; do
  case "$1" in
    --from) FROM="$(cd "${2:?--from needs a folder}" && pwd)"; shift 2 ;;
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --no-lintian) LINTIAN=0; shift ;;
    --fast) export YITIJI_FAST_DEB=1 DEB_BUILD_OPTIONS="noautodbgsym ${DEB_BUILD_OPTIONS:-}"; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
bash "$ROOT/scripts/setup.sh"
if [ -z "$FROM" ]; then
  echo "package: building the release binaries (several minutes)" >&2
  for product in kioskd kiosk kioskctl registryd; do
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product "$product") >&2
  done
  FROM="$(cd "$ROOT" && swift build -c release --show-bin-path)"
fi
for program in kioskd kiosk kioskctl registryd; do
  [ -x "$FROM/$program" ] || { echo "package: $FROM/$program is missing" >&2; exit 1; }
done

# debhelper works in a copy of what the packages are made of, never in the tree.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)"
src="$work/yitiji-$version"
mkdir -p "$src/scripts"
cp -R "$ROOT/debian" "$ROOT/kiosk-config" "$ROOT/drivers" "$ROOT/dist" "$ROOT/openapi" "$src/"
rm -rf "$src/dist/packages"
cp "$ROOT/scripts/seal-keys.sh" "$src/scripts/"
(cd "$src" && YITIJI_BIN="$FROM" dpkg-buildpackage -b -us -uc --no-check-builddeps >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2; echo "package: dpkg-buildpackage failed" >&2; exit 1; }
mkdir -p "$OUT"
cp "$work"/*.deb "$OUT/"
ls "$OUT"/*.deb
if [ "$LINTIAN" = 1 ]; then
  # Overrides, each with its reason, are in debian/*.lintian-overrides.
  lintian --fail-on error,warning "$work"/*.changes
fi
