#!/usr/bin/env bash
# What can be checked of the Dockerfile without a Docker engine:
#   1. every shared library `ldd` lists for the qtriage binary comes from a
#      Debian package that the runtime stage installs;
#   2. the build stage runs the README's setup and build (the commands of
#      scripts/demo.sh, the README's first command);
#   3. the runtime stage runs as a numeric non-root user, holds CA
#      certificates, and the files it copies exist;
#   4. the image's default config and rules pass `qtriage check`;
#   5. the HEALTHCHECK command, run against a live daemon, succeeds, and
#      fails when nothing listens.
# Usage: container_test.sh SOURCE_DIR QTRIAGE_BINARY QTRIAGE_SIM_BINARY
set -euo pipefail
source_dir=$1
qtriage=$2
sim=$3
dockerfile=$source_dir/Dockerfile
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The runtime stage: everything after the last FROM.
runtime=$(awk '/^FROM /{stage=""} {stage = stage $0 "\n"} END {printf "%s", stage}' "$dockerfile")
build=$(awk '/^FROM /{n++} n==1' "$dockerfile")
# Its apt-get install line, continuation lines joined.
installed=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' <<<"$runtime" | grep 'apt-get install' |
            tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vxE 'apt-get|install|update|rm|RUN' || true)
[[ -n $installed ]] || fail "no apt-get install in the runtime stage"

# What apt installs for that list: the packages and, recursively, their
# dependencies (libsystemd0 brings libcap2, liblz4-1, ...), read from dpkg's
# own records of this machine's installed packages.
closure=$(python3 - $installed <<'PY'
import subprocess, sys
def depends(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                         capture_output=True, text=True).stdout
    names = []
    for item in out.replace(",", "\n").splitlines():
        choices = [c.strip().split(" ")[0].split(":")[0] for c in item.split("|") if c.strip()]
        if choices:
            names.append(choices[0])
    return names
seen, todo = set(), list(sys.argv[1:])
while todo:
    package = todo.pop()
    if package in seen:
        continue
    seen.add(package)
    todo.extend(depends(package))
print("\n".join(sorted(seen)))
PY
)

# 1. ldd's libraries against those packages.
missing=0
while read -r library; do
  package=$(dpkg -S "$(readlink -f "$library")" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  [[ -n $package ]] || package=$(dpkg -S "$library" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
  [[ -n $package ]] || fail "no Debian package provides $library"
  if ! grep -qx "$package" <<<"$closure"; then
    echo "FAIL: $library comes from $package, which the runtime stage does not install"
    missing=1
  fi
done < <(ldd "$qtriage" | awk '/=>/ && $3 ~ /^\// {print $3}')
[[ $missing == 0 ]] || exit 1
grep -qx ca-certificates <<<"$installed" || fail "the runtime stage has no ca-certificates"
echo "ok: every shared library of qtriage comes from a package the runtime stage installs"

# 2. The README's build: scripts/demo.sh (its first command) builds with this.
readme_build=$(grep -o 'bash scripts/build.sh release qtriage' "$source_dir/scripts/demo.sh" | head -n 1)
[[ -n $readme_build ]] || fail "scripts/demo.sh no longer builds with scripts/build.sh release"
grep -q "^RUN $readme_build\$" <<<"$build" || fail "the build stage does not run '$readme_build'"
grep -q '^RUN bash scripts/install-deps.sh$' <<<"$build" || fail "the build stage does not run scripts/install-deps.sh"
grep -q '^FROM debian:bookworm' "$dockerfile" || fail "the stages are not Debian bookworm"
echo "ok: the build stage runs the README's setup and build"

# 3. The user, and the files the runtime stage copies from the sources.
user=$(grep '^USER ' <<<"$runtime" | tail -n 1 | awk '{print $2}')
[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] || fail "USER '$user' is not numeric"
[[ ${user%%:*} != 0 ]] || fail "the runtime stage runs as root"
grep -q '^HEALTHCHECK ' <<<"$runtime" || fail "no HEALTHCHECK"
while read -r source; do
  compgen -G "$source_dir/$source" >/dev/null || fail "COPY $source: no such file"
done < <(grep '^COPY ' <<<"$runtime" | grep -v -- '--from=' | awk '{print $2}')
echo "ok: numeric non-root user $user, HEALTHCHECK, the copied files exist"

# 4. The image's /etc/qtriage, laid out here.
mkdir -p "$work/etc/rules"
cp "$source_dir/deploy/kubernetes/base/qtriage.yaml" "$work/etc/qtriage.yaml"
cp "$source_dir"/rules/*.yaml "$work/etc/rules/"
"$qtriage" check -c "$work/etc/qtriage.yaml" >/dev/null || fail "the image's config does not pass qtriage check"
echo "ok: the image's config and rules pass qtriage check"

# 5. The HEALTHCHECK, against a daemon on a free port instead of 9464.
health=$(grep '^  CMD \["bash", "-c", ' <<<"$runtime" | sed -e 's/^  CMD \["bash", "-c", "//' -e 's/"\]$//' \
         -e 's/\\\\/\\/g')
[[ -n $health ]] || fail "the HEALTHCHECK is not a bash -c command"
"$sim" --listen 127.0.0.1:0 --messages 50 --seed 3 >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "listening on" "$work/sim.log" && break; sleep 0.1; done
base_url=$(awk '/listening on/ {print $4}' "$work/sim.log")
account=$(awk '/listening on/ {print $6}' "$work/sim.log")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/daemon.yaml" <<YAML
api: {base_url: "$base_url", account_id: "$account", auth: {token_env: QTRIAGE_TEST_TOKEN}}
poll: {interval: 1h, first_lookback: 1h}
mode: dry-run
rules: [etc/rules/]
state: {path: state.db}
audit: {path: audit.jsonl}
server: {listen: "127.0.0.1:$port"}
YAML
QTRIAGE_TEST_TOKEN=container-test "$qtriage" run -c "$work/daemon.yaml" >"$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "/healthz" "$work/daemon.log" && break; sleep 0.1; done
bash -c "${health//9464/$port}" || { cat "$work/daemon.log"; fail "the HEALTHCHECK fails against a live daemon"; }
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if bash -c "${health//9464/$closed}" 2>/dev/null; then fail "the HEALTHCHECK passes with nothing listening"; fi
echo "ok: the HEALTHCHECK passes against a live daemon and fails with none"
