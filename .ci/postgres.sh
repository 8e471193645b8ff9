#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests (Debian's packages), on a local port.
# Prints the SQLAlchemy URL to use; `source` it via: eval "$(.ci/postgres.sh)".
set -euo pipefail

PORT="${COACHFLOW_PG_PORT:-54329}"
PGDATA="${COACHFLOW_PG_DATA:-/tmp/coachflow-pg}"
LOG="${PGDATA}.log"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if runuser -u postgres -- "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT" >/dev/null 2>&1; then
  # our own server from an earlier run: stop it; anything else on the port is not ours
  if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >&2; then
    echo "postgres.sh: port $PORT is taken by a server not started from $PGDATA;" \
      "set COACHFLOW_PG_PORT to a free port" >&2
    exit 1
  fi
fi
rm -rf "$PGDATA"
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w \
  -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" coachflow_test
echo "export COACHFLOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/coachflow_test"
