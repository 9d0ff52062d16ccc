#!/usr/bin/env bash
# Copies the shared golden vectors (testdata/golden/*.json, written by the TypeScript side) into the
# Go module's own testdata, so that its tests read nothing outside the module. With --check, changes
# nothing and fails when the copies differ from the root files (scripts/test-go.sh runs it so).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/testdata/golden"
dst="$root/collector/flagsyncexporter/testdata/golden"
if [ "${1:-}" = "--check" ]; then
  if ! diff -r -q "$src" "$dst" >/dev/null 2>&1; then
    echo "sync-golden: collector/flagsyncexporter/testdata/golden differs from testdata/golden:" >&2
    diff -r -q "$src" "$dst" >&2 || true
    echo "sync-golden: run 'bash scripts/sync-golden.sh' and commit the copies" >&2
    exit 1
  fi
  exit 0
fi
rm -rf "$dst"
mkdir -p "$dst"
cp -r "$src"/. "$dst"/
echo "sync-golden: copied $(ls "$src"/*.json | wc -l) files into collector/flagsyncexporter/testdata/golden" >&2
