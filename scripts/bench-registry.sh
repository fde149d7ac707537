#!/usr/bin/env bash
# One release registryd (the demo seed, SQLite, --public-reads) on a free loopback port, and wrk
# against two routes side by side in one run: GET /v1/health (the floor: no store, no signature)
# and GET /v1/enterprises/{uscc} unsigned. Prints each route's requests/s and latency, then the
# lookup's share of the health route's throughput. wrk cannot sign Ed25519: signed reads are
# measured by `yitiji-bench registry-reads`, which signs every request through the registry client.
# Usage: scripts/bench-registry.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
threads=2
command -v wrk >/dev/null || { echo "bench-registry: wrk is missing: run scripts/setup.sh" >&2; exit 1; }
dir="$(mktemp -d)"
swift build -c release --product registryd >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; rm -rf "$dir"; exit 1; }
bin="$(swift build -c release --show-bin-path)"
uscc=91441900100000008X
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin/registryd" --db "$dir/registry.sqlite" --listen "127.0.0.1:$port" --seed scripts/testbeds/demo-seed.json --public-reads \
  >"$dir/registryd.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
base="http://127.0.0.1:$port"
curl -fsS "$base/v1/enterprises/$uscc" >/dev/null || { echo "bench-registry: registryd did not answer; see its log:" >&2; cat "$dir/registryd.log" >&2; exit 1; }

run() {  # file name, route name, then wrk's arguments
  local file="$1" name="$2"; shift 2
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@" >"$dir/$file.txt"
  local rate p50 p99 errors
  rate="$(awk '/^Requests\/sec/ {print $2}' "$dir/$file.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$dir/$file.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$dir/$file.txt")"
  errors="$(awk '/Non-2xx/ {print $NF}' "$dir/$file.txt")"
  printf '%-40s %10.0f requests/s  p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$rate" "$p50" "$p99" "${errors:-0}"
  echo "$rate" >"$dir/$file.rate"
}
echo "wrk -t$threads -c$connections -d${duration}s, registryd release, SQLite, one replica"
run health "GET /v1/health" "$base/v1/health"
run lookup "GET /v1/enterprises/{uscc}" "$base/v1/enterprises/$uscc"
health="$(cat "$dir/health.rate")"
awk -v r="$(cat "$dir/lookup.rate")" -v h="$health" 'BEGIN { printf "%-40s %5.1f %% of the health route\n", "GET /v1/enterprises/{uscc}", 100 * r / h }'
