#!/usr/bin/env bash
# A simulated fleet against release registryd replicas: N kiosks, each with its own registered key,
# hold the configuration long poll open, send a signed heartbeat every 30 s and serve a citizen
# about every 10 minutes (yitiji-bench fleet). Ten seconds into the measured window a fleet bundle
# is published with `registryd config publish` (staged 100 %) and the simulator times how long the
# kiosks take to be told and to download it. Prints per-route throughput, p50/p99 and errors, the
# fan-out, registryd's own time per route (its Prometheus histogram), each replica's memory, CPU
# and sockets, and PostgreSQL's connection count.
# Usage: scripts/bench-fleet.sh [KIOSKS] [SECONDS] [REPLICAS] [sqlite|postgres] [--polls-only]
#                               [--restart-replica | --restart-postgres]
#   KIOSKS 200 (default), SECONDS measured (default 60), REPLICAS 1 (more need postgres).
#   --restart-replica: 25 s into the window replica 1 is stopped as systemd stops it (SIGTERM) and
#   started again; --restart-postgres: PostgreSQL is stopped under the replicas for 10 s. Failed
#   submissions are retried with the same idempotency key, as the kiosk's outbox does; the run then
#   fails if one was not delivered by the end or an error was not of the kind a retry gets past.
#   BENCH_CONFIGURATION=debug uses the debug build (the test command's smoke run); figures come from release.
#   BENCH_REGISTRYD_ARGS adds registryd serve options, e.g. "--bundle-downloads-per-second 0" to
#   compare the publish without its download spread.
# Exits non-zero when a route other than the held poll saw an error or a kiosk did not get the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
kiosks="${1:-200}"
seconds="${2:-60}"
replicas="${3:-1}"
engine="${4:-sqlite}"
polls=""
disrupt=""
for flag in "${@:5}"; do
  case "$flag" in
    --polls-only) polls=--polls-only ;;
    --restart-replica) disrupt=replica ;;
    --restart-postgres) disrupt=postgres ;;
    *) echo "bench-fleet: unknown option '$flag'" >&2; exit 2 ;;
  esac
done
[ "$disrupt" != postgres ] || [ "$engine" = postgres ] || { echo "bench-fleet: --restart-postgres needs postgres" >&2; exit 2; }
case "$engine" in sqlite|postgres) ;; *) echo "bench-fleet: the store is sqlite or postgres, not '$engine'" >&2; exit 2 ;; esac
if [ "$replicas" -gt 1 ] && [ "$engine" != postgres ]; then
  echo "bench-fleet: several replicas share one PostgreSQL database: give postgres" >&2; exit 2
fi
dir="$(mktemp -d)"
cleanup() {
  for file in "$dir"/replica-*.pid; do [ -f "$file" ] && kill "$(cat "$file")" 2>/dev/null || true; done
  for file in "$dir"/replica-*.pid; do
    [ -f "$file" ] || continue
    for _ in $(seq 1 200); do kill -0 "$(cat "$file")" 2>/dev/null || break; sleep 0.05; done
  done
  [ "$engine" = postgres ] && scripts/testbeds/postgres.sh stop "$dir/pg" || true
  rm -rf "$dir"
}
trap cleanup EXIT
configuration="${BENCH_CONFIGURATION:-release}"
for product in registryd yitiji-bench; do
  swift build -c "$configuration" --product "$product" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
done
bin="$(swift build -c "$configuration" --show-bin-path)"

if [ "$engine" = postgres ]; then
  chmod 755 "$dir"   # the server runs as its own user
  scripts/testbeds/postgres.sh start "$dir/pg"
  # shellcheck disable=SC1091
  . "$dir/pg/env"
  store=(--postgres-socket "$YITIJI_PG_SOCKET" --postgres-user "$YITIJI_PG_USER" --postgres-database "$YITIJI_PG_DATABASE")
else
  store=(--db "$dir/registry.sqlite")
fi

"$bin/yitiji-bench" fleet-keys "$kiosks" "$dir"
"$bin/registryd" kiosk import "$dir/kiosks.list" --note "simulated fleet" "${store[@]}"

