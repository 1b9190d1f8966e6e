#!/usr/bin/env bash
# Bring up the services the test suite needs: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
# Idempotent: it installs them (Debian packages) only if they are missing, starts only the one that is down, and
# returns once both answer (exit 0) or after about 30 s (exit 1, naming the one that did not come up).
# Called by .ci/run; run it by hand before `make test` on a fresh machine: bash .ci/services.sh
set -u

postgres_answers() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_answers()    { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
say()              { echo "services: $*" >&2; }

if ! command -v pg_isready >/dev/null || ! command -v redis-server >/dev/null; then
  say "installing postgresql and redis-server (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null
fi

if ! postgres_answers; then
  say "starting PostgreSQL"
  cluster_version="$(ls /etc/postgresql | head -n1)"
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start || true
fi

if ! redis_answers; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  # A throwaway cache for tests: no snapshots, no append-only file, loopback only.
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

for _ in $(seq 1 60); do
  if postgres_answers && redis_answers; then
    say "PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 0.5
done
postgres_answers || say "PostgreSQL did not come up on 127.0.0.1:5432"
redis_answers || say "Redis did not come up on 127.0.0.1:6379"
exit 1
