#!/usr/bin/env bash
# Installs the Debian packages qtriage builds and tests with. Idempotent: when
# everything is already there it prints nothing and touches nothing.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libspdlog-dev libyaml-cpp-dev prometheus-cpp-dev
  libsqlite3-dev libre2-dev libcli11-dev libsystemd-dev
  googletest libgmock-dev libbenchmark-dev
  # clang and its runtimes (libFuzzer, ASan, UBSan) for the fuzz targets (fuzz/)
  clang libclang-rt-14-dev
  # python3 with yaml and jsonschema for the rule file schema test (tests/schema/)
  python3-yaml python3-jsonschema
  # promtool, which checks the daemon's /metrics exposition (tests/integration/run_command_test)
  prometheus
)
# The conformance test runs Stoplight Prism, which needs node and npm.
if [[ ${QTRIAGE_WITH_NODE:-1} == 1 ]]; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  # node may come from elsewhere than Debian (the image ships one): accept it.
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