# A bundle for the whole fleet, signed with a throwaway publisher key (the simulated kiosks
# download it but do not verify it; one real kiosk's apply is measured by config-apply).
"$bin/registryd" config keygen -o "$dir/publisher.key" >/dev/null
"$bin/registryd" config sign kiosk-config --only texts.yaml --version 1 --target fleet --expires 2099-01-01T00:00:00Z \
  --key "$dir/publisher.key" -o "$dir/bundle.json" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A held poll is a connection: room for the fleet's share and its other requests, within the
# process's open-file limit.
limit="$(ulimit -n)"
urls=()
pids=()
metrics=()
for i in $(seq 1 "$replicas"); do
  port="$(free_port)"
  metrics_port="$(free_port)"
  seed=()
  [ "$i" -eq 1 ] && seed=(--seed scripts/testbeds/demo-seed.json)
  # Each replica's start is a script of its own, so a disruption can start it again the same way.
  cat >"$dir/start-replica-$i.sh" <<START
#!/usr/bin/env bash
# Only the standard descriptors go to registryd (see disrupt.sh).
for fd in \$(ls /proc/\$\$/fd); do [ "\$fd" -gt 2 ] && eval "exec \$fd>&-" 2>/dev/null; done
'$bin/registryd' ${store[*]} --listen 127.0.0.1:$port ${seed[*]} --max-connections $((limit - 256)) --metrics-port $metrics_port ${BENCH_REGISTRYD_ARGS:-} >>'$dir/registryd-$i.log' 2>&1 &
echo \$! >'$dir/replica-$i.pid'
for _ in \$(seq 1 600); do curl -fsS http://127.0.0.1:$port/v1/health >/dev/null 2>&1 && exit 0; sleep 0.05; done
exit 1
START
  bash "$dir/start-replica-$i.sh" || { echo "bench-fleet: registryd $i did not start:" >&2; cat "$dir/registryd-$i.log" >&2; exit 1; }
  pids+=("$(cat "$dir/replica-$i.pid")")
  urls+=("http://127.0.0.1:$port")
  metrics+=("http://127.0.0.1:$metrics_port/metrics")
done

# The disruption, run by the simulator 25 s into the measured window.
case "$disrupt" in
  replica)
    cat >"$dir/disrupt.sh" <<DISRUPT
#!/usr/bin/env bash
# Only the standard descriptors go on to what it starts: one the simulator watches for the end of
# this command would otherwise stay open as long as a restarted server runs.
for fd in \$(ls /proc/\$\$/fd); do [ "\$fd" -gt 2 ] && eval "exec \$fd>&-" 2>/dev/null; done
pid=\$(cat '$dir/replica-1.pid'); t0=\$(date +%s.%N)
kill -TERM "\$pid"
while kill -0 "\$pid" 2>/dev/null; do sleep 0.02; done
t1=\$(date +%s.%N)
bash '$dir/start-replica-1.sh' || { echo "replica 1 did not start again"; exit 1; }
t2=\$(date +%s.%N)
python3 -c "import sys; a,b,c=map(float,sys.argv[1:]); print('replica 1 stopped (SIGTERM) in %.2f s and served again %.2f s after the signal' % (b-a, c-a))" "\$t0" "\$t1" "\$t2"
DISRUPT
    disrupt_args=(--disrupt "bash '$dir/disrupt.sh'") ;;
  postgres)
    cat >"$dir/disrupt.sh" <<DISRUPT
#!/usr/bin/env bash
# Only the standard descriptors go on to what it starts: one the simulator watches for the end of
# this command would otherwise stay open as long as a restarted server runs.
for fd in \$(ls /proc/\$\$/fd); do [ "\$fd" -gt 2 ] && eval "exec \$fd>&-" 2>/dev/null; done
t0=\$(date +%s.%N)
'$PWD/scripts/testbeds/postgres.sh' halt '$dir/pg' || { echo "PostgreSQL did not stop"; exit 1; }
sleep 10
'$PWD/scripts/testbeds/postgres.sh' resume '$dir/pg' || { echo "PostgreSQL did not start again"; exit 1; }
t1=\$(date +%s.%N)
for url in ${urls[*]}; do
  for _ in \$(seq 1 1200); do curl -fsS "\$url/v1/health" >/dev/null 2>&1 && break; sleep 0.05; done
