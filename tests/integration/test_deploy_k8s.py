"""deploy/flagger and deploy/argo: every object validates against our own
JSON Schemas (tests/integration/data/k8s_schemas.json, written from the
published CRDs and API types its header names), and the objects agree with
each other and with the daemon: selectors match the pods, references name
objects we ship (or ones Flagger/Argo generate by their documented rules),
every URL to preflightd reaches container port 8089 of the pods under test,
and probes ask real endpoints.  The last test breaks each of these on a copy
and expects the check to fail."""
import copy
import glob
import json
import os
import urllib.parse

import jsonschema
import pytest

from test_deploy import (DAEMON_VARS, ENDPOINTS, GROUPS, PORT, PROFILE_VARS, ROOT,
                         check_readyz_url, load)

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "k8s_schemas.json")
DIRS = ("flagger", "argo")
# Flagger's label convention (how-it-works.md, "Canary target") and the
# mesh proxies its port discovery skips (pkg/canary/util.go).
FLAGGER_SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
FLAGGER_SKIPPED_CONTAINERS = {"istio-proxy", "envoy"}


def schemas():
    with open(DATA) as f:
        return json.load(f)


def validator(kind_key):
    root = schemas()
    name = root["kinds"][kind_key]
    return jsonschema.Draft202012Validator({"$defs": root["$defs"], "$ref": "#/$defs/" + name})


def kind_key(doc):
    return f"{doc['apiVersion']}/{doc['kind']}"


def docs(d):
    out = []
    for p in sorted(glob.glob(os.path.join(ROOT, "deploy", d, "*.y*ml"))):
        out.extend(load(p))
    assert out, d
    return out


def of_kind(objs, kind):
    return [o for o in objs if o.get("kind") == kind]


def one(objs, kind):
    found = of_kind(objs, kind)
    assert len(found) == 1, (kind, len(found))
    return found[0]


def named(objs, kind, name, namespace):
    found = [o for o in of_kind(objs, kind)
             if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace]
    assert len(found) == 1, f"no {kind} {namespace}/{name} in our manifests"
    return found[0]


