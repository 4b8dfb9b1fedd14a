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
mkdir -p .vigie
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.vigie/test-results.json "$@"
code=$?
set -e
# One plain closing line for CI: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".vigie/test-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit $code
