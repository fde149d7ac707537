#!/usr/bin/env bash
# Runs every Yitiji test: installs what is missing, builds, runs unit and end-to-end tests.
# The end-to-end tests start (and stop) the test beds they use: a private cupsd with virtual
# printers, the emulated USB reader, registryd on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build "$@"
