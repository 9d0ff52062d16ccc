#!/usr/bin/env bash
# Regenerates the flagsync exporter's mdatagen output from collector/flagsyncexporter/metadata.yaml:
# internal/metadata, internal/metadatatest, documentation.md, generated_component_test.go,
# generated_package_test.go and the README's status table. With --check, changes nothing and fails
# when the committed output differs from what mdatagen generates (skipped, with a note, when no
# mdatagen is at hand).
#
# mdatagen: $MDATAGEN, else a binary cached under .cache/go-tools/, else
# `go install go.opentelemetry.io/collector/cmd/mdatagen@<the manifest's release>`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
module="$root/collector/flagsyncexporter"
tools="$root/.cache/go-tools"
release=$(sed -n 's#.*go.opentelemetry.io/collector/receiver/otlpreceiver \(v[0-9.]*\).*#\1#p' "$root/collector/manifest.yaml")
find_mdatagen() {
  if [ -n "${MDATAGEN:-}" ]; then echo "$MDATAGEN"; return; fi
  for bin in "$tools/mdatagen-$release" "$tools"/mdatagen*; do
    [ -x "$bin" ] && { echo "$bin"; return; }
  done
  if GOBIN="$tools/tmp" go install "go.opentelemetry.io/collector/cmd/mdatagen@$release" >/dev/null 2>&1; then
    mv "$tools/tmp/mdatagen" "$tools/mdatagen-$release"
    echo "$tools/mdatagen-$release"
  fi
}
mdatagen=$(find_mdatagen)
generated=(internal/metadata internal/metadatatest documentation.md generated_component_test.go generated_package_test.go README.md)
if [ "${1:-}" = "--check" ]; then
  if [ -z "$mdatagen" ]; then
    echo "mdatagen: not at hand; the generated files were not checked against metadata.yaml" >&2
    exit 0
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # The folder's name is the package's: keep it.
  cp -r "$module" "$work/"
  (cd "$work/flagsyncexporter" && "$mdatagen" metadata.yaml >/dev/null)
  for path in "${generated[@]}"; do
    if ! diff -r -q "$module/$path" "$work/flagsyncexporter/$path" >/dev/null; then
      echo "mdatagen: $path differs from what metadata.yaml generates: run 'bash scripts/mdatagen.sh' and commit" >&2
      exit 1
    fi
  done
  exit 0
fi
[ -n "$mdatagen" ] || { echo "mdatagen: none found (see the comment at the top of scripts/mdatagen.sh)" >&2; exit 1; }
cd "$module"
"$mdatagen" metadata.yaml
