#!/usr/bin/env bash
# Starts the database services the tests use, installing any that is missing (Debian packages).
# Idempotent: a service that already answers is left alone. Usage: scripts/services.sh [postgres] [redis] [mariadb]
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(postgres redis mariadb)

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $name did not come up" >&2
  return 1
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
mariadb_up() { mysqladmin -h 127.0.0.1 -P 3306 -uroot ping; }

for svc in "${want[@]}"; do
  case "$svc" in
    postgres)
      postgres_up >/dev/null 2>&1 && { echo "services: postgres is up"; continue; }
      [ -n "$(ls /etc/postgresql 2>/dev/null)" ] || apt_install postgresql
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
      wait_for postgres postgres_up
      ;;
    redis)
      redis_up && { echo "services: redis is up"; continue; }
      command -v redis-server >/dev/null || apt_install redis-server
      mkdir -p /var/lib/redis /var/log/redis
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
      wait_for redis redis_up
      ;;
    mariadb)
      mariadb_up >/dev/null 2>&1 && { echo "services: mariadb is up"; continue; }
      [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
      mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
      wait_for mariadb mariadb_up
      ;;
    *) echo "services: unknown service $svc" >&2; exit 2 ;;
  esac
done