def matches(selector, labels):
    """A Kubernetes LabelSelector (matchLabels, matchExpressions) against labels."""
    for k, v in selector.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions", []):
        op, key, values = e["operator"], e["key"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def container_ports(pod_spec):
    """(container, port) for every declared container port."""
    return [(c, p) for c in pod_spec["containers"] for p in c.get("ports", [])]


def resolve_container_port(pod_spec, port):
    """A Service targetPort or PodMonitoring port (name or number) -> (container, number)."""
    hits = [(c, p["containerPort"]) for c, p in container_ports(pod_spec)
            if (isinstance(port, str) and p.get("name") == port) or p["containerPort"] == port]
    assert len(hits) == 1, f"port {port!r} names no single container port"
    return hits[0]


def assert_reaches_preflightd(pod_spec, port):
    c, number = resolve_container_port(pod_spec, port)
    assert number == PORT, f"port {port!r} reaches {c['name']}:{number}, not preflightd's {PORT}"
    assert c["image"].split("/")[-1].startswith("preflightd:"), c["name"]


def service_host(url):
    """http://NAME.NS[.svc[.cluster.local]]:PORT/... -> (NAME, NS, PORT)."""
    u = urllib.parse.urlsplit(url)
    parts = u.hostname.split(".")
    assert len(parts) in (2, 3, 5) and parts[2:] in ([], ["svc"], ["svc", "cluster", "local"]), url
    return parts[0], parts[1], u.port


# ---- the schemas ---------------------------------------------------------

def all_objects():
    return [(d, i, o) for d in DIRS for i, o in enumerate(docs(d))]


@pytest.mark.parametrize("d,i,obj", all_objects(),
                         ids=[f"{d}-{o['kind']}-{o['metadata']['name']}" for d, _, o in all_objects()])
def test_object_matches_schema(d, i, obj):
    assert kind_key(obj) in schemas()["kinds"], f"deploy/{d}: no schema for {kind_key(obj)}"
    errors = sorted(validator(kind_key(obj)).iter_errors(obj), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def dict_paths(node, path=()):
    if isinstance(node, dict):
        yield path
        for k, v in node.items():
            yield from dict_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from dict_paths(v, path + (i,))


def at(node, path):
    for p in path:
        node = node[p]
    return node


# Maps whose keys are data (labels, resource names), not field names.
DATA_MAPS = {"labels", "annotations", "matchLabels", "limits", "requests"}


@pytest.mark.parametrize("kind", ["Deployment", "Service", "Canary", "Rollout",
                                  "AnalysisTemplate", "PodMonitoring"])
def test_schema_rejects_unknown_fields_at_every_level(kind):
    objs = [o for d in DIRS for o in docs(d) if o["kind"] == kind]
    assert objs, kind
    checked = 0
    for obj in objs:
        v = validator(kind_key(obj))
        for path in dict_paths(obj):
            if path and path[-1] in DATA_MAPS or (kind == "Service" and path == ("spec", "selector")):
                continue
            bad = copy.deepcopy(obj)
            at(bad, path)["portDiscoverry"] = True      # a plausible misspelling
            assert not v.is_valid(bad), f"{kind}: an unknown field at {list(path)} passes"
            checked += 1
    assert checked >= 3


REQUIRED = {
    "Deployment": [("spec", "selector"), ("spec", "template"), ("metadata", "name"),
                   ("spec", "template", "spec", "containers", 0, "name")],
    "Service": [("spec", "ports", 0, "port")],
    "Canary": [("spec", "targetRef"), ("spec", "analysis"), ("spec", "service", "port"),
               ("spec", "analysis", "webhooks", 0, "url"), ("spec", "targetRef", "name")],
    "Rollout": [("spec", "strategy", "canary", "steps", 1, "analysis", "templates", 0, "templateName")],
    "AnalysisTemplate": [("spec", "metrics", 0, "provider"), ("spec", "metrics", 0, "provider", "web", "url")],
    "PodMonitoring": [("spec", "selector"), ("spec", "endpoints", 0, "port"),
                      ("spec", "endpoints", 0, "interval")],
}


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_schema_requires_the_published_required_fields(kind):
    obj = [o for d in DIRS for o in docs(d) if o["kind"] == kind][0]
    v = validator(kind_key(obj))
    for path in REQUIRED[kind]:
        bad = copy.deepcopy(obj)
        del at(bad, path[:-1])[path[-1]]
        assert not v.is_valid(bad), f"{kind} without {list(path)} passes"


# ---- the cross-checks, each a function of one directory's objects --------

def check_probes_and_env(pod_spec):
    """Probes ask real endpoints on a port of their own container; secrets are files."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    pre = [c for c in pod_spec["containers"] if c["image"].split("/")[-1].startswith("preflightd:")]
    assert len(pre) == 1, "one preflightd sidecar"
    for c in pod_spec["containers"]:
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe not in c:
                continue
            get = c[probe]["httpGet"]
            own = [p for p in c.get("ports", []) if get["port"] in (p.get("name"), p["containerPort"])]
            assert own, f"{c['name']}.{probe}: port {get['port']} is not one of its container ports"
            path = urllib.parse.urlsplit(get["path"]).path
            assert path in ENDPOINTS, (c["name"], probe, get["path"])
            if probe == "livenessProbe":
                assert path == "/healthz", "liveness must not depend on backends"
            else:
                assert path == "/readyz", (probe, get["path"])
                check_readyz_url(f"http://x:{own[0]['containerPort']}{get['path']}")
                group = urllib.parse.parse_qs(urllib.parse.urlsplit(get["path"]).query)["group"]
                # e2e needs the API itself up and its round trip is on demand
                assert group == ["chat-api"], get["path"]
    sidecar = pre[0]
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/readyz?group=chat-api"
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/healthz"
    mounts = {m["mountPath"]: m["name"] for m in sidecar.get("volumeMounts", [])}
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env.get("CHAT_API_URL") == "http://127.0.0.1:8080"
    for name, value in env.items():
        base = name[:-5] if name.endswith("_FILE") else name
        assert base in PROFILE_VARS or name in DAEMON_VARS, f"{name} is not a variable preflightd reads"
        if name.endswith("_FILE"):
            directory, filename = os.path.split(value)
            assert directory in mounts, f"{name}: {directory} is not mounted"
            secret = volumes[mounts[directory]]["secret"]
            assert filename in [i["path"] for i in secret["items"]], name
        else:
            assert "@" not in value, f"{name} holds credentials"
    assert {"CHAT_RAG_DATABASE_URL_FILE", "CHAT_API_TOKEN_FILE"} <= set(env)


def check_podmonitoring(objs, pod_label_sets, pod_spec, namespace):
    pm = one(objs, "PodMonitoring")
    assert pm["metadata"]["namespace"] == namespace
    for labels in pod_label_sets:
        assert matches(pm["spec"]["selector"], labels), f"PodMonitoring misses pods labelled {labels}"
    for ep in pm["spec"]["endpoints"]:
        assert_reaches_preflightd(pod_spec, ep["port"])
        assert ep.get("path", "/metrics") == "/metrics"


def check_flagger(objs):
    canary = one(objs, "Canary")
    ns = canary["metadata"]["namespace"]
    ref = canary["spec"]["targetRef"]
    assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment")
    dep = named(objs, "Deployment", ref["name"], ns)
    sel = dep["spec"]["selector"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    # Flagger: a single selector label app|name|app.kubernetes.io/name = <deployment name>
    assert list(sel) == ["matchLabels"] and len(sel["matchLabels"]) == 1, sel
    (label, value), = sel["matchLabels"].items()
    assert label in FLAGGER_SELECTOR_LABELS and value == dep["metadata"]["name"], sel
    assert matches(sel, labels)
    pod = dep["spec"]["template"]["spec"]
    check_probes_and_env(pod)

    # Flagger generates <svc>, <svc>-primary, <svc>-canary; shipping one would fight it.
    svc = canary["spec"]["service"]
    base = svc.get("name", ref["name"])
    generated = {base: "primary", f"{base}-primary": "primary", f"{base}-canary": "canary"}
    for s in of_kind(objs, "Service"):
        assert s["metadata"]["name"] not in generated, f"Flagger owns Service {s['metadata']['name']}"
    # Ports of the generated Services: spec.service.port, plus with portDiscovery
    # every other container port (by its own number) outside mesh proxies.
    app_port = svc.get("targetPort", svc["port"])
    app, _ = resolve_container_port(pod, app_port)
    assert app is not _sidecar(pod), "spec.service.port must be the API's, not preflightd's"
    ports = {svc["port"]: None}
    if svc.get("portDiscovery"):
        for c, p in container_ports(pod):
            if c["name"] not in FLAGGER_SKIPPED_CONTAINERS and p["containerPort"] != svc["port"] \
                    and p.get("name") != app_port:
                ports[p["containerPort"]] = p["containerPort"]
    hooks = canary["spec"]["analysis"]["webhooks"]
    assert any(h["type"] == "pre-rollout" for h in hooks)
    for h in hooks:
        check_readyz_url(h["url"])
        name, hns, port = service_host(h["url"])
        assert hns == ns and name in generated, f"{h['url']}: no Service Flagger generates"
        assert generated[name] == "canary", f"{h['url']}: asks the primary, not the canary pods"
        assert port in ports, f"{h['url']}: port {port} is not on the generated Services {sorted(ports)}"
        assert_reaches_preflightd(pod, ports[port] if ports[port] is not None else app_port)
    if "e2e" in json.dumps(hooks):
        e2e = [h for h in hooks if "group=e2e" in h["url"]]
        # the round trip is on demand: a hook that counts failures would roll back every release
        assert all(h["type"] in ("confirm-promotion", "confirm-rollout") for h in e2e), e2e
    # The primary pods carry <label>: <name>-primary (pkg/canary/util.go makePrimaryLabels).
    primary = dict(labels, **{label: f"{value}-primary"})
    check_podmonitoring(objs, [labels, primary], pod, ns)


def check_argo(objs):
    ro = one(objs, "Rollout")
    ns = ro["metadata"]["namespace"]
    pod = ro["spec"]["template"]["spec"]
    labels = ro["spec"]["template"]["metadata"]["labels"]
    assert matches(ro["spec"]["selector"], labels)
    check_probes_and_env(pod)
    canary = ro["spec"]["strategy"]["canary"]
    assert canary["canaryService"] != canary["stableService"]
    for s in of_kind(objs, "Service"):
        assert s["metadata"]["namespace"] == ns
        # Argo adds rollouts-pod-template-hash to canary/stable selectors; ours must match the pods.
        assert matches({"matchLabels": s["spec"]["selector"]}, labels), s["metadata"]["name"]
        for p in s["spec"]["ports"]:
            resolve_container_port(pod, p.get("targetPort", p["port"]))
    canary_svc = named(objs, "Service", canary["canaryService"], ns)
    named(objs, "Service", canary["stableService"], ns)
    templates = {t["metadata"]["name"]: t for t in of_kind(objs, "AnalysisTemplate")}
    steps = [s["analysis"] for s in canary["steps"] if "analysis" in s]
    assert steps, "no analysis step"
    for a in steps:
        for ref in a["templates"]:
            assert ref["templateName"] in templates, f"no AnalysisTemplate {ref['templateName']}"
            t = templates[ref["templateName"]]
            assert t["metadata"]["namespace"] == ns
            declared = {x["name"]: x.get("value") for x in t["spec"].get("args", [])}
            given = {x["name"]: x["value"] for x in a.get("args", [])}
            assert set(given) <= set(declared), set(given) - set(declared)
            args = dict(declared, **given)
            assert all(v is not None for v in args.values()), args
            assert args.get("group") in GROUPS, args
            for m in t["spec"]["metrics"]:
                url = m["provider"]["web"]["url"]
                for k, v in args.items():
                    url = url.replace("{{args.%s}}" % k, v).replace("{{ args.%s }}" % k, v)
                assert "{{" not in url, url
                check_readyz_url(url)
                name, hns, port = service_host(url)
                assert hns == ns and name == canary_svc["metadata"]["name"], \
                    f"{url}: not the canaryService {canary['canaryService']}"
                sp = [p for p in canary_svc["spec"]["ports"] if p["port"] == port]
                assert sp, f"{url}: Service {name} has no port {port}"
                assert_reaches_preflightd(pod, sp[0].get("targetPort", sp[0]["port"]))
                assert m["provider"]["web"].get("jsonPath") == "{$.ready}"
    check_podmonitoring(objs, [labels], pod, ns)


def test_flagger_objects_agree():
    check_flagger(docs("flagger"))


def test_argo_objects_agree():
    check_argo(docs("argo"))


def test_rollout_and_deployment_run_the_same_pods():
    dep = one(docs("flagger"), "Deployment")["spec"]["template"]
    ro = one(docs("argo"), "Rollout")["spec"]["template"]
    assert dep == ro, "deploy/argo/rollout.yaml and deploy/flagger/deployment.yaml drifted apart"


# ---- each check can fail -------------------------------------------------

def _kind(objs, kind):
    return one(objs, kind)


def _svc(objs, name):
    return [o for o in of_kind(objs, "Service") if o["metadata"]["name"] == name][0]


def _sidecar(pod):
    return [c for c in pod["containers"] if c["name"] == "preflightd"][0]


def _set(obj, path, value):
    at(obj, path[:-1])[path[-1]] = value


FL_POD = ("spec", "template", "spec")
BREAKS = [
    ("flagger", "targetRef names no Deployment",
     lambda o: _set(_kind(o, "Canary"), ("spec", "targetRef", "name"), "chat"), check_flagger),
    ("flagger", "webhook to the primary Service",
     lambda o: _set(_kind(o, "Canary")["spec"]["analysis"]["webhooks"][0], ("url",),
                    "http://chat-api-primary.mobius.svc.cluster.local:8089/readyz?group=chat-api"), check_flagger),
    ("flagger", "webhook to a Service nobody creates",
     lambda o: _set(_kind(o, "Canary")["spec"]["analysis"]["webhooks"][0], ("url",),
                    "http://preflightd.mobius.svc.cluster.local:8089/readyz?group=chat-api"), check_flagger),
    ("flagger", "no portDiscovery: 8089 is not on the canary Service",
     lambda o: _kind(o, "Canary")["spec"]["service"].pop("portDiscovery"), check_flagger),
    ("flagger", "webhook on the app port",
     lambda o: _set(_kind(o, "Canary")["spec"]["service"], ("port",), 8089), check_flagger),
    ("flagger", "e2e webhook that counts failures",
     lambda o: _set(_kind(o, "Canary")["spec"]["analysis"]["webhooks"][1], ("type",), "rollout"), check_flagger),
    ("flagger", "a Service Flagger would fight over",
     lambda o: o.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "chat-api-canary"},
                         "spec": {"selector": {"app": "chat-api"}, "ports": [{"port": 8080}]}}), check_flagger),
    ("flagger", "selector label Flagger does not know",
     lambda o: _set(_kind(o, "Deployment")["spec"]["selector"], ("matchLabels",), {"component": "chat-api"}),
     check_flagger),
    ("flagger", "PodMonitoring misses the primary pods",
     lambda o: _set(_kind(o, "PodMonitoring")["spec"], ("selector",), {"matchLabels": {"app": "chat-api"}}),
     check_flagger),
    ("flagger", "PodMonitoring on the app port",
     lambda o: _set(_kind(o, "PodMonitoring")["spec"]["endpoints"][0], ("port",), "http"), check_flagger),
    ("flagger", "PodMonitoring on a port nobody declares",
     lambda o: _set(_kind(o, "PodMonitoring")["spec"]["endpoints"][0], ("port",), "metrics"), check_flagger),
    ("flagger", "readiness probe on a group that does not exist",
     lambda o: _set(_sidecar(at(_kind(o, "Deployment"), FL_POD))["readinessProbe"]["httpGet"], ("path",),
                    "/readyz?group=chat"), check_flagger),
    ("flagger", "readiness probe on e2e",
     lambda o: _set(_sidecar(at(_kind(o, "Deployment"), FL_POD))["readinessProbe"]["httpGet"], ("path",),
                    "/readyz?group=e2e"), check_flagger),
    ("flagger", "liveness probe on /readyz",
     lambda o: _set(_sidecar(at(_kind(o, "Deployment"), FL_POD))["livenessProbe"]["httpGet"], ("path",),
                    "/readyz"), check_flagger),
    ("flagger", "probe on the other container's port",
     lambda o: _set(_sidecar(at(_kind(o, "Deployment"), FL_POD))["livenessProbe"]["httpGet"], ("port",), 8080),
     check_flagger),
    ("flagger", "a _FILE variable pointing at no mount",
     lambda o: _set(_sidecar(at(_kind(o, "Deployment"), FL_POD))["env"][0], ("value",), "/run/chat-db-url"),
     check_flagger),
    ("flagger", "a secret as a plain value",
     lambda o: _sidecar(at(_kind(o, "Deployment"), FL_POD))["env"].append(
         {"name": "RAG_DATABASE_URL", "value": "postgresql://app:pw@db/rag"}), check_flagger),
    ("argo", "templateName names no AnalysisTemplate",
     lambda o: _set(_kind(o, "Rollout")["spec"]["strategy"]["canary"]["steps"][1]["analysis"]["templates"][0],
                    ("templateName",), "preflight"), check_argo),
    ("argo", "analysis group that does not exist",
     lambda o: _set(_kind(o, "Rollout")["spec"]["strategy"]["canary"]["steps"][1]["analysis"]["args"][0],
                    ("value",), "chat"), check_argo),
    ("argo", "canaryService names no Service",
     lambda o: _set(_kind(o, "Rollout")["spec"]["strategy"]["canary"], ("canaryService",), "chat-api-preview"),
     check_argo),
    ("argo", "web metric on the stable Service",
     lambda o: _set(_kind(o, "AnalysisTemplate")["spec"]["metrics"][0]["provider"]["web"], ("url",),
                    "http://chat-api-stable.mobius.svc.cluster.local:8089/readyz?group={{args.group}}"), check_argo),
    ("argo", "canary Service without the preflight port",
     lambda o: _svc(o, "chat-api-canary")["spec"]["ports"].pop(1), check_argo),
    ("argo", "canary Service port 8089 to the API",
     lambda o: _set(_svc(o, "chat-api-canary")["spec"]["ports"][1], ("targetPort",), "http"), check_argo),
    ("argo", "Service selecting no pod",
     lambda o: _set(_svc(o, "chat-api-stable")["spec"], ("selector",), {"app": "chat-api-stable"}), check_argo),
    ("argo", "PodMonitoring selecting no pod",
     lambda o: _set(_kind(o, "PodMonitoring")["spec"], ("selector",), {"matchLabels": {"app": "chat"}}),
     check_argo),
]


@pytest.mark.parametrize("d,what,breaks,check", BREAKS, ids=[b[1] for b in BREAKS])
def test_each_cross_check_can_fail(d, what, breaks, check):
    objs = docs(d)
    check(copy.deepcopy(objs))          # passes as shipped
    broken = copy.deepcopy(objs)
    breaks(broken)
    with pytest.raises(AssertionError):
        check(broken)
