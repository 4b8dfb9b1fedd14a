#!/usr/bin/env bash
# The whole test suite: dependencies, PostgreSQL + Redis, build, lint, tests.
source "$(dirname "$0")/lib.sh"
ensure_deps
ensure_services
build
say "Analyse statique (biome) et lint des migrations"
npx biome lint packages services test --diagnostic-level=error
node packages/cli/dist/bin.js lint migrations infra/vigie/migrations
say "Tests (PostgreSQL et Redis réels)"
exec npx vitest run "$@"
