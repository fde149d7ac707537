#!/usr/bin/env bash
# One release registryd (the demo seed, SQLite, --public-reads) on a free loopback port, and wrk
# against three routes side by side in one run: GET /v1/health (the floor: no store, no signature),
# GET /v1/enterprises/{uscc} unsigned and the same signed by a registered kiosk. Prints each route's
# requests/s and latency, then each lookup's share of the health route's throughput. wrk cannot sign
# Ed25519: `yitiji-bench sign-reads` signs the requests beforehand (each nonce once, within the
# registry's clock window) and scripts/bench-registry-signed.lua sends them.
# Usage: scripts/bench-registry.sh [DURATION_SECONDS] [CONNECTIONS] [KEY_MEMORY_SECONDS]
# (registryd's --key-memory-seconds: 0, its default, reads the signer's key for every request)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
key_memory="${3:-0}"
threads=2
command -v wrk >/dev/null || { echo "bench-registry: wrk is missing: run scripts/setup.sh" >&2; exit 1; }
dir="$(mktemp -d)"
for product in registryd yitiji-bench; do
  swift build -c release --product "$product" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; rm -rf "$dir"; exit 1; }
done
bin="$(swift build -c release --show-bin-path)"
uscc=91441900100000008X
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# More signed requests than the signed run can send (a wrk thread that runs out stops early).
BENCH_SIGN_OUT="$dir" BENCH_SIGN_PATH="/v1/enterprises/$uscc" BENCH_SIGN_COUNT=$((20000 * duration)) "$bin/yitiji-bench" sign-reads
read -r kiosk key <"$dir/kiosk.pub"
"$bin/registryd" kiosk add "$kiosk" --public-key "$key" --db "$dir/registry.sqlite" >/dev/null
"$bin/registryd" --db "$dir/registry.sqlite" --listen "127.0.0.1:$port" --seed scripts/testbeds/demo-seed.json --public-reads \
  --key-memory-seconds "$key_memory" \
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
echo "wrk -t$threads -c$connections -d${duration}s, registryd release, SQLite, one replica, --key-memory-seconds $key_memory"
run health "GET /v1/health" "$base/v1/health"
run lookup "GET /v1/enterprises/{uscc}" "$base/v1/enterprises/$uscc"
run signed-lookup "GET /v1/enterprises/{uscc}, signed" -s scripts/bench-registry-signed.lua "$base" -- "$dir/signed.txt" "$kiosk" \
  "/v1/enterprises/$uscc" "$threads"
health="$(cat "$dir/health.rate")"
for route in lookup:"GET /v1/enterprises/{uscc}" signed-lookup:"GET /v1/enterprises/{uscc}, signed"; do
  awk -v r="$(cat "$dir/${route%%:*}.rate")" -v h="$health" -v name="${route#*:}" \
    'BEGIN { printf "%-40s %5.1f %% of the health route\n", name, 100 * r / h }'
done
