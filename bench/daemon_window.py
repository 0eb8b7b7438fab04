#!/usr/bin/env python3
"""The daemon's benchmark (issue 4): a 200,000-message window against
qtriage-sim, with Cloudflare's rate limit and every duration scaled down by
the same factor, and the figures printed at the end:

- API calls used against the minimum possible: the window's pages, plus one
  page a later cycle, plus the action batches, the reclassifications and the
  detections the rules need;
- the share of qtriage's budget (rate_limit.share of Cloudflare's) used while
  the backlog waits;
- the time from a message injected into the sim to its action;
- the daemon's peak RSS (VmHWM), and the 429s (there must be none).

Run it through bench/daemon_window.sh, which builds the release binaries.
Usage: bench/daemon_window.py BUILD_DIR [--messages N] [--scale S] [--calls-json PATH]
"""

import argparse
import datetime
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CLOUDFLARE_REQUESTS, CLOUDFLARE_WINDOW_S = 1200, 300
SHARE = 0.8
INTERVAL_S, OVERLAP_S, BLOCK_S = 60, 300, 300

RULES = """\
- rule: purge-delivered-malicious
  condition: disposition in (MALICIOUS, MALICIOUS-BEC) and not quarantined
  action: move RecoverableItemsPurges
- rule: release-quarantined-bulk
  condition: disposition = BULK and quarantined
  action: release
- rule: reclassify-quarantined-spoof
  condition: disposition = SPOOF and quarantined
  action: reclassify NONE
- rule: junk-delivered-suspicious-with-bad-links
  condition: >
    disposition = SUSPICIOUS and not quarantined
    and any(links, _.domain in (login-example.net, example-sso.net))
  action: move JunkEmail
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, method="GET", body=None, timeout=600):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def at_seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def daemon_requests(counters):
    return sum(n for endpoint, statuses in counters["requests"].items()
               if endpoint != "admin" for n in statuses.values())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build")
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--scale", type=float, default=50.0,
                        help="Cloudflare's durations divided by this")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls-json", metavar="PATH",
                        help="write the sim's log of the daemon's calls there (to study the gaps)")
    args = parser.parse_args()
    scale = args.scale
    window_s = CLOUDFLARE_WINDOW_S / scale
    budget_per_s = CLOUDFLARE_REQUESTS * SHARE / window_s

    work = tempfile.mkdtemp(prefix="qtriage-window-")
    sim_log = open(os.path.join(work, "sim.log"), "w+")
    sim = subprocess.Popen(
        [os.path.join(args.build, "qtriage-sim"), "--listen", "127.0.0.1:0",
         "--messages", str(args.messages), "--seed", str(args.seed),
         "--rate-limit", f"{CLOUDFLARE_REQUESTS}/{window_s:g}",
         "--block-seconds", f"{max(1, round(BLOCK_S / scale))}"],
        stdout=sim_log, stderr=subprocess.STDOUT)
    daemon = None
    try:
        for _ in range(600):
            sim_log.seek(0)
            found = re.search(r"listening on (\S+) account (\S+)", sim_log.read())
            if found:
                break
            time.sleep(0.1)
        else:
            sys.exit("qtriage-sim did not start")
        base_url, account = found.group(1), found.group(2)
        admin = base_url.split("/client/v4")[0] + "/__admin"

        # What the window holds, from the sim's own mailbox.
        mailbox = http(admin + "/mailbox")
        results = [m for m in mailbox if m.get("final_disposition") not in (None, "NONE")]
        needs_detections = sum(1 for m in results if m["final_disposition"] == "SUSPICIOUS"
                               and m.get("is_quarantined") is False)
        del mailbox

        with open(os.path.join(work, "rules.yaml"), "w") as f:
            f.write(RULES)
        port = free_port()
        with open(os.path.join(work, "qtriage.yaml"), "w") as f:
            f.write(f"""api:
  base_url: {base_url}
  account_id: {account}
  auth: {{token_env: CLOUDFLARE_API_TOKEN}}
  rate_limit: {{requests: {CLOUDFLARE_REQUESTS}, per: {window_s * 1000:.0f}ms, share: {SHARE}}}
  retry: {{attempts: 6, initial_backoff: {1000 / scale:.0f}ms, max_backoff: {120000 / scale:.0f}ms}}
