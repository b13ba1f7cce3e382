#!/usr/bin/env bash
# The part of the official image's entrypoint that docker-compose.yml relies on, written for the test stand-in:
# first start initialises PGDATA (superuser POSTGRES_USER with the password from POSTGRES_PASSWORD(_FILE), database
# POSTGRES_DB, password authentication for every host), later starts only run postgres.
set -Eeuo pipefail

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD="$(< "$POSTGRES_PASSWORD_FILE")"
  fi
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set}"
  POSTGRES_USER="${POSTGRES_USER:-postgres}"
  POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
    --encoding=UTF8 -D "$PGDATA" > /dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  # Socket only while initialising, so the TCP healthcheck does not see the init-time server as ready.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 --no-psqlrc --username="$POSTGRES_USER" --dbname=postgres \
      --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";' > /dev/null
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@"
