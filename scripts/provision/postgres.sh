# shellcheck shell=bash
# Sourced by scripts/test: makes a real PostgreSQL server available to the test suite and
# exports GOPA_TEST_PG_URL (an async SQLAlchemy URL) for `pytest -m db`.
#
# As root (CI on a fresh Debian 12): installs Debian's postgresql when missing, starts the
# cluster, creates a role and a database for this checkout with a random password.
# Not root: works only when a server is already running and `psql` reaches it as a
# superuser through the usual PG* variables; otherwise it fails, so that a missing
# PostgreSQL fails CI instead of silently skipping the PostgreSQL run.
# Idempotent and quiet: running it twice reuses the role, the database and the password.

_gopa_pg_fail() {
  echo "provision/postgres: $*" >&2
  return 1
}

_gopa_pg_provision() {
  if [ -n "${GOPA_TEST_PG_URL:-}" ]; then
    return 0
  fi
  local root_dir checkout_key role db pwfile password port
  root_dir="$(pwd -P)"
  # One role and database per checkout, so that several checkouts on one machine
  # (worktrees, a CI clone) never truncate each other's tables mid-run.
  checkout_key="$(printf '%s' "$root_dir" | sha256sum | cut -c1-10)"
  role="gopa_test_${checkout_key}"
  db="gopa_test_${checkout_key}"
  pwfile="$root_dir/var/pg-test-password"
  mkdir -p "$root_dir/var"

  local -a psql_admin
  if [ "$(id -u)" -eq 0 ]; then
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || _gopa_pg_fail "apt-get update failed" || return 1
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >/dev/null || _gopa_pg_fail "apt-get install postgresql failed" || return 1
    fi
    local version
    version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)"
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
      pg_createcluster "$version" main >/dev/null || _gopa_pg_fail "pg_createcluster $version main failed" || return 1
    fi
    if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
      pg_ctlcluster "$version" main start || _gopa_pg_fail "could not start cluster $version/main" || return 1
    fi
    port="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')"
    psql_admin=(runuser -u postgres -- psql -p "$port" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres)
  else
    port="${PGPORT:-5432}"
    psql_admin=(psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres)
    "${psql_admin[@]}" -c 'select 1' >/dev/null 2>&1 ||
      _gopa_pg_fail "not root and no running PostgreSQL reachable as a superuser (set PG* or GOPA_TEST_PG_URL)" ||
      return 1
  fi

  local ready=""
  for _ in $(seq 1 30); do
    if "${psql_admin[@]}" -c 'select 1' >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 1
  done
  [ -n "$ready" ] || _gopa_pg_fail "PostgreSQL on port $port did not accept connections" || return 1

  local role_exists
  role_exists="$("${psql_admin[@]}" -c "select 1 from pg_roles where rolname = '$role'")"
  if [ -s "$pwfile" ] && [ "$role_exists" = "1" ]; then
    password="$(cat "$pwfile")"
  else
    password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    (umask 077 && printf '%s' "$password" >"$pwfile")
    if [ "$role_exists" = "1" ]; then
      "${psql_admin[@]}" -c "alter role $role with login password '$password'" >/dev/null || _gopa_pg_fail "alter role failed" || return 1
    else
      "${psql_admin[@]}" -c "create role $role with login password '$password'" >/dev/null || _gopa_pg_fail "create role failed" || return 1
    fi
  fi
  if [ "$("${psql_admin[@]}" -c "select 1 from pg_database where datname = '$db'")" != "1" ]; then
    "${psql_admin[@]}" -c "create database $db owner $role encoding 'UTF8' template template0" >/dev/null ||
      _gopa_pg_fail "create database failed" || return 1
  fi
  export GOPA_TEST_PG_URL="postgresql+psycopg://${role}:${password}@127.0.0.1:${port}/${db}"
}

_gopa_pg_provision || return 1 2>/dev/null || exit 1
