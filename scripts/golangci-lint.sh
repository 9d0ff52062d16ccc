#!/usr/bin/env bash
# Runs golangci-lint (v2, with collector/flagsyncexporter/.golangci.yml, modelled on
# collector-contrib's) on the flagsync exporter. Installs it once from the Go module proxy into
# .cache/go-tools/ (a few minutes the first time). Part of scripts/test-go.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v2.15.0
bin="$root/.cache/go-tools/golangci-lint-$version"
if [ ! -x "$bin" ]; then
  echo "golangci-lint: installing $version (once, into .cache/go-tools)" >&2
  mkdir -p "$root/.cache/go-tools/tmp"
  GOBIN="$root/.cache/go-tools/tmp" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version" >&2
  mv "$root/.cache/go-tools/tmp/golangci-lint" "$bin"
fi
cd "$root/collector/flagsyncexporter"
"$bin" run ./...
