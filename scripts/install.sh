#!/usr/bin/env bash
# Installs everything ccfed needs on a fresh Debian 12 machine, and nothing that is already there:
# Debian packages (Kamailio 5.6 with evapi, ClickHouse server, sipp, Java, Python, rtpengine,
# baresip, sox, espeak-ng), the Kafka 3.9 jars from Maven Central, a Python venv with chdb (a
# current ClickHouse engine) and one with the model-fitting packages (scikit-learn, statsmodels)
# from PyPI, and the npm workspace. Safe to run again; quick when
# nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# One install at a time: benchmarks run side by side each start with this script, and two
# `npm ci` into one node_modules leave neither whole.
mkdir -p .ccfed
exec 9>.ccfed/install.lock
flock 9

say() { printf '[install] %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages ----------------------------------------------------------------------
DEBIAN_PACKAGES=(
  kamailio kamailio-extra-modules kamailio-json-modules kamailio-utils-modules kamailio-tls-modules
  # Browser agents: SIP over WebSocket, and their ephemeral credentials (auth_ephemeral).
  kamailio-websocket-modules kamailio-autheph-modules
  clickhouse-server clickhouse-client
  sip-tester
  openjdk-17-jre-headless maven
  python3 python3-venv
  chromium
  # The media plane: rtpengine in userspace (the daemon only: the rtpengine metapackage pulls a
  # DKMS kernel module), baresip as the test phone, sox and espeak-ng to render and check audio,
  # shipped prompts and music on hold, tshark to read rtpengine's pcap recordings.
  rtpengine-daemon baresip-core sox espeak-ng
  asterisk-core-sounds-en-wav asterisk-moh-opsound-wav
  tshark
  # tests/netns: socat relays a site's loopback ports across its WAN link (iproute2 makes the links).
  socat
)
# One dpkg-query for them all: every benchmark runs this script first, and a query per package
# took seconds on a loaded machine. (It fails when a package is unknown; that one is missing.)
declare -A status=()
while read -r pkg state; do status[$pkg]=$state; done < <(
  dpkg-query -W -f='${Package} ${Status}\n' "${DEBIAN_PACKAGES[@]}" 2>/dev/null || true
)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  if [[ ${status[$pkg]:-} != 'install ok installed' ]]; then
    # Java and Maven may come from elsewhere on the machine; that is fine.
    case "$pkg" in
      openjdk-17-jre-headless) command -v java >/dev/null && continue ;;
      maven) command -v mvn >/dev/null && continue ;;
    esac
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # The packages' own services are not wanted: ccfed starts its engines itself, on its own ports.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Kafka jars ------------------------------------------------------------------------------
pom_sum=$(sha256sum services/kafka/pom.xml | cut -d' ' -f1)
if [[ ! -f services/kafka/lib/.pom.sha256 || $(cat services/kafka/lib/.pom.sha256) != "$pom_sum" ]]; then
  say "resolving Kafka jars from Maven Central (services/kafka/pom.xml)"
  rm -rf services/kafka/lib
  (cd services/kafka && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime)
  echo "$pom_sum" > services/kafka/lib/.pom.sha256
fi

# --- chdb (current ClickHouse) ---------------------------------------------------------------
# Debian's python3 on purpose: it is the one the packages above guarantee, with venv support.
venv=.ccfed/venv
req_sum=$(sha256sum services/clickhouse/requirements.txt | cut -d' ' -f1)
if [[ ! -f $venv/.requirements.sha256 || $(cat $venv/.requirements.sha256) != "$req_sum" ]]; then
  say "installing chdb into $venv (services/clickhouse/requirements.txt)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r services/clickhouse/requirements.txt
  echo "$req_sum" > "$venv/.requirements.sha256"
fi

# --- model fitting (scikit-learn, statsmodels) ------------------------------------------------
# The churn model and the call forecast are fitted by Python jobs (central/modeling) in a venv of
# their own, so that their pinned packages never meet chdb's.
models_venv=.ccfed/venv-models
models_sum=$(sha256sum central/modeling/requirements.txt | cut -d' ' -f1)
if [[ ! -f $models_venv/.requirements.sha256 || $(cat $models_venv/.requirements.sha256) != "$models_sum" ]]; then
  say "installing the model-fitting packages into $models_venv (central/modeling/requirements.txt)"
  rm -rf "$models_venv"
  /usr/bin/python3 -m venv "$models_venv"
  "$models_venv/bin/pip" install -q --disable-pip-version-check -r central/modeling/requirements.txt
  echo "$models_sum" > "$models_venv/.requirements.sha256"
fi

# --- npm workspace ---------------------------------------------------------------------------
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.ccfed-lock.sha256 || $(cat node_modules/.ccfed-lock.sha256) != "$lock_sum" ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.ccfed-lock.sha256
fi

# --- prompts ---------------------------------------------------------------------------------
# The queue's announcements, ringback tones and music on hold, rendered from text and Debian's
# sound files (services/src/media/prompts.ts); a no-op until a text, voice or tone changes.
# node --import tsx, not npx tsx: npx and tsx's own launcher cost a second per run, twice per
# benchmark (bench:* in package.json start the same way).
node --import tsx services/src/media/prompts-cli.ts .ccfed/prompts

say "everything ccfed needs is installed"
