#!/usr/bin/env python3
"""Checks of the monitoring files in deploy/ (issue 5), for CTest.

    monitoring_test.py SOURCE_DIR QTRIAGE QTRIAGE_SIM CHECK

CHECK is one of
  rules      promtool check rules / promtool test rules on
             deploy/prometheus/qtriage-alerts.yaml and its .test.yaml, and the
             shape of every alert (severity, summary, description, runbook_url;
             a firing and a quiet test case with labels and annotations);
  dashboard  deploy/grafana/qtriage-dashboard.json parses, panels have unique
             ids, a gridPos each (no overlaps), a description and targets;
  metrics    every metric the alert expressions and the dashboard's queries
             use exists in the /metrics exposition of a real daemon, and every
             label in a matcher or in by/without/on/ignoring exists on it.
             qtriage-sim and `qtriage run` are started on 127.0.0.1 (twice:
             --dry-run, and enforce with a blast-radius cap of 1 so that the
             series only enforce creates appear too) and stopped again.

Exit status 0 when every check passes, 1 otherwise (each problem on a line).
"""

import contextlib
import ctypes
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ALERTS = "deploy/prometheus/qtriage-alerts.yaml"
ALERT_TESTS = "deploy/prometheus/qtriage-alerts.test.yaml"
DASHBOARD = "deploy/grafana/qtriage-dashboard.json"

# Labels Prometheus itself puts on every scraped series.
TARGET_LABELS = {"job", "instance"}

# Values the daemon gives its closed label sets (src/daemon/metrics.cpp,
# cycle.cpp, ledger.cpp). An exact matcher on one of these labels must use one
# of them (or a value seen in the exposition): a typo such as
# outcome="fail" matches nothing and the alert would never fire.
KNOWN_VALUES = {
    ("qtriage_decisions_total", "verdict"): {"act", "ignore", "skip", "no_match"},
    ("qtriage_decisions_total", "mode"): {"audit", "enforce"},
    ("qtriage_actions_total", "outcome"): {"done", "failed", "retry", "would_do", "held"},
    ("qtriage_cycles_total", "result"): {"ok", "failed"},
    ("qtriage_mode", "mode"): {"dry_run", "enforce"},
    ("qtriage_ledger_backlog", "state"): {
        "decided", "held", "sent", "done", "failed", "skipped", "would-do"},
    ("qtriage_api_requests_total", "endpoint"): {
        "search", "search_poll", "get", "detections", "move", "bulk_move", "release", "reclassify"},
    ("qtriage_api_retries_total", "endpoint"): {
        "search", "search_poll", "get", "detections", "move", "bulk_move", "release", "reclassify"},
}

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset",
                   "bool", "and", "or", "unless", "atan2", "inf", "nan"}
# Aggregation operators, which may come before `by (...)` instead of `(`.
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

problems = []


def problem(text):
    problems.append(text)
    print("FAIL: " + text, flush=True)


# ---------------------------------------------------------------------------
# rules


