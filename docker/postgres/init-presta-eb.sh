#!/usr/bin/env bash
# Creates the integration's own state store database (PRESTA_EB_STATE_DB) beside Airflow's
# metadata database, in the same Postgres server:
#
#   database  presta_eb   owned by role presta_eb (password: PRESTA_EB_DB_PASSWORD)
#   database  airflow     owned by the superuser airflow (POSTGRES_USER / POSTGRES_PASSWORD)
#
# The role presta_eb can reach its own database only: CONNECT on both databases is revoked from
# PUBLIC, so the state store's credentials never open Airflow's metadata.
#
# The postgres image runs this once, from /docker-entrypoint-initdb.d/, when it initialises an
# EMPTY data volume. On an existing volume (one created before this script was added) run it by
# hand; it is idempotent, and it also resets the role's password to PRESTA_EB_DB_PASSWORD:
#
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/10-presta-eb.sh
#
# No `set -u`: if the exec bit is lost (e.g. a Windows checkout) the entrypoint sources this file
# instead of running it, and nounset would then leak into the entrypoint's own shell.
set -eo pipefail

db_name=presta_eb
db_user=presta_eb

if [ -z "${PRESTA_EB_DB_PASSWORD:-}" ]; then
  echo "init-presta-eb: PRESTA_EB_DB_PASSWORD is not set; cannot create the role ${db_user}" >&2
  exit 1
fi

# Values travel as psql variables (:'x' quotes a literal, :"x" an identifier): no password or
# name is ever spliced into SQL text by the shell. \gexec runs the statement a SELECT produced.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" \
  --set=db_name="$db_name" --set=db_user="$db_user" --set=db_password="$PRESTA_EB_DB_PASSWORD" \
  --set=airflow_db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" <<'SQL'
SELECT format('CREATE ROLE %I', :'db_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'db_user') \gexec
ALTER ROLE :"db_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'db_password';

SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db_name') \gexec

REVOKE ALL ON DATABASE :"db_name" FROM PUBLIC;
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
SQL

echo "init-presta-eb: database ${db_name} with owner ${db_user} is ready"
