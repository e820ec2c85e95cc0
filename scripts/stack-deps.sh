#!/usr/bin/env bash
# The servers tests/stack and bench/tenants_scale.py start as local processes: PostgreSQL (pg_ctl) and Redis
# (redis-server), from Debian's packages `postgresql` and `redis-server`, installed when missing (as root;
# CI runs as root on a fresh machine). The packages' own services are neither created nor started: the
# tests start their own servers on free ports and stop them. Prints where the binaries are.
set -euo pipefail
have_pg() { command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
if ! have_pg || ! have_redis; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL or Redis is missing; as root: apt-get install postgresql redis-server" >&2
    exit 1
  fi
  echo "Installing PostgreSQL and Redis (Debian packages) for tests/stack ..."
  policy_made=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # no service starts during the install
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_made=1
  fi
  mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
    || echo "create_main_cluster = false" >> /etc/postgresql-common/createcluster.conf  # no cluster of its own either
  export DEBIAN_FRONTEND=noninteractive
  status=0
  { apt-get update -qq && apt-get install -y -qq -o Dpkg::Options::=--force-confold postgresql redis-server >/dev/null; } || status=$?
  [ -n "$policy_made" ] && rm -f /usr/sbin/policy-rc.d
  [ "$status" -eq 0 ] || { echo "apt-get install postgresql redis-server failed ($status)" >&2; exit "$status"; }
fi
pg_ctl_path="$(command -v pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)"
echo "PostgreSQL: $pg_ctl_path; Redis: $(command -v redis-server)"
