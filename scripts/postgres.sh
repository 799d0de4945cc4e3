# Starts (or reuses) a throwaway PostgreSQL cluster for the tests and benchmarks, listening
# on 127.0.0.1 only, and exports MDMKIT_TEST_POSTGRES_URL. Installs the Debian package
# `postgresql` when missing. Idempotent: a second run reuses the running cluster.
#
#   . scripts/postgres.sh          # start and export the URL (what scripts/test.sh does)
#   bash scripts/postgres.sh       # start and print the URL
#   bash scripts/postgres.sh stop  # stop the cluster and delete its files
# shellcheck shell=bash

mdmkit_postgres() {
  local action="${1:-start}"
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  # One cluster per checkout and user, so worktrees and CI runs do not collide.
  local dir="/tmp/mdmkit-postgres-$(id -u)-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"

  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    if [ "$action" = stop ]; then return 0; fi
    echo "postgres: installing the Debian package postgresql" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || {
      echo "postgres: cannot install postgresql" >&2
      return 1
    }
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bin" ]; then
      echo "postgres: no PostgreSQL binaries after installing" >&2
      return 1
    fi
  fi

  # As root, the server must run as the postgres user, from a directory it can enter.
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
  local here="$PWD"
  cd /tmp || return 1

  if [ "$action" = stop ]; then
    if [ -d "$dir/data" ]; then "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    cd "$here" || return 1
    return 0
  fi

  if [ -f "$dir/port" ] && "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    :
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 || {
      echo "postgres: initdb failed, see $dir/initdb.log" >&2
      cd "$here"; return 1
    }
    # A free port on 127.0.0.1.
    local port=$((55000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 5000))
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null || {
      echo "postgres: the server did not start, see $dir/server.log" >&2
      cd "$here"; return 1
    }
    echo "$port" >"$dir/port"
  fi

  cd "$here" || return 1
  MDMKIT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
  export MDMKIT_TEST_POSTGRES_URL
  echo "postgres: MDMKIT_TEST_POSTGRES_URL=$MDMKIT_TEST_POSTGRES_URL" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  mdmkit_postgres "$@"
  if [ "${1:-start}" != stop ]; then echo "$MDMKIT_TEST_POSTGRES_URL"; fi
else
  mdmkit_postgres "$@"
fi
