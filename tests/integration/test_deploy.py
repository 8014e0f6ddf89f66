"""deploy/: every YAML and JSON file parses, and the ports, paths, groups and
variables the manifests use agree with the daemon: the default listen port
from daemon/config.h, the endpoints of SPEC §6, the built-in profile's
groups and variables of SPEC §5.  The last test runs the daemon and asks it
every URL path the manifests point at."""
import glob
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from harness.net import free_port, refused_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
BIN = os.path.abspath(os.environ.get("PREFLIGHTD_BIN", os.path.join(ROOT, "build", "preflightd")))

ENDPOINTS = {"/healthz", "/readyz", "/status", "/metrics"}          # SPEC §6
GROUPS = {"chat-api", "chat-worker", "rag-chunking-worker",          # SPEC §5
          "rag-embedding-worker", "e2e"}
PROFILE_VARS = {"CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL", "REDIS_URL",
                "REDIS_REQUEST_KEY", "CHAT_API_URL", "CHAT_API_TOKEN"}
DAEMON_VARS = {"PREFLIGHT_CONFIG", "PREFLIGHT_LISTEN"}


def default_port():
    text = open(os.path.join(ROOT, "daemon", "config.h")).read()
    m = re.search(r'#define\s+PF_DEFAULT_LISTEN\s+"[^"]*:(\d+)"', text)
    assert m, "PF_DEFAULT_LISTEN not found in daemon/config.h"
    return int(m.group(1))


PORT = default_port()


def deploy_files():
    files = sorted(glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True) +
                   glob.glob(os.path.join(DEPLOY, "**", "*.json"), recursive=True))
    assert files, "deploy/ holds no manifests"
    return files


def load(path):
    with open(path) as f:
        if path.endswith(".json"):
            return [json.load(f)]
        return [d for d in yaml.safe_load_all(f) if d is not None]


def docs_of_kind(kind):
    out = [d for p in deploy_files() for d in load(p) if isinstance(d, dict) and d.get("kind") == kind]
    assert out, f"no {kind} manifest under deploy/"
    return out


def strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def check_readyz_url(url):
    u = urllib.parse.urlsplit(url)
    assert u.port == PORT, url
    assert u.path == "/readyz", url
    for g in urllib.parse.parse_qs(u.query).get("group", []):
        assert g in GROUPS or g.startswith("{{"), url


@pytest.mark.parametrize("path", [os.path.relpath(p, ROOT) for p in
                                  glob.glob(os.path.join(DEPLOY, "**", "*.*"), recursive=True)
                                  if p.endswith((".yaml", ".yml", ".json"))])
def test_parses(path):
    docs = load(os.path.join(ROOT, path))
    assert docs and all(isinstance(d, dict) for d in docs)
    if path.startswith(os.path.join("deploy", "monitoring", "rules")) or \
            path.endswith("dashboard.json"):
        return      # Prometheus rule files and a Grafana dashboard: tested below
    for d in docs:
        assert d.get("apiVersion") and d.get("kind"), path


def test_every_url_to_the_daemon_uses_a_real_endpoint():
    seen = 0
    for p in deploy_files():
        for s in strings(load(p)):
            for m in re.finditer(r"https?://[^\s\"']+", s):
                u = urllib.parse.urlsplit(m.group(0))
                if u.port == PORT:
                    assert u.path in ENDPOINTS, (p, m.group(0))
                    seen += 1
    assert seen >= 3


def cloudrun():
    # Kubernetes Services (deploy/argo) share the kind; Cloud Run's is Knative's.
    (svc,) = [s for s in docs_of_kind("Service") if s["apiVersion"] == "serving.knative.dev/v1"]
    tmpl = svc["spec"]["template"]
    return svc, tmpl["metadata"]["annotations"], tmpl["spec"]


