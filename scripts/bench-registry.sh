#!/usr/bin/env bash
# Starts a release registryd with the demo seed on a free loopback port and runs wrk against
# GET /v1/enterprises/{uscc}. wrk cannot make Ed25519 signatures, so registryd runs with
# --public-reads (benchmarks and demos only); signed reads are measured by
# `yitiji-bench registry-reads`, which signs every request through the registry client.
# Usage: scripts/bench-registry.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
command -v wrk >/dev/null || { echo "bench-registry: wrk is missing: run scripts/setup.sh" >&2; exit 1; }
dir="$(mktemp -d)"
swift build -c release --product registryd >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; rm -rf "$dir"; exit 1; }
bin="$(swift build -c release --show-bin-path)/registryd"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" --db "$dir/registry.sqlite" --listen "127.0.0.1:$port" --seed scripts/testbeds/demo-seed.json --public-reads \
  >"$dir/registryd.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
url="http://127.0.0.1:$port/v1/enterprises/91441900100000008X"
curl -fsS "$url" >/dev/null || { echo "bench-registry: registryd did not answer; see its log:" >&2; cat "$dir/registryd.log" >&2; exit 1; }
echo "wrk -t2 -c$connections -d${duration}s $url"
wrk -t2 -c"$connections" -d"${duration}s" --latency "$url"
