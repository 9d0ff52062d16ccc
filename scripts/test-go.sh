#!/usr/bin/env bash
# The flagsync exporter's Go checks, part of `npm test`: formatting, go vet, and its tests
# (golden vectors shared with the TypeScript converter, config, delivery against a fake FlagSync).
set -euo pipefail
cd "$(dirname "$0")/../collector/flagsyncexporter"
command -v go >/dev/null || { echo "test-go: Go is needed for the flagsync exporter's tests" >&2; exit 1; }
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "test-go: not gofmt-formatted: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 ./...
