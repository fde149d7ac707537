#!/usr/bin/env bash
# A private PostgreSQL server for registryd's tests and benchmarks: its own data directory, a
# Unix socket in DIR (no TCP), trust authentication for user "registry", database "registry".
#   scripts/testbeds/postgres.sh start DIR    # then: . DIR/env
#   scripts/testbeds/postgres.sh stop DIR
#   scripts/testbeds/postgres.sh halt DIR      # stop the server under its clients (pg_ctl -m fast), keep its data
#   scripts/testbeds/postgres.sh resume DIR    # start it again on the same socket
# As root the server runs as the "postgres" user (initdb refuses root). fsync is off: a test bed.
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|halt|resume DIR" >&2; exit 2; }
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL is not installed: run scripts/setup.sh" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; chmod 755 "$dir"; fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_owner "$bin/initdb" -D "$dir/data" -U registry --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "-k $dir -p $port -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >"$dir/options"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U registry registry
    cat >"$dir/env" <<ENV
export YITIJI_PG_SOCKET='$dir/.s.PGSQL.$port'
export YITIJI_PG_USER='registry'
export YITIJI_PG_DATABASE='registry'
ENV
    echo "postgres.sh: serving on $dir/.s.PGSQL.$port" >&2
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  halt)
    # Clients' connections are cut as in a restart; what was committed stays (commits here are
    # asynchronous, so an immediate stop, a crash, would lose the last moment's).
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    [ -f "$dir/options" ] || { echo "postgres.sh: no server was started in $dir" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$dir/options")" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    ;;
  *) echo "usage: $0 start|stop|halt|resume DIR" >&2; exit 2 ;;
esac
