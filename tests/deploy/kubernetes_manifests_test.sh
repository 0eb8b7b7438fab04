#!/usr/bin/env bash
# deploy/kubernetes: renders the base and the overlay, validates them strictly
# offline, checks what the daemon relies on, and runs `qtriage check` on the
# config and rules as the pod sees them.
# Usage: kubernetes_manifests_test.sh SOURCE_DIR QTRIAGE_BINARY
set -euo pipefail

src=$(cd "$1" && pwd)
qtriage=$2
k8s=$src/deploy/kubernetes
validate=(python3 "$src/../shared/k8s-schemas/validate-manifests.py")
kubectl=${KUBECTL:-kubectl}   # overridable, to exercise the SKIP path
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Render. The rules sit outside the kustomization root (README.md), hence the flag.
if command -v "$kubectl" >/dev/null 2>&1; then
  for target in base overlays/prometheus-operator; do
    "$kubectl" kustomize --load-restrictor LoadRestrictionsNone "$k8s/$target" \
      >"$work/${target##*/}.rendered.yaml"
  done
  echo "rendered base and overlay with $("$kubectl" version --client 2>/dev/null | tr '\n' ' ')"
  # 2. Strict validation of what would be applied (unknown fields fail).
  "${validate[@]}" "$work/base.rendered.yaml" "$work/prometheus-operator.rendered.yaml"
else
  echo "SKIP render and rendered validation: '$kubectl' not found (kubectl >= 1.27 with kustomize v5)"
fi

# 3. The raw resource files too; kustomization.yaml and the daemon's config are
#    not Kubernetes objects.
"${validate[@]}" --exclude kustomization.yaml --exclude qtriage.yaml "$k8s"

# 4 + 5. Assertions, then the pod's view of the config laid out for `qtriage check`.
# Without kubectl they run on the raw base with the ConfigMap built from the generator.
python3 - "$src" "$work" <<'PY'
import base64, glob, os, sys, yaml

src, work = sys.argv[1], sys.argv[2]
k8s = os.path.join(src, "deploy/kubernetes")

def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]

