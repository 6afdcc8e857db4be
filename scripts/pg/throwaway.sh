#!/usr/bin/env bash
# throwaway.sh COMMAND [ARG…]: starts a throwaway PostgreSQL cluster for the tests, runs
# COMMAND with PATCHGATE_PG set to its superuser URL, and stops and removes the cluster
# afterwards (also when COMMAND fails or is interrupted). The cluster lives in a temporary
# folder, listens only on 127.0.0.1 on a free port, and trusts local connections: it is for
# tests, never for a register anyone keeps.
#
# It uses the Debian PostgreSQL binaries (/usr/lib/postgresql/*/bin, `apt-get install
# postgresql`; `make deps` installs them). initdb refuses to run as root, so as root the
# cluster is made and run by the postgres user (created when missing).
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

bin=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { bin=$d; break; }
done
if [ -z "$bin" ] && command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
  bin=$(dirname "$(command -v pg_ctl)")
fi
[ -n "$bin" ] || { echo "throwaway.sh: no PostgreSQL binaries in /usr/lib/postgresql/*/bin; install them with: apt-get install -y postgresql (or make deps)" >&2; exit 4; }

as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  as=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/patchgate-pg.XXXXXX")
chmod 755 "$dir"
[ ${#as[@]} -eq 0 ] || chown postgres "$dir"

# a free port on 127.0.0.1: one nothing answers on
port=""
for _ in $(seq 1 50); do
  p=$(( 20000 + RANDOM % 30000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "throwaway.sh: no free port found on 127.0.0.1" >&2; exit 4; }

stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM

"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 4; }
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 4; }

export PATCHGATE_PG="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "throwaway PostgreSQL ($("$bin/postgres" --version)) at $PATCHGATE_PG" >&2
set +e
"$@"
rc=$?
exit $rc
