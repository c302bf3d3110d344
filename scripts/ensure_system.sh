#!/usr/bin/env bash
# Makes sure the machine has what the project uses outside Python: gettext (translations),
# WeasyPrint's Pango libraries and fonts, with `--test` Chromium, PostgreSQL, Redis, and with
# `--bench` those too and wrk (the HTTP load generator of bench/pages.py).
# Installs what is missing with apt (the machines run as root) and starts stopped services.
set -euo pipefail
mode="${1:-}"
need=()
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || need+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "$mode" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
fi
if [ "$mode" = "--test" ] || [ "$mode" = "--bench" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)  # independent check of B-LTA PDFs
  command -v pg_ctlcluster >/dev/null 2>&1 || command -v postgres >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  # Only to check that docker-compose.yml parses (no Docker engine runs on these machines).
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ "$mode" = "--test" ] || [ "$mode" = "--bench" ] || exit 0

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432; then
  echo "Starting PostgreSQL"
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
port_open 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
if ! port_open 6379; then
  echo "Starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do port_open 6379 && break; sleep 1; done
fi
port_open 6379 || { echo "Redis is not reachable at 127.0.0.1:6379" >&2; exit 1; }
# Tests connect as "postgres" over TCP; a fresh Debian cluster uses peer/md5 auth for TCP.
if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
  echo "Allowing trust auth on 127.0.0.1 for the test cluster"
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload
fi
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='homeportal'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE homeportal" >/dev/null
echo "PostgreSQL, Redis and Chromium are ready."