def raw_base():
    # A stand-in for kustomize: the resources plus the generated ConfigMap.
    root = os.path.join(k8s, "base")
    kust = load(os.path.join(root, "kustomization.yaml"))[0]
    docs = [d for r in kust["resources"] for d in load(os.path.join(root, r))]
    for gen in kust["configMapGenerator"]:
        data = {os.path.basename(f): open(os.path.join(root, f)).read() for f in gen["files"]}
        docs.append({"kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    return docs

def check(ok, what):
    if not ok:
        sys.exit(f"FAIL {what}")
    print(f"ok   {what}")

rendered = os.path.join(work, "base.rendered.yaml")
docs = load(rendered) if os.path.exists(rendered) else raw_base()
kinds = lambda k: [d for d in docs if d["kind"] == k]

deps = kinds("Deployment")
check(len(deps) == 1, "exactly one Deployment")
dep = deps[0]["spec"]
check(dep["replicas"] == 1 and dep["strategy"]["type"] == "Recreate",
      "replicas 1, strategy Recreate (one SQLite writer)")
pod = dep["template"]["spec"]
psc = pod["securityContext"]
check(psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
      and all(psc.get(k) == 10001 for k in ("runAsUser", "runAsGroup", "fsGroup")),
      "pod securityContext: non-root 10001, fsGroup 10001, seccomp RuntimeDefault")
check(pod.get("automountServiceAccountToken") is False, "no service account token")
(c,) = pod["containers"]
csc = c["securityContext"]
check(csc.get("readOnlyRootFilesystem") is True and csc.get("allowPrivilegeEscalation") is False
      and csc.get("capabilities", {}).get("drop") == ["ALL"],
      "container: read-only root, no privilege escalation, drop ALL")
check({"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in c["ports"], "port 9464 named metrics")
probes = {p: (c[p]["httpGet"]["path"], c[p]["httpGet"]["port"])
          for p in ("startupProbe", "livenessProbe", "readinessProbe")}
check(probes == {"startupProbe": ("/healthz", "metrics"), "livenessProbe": ("/healthz", "metrics"),
                 "readinessProbe": ("/readyz", "metrics")}, f"probes {probes}")

# The ConfigMap holds the config and exactly the repo's rules, byte for byte.
(cm,) = [d for d in kinds("ConfigMap") if d["metadata"]["name"].startswith("qtriage-config")]
rules = {os.path.basename(p): p for p in glob.glob(os.path.join(src, "rules/*.yaml"))}
check(set(cm["data"]) == {"qtriage.yaml"} | set(rules), f"ConfigMap keys {sorted(cm['data'])}")
check(all(cm["data"][k] == open(p).read() for k, p in rules.items()), "ConfigMap rules match rules/")

# The base applies no Secret (re-applying it must never overwrite the real
# token); the example beside it names the Secret the Deployment mounts and
# holds nothing but the placeholder.
check(not kinds("Secret"), "the base applies no Secret")
(example,) = load(os.path.join(k8s, "base", "secret.example.yaml"))
values = list(example.get("stringData", {}).values())
values += [base64.b64decode(v).decode() for v in example.get("data", {}).values()]
check(values and set(values) == {"replace-me"}, "secret.example.yaml holds only the placeholder")

(np,) = kinds("NetworkPolicy")
ports = lambda rules: sorted((p["port"], p.get("protocol", "TCP")) for r in rules for p in r.get("ports", []))
check(ports(np["spec"]["egress"]) == [(53, "TCP"), (53, "UDP"), (443, "TCP")], "egress only 53/UDP, 53/TCP, 443/TCP")
check(ports(np["spec"]["ingress"]) == [(9464, "TCP")], "ingress only 9464/TCP")

# Lay out the config volume as the kubelet would (its items), then check the
# config's paths point at the mounts.
mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
items = volumes["config"]["configMap"]["items"]
check(sorted((i["key"], i["path"]) for i in items)
      == sorted((k, k if k == "qtriage.yaml" else "rules/" + k) for k in cm["data"]),
      "config volume: qtriage.yaml at the root, every rule under rules/")
check(volumes["token"]["secret"].get("defaultMode") == 0o400, "token file mode 0400")
check(volumes["token"]["secret"]["secretName"] == example["metadata"]["name"],
      "the token volume mounts the Secret that secret.example.yaml names")
pod_root = os.path.join(work, "pod")
for i in items:
    path = os.path.join(pod_root + mounts["config"], i["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(cm["data"][i["key"]])
check(c["args"] == ["run", "-c", "/etc/qtriage/qtriage.yaml"], f"args {c['args']}")
config = yaml.safe_load(cm["data"]["qtriage.yaml"])
(token_item,) = volumes["token"]["secret"]["items"]
check(config["api"]["auth"] == {"token_file": os.path.join(mounts["token"], token_item["path"])},
      "api.auth.token_file is the mounted Secret")
check(all(os.path.dirname(config[k]["path"]) == mounts["state"] for k in ("state", "audit")),
      "state and audit on the state volume")
check(config["mode"] == "dry-run" and config["log"]["format"] == "json"
      and config["server"]["listen"] == "0.0.0.0:9464", "dry-run, json logs, listens for the kubelet")
with open(os.path.join(work, "config-path"), "w") as f:
    f.write(pod_root + c["args"][2])
PY

# 5. The daemon accepts the config and the rules the pod gets.
"$qtriage" check -c "$(cat "$work/config-path")"

# The overlay adds a ServiceMonitor on the Service's metrics port.
if [[ -f $work/prometheus-operator.rendered.yaml ]]; then
  python3 - "$work/prometheus-operator.rendered.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
(sm,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
(svc,) = [d for d in docs if d["kind"] == "Service"]
labels = sm["spec"]["selector"]["matchLabels"]
assert all(svc["metadata"]["labels"].get(k) == v for k, v in labels.items()), "ServiceMonitor misses the Service"
assert [(e["port"], e["interval"]) for e in sm["spec"]["endpoints"]] == [("metrics", "30s")], sm["spec"]
print("ok   ServiceMonitor selects the Service, port metrics, every 30s")
PY
fi
echo "PASS kubernetes_manifests"
