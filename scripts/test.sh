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
# Types, lint and formatting read the same files and write nothing: on two cores they run side by
# side, each into its own log, which is printed whole (in this order) once all have finished.
step "types, lint and formatting"
checks_dir=$(mktemp -d)
trap 'rm -rf "$checks_dir"' EXIT
check() {
  local name=$1
  shift
  ("$@" >"$checks_dir/$name.log" 2>&1 && echo 0 >"$checks_dir/$name.rc" || echo $? >"$checks_dir/$name.rc") &
}
check types npx --no-install tsc -p tsconfig.json
check types-console npx --no-install tsc -p central/console/tsconfig.json --noEmit
check types-desktop npx --no-install tsc -p central/desktop/tsconfig.json --noEmit
check lint npx --no-install eslint --max-warnings 0 .
check formatting npx --no-install prettier --check --log-level warn .
wait
failed=0
for name in types types-console types-desktop lint formatting; do
  rc=$(cat "$checks_dir/$name.rc")
  printf -- '-- %s: %s\n' "$name" "$([ "$rc" = 0 ] && echo ok || echo "failed ($rc)")"
  cat "$checks_dir/$name.log"
  [ "$rc" = 0 ] || failed=1
done
[ "$failed" = 0 ] || exit 1
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