def container(spec, name):
    found = [c for c in spec["containers"] if c["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_cloudrun_sidecar_probe_and_ports():
    _, ann, spec = cloudrun()
    sidecar = container(spec, "preflightd")
    probe = sidecar["startupProbe"]["httpGet"]
    assert probe["port"] == PORT  # explicit: Cloud Run needs it for sidecars
    check_readyz_url(f"http://127.0.0.1:{probe['port']}{probe['path']}")
    live = sidecar["livenessProbe"]["httpGet"]
    assert live["port"] == PORT and live["path"] == "/healthz"
    # Exactly one ingress container, on 8080; the sidecar never takes $PORT.
    with_ports = [c for c in spec["containers"] if c.get("ports")]
    assert [c["name"] for c in with_ports] == ["chat-api"]
    assert with_ports[0]["ports"][0]["containerPort"] == 8080 != PORT
    env = {e["name"]: e.get("value") for e in sidecar.get("env", [])}
    if "PREFLIGHT_LISTEN" in env:
        assert env["PREFLIGHT_LISTEN"].rsplit(":", 1)[1] == str(PORT)


def test_cloudrun_annotations():
    svc, ann, spec = cloudrun()
    deps = json.loads(ann["run.googleapis.com/container-dependencies"])
    assert "preflightd" in deps["chat-api"]
    # the collector must run while the gate fails: it waits for nobody
    assert "collector" not in deps, deps
    # Cloud SQL sockets come from the annotation; "cloudsql" is a reserved
    # volume name and cloudsql.run.googleapis.com no CSI driver Cloud Run has
    for v in spec["volumes"]:
        assert v["name"] != "cloudsql" and "csi" not in v, v
    names = {c["name"] for c in spec["containers"]}
    assert set(deps) <= names and all(set(v) <= names for v in deps.values())
    assert ann["run.googleapis.com/cpu-throttling"] == "false"
    assert re.fullmatch(r"[^:\s]+:[^:\s]+:[^:\s]+", ann["run.googleapis.com/cloudsql-instances"])
    nics = json.loads(ann["run.googleapis.com/network-interfaces"])
    assert nics and nics[0].get("network")
    assert ann["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"


def assert_secrets_are_files(spec, ctr):
    """Every variable of container ctr is one preflightd reads, and each
    secret arrives as a NAME_FILE pointing into a mounted secret volume.
    Returns how many _FILE variables there were."""
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    file_vars = 0
    for e in ctr["env"]:
        name = e["name"]
        assert "valueFrom" not in e, f"{name}: secrets go in as files, not env values"
        base = name[:-5] if name.endswith("_FILE") else name
        assert base in PROFILE_VARS or name in DAEMON_VARS, f"{name} is not a variable preflightd reads"
        if not name.endswith("_FILE"):
            assert not re.search(r"://[^/@\s]*:[^/@\s]+@", e["value"]), f"{name} holds a password"
            assert not re.search(r"TOKEN|SECRET|PASSWORD", name), f"{name} in clear"
            continue
        file_vars += 1
        directory, filename = os.path.split(e["value"])
        assert directory in mounts, f"{name}: {directory} is not mounted"
        secret = volumes[mounts[directory]]["secret"]
        assert filename in [i["path"] for i in secret["items"]], name
    return file_vars


def test_cloudrun_secrets_are_files_the_daemon_reads():
    _, _, spec = cloudrun()
    assert assert_secrets_are_files(spec, container(spec, "preflightd")) >= 2


def test_runmonitoring_scrapes_metrics():
    (rm,) = docs_of_kind("RunMonitoring")
    eps = rm["spec"]["endpoints"]
    assert any(e["port"] == PORT and e["path"] == "/metrics" for e in eps)
    # The collector in the service mounts the config where it looks for it.
    _, ann, spec = cloudrun()
    collector = container(spec, "collector")
    assert any(m["mountPath"] == "/etc/rungmp" for m in collector["volumeMounts"])


def skaffold_schema(api_version):
    """(major, beta) of skaffold/v4beta12 -> (4, 12)."""
    m = re.fullmatch(r"skaffold/v(\d+)beta(\d+)", api_version)
    assert m, api_version
    return int(m.group(1)), int(m.group(2))


def test_clouddeploy_verify_executes_the_preflight_job():
    """The verify container only executes the Cloud Run job (gcloud ...
    --wait propagates its exit code); the job runs `preflightd check` with
    the token mounted from Secret Manager, never in a plain env value."""
    (cfg,) = docs_of_kind("Config")
    (step,) = cfg["verify"]
    vc = step["container"]
    # `env` on a verify container exists from schema v4beta12 on.
    if vc.get("env"):
        assert skaffold_schema(cfg["apiVersion"]) >= (4, 12), cfg["apiVersion"]
    for e in vc.get("env", []):
        assert set(e) == {"name", "value"}, e  # skaffold has no valueFrom
        assert not re.search(r"TOKEN|SECRET|PASSWORD", e["name"]), e
    argv = vc["command"] + vc["args"]
    assert argv[:4] == ["gcloud", "run", "jobs", "execute"] and "--wait" in argv
    (job,) = docs_of_kind("Job")
    assert argv[4] == job["metadata"]["name"]
    # skaffold deploys the job with the service, from a file that exists.
    here = os.path.join(DEPLOY, "clouddeploy")
    raw = cfg["manifests"]["rawYaml"]
    assert all(os.path.exists(os.path.join(here, r)) for r in raw), raw
    assert any(job in load(os.path.join(here, r)) for r in raw)
    task = job["spec"]["template"]["spec"]["template"]["spec"]
    assert task["maxRetries"] == 0
    (ctr,) = task["containers"]
    argv = ctr["command"] + ctr["args"]
    assert argv[0] == "/usr/local/bin/preflightd" and argv[1] == "check"
    wait = argv[argv.index("--wait") + 1]
    assert re.fullmatch(r"\d+(ms|s|m|h)", wait)
    assert argv[argv.index("--group") + 1] == "e2e"
    assert set(argv[2:]) - {wait} <= {"--wait", "--group", "--format", "text", "json", *GROUPS}
    env = {e["name"] for e in ctr["env"]}
    assert "CHAT_API_URL" in env and "CHAT_API_TOKEN_FILE" in env
    assert assert_secrets_are_files(task, ctr) >= 1
    # the job reaches private backends the way the service does
    ann = job["spec"]["template"]["metadata"]["annotations"]
    assert ann["run.googleapis.com/vpc-access-egress"] == "private-ranges-only"
    for p in docs_of_kind("DeliveryPipeline"):
        for stage in p["serialPipeline"]["stages"]:
            assert stage["strategy"]["standard"]["verify"] is True


def test_flagger_webhook():
    (canary,) = docs_of_kind("Canary")
    hooks = canary["spec"]["analysis"]["webhooks"]
    pre = [h for h in hooks if h["type"] == "pre-rollout"]
    assert pre
    for h in hooks:
        check_readyz_url(h["url"])


def test_argo_web_metric():
    (tmpl,) = docs_of_kind("AnalysisTemplate")
    for arg in tmpl["spec"].get("args", []):
        if arg["name"] == "group":
            assert arg["value"] in GROUPS
    (metric,) = tmpl["spec"]["metrics"]
    web = metric["provider"]["web"]
    check_readyz_url(web["url"].replace("{{args.group}}", "chat-api"))
    assert web["jsonPath"] == "{$.ready}"
    assert metric["successCondition"] == "result == true"


def deploy_paths():
    """Every daemon path (with query) the manifests point at."""
    paths = set()
    for p in deploy_files():
        for s in strings(load(p)):
            for m in re.finditer(r"https?://[^\s\"']+", s):
                u = urllib.parse.urlsplit(m.group(0).replace("{{args.group}}", "chat-api"))
                if u.port == PORT:
                    paths.add(u.path + ("?" + u.query if u.query else ""))
    _, _, spec = cloudrun()
    sidecar = container(spec, "preflightd")
    for probe in ("startupProbe", "livenessProbe"):
        paths.add(sidecar[probe]["httpGet"]["path"])
    (rm,) = docs_of_kind("RunMonitoring")
    paths.update(e["path"] for e in rm["spec"]["endpoints"])
    # Kubernetes (deploy/flagger, deploy/argo): the sidecar's probes and the PodMonitorings.
    for kind in ("Deployment", "Rollout"):
        for w in docs_of_kind(kind):
            for c in w["spec"]["template"]["spec"]["containers"]:
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    if "httpGet" in c.get(probe, {}):
                        paths.add(c[probe]["httpGet"]["path"])
    for pm in docs_of_kind("PodMonitoring"):
        paths.update(e.get("path", "/metrics") for e in pm["spec"]["endpoints"])
    return sorted(paths)


def ask(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=b'{"name":"chat-api"}' if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def test_daemon_serves_every_deploy_path():
    """The built-in profile (the sidecar's mode) serves what the manifests ask."""
    assert os.access(BIN, os.X_OK), f"no built binary at {BIN}"
    port = free_port()
    dead = refused_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PREFLIGHT_LISTEN": f"127.0.0.1:{port}",
           "CHAT_RAG_DATABASE_URL": f"postgresql://app:pw@127.0.0.1:{dead}/mobius_chat",
           "RAG_DATABASE_URL": f"postgresql://app:pw@127.0.0.1:{dead}/mobius_rag",
           "REDIS_URL": f"redis://127.0.0.1:{dead}/0",
           "CHAT_API_URL": f"http://127.0.0.1:{dead}"}
    proc = subprocess.Popen([BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 10
        while True:
            try:
                if ask(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < end and proc.poll() is None, "daemon did not start"
            time.sleep(0.1)
        for path in deploy_paths():
            methods = ["GET", "POST"] if path.startswith("/readyz") else ["GET"]
            for method in methods:
                status, ctype, body = ask(port, path, method)
                assert status != 404, (method, path)
                if path.startswith("/readyz"):
                    doc = json.loads(body)
                    assert doc["ready"] is False and status == 503, (path, doc)
                elif path == "/healthz":
                    assert status == 200
                elif path == "/metrics":
                    assert status == 200 and b"preflight_ready" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- deploy/monitoring: rules and the dashboard --------------------------

MON = os.path.join(ROOT, "deploy", "monitoring")


def _known_metrics():
    import glob
    names = set()
    for f in [os.path.join(ROOT, "daemon", "metrics.c")] + glob.glob(os.path.join(ROOT, "checks", "*.c")):
        names |= set(re.findall(r'"(preflight_[a-z_]+)"', open(f).read()))
    return names | {n + s for n in names for s in ("_bucket", "_sum", "_count")}


def _rule_names():
    doc = yaml.safe_load(open(os.path.join(MON, "rules.yaml")))
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def test_rules_check_and_unit_tests_pass():
    r = subprocess.run(["promtool", "check", "rules", "rules.yaml"], cwd=MON,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["promtool", "test", "rules", "rules_test.yaml"], cwd=MON,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def _metric_names(expr):
    return {m for m in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
            if m.startswith("preflight_") or ":preflight_" in m}


def test_rules_and_dashboard_use_only_metrics_that_exist():
    known = _known_metrics() | _rule_names()
    doc = yaml.safe_load(open(os.path.join(MON, "rules.yaml")))
    alerts = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert {a["alert"] for a in alerts} >= {"PreflightNotReady", "PreflightResultsStale",
                                           "PreflightQueueStalled", "PreflightRoundTripFailing",
                                           "PreflightNotificationsFailing"}
    for r in [r for g in doc["groups"] for r in g["rules"]]:
        assert _metric_names(r["expr"]) <= known, (r["expr"], _metric_names(r["expr"]) - known)
    dash = json.load(open(os.path.join(MON, "dashboard.json")))
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    ids = set()
    for p in dash["panels"]:
        assert p["type"] in ("timeseries", "table", "stat", "gauge"), p
        assert p["title"] and p["id"] not in ids and set(p["gridPos"]) == {"x", "y", "w", "h"}
        ids.add(p["id"])
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["refId"] and t["expr"]
            used = _metric_names(t["expr"])
            assert used and used <= known, (p["title"], used - known)
