#!/usr/bin/env bash
# Runs every Yitiji test: installs what is missing, builds, runs unit and end-to-end tests.
# The end-to-end tests start (and stop) the test beds they use: a private cupsd with virtual
# printers, the emulated USB reader, registryd on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The OpenAPI documents' checker (scripts/check-openapi.py) needs openapi-spec-validator, from PyPI.
if ! python3 -c 'import openapi_spec_validator, yaml' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator pyyaml
fi
swift build --build-tests
# One test at a time: the end-to-end tests start real daemons and test beds (cupsd, umockdev,
# registryd, PostgreSQL, tmux) and several tests check deadlines; side by side on a small
# machine they would measure each other instead of the code.
swift test --skip-build --no-parallel "$@"
# A simulated fleet of 200 kiosks against two registryd replicas sharing PostgreSQL, as a smoke
# run of the fleet benchmark: every request answered, every kiosk told of a published bundle.
if [ $# -eq 0 ]; then
  BENCH_CONFIGURATION=debug bash scripts/bench-fleet.sh 200 20 2 postgres
fi
