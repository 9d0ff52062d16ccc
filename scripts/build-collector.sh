#!/usr/bin/env bash
# Builds the stock OpenTelemetry Collector used by the end-to-end tests, with the OpenTelemetry
# Collector Builder and collector/manifest.yaml, from the Go module proxy. Cached by manifest
# hash under .cache/collector/; prints the binary's path. Needs Go (1.26 here).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
manifest="$root/collector/manifest.yaml"
cache="$root/.cache/collector"
hash=$(sha256sum "$manifest" | cut -c1-16)
bin="$cache/otelcol-flagsync-$hash"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-collector: Go is needed to build the test collector" >&2; exit 1; }
mkdir -p "$cache/bin"
builder_version=$(sed -n 's#.*go.opentelemetry.io/collector/receiver/otlpreceiver \(v[0-9.]*\).*#\1#p' "$manifest")
echo "build-collector: building the OpenTelemetry Collector Builder $builder_version (once)" >&2
GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$manifest" "$work/manifest.yaml"
echo "build-collector: building otelcol-flagsync (a few minutes the first time)" >&2
(cd "$work" && "$cache/bin/builder" --config manifest.yaml >&2)
cp "$work/build/otelcol-flagsync" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
