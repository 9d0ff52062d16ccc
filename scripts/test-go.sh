#!/usr/bin/env bash
# The flagsync exporter's Go checks, part of `npm test`: the golden vectors' copies in the module
# match the shared ones, mdatagen's output matches metadata.yaml, formatting, go vet, golangci-lint, and its tests (golden vectors shared with the
# TypeScript converter, config, delivery against a fake FlagSync, the shared delivery store against a
# throwaway PostgreSQL server started here by scripts/postgres.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v go >/dev/null || { echo "test-go: Go is needed for the flagsync exporter's tests" >&2; exit 1; }
bash "$root/scripts/sync-golden.sh" --check
bash "$root/scripts/mdatagen.sh" --check
cd "$root/collector/flagsyncexporter"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "test-go: not gofmt-formatted: $unformatted" >&2
  exit 1
fi
go vet ./...
bash "$root/scripts/golangci-lint.sh"
# The postgres store's tests run against a real server (they skip only without this variable).
pgdir=$(mktemp -d)
trap 'bash "$root/scripts/postgres.sh" stop "$pgdir"' EXIT
FLAGSYNC_TEST_POSTGRES_DSN=$(bash "$root/scripts/postgres.sh" start "$pgdir")
export FLAGSYNC_TEST_POSTGRES_DSN
go test -count=1 ./...
