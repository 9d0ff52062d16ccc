#!/usr/bin/env bash
# Builds the collector distribution the end-to-end tests run (collector/manifest.yaml: the flagsync
# exporter from this repository plus stock components), with the OpenTelemetry Collector Builder,
# from the Go module proxy. Cached by the hash of the manifest and the component's sources under
# .cache/collector/; prints the binary's path. Needs Go (1.26 here). The Dockerfile builds the
# gateway image with it too. With `--sources DIR`: only the distribution's Go sources, into DIR
# (GoReleaser compiles them for each platform: .goreleaser.yaml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
collector="$root/collector"
cache="$root/.cache/collector"
sources=""
if [ "${1:-}" = "--sources" ]; then
  [ -n "${2:-}" ] || { echo "build-collector: --sources needs a directory" >&2; exit 2; }
  mkdir -p "$2"
  sources=$(cd "$2" && pwd)
fi
hash=$( (cat "$collector/manifest.yaml"; find "$collector/flagsyncexporter" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) ! -name '*_test.go' | sort | xargs cat) | sha256sum | cut -c1-16)
bin="$cache/otelcol-flagsync-$hash"
if [ -z "$sources" ] && [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "build-collector: Go is needed to build the test collector" >&2; exit 1; }
mkdir -p "$cache/bin"
builder_version=$(sed -n 's#.*go.opentelemetry.io/collector/receiver/otlpreceiver \(v[0-9.]*\).*#\1#p' "$collector/manifest.yaml")
if [ ! -x "$cache/bin/builder" ]; then
  echo "build-collector: building the OpenTelemetry Collector Builder $builder_version (once)" >&2
  GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
fi
if [ -n "$sources" ]; then
  (cd "$collector" && "$cache/bin/builder" --config manifest.yaml --skip-compilation --output-path "$sources" >&2)
  echo "$sources"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-collector: building otelcol-flagsync (a few minutes the first time)" >&2
(cd "$collector" && "$cache/bin/builder" --config manifest.yaml --output-path "$work/build" >&2)
# Earlier builds are of no further use.
find "$cache" -maxdepth 1 -name 'otelcol-flagsync-*' ! -name "otelcol-flagsync-$hash" -delete
cp "$work/build/otelcol-flagsync" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$bin"
