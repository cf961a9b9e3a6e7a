#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing, checks the generated code,
# types, lint and formatting, validates the Kamailio config of every site, then runs unit and
# integration tests against real Kafka, ClickHouse and Kamailio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

step() { printf '\n== %s\n' "$*"; }
step "generated protobuf code matches proto/"
bash proto/generate.sh --check
step "types"
npx --no-install tsc -p tsconfig.json
npx --no-install tsc -p central/console/tsconfig.json --noEmit
npx --no-install tsc -p central/desktop/tsconfig.json --noEmit
step "lint"
npx --no-install eslint --max-warnings 0 .
step "formatting"
npx --no-install prettier --check --log-level warn .
step "Kamailio config of every site in the example topology (kamailio -c)"
npx --no-install tsx services/src/kamailio/cli.ts check topology/example.yaml
step "unit and integration tests"
npx --no-install vitest run

# Every engine and process a test started must be gone.
if left=$(pgrep -a -f "$PWD/.ccfed/test/" | grep -v pgrep); then
  echo "processes left running by the tests:" >&2
  echo "$left" >&2
  exit 1
fi
