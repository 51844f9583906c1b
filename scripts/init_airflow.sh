#!/usr/bin/env bash
# The one place this project's Airflow is set up: migrate the metadata database (`airflow db
# migrate`, idempotent), create the deploy pool (MLOPS_DEPLOY_POOL, default mlops_deploy, one
# slot; an existing pool is left as it is) and serialise the DAGs (`airflow dags reserialize`).
#
#   scripts/init_airflow.sh              # all three steps (make init; make demo and make airflow-ui run it)
#   scripts/init_airflow.sh --if-needed  # only when this AIRFLOW_HOME and database were not set up yet
#
# --if-needed is what scripts/airflow runs before every command: a marker in $AIRFLOW_HOME records
# the database (a checksum of AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, never the URL itself) and the
# Airflow version it was set up for; when it matches (and a SQLite database file exists) nothing
# runs. Output goes to $AIRFLOW_HOME/logs/init.log; one line on stderr says it ran.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

MARKER="$AIRFLOW_HOME/.mlops_initialised"
POOL="${MLOPS_DEPLOY_POOL:-mlops_deploy}"

signature() {
  # The database and the installed Airflow version (its dist-info folder), without running Python.
  local dist
  dist=$(cd "$VENV" 2>/dev/null && compgen -G "lib/python3*/site-packages/apache_airflow-*.dist-info" | head -n1 || true)
  printf '%s\n%s\n' "$(printf '%s' "$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" | cksum)" "${dist:-unknown}"
}

sqlite_file_missing() {
  local conn="$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
  case "$conn" in
    sqlite:///*) local path="${conn#sqlite:///}"; path="${path%%\?*}"; [ ! -f "$path" ] ;;
    *) return 1 ;;
  esac
}

needs_init() {
  [ -f "$MARKER" ] || return 0
  sqlite_file_missing && return 0
  [ "$(cat "$MARKER")" != "$(signature)" ]
}

run_init() {
  mkdir -p "$AIRFLOW_HOME/logs"
  local log="$AIRFLOW_HOME/logs/init.log"
  # A chain, not set -e: -e does not apply inside a group whose status is tested.
  {
    echo "== $(date -u +%FT%TZ) airflow db migrate" &&
      airflow db migrate &&
      echo "== pool $POOL" &&
      { airflow pools get "$POOL" || airflow pools set "$POOL" 1 "one promotion or rollback at a time"; } &&
      echo "== airflow dags reserialize" &&
      airflow dags reserialize
  } >"$log" 2>&1 || {
    tail -n 40 "$log" >&2
    echo "init_airflow: setting up Airflow in $AIRFLOW_HOME failed; full log: $log" >&2
    return 1
  }
  signature >"$MARKER"
}

if [ "${1:-}" = "--if-needed" ]; then
  needs_init || exit 0
  mkdir -p "$AIRFLOW_HOME"
  # One initialisation at a time (two first calls at once): the second waits, then finds it done.
  exec 9>"$AIRFLOW_HOME/.mlops_init.lock"
  command -v flock >/dev/null && flock 9
  needs_init || exit 0
  echo "scripts/airflow: first use of $AIRFLOW_HOME: migrating the metadata database, creating pool" \
    "$POOL, serialising the DAGs (log: $AIRFLOW_HOME/logs/init.log)" >&2
fi
run_init
