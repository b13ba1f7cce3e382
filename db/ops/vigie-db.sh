#!/usr/bin/env bash
# Database operations of the Compose stack, run in containers of the PostgreSQL image (its psql, pg_dump, pg_restore
# match the server). docker-compose.yml mounts this file read-only at /usr/local/bin/vigie-db.
#
#   vigie-db monitor-role     create or update the exporter's login (pg_monitor only, password from its secret)
#   vigie-db schedule         one backup now, then one every BACKUP_INTERVAL_SECONDS (the backup service's command)
#   vigie-db backup           one backup now (dotnet cake --target=Backup)
#   vigie-db restore FILE     replace the database with a backup of BACKUP_DIR (dotnet cake --target=Restore --file=FILE)
#
# Backups are pg_dump -Fc files BACKUP_DIR/vigie-YYYYMMDDTHHMMSSZ.dump, the newest BACKUP_KEEP kept; after each one,
# BACKUP_DIR/metrics/vigie_backup.prom tells node-exporter's textfile collector when it finished and its size (the
# VigieBackupTooOld alert and the Database dashboard read them). The native stack does the same in src/Stack/Backups.cs.
set -Eeuo pipefail

: "${PGHOST:?}" "${PGDATABASE:?}" "${PGUSER:?}" "${BACKUP_DIR:?}"
PGPASSWORD="$(< /run/secrets/db_password)"
export PGPASSWORD
interval="${BACKUP_INTERVAL_SECONDS:-86400}"
keep="${BACKUP_KEEP:-7}"

log() { echo "$(date -u +%FT%TZ) vigie-db: $*"; }

monitor_role() {
  local password
  password="$(< /run/secrets/pg_monitor_password)"
  # psql's :'var' quotes the password as a literal; it never appears on a command line.
  psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet -v password="$password" <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigie_monitor') AS missing \gset
\if :missing
CREATE ROLE vigie_monitor LOGIN;
\endif
ALTER ROLE vigie_monitor PASSWORD :'password';
GRANT pg_monitor TO vigie_monitor;
SQL
  log "role vigie_monitor ready (pg_monitor)"
}

backup() {
  local started name size finished
  started=$(date +%s.%N)
  name="vigie-$(date -u +%Y%m%dT%H%M%SZ).dump"
  # Under another name until complete: a dump cut short is never taken for a backup.
  pg_dump --format=custom --file="$BACKUP_DIR/$name.partial"
  mv "$BACKUP_DIR/$name.partial" "$BACKUP_DIR/$name"
  ls -1 "$BACKUP_DIR"/vigie-*.dump | sort -r | tail -n +"$((keep + 1))" | xargs -r rm -f
  size=$(stat -c %s "$BACKUP_DIR/$name")
  finished=$(date +%s.%N)
  mkdir -p "$BACKUP_DIR/metrics"
  cat > "$BACKUP_DIR/metrics/vigie_backup.prom.partial" <<PROM
# HELP vigie_backup_last_success_timestamp_seconds When the newest successful backup of the database finished (Unix time).
# TYPE vigie_backup_last_success_timestamp_seconds gauge
vigie_backup_last_success_timestamp_seconds $finished
# HELP vigie_backup_last_size_bytes Size of the newest successful backup (pg_dump -Fc, compressed).
# TYPE vigie_backup_last_size_bytes gauge
vigie_backup_last_size_bytes $size
# HELP vigie_backup_last_duration_seconds How long the newest successful backup took.
# TYPE vigie_backup_last_duration_seconds gauge
vigie_backup_last_duration_seconds $(awk "BEGIN { print $finished - $started }")
# HELP vigie_backup_interval_seconds Seconds between two scheduled backups: a backup older than 1.5 times this is late.
# TYPE vigie_backup_interval_seconds gauge
vigie_backup_interval_seconds $interval
PROM
  mv "$BACKUP_DIR/metrics/vigie_backup.prom.partial" "$BACKUP_DIR/metrics/vigie_backup.prom"
  log "backup $name ($size bytes), newest $keep kept"
}

restore() {
  local file="$BACKUP_DIR/$(basename "${1:?which backup? vigie-db restore FILE}")"
  [ -f "$file" ] || { log "no backup $file; there are: $(ls -1 "$BACKUP_DIR" | grep '\.dump$' | tr '\n' ' ')"; exit 1; }
  log "restoring $file into $PGDATABASE (dropped and created again)"
  psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet --dbname=postgres -v db="$PGDATABASE" -v owner="$PGUSER" <<'SQL'
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
CREATE DATABASE :"db" OWNER :"owner";
SQL
  pg_restore --exit-on-error --single-transaction --no-owner --dbname="$PGDATABASE" "$file"
  log "restored $(basename "$file")"
}

case "${1:-schedule}" in
  monitor-role) monitor_role ;;
  backup) backup ;;
  restore) restore "${2:-}" ;;
  schedule)
    # PID 1 of its container: without a handler, `docker stop` would wait for its timeout.
    trap 'exit 0' TERM INT
    while true; do
      backup || log "backup FAILED; next attempt in ${interval}s (VigieBackupTooOld fires if this goes on)"
      sleep "$interval" & wait $!
    done ;;
  *) echo "usage: vigie-db monitor-role | schedule | backup | restore FILE" >&2; exit 2 ;;
esac
