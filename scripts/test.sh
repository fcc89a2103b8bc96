#!/usr/bin/env bash
# Runs every check of the project: formatting, go vet, and the whole test suite
# (unit tests, and integration tests on an embedded Temporal server and the
# provider sandboxes), with the race detector.
#
# Usage: bash scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet ./..."
go vet ./...

echo "== postgres (ledger tests)"
pg_env=$(bash scripts/postgres.sh)
export "$pg_env"

echo "== go test -race ./..."
go test -race -count=1 -timeout 20m "$@" ./...
