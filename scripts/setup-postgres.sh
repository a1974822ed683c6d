#!/usr/bin/env bash
# Starts the local PostgreSQL cluster if it is down and creates the role and database. Rerunnable.
source "$(dirname "$0")/lib.sh"
ensure_postgres
say "PostgreSQL is ready: postgres:///truffle?user=$(id -un)"