done
t2=\$(date +%s.%N)
python3 -c "import sys; a,b,c=map(float,sys.argv[1:]); print('PostgreSQL stopped (pg_ctl -m fast) and started again %.1f s later; every replica healthy %.2f s after that' % (b-a, c-b))" "\$t0" "\$t1" "\$t2"
DISRUPT
    disrupt_args=(--disrupt "bash '$dir/disrupt.sh'") ;;
  *) disrupt_args=() ;;
esac

# PostgreSQL's CPU seconds so far: the server, its live backends and those that have ended.
pg_cpu() {
  local main ticks=0 pid
  main="$(head -1 "$dir/pg/data/postmaster.pid" 2>/dev/null)" || { echo 0; return; }
  ticks=$(awk '{print $14+$15+$16+$17}' "/proc/$main/stat" 2>/dev/null || echo 0)
  for pid in $(ps --ppid "$main" -o pid= 2>/dev/null); do
    ticks=$((ticks + $(awk '{print $14+$15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  python3 -c "import os,sys; print('%.1f' % (int(sys.argv[1]) / os.sysconf('SC_CLK_TCK')))" "$ticks"
}
psql_registry() {
  psql -h "$(dirname "$YITIJI_PG_SOCKET")" -p "${YITIJI_PG_SOCKET##*.}" -U registry -d registry -Atc "$1" 2>/dev/null
}

pg_peak=0
if [ "$engine" = postgres ]; then
  pg_cpu_start="$(pg_cpu)"
  ( peak=0
    while sleep 1; do
      n="$(psql_registry "SELECT count(*) FROM pg_stat_activity WHERE datname = 'registry'" || echo 0)"
      [ "$n" -gt "$peak" ] && peak="$n" && echo "$peak" >"$dir/pg-peak"
    done ) &
  sampler=$!
fi

publish="'$bin/registryd' config publish '$dir/bundle.json' --target fleet --stage 100 --note 'fleet bench' ${store[*]}"
status=0
"$bin/yitiji-bench" fleet --kiosks "$kiosks" --keys "$dir/kiosks.keys" --registry "$(IFS=,; echo "${urls[*]}")" \
  --seconds "$seconds" --publish "$publish" --pids "$(IFS=,; echo "${pids[*]}")" --metrics "$(IFS=,; echo "${metrics[*]}")" ${polls:+"$polls"} "${disrupt_args[@]}" \
  | tee "$dir/fleet.txt" || status=$?
if [ "$engine" = postgres ]; then
  kill "$sampler" 2>/dev/null || true
  pg_peak="$(cat "$dir/pg-peak" 2>/dev/null || echo 0)"
  echo "PostgreSQL: peak $pg_peak connections to the registry database; $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$pg_cpu_start" "$(pg_cpu)") s of CPU over the run"
  echo "PostgreSQL rows kept: $(psql_registry "SELECT (SELECT count(*) FROM submission) || ' submissions, ' || (SELECT count(*) FROM idempotency) || ' idempotency keys'")"
fi
[ "$status" -eq 0 ] || exit "$status"
if [ -n "$disrupt" ]; then
  grep -q "^errors a retry cannot get past: 0$" "$dir/fleet.txt" || { echo "bench-fleet: requests failed for good (see above)" >&2; exit 1; }
  grep -q "not delivered by the end: 0$" "$dir/fleet.txt" || {
    echo "bench-fleet: submissions were not delivered (see above); replica 1's log ends:" >&2
    grep -v "Connection creation failed" "$dir/registryd-1.log" | tail -20 >&2
    exit 1
  }
else
  grep -q "^errors outside held polls: 0$" "$dir/fleet.txt" || { echo "bench-fleet: requests failed (see above)" >&2; exit 1; }
fi
grep -q "told and downloaded by $kiosks of $kiosks kiosks" "$dir/fleet.txt" || { echo "bench-fleet: not every kiosk got the bundle" >&2; exit 1; }
