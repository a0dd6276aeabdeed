#!/bin/sh
# Creates (or upgrades) the Temporal schemas in PostgreSQL. Runs in the temporalio/admin-tools image, whose
# temporal-sql-tool reads the connection from SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD, and
# whose versioned schemas live under /etc/temporal/schema. Safe to run again: every step is idempotent.
set -eu

: "${SQL_HOST:?set SQL_HOST to the PostgreSQL host}"
: "${SQL_USER:?set SQL_USER to the PostgreSQL user}"
SCHEMA_ROOT=${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}
TEMPORAL_DB=${TEMPORAL_DB:-temporal}
VISIBILITY_DB=${VISIBILITY_DB:-temporal_visibility}

setup() {
  db=$1
  dir=$2
  # PostgreSQL has no CREATE DATABASE IF NOT EXISTS: on a second run this fails, and setup-schema below
  # reports any real problem (an unreachable server, a wrong password) with its own error.
  if temporal-sql-tool --db "$db" create-database >/dev/null 2>&1; then
    echo "created database $db"
  else
    echo "database $db not created (it exists already, or setup-schema says why below)"
  fi
  # 0.0 is only recorded when the database has no version yet; update-schema then applies every later version.
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
}

setup "$TEMPORAL_DB" "$SCHEMA_ROOT/temporal/versioned"
setup "$VISIBILITY_DB" "$SCHEMA_ROOT/visibility/versioned"
echo "Temporal schemas are up to date in $TEMPORAL_DB and $VISIBILITY_DB"
