#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and CI.
#
#   eval "$(bash .ci/postgres.sh)"     # start (idempotent); exports MESHAI_TEST_POSTGRES_URL
#   bash .ci/postgres.sh stop          # stop the cluster (data dir is kept)
#   bash .ci/postgres.sh destroy       # stop and delete the data dir
#
# Only the `export ...` line goes to stdout; all chatter goes to stderr.
#
# Environment (all optional):
#   MESHAI_PG_PORT   TCP port on 127.0.0.1          (default 54329)
#   MESHAI_PG_DIR    cluster directory               (default /tmp/meshai-pg)
#
# The server listens only on 127.0.0.1 (plus a unix socket inside MESHAI_PG_DIR used for
# administration). Role `meshai` / password `meshai` (LOGIN CREATEDB) owns database `meshai_test`.
# As root, server commands run as the `postgres` system user; as any other user, as that user.
set -euo pipefail

# stdout is reserved for the export line: keep it on fd 3, send everything else to stderr.
exec 3>&1 1>&2

PORT="${MESHAI_PG_PORT:-54329}"
BASE="${MESHAI_PG_DIR:-/tmp/meshai-pg}"
DATA="$BASE/data"
SOCK="$BASE/run"
LOG="$BASE/postgres.log"
ROLE=meshai
PASSWORD=meshai
DB=meshai_test
URL="postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
ACTION="${1:-start}"

say() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ "$PORT" =~ ^[0-9]+$ ]] || die "MESHAI_PG_PORT must be a number, got '$PORT'"

find_bin() {
  local d
  # Newest major version first.
  # shellcheck disable=SC2012 # fixed, well-formed paths; ls|sort orders them by major version
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
    if [[ -x "$d/pg_ctl" && -x "$d/initdb" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

PGBIN="$(find_bin || true)"
if [[ -z "$PGBIN" ]]; then
  [[ "$ACTION" == start ]] || { say "PostgreSQL is not installed; nothing to $ACTION"; exit 0; }
  [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed and we are not root (apt-get install -y postgresql)"
  say "installing PostgreSQL with apt-get..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends postgresql >&2
  PGBIN="$(find_bin)" || die "apt-get installed postgresql but no pg_ctl/initdb under /usr/lib/postgresql/*/bin"
fi
PGVERSION="$(basename "$(dirname "$PGBIN")")"

if [[ "$(id -u)" == 0 ]]; then
  id postgres >/dev/null 2>&1 || die "system user 'postgres' does not exist"
  OWNER=postgres
  # cd / so the postgres user never trips over an unreadable working directory.
  as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
  OWNER="$(id -un)"
  as_owner() { (cd / && "$@"); }
fi

running() { [[ -f "$DATA/postmaster.pid" ]] && as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

admin_psql() {
  as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d postgres "$@"
}

case "$ACTION" in
  stop)
    if running; then
      as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
      say "not running"
    fi
    exit 0
    ;;
  destroy)
    if running; then as_owner "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >&2 || true; fi
    rm -rf "$BASE"
    say "removed $BASE"
    exit 0
    ;;
  start) ;;
  *) die "usage: $0 [start|stop|destroy]" ;;
esac

# A server that is running (or just dying, or still starting) must answer within 30 s.
wait_ready() {
  local _
  for _ in $(seq 30); do
    as_owner "$PGBIN/pg_isready" -q -h "$SOCK" -p "$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null)" && return 0
    running || return 1
    sleep 1
  done
  return 1
}
if running && ! wait_ready && running; then
  die "a server is running in $DATA but does not accept connections; see $LOG"
fi

if running; then
  # Make sure the running cluster is the one the caller asked for.
  running_port="$(sed -n 4p "$DATA/postmaster.pid")"
  [[ "$running_port" == "$PORT" ]] ||
    die "cluster in $BASE is already running on port $running_port, not $PORT (run '$0 stop' first)"
  say "already running on 127.0.0.1:$PORT ($BASE)"
else
  # Throwaway cluster: start over if the data dir is unusable or from another major version.
  if [[ -d "$DATA" && "$(cat "$DATA/PG_VERSION" 2>/dev/null || true)" != "$PGVERSION" ]]; then
    say "discarding unusable or old data dir $DATA"
    rm -rf "$DATA"
  fi
  mkdir -p "$BASE"
  chown "$OWNER" "$BASE"
  chmod 700 "$BASE"
  as_owner mkdir -p "$SOCK"

  if [[ ! -d "$DATA" ]]; then
    say "initdb (PostgreSQL $PGVERSION) in $DATA"
    as_owner "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >&2
    cat >>"$DATA/postgresql.conf" <<EOF

# --- added by .ci/postgres.sh (throwaway test cluster) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
max_connections = 200
# durability is pointless for a test cluster; speed is not
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  # Superuser `postgres` only over the unix socket, which sits in the owner-only (0700) $BASE;
  # on TCP (loopback only) everyone needs a password.
  cat >"$DATA/pg_hba.conf" <<EOF
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       all       127.0.0.1/32   scram-sha-256
EOF

  say "starting on 127.0.0.1:$PORT (log: $LOG)"
  # The server outlives this script, so it must not inherit any pipe of the caller: -l sends its
  # stdout/stderr to the log, stdin is /dev/null, and every other descriptor (fd 3 is the caller's
  # $(...) pipe!) is closed first; otherwise `eval "$(.ci/postgres.sh)"` would never return.
  start_server() {
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
      fd="${fd##*/}"
      if [[ "$fd" -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o "-p $PORT" start </dev/null >&2
  }
  if ! (start_server); then
    tail -n 30 "$LOG" >&2 || true
    die "could not start PostgreSQL (is port $PORT already in use?)"
  fi
fi

# Role and database: idempotent, cheap, and repairs a cluster someone has tampered with.
admin_psql <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  END IF;
END
\$\$;
SQL
if [[ -z "$(admin_psql -At -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
  admin_psql -c "CREATE DATABASE $DB OWNER $ROLE"
  say "created database $DB"
fi

say "ready: $URL"
printf 'export MESHAI_TEST_POSTGRES_URL=%s\n' "$URL" >&3
