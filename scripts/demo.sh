#!/usr/bin/env bash
# The main job: check the shipped config and rules and run their test cases,
# start qtriage-sim with a generated mailbox on a free loopback port, run one
# daemon cycle over its last 24 hours in dry-run with the shipped rules, and
# show what qtriage would do: the cycle's summary, the would-do decisions by
# rule, and the first of them from the audit log. Nothing in the sim's
# mailbox changes. Usage: scripts/demo.sh [MESSAGES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-5000}
seed=${2:-42}
bash scripts/build.sh release qtriage qtriage-sim >/dev/null

build/release/qtriage check -c config/qtriage.yaml
build/release/qtriage test -c config/qtriage.yaml rules/tests/ | tail -n 1

work=$(mktemp -d)
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
build/release/qtriage-sim --listen 127.0.0.1:0 --messages "$messages" --seed "$seed" \
  --faults accepted=0.1,reset=0.02,server_error=0.02 >"$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/sim.log" && break
  sleep 0.1
done
line=$(grep "listening on" "$work/sim.log") || { echo "demo: qtriage-sim did not start" >&2; exit 2; }
echo "$line"
base_url=$(awk '{print $4}' <<<"$line")
account=$(awk '{print $6}' <<<"$line")

# The shipped config, pointed at the sim, with its state in the scratch folder.
cat >"$work/qtriage.yaml" <<EOF
api:
  base_url: $base_url
  account_id: $account
  auth: {token_env: CLOUDFLARE_API_TOKEN}
  rate_limit: {requests: 1200, per: 5m, share: 0.8}
poll: {interval: 1m, first_lookback: 24h, overlap: 5m, per_page: 1000, filters: {detections_only: true}}
mode: dry-run
rules: [$PWD/rules/]
actions: {batch_size: 1000, max_per_cycle: 5000, max_share_per_cycle: 0.5}
state: {path: state.db}
audit: {path: audit.jsonl}
server: {listen: 127.0.0.1:9464}
log: {level: warn, format: text}
EOF

export CLOUDFLARE_API_TOKEN=demo-token-not-a-secret
build/release/qtriage run -c "$work/qtriage.yaml" --dry-run --once

echo
echo "What qtriage would do, by rule (from the ledger):"
build/release/qtriage audit -c "$work/qtriage.yaml" --source ledger --state would-do --format csv |
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rule") col = i; next }
           { count[$col]++ } END { for (r in count) printf "  %6d  %s\n", count[r], r }' |
  sort -rn
echo
echo "The first five would-do decisions (from the audit log):"
build/release/qtriage audit -c "$work/qtriage.yaml" --state would_do --type decision --limit 5
