#!/usr/bin/env bash
# Regenerates proto/src/gen from the .proto files with the pinned buf and ts-proto versions.
#   generate.sh          lint the protos and rewrite src/gen
#   generate.sh --check  fail when the committed src/gen differs from a fresh generation
set -euo pipefail
cd "$(dirname "$0")"
buf=../node_modules/.bin/buf

"$buf" lint

if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed "s#out: src/gen#out: $tmp/gen#" buf.gen.yaml > "$tmp/buf.gen.yaml"
  "$buf" generate --template "$tmp/buf.gen.yaml"
  if ! diff -r -u src/gen "$tmp/gen"; then
    echo "proto/src/gen is stale: run 'npm run proto:gen' and commit the result" >&2
    exit 1
  fi
  echo "proto/src/gen matches the .proto files"
else
  rm -rf src/gen
  "$buf" generate
  echo "generated proto/src/gen"
fi
