#!/usr/bin/env bash
# Start the local PostgreSQL 15 cluster and make an empty PostGIS test database.
# Prints the SQLAlchemy URL of that database on stdout (the tests read it from RIVERGRID_TEST_PG_URL).
set -euo pipefail

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"
  fi
}
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

db=rivergrid_test
user=rivergrid
password=rivergrid
as_root pg_ctlcluster 15 main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  as_postgres pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
as_postgres psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -c "SELECT 1" >/dev/null 2>&1 \
  || as_postgres psql -q -v ON_ERROR_STOP=1 -c "SELECT 1" >/dev/null
as_postgres psql -qtA -c "SELECT 1 FROM pg_roles WHERE rolname='$user'" | grep -q 1 \
  || as_postgres psql -q -c "CREATE ROLE $user LOGIN SUPERUSER PASSWORD '$password'" >&2
as_postgres dropdb --if-exists "$db" >&2
as_postgres createdb -O "$user" "$db" >&2
as_postgres psql -q -d "$db" -c "CREATE EXTENSION postgis" >&2
echo "postgresql+psycopg2://$user:$password@127.0.0.1:5432/$db"
