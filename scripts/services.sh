#!/usr/bin/env bash
# Starts the database services the tests use, installing any that is missing (Debian packages).
# Idempotent: a service that already answers is left alone.
# Usage: scripts/services.sh [postgres] [pgbouncer] [redis] [mariadb]
# pgbouncer: PgBouncer 127.0.0.1:6432 in transaction mode in front of the local PostgreSQL (the
# PostgreSQL store's pooler mode is tested through it).
set -euo pipefail

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(postgres pgbouncer redis mariadb)

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
pgbouncer_up() { psql -h 127.0.0.1 -p 6432 -U postgres -Atqc "SELECT 1" postgres; }
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
    pgbouncer)
      pgbouncer_up >/dev/null 2>&1 && { echo "services: pgbouncer is up"; continue; }
      command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
      mkdir -p /etc/pgbouncer /var/run/postgresql /var/log/postgresql
      chown postgres:postgres /var/run/postgresql /var/log/postgresql
      # Trust, as the PostgreSQL behind it; users must still be listed.
      printf '"postgres" ""\n"root" ""\n' > /etc/pgbouncer/tasklane-ci-users.txt
      cat > /etc/pgbouncer/tasklane-ci.ini <<'INI'
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = /etc/pgbouncer/tasklane-ci-users.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = /var/log/postgresql/pgbouncer-ci.log
pidfile = /var/run/postgresql/pgbouncer-ci.pid
INI
      chmod 644 /etc/pgbouncer/tasklane-ci.ini /etc/pgbouncer/tasklane-ci-users.txt
      /usr/sbin/pgbouncer -d -u postgres /etc/pgbouncer/tasklane-ci.ini
      wait_for pgbouncer pgbouncer_up
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