poll: {{interval: {INTERVAL_S * 1000 / scale:.0f}ms, first_lookback: 25h, overlap: {OVERLAP_S * 1000 / scale:.0f}ms, per_page: 1000}}
mode: enforce
rules: [rules.yaml]
actions: {{batch_size: 1000, max_per_cycle: 1000000, max_share_per_cycle: 1.0}}
state: {{path: state.db}}
audit: {{path: audit.jsonl}}
server: {{listen: 127.0.0.1:{port}}}
log: {{level: warn}}
""")
        env = dict(os.environ, CLOUDFLARE_API_TOKEN="bench-token-not-a-secret")
        started = time.time()
        daemon = subprocess.Popen(
            [os.path.join(args.build, "qtriage"), "run", "-c", os.path.join(work, "qtriage.yaml")],
            env=env, stdout=open(os.path.join(work, "daemon.log"), "w"), stderr=subprocess.STDOUT)

        # The backlog: until a cycle ends whole with nothing left to carry out.
        status = {}
        capacity = None
        while True:
            time.sleep(0.2)
            if daemon.poll() is not None:
                sys.exit(f"the daemon exited ({daemon.returncode}); see {work}/daemon.log")
            try:
                status = http(f"http://127.0.0.1:{port}/status", timeout=5)
            except OSError:
                continue
            if capacity is None and "rate_limiter" in status:
                capacity = status["rate_limiter"]["capacity"]
            entry = status["accounts"][0]
            last = entry.get("last_cycle")
            if last and last["ok"] and entry.get("backlog", 1) == 0 and not entry["running"]:
                break
            if time.time() - started > 3600:
                sys.exit("the backlog did not clear within an hour")
        backlog_s = time.time() - started

        calls = http(admin + "/calls")
        counters = http(admin + "/counters")
        mine = [c for c in calls if c["endpoint"] != "admin"]
        if args.calls_json:
            with open(args.calls_json, "w") as out:
                json.dump(mine, out)
        first_at = at_seconds(mine[0]["at"])
        used = daemon_requests(counters)
        by_endpoint = {}
        for c in mine:
            by_endpoint[c["endpoint"]] = by_endpoint.get(c["endpoint"], 0) + 1
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        cycles = sum(float(v) for v in re.findall(r'^qtriage_cycles_total\{[^}]*\} (\S+)$',
                                                    metrics, re.M))

        # The minimum: every page of the window once, one page for each later
        # cycle, each action batch, each reclassification, each detections
        # fetch a rule needs.
        done = subprocess.run(
            [os.path.join(args.build, "qtriage"), "audit", "-c", os.path.join(work, "qtriage.yaml"),
             "--source", "ledger", "--state", "done", "--format", "json"],
            env=env, capture_output=True, text=True, check=True).stdout
        by_action = {}
        for row in json.loads(done):
            by_action[row["action"]] = by_action.get(row["action"], 0) + 1
        pages = math.ceil(len(results) / 1000) + max(0, int(cycles) - 1)
        batches = sum(math.ceil(n / 1000) for a, n in by_action.items()
                      if not a.startswith("reclassify"))
        reclassifications = sum(n for a, n in by_action.items() if a.startswith("reclassify"))
        minimum = pages + batches + reclassifications + needs_detections
        # The budget while the backlog waited (from the first request to the
        # last one before it cleared): what the bucket held at the start plus
        # what it gained since.
        last_at = max(at_seconds(c["at"]) for c in mine)
        busy_s = last_at - first_at
        budget = (capacity or 0) + budget_per_s * busy_s
        used_in_backlog = len(mine)
        # Where the budget went unused: the time between two requests beyond
        # one token's worth, by the request that came before the gap.
        token_s = 1 / budget_per_s
        idle = {}
        gaps = []
        for before, after in zip(mine, mine[1:]):
            gap = at_seconds(after["at"]) - at_seconds(before["at"]) - token_s
            if gap > 0:
                idle[before["endpoint"]] = idle.get(before["endpoint"], 0.0) + gap
                gaps.append((gap, before["endpoint"], after["endpoint"]))
        gaps.sort(reverse=True)
        long_gaps = [g for g in gaps if g[0] >= 0.05]

        # Latency: messages injected once the backlog is gone, to their action.
        time.sleep(2 * INTERVAL_S / scale)
        seen = len(http(admin + "/calls"))
        injected_at = time.time()
        http(admin + "/messages", "POST", {"count": 500})
        time.sleep(8 * INTERVAL_S / scale + 2)
        later = http(admin + "/calls")[seen:]
        latencies = sorted(at_seconds(c["at"]) - injected_at for c in later
                           if c["endpoint"] in ("bulk_move", "move", "release", "reclassify")
                           for _ in c["ids"])

        with open(f"/proc/{daemon.pid}/status") as f:
            peak_rss_kb = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        final = http(admin + "/counters")

        def pct(part, whole):
            return 100.0 * part / whole if whole else float("nan")

        print(f"qtriage daemon benchmark: {args.messages:,} messages in the window, "
              f"{len(results):,} returned by the search (detections only); "
              f"durations scaled down {scale:g}x (rate limit {CLOUDFLARE_REQUESTS} per "
              f"{window_s:g} s, qtriage's share {SHARE:g}: {budget_per_s:g} requests/s; "
              f"interval {INTERVAL_S / scale:g} s)")
        print(f"  backlog cleared in     {backlog_s:8.1f} s  ({backlog_s * scale / 60:.0f} min at "
              f"Cloudflare's scale), {int(cycles)} cycles")
        print(f"  actions done           {sum(by_action.values()):8,}  "
              + ", ".join(f"{a}: {n:,}" for a, n in sorted(by_action.items())))
        print(f"  API calls used         {used:8,}  "
              + ", ".join(f"{e}: {n:,}" for e, n in sorted(by_endpoint.items())))
        print(f"  minimum possible       {minimum:8,}  (pages {pages:,} + batches {batches:,} + "
              f"reclassifications {reclassifications:,} + detections {needs_detections:,})")
        print(f"  over the minimum       {pct(used - minimum, minimum):8.2f} %  (aim: at most 2 %)")
        print(f"  budget used in backlog {pct(used_in_backlog, budget):8.1f} %  "
              f"({used_in_backlog:,} requests in {busy_s:.1f} s; the budget was "
              f"{budget:,.0f}: {capacity or 0:,.0f} at the start + {budget_per_s:g}/s; aim: 95 %)")
        print("  idle after             " + ", ".join(
            f"{e}: {t:.1f} s" for e, t in sorted(idle.items(), key=lambda kv: -kv[1])))
        print(f"  gaps of 50 ms or more  {len(long_gaps)}, {sum(g[0] for g in long_gaps):.1f} s in all; "
              "the longest: " + ", ".join(f"{g[0]:.2f} s {g[1]}->{g[2]}" for g in gaps[:4]))
        if latencies:
            median = latencies[len(latencies) // 2]
            p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
            print(f"  injected to action     {median:8.2f} s median, {p95:.2f} s p95, "
                  f"{latencies[-1]:.2f} s max over {len(latencies)} actions "
                  f"({median * scale:.0f} s / {latencies[-1] * scale:.0f} s at Cloudflare's scale; "
                  f"the poll interval is {INTERVAL_S} s there)")
        else:
            print("  injected to action     no action on the injected messages")
        print(f"  peak RSS               {peak_rss_kb / 1024:8.1f} MB  (aim: under 60 MB)")
        print(f"  429 answers            {final['rate_limited']:8}  (aim: none)")
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
        print(f"  (work folder: {work})")


if __name__ == "__main__":
    main()
