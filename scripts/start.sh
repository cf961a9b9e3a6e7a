#!/usr/bin/env bash
# Starts the local federation from a fresh machine: installs what is missing, then runs the
# engines and ccfed's processes in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec npx --no-install tsx scripts/federation.ts "$@"
