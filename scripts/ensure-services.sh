#!/usr/bin/env bash
# Checks that PostgreSQL, Redis and RabbitMQ accept connections. When one does not and
# a Docker engine is available, starts the compose services and waits until healthy;
# otherwise says which service is down and how to start it.
set -uo pipefail
cd "$(dirname "$0")/.."
# .env is read as KEY=VALUE lines, as the app's dotenv reads it (never run as shell);
# the real environment wins.
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]] && value="${BASH_REMATCH[1]}"
    [ -z "${!key+x}" ] && export "$key=$value"
  done < .env
fi

host_port() { # URL or host:port -> "host port", with a default port
  local value="$1" default_port="$2" hostport
  hostport="${value#*://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
  local host="${hostport%:*}" port="${hostport##*:}"
  [ "$host" = "$hostport" ] && port="$default_port"
  [ -z "$host" ] && host=localhost
  echo "$host $port"
}

reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

declare -A targets=(
  [PostgreSQL]="$(host_port "${DATABASE_URL:-${POSTGRES_HOST:-localhost}:${POSTGRES_PORT:-5432}}" 5432)"
  [Redis]="$(host_port "${REDIS_URL:-${REDIS_ADDR:-localhost:6379}}" 6379)"
  [RabbitMQ]="$(host_port "${RABBITMQ_URL:-localhost:5672}" 5672)"
)

down=()
for name in PostgreSQL Redis RabbitMQ; do
  read -r host port <<<"${targets[$name]}"
  reachable "$host" "$port" || down+=("$name ($host:$port)")
done
[ ${#down[@]} -eq 0 ] && exit 0

echo "Not reachable: ${down[*]}" >&2
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  echo "Starting them with docker compose and waiting until they are healthy..." >&2
  exec docker compose up -d --wait postgres redis rabbitmq mailpit
fi
cat >&2 <<'HELP'
No Docker engine either. Start the services, for example on Debian:
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no
  rabbitmq-server -detached
or point DATABASE_URL, REDIS_URL and RABBITMQ_URL at running ones.
HELP
exit 1
