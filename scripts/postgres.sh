#!/usr/bin/env bash
# Makes a local PostgreSQL available for the ledger's tests and prints the DSN
# they read:
#
#   XHSPAY_TEST_POSTGRES_DSN=postgres://xhspay:xhspay@127.0.0.1:5432/xhspay_test?sslmode=disable
#
# When the test database already answers with the test role, it only prints the
# DSN. Otherwise it installs Debian's postgresql package if no cluster exists,
# starts the cluster that listens on port 5432, and creates the role xhspay
# (password xhspay) and the database xhspay_test owned by it. Every step is
# idempotent. Installing, starting and creating the role need root.
#
# Usage: eval "$(bash scripts/postgres.sh)"   # or: export "$(bash scripts/postgres.sh)"
# Diagnostics go to stderr; stdout carries only the DSN line.
set -euo pipefail

HOST=127.0.0.1
PORT=5432
ROLE=xhspay
PASSWORD=xhspay
DB=xhspay_test
DSN="postgres://${ROLE}:${PASSWORD}@${HOST}:${PORT}/${DB}?sslmode=disable"

log() { echo "postgres.sh: $*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
trap 'die "command failed at line ${LINENO}: ${BASH_COMMAND}"' ERR

# answers reports whether anything accepts TCP connections on HOST:PORT.
answers() { (exec 3<>"/dev/tcp/${HOST}/${PORT}") 2>/dev/null; }

# test_db_ready reports whether the test role can log in to the test database.
test_db_ready() {
  command -v psql >/dev/null 2>&1 || return 1
  PGPASSWORD="$PASSWORD" PGCONNECT_TIMEOUT=3 psql -X -q -t -A \
    "host=${HOST} port=${PORT} user=${ROLE} dbname=${DB} sslmode=disable" \
    -c 'SELECT 1' >/dev/null 2>&1
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (run as root, or start PostgreSQL with role ${ROLE}/${DB} yourself)"
}

# cluster prints "<version> <name>" of the cluster configured for PORT, newest version first.
cluster() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 0
  pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port { print $1, $2 }' | sort -rn | head -n 1
}

install_postgres() {
  need_root "installing PostgreSQL"
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2 || die "apt-get update failed"
  apt-get install -y -q postgresql >&2 || die "apt-get install postgresql failed"
}

start_cluster() {
  local version name
  read -r version name <<<"$(cluster)" || true
  if [ -z "${version:-}" ]; then
    # The package creates "main" on install; a machine that dropped it gets a new one.
    need_root "creating a PostgreSQL cluster"
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -rn | head -n 1)
    [ -n "$version" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
    name=main
    log "creating cluster ${version}/${name} on port ${PORT}"
    pg_createcluster --port="$PORT" "$version" "$name" >&2 || die "pg_createcluster ${version} ${name} failed"
  fi
  need_root "starting PostgreSQL"
  log "starting cluster ${version}/${name}"
  pg_ctlcluster "$version" "$name" start >&2 || die "pg_ctlcluster ${version} ${name} start failed (see /var/log/postgresql/postgresql-${version}-${name}.log)"
  for _ in $(seq 1 60); do
    answers && return 0
    sleep 0.5
  done
  die "cluster ${version}/${name} started but nothing answers on ${HOST}:${PORT} after 30s"
}

create_role_and_db() {
  need_root "creating the role ${ROLE} and the database ${DB}"
  command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
  log "ensuring role ${ROLE} and database ${DB}"
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres >&2 <<SQL || die "creating role/database failed"
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '${ROLE}', '${PASSWORD}')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}')\gexec
ALTER ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}';
SELECT format('CREATE DATABASE %I OWNER %I', '${DB}', '${ROLE}')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${DB}')\gexec
ALTER DATABASE ${DB} OWNER TO ${ROLE};
SQL
}

if ! test_db_ready; then
  if ! answers; then
    if [ -z "$(cluster)" ] && ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
      install_postgres
    fi
    start_cluster
  fi
  create_role_and_db
  test_db_ready || die "role ${ROLE} still cannot log in to ${DB} on ${HOST}:${PORT} (check pg_hba.conf allows password logins from ${HOST})"
fi

echo "XHSPAY_TEST_POSTGRES_DSN=${DSN}"