def check_rules(src):
    promtool = shutil.which("promtool")
    if not promtool:
        problem("promtool is not installed (Debian package prometheus; scripts/install-deps.sh)")
        return
    for args in (["check", "rules", ALERTS], ["test", "rules", ALERT_TESTS]):
        run = subprocess.run([promtool] + args, cwd=src, capture_output=True, text=True,
                             timeout=120)
        print("$ promtool " + " ".join(args) + "\n" + run.stdout + run.stderr, flush=True)
        if run.returncode != 0:
            problem("promtool %s failed (exit %d)" % (" ".join(args), run.returncode))

    with open(os.path.join(src, ALERTS)) as f:
        rules = yaml.safe_load(f)
    with open(os.path.join(src, ALERT_TESTS)) as f:
        tests = yaml.safe_load(f)
    alerts = {}
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" not in rule:
                continue
            name = rule["alert"]
            alerts[name] = rule
            where = "alert %s" % name
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                problem(where + ": no severity label (critical, warning or info)")
            annotations = rule.get("annotations", {})
            for key in ("summary", "description"):
                if len(annotations.get(key, "").strip()) < 20:
                    problem(where + ": no %s annotation worth the name" % key)
            want = "docs/operations.md#" + name.lower()
            if annotations.get("runbook_url") != want:
                problem(where + ": runbook_url is %r, want %r"
                        % (annotations.get("runbook_url"), want))
    if not alerts:
        problem(ALERTS + " holds no alerting rule")
    # The runbook the links point to has a section for each alert.
    with open(os.path.join(src, "docs", "operations.md")) as f:
        headings = {line[4:].strip() for line in f if line.startswith("### ")}
    for name in alerts:
        if name not in headings:
            problem("alert %s: docs/operations.md has no '### %s' section" % (name, name))

    firing, quiet = set(), set()
    for case in tests.get("tests", []):
        for check in case.get("alert_rule_test", []) or []:
            name = check.get("alertname")
            expected = check.get("exp_alerts") or []
            if name not in alerts:
                problem("%s tests %s, which %s does not define" % (ALERT_TESTS, name, ALERTS))
            if not expected:
                quiet.add(name)
                continue
            firing.add(name)
            for alert in expected:
                if not alert.get("exp_labels") or "severity" not in alert["exp_labels"]:
                    problem("%s: a firing case of %s at %s has no exp_labels with severity"
                            % (ALERT_TESTS, name, check.get("eval_time")))
                if not alert.get("exp_annotations"):
                    problem("%s: a firing case of %s at %s has no exp_annotations"
                            % (ALERT_TESTS, name, check.get("eval_time")))
    for name in sorted(alerts):
        if name not in firing:
            problem("%s has no case where %s fires" % (ALERT_TESTS, name))
        if name not in quiet:
            problem("%s has no case where %s does not fire" % (ALERT_TESTS, name))
    print("%d alerts, each with firing and quiet cases checked" % len(alerts), flush=True)


# ---------------------------------------------------------------------------
# dashboard


def load_dashboard(src):
    with open(os.path.join(src, DASHBOARD)) as f:
        return json.load(f)


def all_panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # a collapsed row's panels


