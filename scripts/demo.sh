#!/usr/bin/env bash
# The main job, for now: check the shipped config and rules and run their
# test cases, then start qtriage-sim with a generated mailbox on a free
# loopback port, search its last 24 hours with the qtriage client, print the
# summary, stop the sim. Usage: scripts/demo.sh [MESSAGES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-20000}
seed=${2:-42}
bash scripts/build.sh release qtriage qtriage-sim >/dev/null

build/release/qtriage check -c config/qtriage.yaml
build/release/qtriage test -c config/qtriage.yaml rules/tests/ | tail -n 1

log=$(mktemp)
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -f "$log"' EXIT
build/release/qtriage-sim --listen 127.0.0.1:0 --messages "$messages" --seed "$seed" \
  --faults accepted=0.1,reset=0.02,server_error=0.02 >"$log" &
sim_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  sleep 0.1
done
line=$(grep "listening on" "$log") || { echo "demo: qtriage-sim did not start" >&2; exit 2; }
echo "$line"
base_url=$(awk '{print $4}' <<<"$line")
account=$(awk '{print $6}' <<<"$line")

export CLOUDFLARE_API_TOKEN=demo-token-not-a-secret
build/release/qtriage search --base-url "$base_url" --account-id "$account" --hours 24
