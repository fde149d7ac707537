#!/usr/bin/env bash
# Generates the registry's Swift types and client from openapi/registry.yaml with
# swift-openapi-generator, into Sources/RegistryAPI/Generated (committed: builds never run the
# generator). Run it after every change to the document; RegistryAPITests fails while the
# committed sources were made from another version of it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.14.3
checkout=.build-openapi-generator
if [ ! -x "$checkout/.build/debug/swift-openapi-generator" ]; then
  rm -rf "$checkout"
  git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$version" https://github.com/apple/swift-openapi-generator "$checkout"
  swift build --package-path "$checkout" --product swift-openapi-generator
fi
out=Sources/RegistryAPI/Generated
rm -rf "$out" && mkdir -p "$out"
"$checkout/.build/debug/swift-openapi-generator" generate --config openapi/registry-generator.yaml \
  --output-directory "$out" openapi/registry.yaml 2>&1 | grep -E "warning|error" || true
sha256sum openapi/registry.yaml | cut -d' ' -f1 > "$out/registry.yaml.sha256"
echo "generated $(ls "$out"/*.swift | wc -l) files in $out from openapi/registry.yaml ($(cut -c1-12 "$out/registry.yaml.sha256"))"