def check_dashboard(src):
    try:
        dashboard = load_dashboard(src)
    except (OSError, ValueError) as e:
        problem("%s does not parse: %s" % (DASHBOARD, e))
        return
    if dashboard.get("schemaVersion") != 39:
        problem("schemaVersion is %r, want 39" % dashboard.get("schemaVersion"))
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem("no `datasource` variable of type datasource for prometheus")
    account = variables.get("account")
    if not account or "label_values(" not in json.dumps(account.get("query")):
        problem("no `account` variable from label_values(...)")

    ids, boxes = set(), []
    panels = list(all_panels(dashboard))
    if not panels:
        problem("the dashboard has no panels")
    for panel in panels:
        title = panel.get("title") or "(untitled)"
        where = "panel %r" % title
        pid = panel.get("id")
        if not isinstance(pid, int):
            problem(where + ": no integer id")
        elif pid in ids:
            problem(where + ": id %d is not unique" % pid)
        ids.add(pid)
        grid = panel.get("gridPos")
        if not isinstance(grid, dict) or not all(
                isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            problem(where + ": no gridPos with integer x, y, w and h")
        else:
            if grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > 24 or grid["h"] < 1:
                problem(where + ": gridPos %r is outside the 24-column grid" % grid)
            for other_title, o in boxes:
                if (grid["x"] < o["x"] + o["w"] and o["x"] < grid["x"] + grid["w"]
                        and grid["y"] < o["y"] + o["h"] and o["y"] < grid["y"] + grid["h"]):
                    problem(where + ": gridPos overlaps panel %r" % other_title)
            boxes.append((title, grid))
        if panel.get("type") == "row":
            continue
        if len((panel.get("description") or "").strip()) < 20:
            problem(where + ": no description")
        targets = panel.get("targets") or []
        if not targets:
            problem(where + ": no target")
        for target in targets:
            if not (target.get("expr") or "").strip():
                problem(where + ": target %s has no expr" % target.get("refId"))
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
            if uid != "${datasource}":
                problem(where + ": target %s does not use the ${datasource} variable"
                        % target.get("refId"))
    print("%d panels checked" % len(panels), flush=True)


# ---------------------------------------------------------------------------
# PromQL, parsed as far as the checks need


def expressions(src):
    """(where, expr) of every alert rule and every dashboard query."""
    found = []
    with open(os.path.join(src, ALERTS)) as f:
        rules = yaml.safe_load(f)
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            found.append(("alert %s" % name, rule["expr"]))
    dashboard = load_dashboard(src)
    for panel in all_panels(dashboard):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                found.append(("panel %r %s" % (panel.get("title"), target.get("refId")),
                              target["expr"]))
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            found.append(("annotation %r" % annotation.get("name"), annotation["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        for q in (text, variable.get("definition")):
            if q:
                found.append(("variable %s" % variable.get("name"), q))
    return found


TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<var>\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?)
  | (?P<number>[0-9][0-9.eE+\-]*[a-z]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}])
  | (?P<space>\s+)
""", re.X)


def tokenize(expr):
    tokens, pos = [], 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError("cannot read %r" % expr[pos:pos + 20])
        pos = m.end()
        if m.lastgroup != "space":
            tokens.append((m.lastgroup, m.group()))
    return tokens


def analyse(expr):
    """Metric selectors, label lists and their scopes of one expression.

    Returns (metrics, matchers, label_uses): metrics is a list of
    (index, name); matchers a list of (name, label, op, value); label_uses a
    list of (keyword, labels, set of metric names in scope)."""
    tokens = tokenize(expr)
    n = len(tokens)
    # Matching parentheses and braces.
    partner, stack = {}, []
    for i, (kind, text) in enumerate(tokens):
        if text in "({":
            stack.append(i)
        elif text in ")}":
            j = stack.pop()
            partner[i], partner[j] = j, i
    metrics, matchers, label_lists = [], [], []
    # label_values(metric{...}, label) in Grafana variables.
    i = 0
    in_braces = set()
    for j, (kind, text) in enumerate(tokens):
        if text == "{":
            in_braces.update(range(j + 1, partner[j]))
    while i < n:
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < n else None
        if kind != "ident" or i in in_braces:
            i += 1
            continue
        if text == "label_values" and nxt == "(":
            close = partner[i + 1]
            inner = tokens[i + 2:close]
            commas = [k for k, t in enumerate(inner) if t[1] == ","]
            if commas:
                label = inner[commas[-1] + 1:]
                if len(label) == 1 and label[0][0] == "ident":
                    # the label belongs to the metric(s) before the comma
                    label_lists.append(("label_values", [label[0][1]],
                                        (i + 2, i + 2 + commas[-1])))
                tokens[i + 2 + commas[-1] + 1] = ("label", label[0][1])
            i += 2
            continue
        if text in LABEL_LIST_KEYWORDS and nxt == "(":
            close = partner[i + 1]
            labels = [t for k, t in tokens[i + 2:close] if k == "ident"]
            if text in ("by", "without"):
                if i > 0 and tokens[i - 1][1] == ")":
                    scope = (partner[i - 1], i - 1)          # sum(x) by (l)
                else:
                    scope = (close + 1, partner.get(close + 1, close + 1))  # sum by (l) (x)
            else:
                scope = (0, n)                               # on/ignoring: either side
            label_lists.append((text, labels, scope))
            i = close + 1
            continue
        if nxt == "(" or text in PROMQL_KEYWORDS or (text in AGGREGATORS
                                                      and nxt in ("by", "without")):
            i += 1                                           # a function or keyword
            continue
        # A metric name, with or without matchers.
        metrics.append((i, text))
        if nxt == "{":
            close = partner[i + 1]
            inner = tokens[i + 2:close]
            k = 0
            while k < len(inner):
                if (k + 2 < len(inner) and inner[k][0] == "ident"
                        and inner[k + 1][1] in ("=", "!=", "=~", "!~")
                        and inner[k + 2][0] == "string"):
                    matchers.append((text, inner[k][1], inner[k + 1][1], inner[k + 2][1][1:-1]))
                    k += 3
                else:
                    k += 1
            i = close + 1
            continue
        i += 1
    label_uses = []
    for keyword, labels, (start, end) in label_lists:
        in_scope = {name for index, name in metrics if start <= index <= end}
        label_uses.append((keyword, labels, in_scope))
    return metrics, matchers, label_uses


# ---------------------------------------------------------------------------
# a daemon's real /metrics


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    # The children get SIGKILL if this script dies, even by SIGKILL (CTest's
    # timeout): nothing stays behind holding a port.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


class Children:
    def __init__(self):
        self.procs = []

    def start(self, args, **kwargs):
        proc = subprocess.Popen(args, preexec_fn=die_with_parent, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=12)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)


def start_sim(children, sim, scratch):
    err = open(os.path.join(scratch, "sim.err"), "w")
    proc = children.start([sim, "--listen", "127.0.0.1:0", "--messages", "500", "--seed", "1",
                           "--faults", "server_error=0.3"],
                          stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.monotonic() + 20
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            break
    m = re.search(r"(http://127\.0\.0\.1:\d+/\S*)\s+account\s+(\w+)", line)
    if not m:
        raise RuntimeError("qtriage-sim did not print its address (got %r, exit %r)"
                           % (line, proc.poll()))
    return m.group(1), m.group(2)


CONFIG = """\
api:
  base_url: {url}
  account_id: {account}
  auth: {{token_env: QTRIAGE_MONITORING_TEST_TOKEN}}
  timeout: 10s
  rate_limit: {{requests: 1200, per: 5m, share: 0.8}}
  retry: {{attempts: 10, initial_backoff: 10ms, max_backoff: 100ms}}
poll:
  interval: 1m
  first_lookback: 24h
  per_page: 1000
mode: {mode}
rules: [{rules}]
actions:
  batch_size: 1000
  max_per_cycle: {cap}
  max_share_per_cycle: 0.5
state: {{path: {scratch}/state.db}}
audit: {{path: {scratch}/audit.jsonl}}
server: {{listen: 127.0.0.1:{port}}}
log: {{level: info, format: text}}
"""


def scrape_daemon(children, qtriage, src, url, account, scratch, name, dry_run):
    """Starts `qtriage run`, waits for its first cycle, returns /metrics."""
    folder = os.path.join(scratch, name)
    os.makedirs(folder)
    for attempt in range(3):
        port = free_port()
        config = os.path.join(folder, "qtriage.yaml")
        with open(config, "w") as f:
            f.write(CONFIG.format(url=url, account=account, mode="dry-run" if dry_run else "enforce",
                                  rules=os.path.join(src, "rules") + "/",
                                  cap=1 if not dry_run else 5000, scratch=folder, port=port))
        args = [qtriage, "run", "-c", config] + (["--dry-run"] if dry_run else [])
        log_path = os.path.join(folder, "qtriage.log")
        env = dict(os.environ, QTRIAGE_MONITORING_TEST_TOKEN="not-a-real-token")
        with open(log_path, "w") as log:
            proc = children.start(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        text = ""
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                with contextlib.suppress(OSError):
                    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                                timeout=5) as answer:
                        text = answer.read().decode()
                    if re.search(r"^qtriage_cycles_total\{", text, re.M):
                        return text
                time.sleep(0.25)
        finally:
            children.stop(proc)
        with open(log_path) as log:
            tail = log.read()[-2000:]
        if proc.returncode not in (None, 0) and "address" in tail.lower() and attempt < 2:
            continue  # the free port was taken in between: another one
        raise RuntimeError("qtriage run (%s) showed no qtriage_cycles_total on /metrics "
                           "(exit %r); its log ends:\n%s" % (name, proc.returncode, tail))
    raise RuntimeError("unreachable")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text, series):
    """Adds {metric name: {label: set of values}} of a text exposition."""
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = series.setdefault(m.group(1), {})
        for label, value in LABEL_PAIR.findall(m.group(3) or ""):
            labels.setdefault(label, set()).add(value)
    return types


def check_metrics(src, qtriage, sim):
    for path in (qtriage, sim):
        if not os.access(path, os.X_OK):
            problem("%s is not an executable (build it first)" % path)
            return
    series = {}
    children = Children()
    scratch = tempfile.mkdtemp(prefix="qtriage-monitoring-")

    def on_signal(signum, frame):
        children.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        url, account = start_sim(children, sim, scratch)
        print("qtriage-sim at %s, account %s" % (url, account), flush=True)
        for name, dry_run in (("dry-run", True), ("enforce-capped", False)):
            started = time.monotonic()
            text = scrape_daemon(children, qtriage, src, url, account, scratch, name, dry_run)
            parse_exposition(text, series)
            print("qtriage run (%s): /metrics read after its first cycle, %d lines, %.1f s"
                  % (name, len(text.splitlines()), time.monotonic() - started), flush=True)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        problem(str(e))
        return
    finally:
        children.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)

    print("metrics seen: " + ", ".join(sorted(series)), flush=True)
    checked = 0
    for where, expr in expressions(src):
        try:
            metrics, matchers, label_uses = analyse(expr)
        except (ValueError, KeyError, IndexError) as e:
            problem("%s: cannot parse %r: %s" % (where, expr, e))
            continue
        if not metrics:
            problem("%s: uses no metric: %r" % (where, expr))
        for _, name in metrics:
            checked += 1
            if name not in series:
                problem("%s: metric %s is not on the daemon's /metrics" % (where, name))
        for name, label, op, value in matchers:
            if name not in series:
                continue
            if label == "__name__":
                continue
            if label not in series[name] and label not in TARGET_LABELS:
                problem("%s: %s has no label %r (it has %s)"
                        % (where, name, label, ", ".join(sorted(series[name])) or "none"))
                continue
            known = KNOWN_VALUES.get((name, label), set()) | series[name].get(label, set())
            if (name, label) in KNOWN_VALUES and "$" not in value:
                values = [value] if op in ("=", "!=") else (
                    value.split("|") if re.fullmatch(r"[\w\-|]+", value) else [])
                for v in values:
                    if v not in known:
                        problem("%s: %s{%s%s\"%s\"}: the daemon never sets %s to %r (it uses %s)"
                                % (where, name, label, op, value, label, v,
                                   ", ".join(sorted(known))))
        for keyword, labels, in_scope in label_uses:
            in_scope = {m for m in in_scope if m in series}
            for label in labels:
                if label in TARGET_LABELS:
                    continue
                if keyword in ("by", "without", "label_values"):
                    missing = sorted(m for m in in_scope if label not in series[m])
                    if missing:
                        problem("%s: %s (%s): %s has no label %r"
                                % (where, keyword, label, ", ".join(missing), label))
                elif not any(label in series[m] for m in in_scope):
                    problem("%s: %s (%s): no metric of the expression has label %r"
                            % (where, keyword, label, label))
    print("%d metric references checked against the exposition" % checked, flush=True)


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("rules", "dashboard", "metrics", "all"):
        print(__doc__, file=sys.stderr)
        return 2
    src, qtriage, sim, which = sys.argv[1:]
    src = os.path.abspath(src)
    if which in ("rules", "all"):
        check_rules(src)
    if which in ("dashboard", "all"):
        check_dashboard(src)
    if which in ("metrics", "all"):
        check_metrics(src, qtriage, sim)
    if problems:
        print("%d problem(s)" % len(problems), flush=True)
        return 1
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
