"""The configuration examples people copy from the docs must load: every
```jsonc block of README.md is a whole config file and every ```json block
of docs/schema.md a check object; each goes through `preflightd config`."""
import json
import os
import re

from harness.daemon import ROOT, run_cli

ENV = {"CHAT_RAG_DATABASE_URL": "postgresql://app:pw@127.0.0.1:5432/mobius_chat",
       "CHAT_DB_PASSWORD": "pw",
       "REDIS_URL": "redis://127.0.0.1:6379/0"}


def blocks(path, lang):
    text = open(os.path.join(ROOT, path)).read()
    return re.findall(r"```%s\n(.*?)```" % lang, text, re.S)


def test_readme_config_loads(tmp_path):
    found = blocks("README.md", "jsonc")
    assert found, "README.md has no ```jsonc example"
    for i, text in enumerate(found):
        path = tmp_path / ("readme%d.json" % i)
        path.write_text(text)
        r = run_cli(["config", "--config", str(path)], env=ENV)
        assert r.returncode == 0, r.stderr
        assert "pw@" not in r.stdout


def test_schema_doc_check_loads(tmp_path):
    migrations = os.path.join(ROOT, "tests", "fixtures", "migrations", "chat")
    checks = [json.loads(b) for b in blocks("docs/schema.md", "json")
              if '"kind"' in b]
    assert checks, "docs/schema.md has no check example"
    for c in checks:
        c["schema_dir"] = migrations  # the doc's path is a deployment path
        path = tmp_path / "schema.json"
        path.write_text(json.dumps({"checks": [c]}))
        r = run_cli(["config", "--config", str(path)], env=ENV)
        assert r.returncode == 0, r.stderr


# ---- the key tables' own documents ---------------------------------------

def strip_comments(text):
    """// and /* */ comments outside strings, as the config loader allows."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def generated(flag, name):
    """docs/<name>, asserted equal to `preflightd config <flag>`."""
    r = run_cli(["config", flag])
    assert r.returncode == 0, r.stderr
    have = open(os.path.join(ROOT, "docs", name)).read()
    assert r.stdout == have, ("docs/%s is out of date: preflightd config %s > docs/%s"
                              % (name, flag, name))
    return have


def test_reference_is_generated():
    generated("--reference", "reference-config.md")


def schema():
    return json.loads(generated("--json-schema", "preflightd.schema.json"))


def shipped_configs():
    found = [("systemd/preflightd.json",
              open(os.path.join(ROOT, "systemd", "preflightd.json")).read())]
    found += [("README.md#%d" % i, b) for i, b in enumerate(blocks("README.md", "jsonc"))]
    found += [("docs/schema.md#%d" % i, '{"checks": [%s]}' % b)
              for i, b in enumerate(blocks("docs/schema.md", "json")) if '"kind"' in b]
    return found


def test_schema_validates_shipped_configs():
    import jsonschema
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    v = jsonschema.Draft202012Validator(s)
    configs = shipped_configs()
    assert len(configs) >= 3
    for where, text in configs:
        errors = [e.message for e in v.iter_errors(json.loads(strip_comments(text)))]
        assert not errors, (where, errors)


def test_schema_and_loader_reject_a_typo(tmp_path):
    import jsonschema
    v = jsonschema.Draft202012Validator(schema())
    doc = {"checks": [{"name": "db", "kind": "redis", "url": "redis://127.0.0.1:1",
                       "queue": {"key": "q", "max_dept": 3}}]}
    assert list(v.iter_errors(doc)), "the schema accepted queue.max_dept"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(doc))
    r = run_cli(["config", "--config", str(path)])
    assert r.returncode == 2
    assert 'checks[0].queue.max_dept: unknown key (did you mean "max_depth"?)' in r.stderr
    doc["checks"][0]["queue"] = {"key": "q", "key": "r"}
    path.write_text('{"checks": [{"name": "db", "kind": "redis", "url": '
                    '"redis://127.0.0.1:1", "queue": {"key": "q", "key": "r"}}]}')
    r = run_cli(["config", "--config", str(path)])
    assert r.returncode == 2 and "checks[0].queue.key: duplicate key" in r.stderr


# ---- the user reference is complete and stands alone ---------------------

def _src(path):
    return open(os.path.join(ROOT, path)).read()


def test_reference_names_every_reason_metric_and_endpoint():
    ref = _src("docs/reference.md")
    reasons = re.findall(r'\] = "([a-z_]+)"', _src("lib/reason.c"))
    assert len(reasons) == 20, reasons
    metrics = set(re.findall(r'"(preflight_[a-z_]+)"', _src("daemon/metrics.c")))
    for kind in os.listdir(os.path.join(ROOT, "checks")):
        if kind.endswith(".c"):
            metrics |= set(re.findall(r'"(preflight_[a-z_]+)"', _src("checks/" + kind)))
    metrics = {m for m in metrics if not m.endswith(("_bucket", "_sum", "_count"))}
    assert len(metrics) >= 18, metrics
    routes = set(re.findall(r'strn?cmp\(path, "(/[a-z/]*)"', _src("daemon/http.c")))
    assert {"/", "/healthz", "/readyz", "/status", "/metrics", "/run"} <= routes, routes
    missing = ([r for r in reasons if "`%s`" % r not in ref] +
               [m for m in sorted(metrics) if "`%s`" % m not in ref] +
               [r for r in sorted(routes) if (r if r == "/" else r.rstrip("/")) + "`" not in
                ref.replace("[?", "`").replace("/{", "`").replace(" ", "`")])
    assert not missing, missing


def test_every_config_key_is_in_the_reference():
    ref = _src("docs/reference-config.md")
    r = run_cli(["config", "--json-schema"])
    schema = json.loads(r.stdout)
    keys = set(schema["properties"])
    for kind in schema["$defs"]["check"]["oneOf"]:
        keys |= set(kind["properties"])

    def nested(s):
        for v in s.get("properties", {}).values():
            if "properties" in v:
                keys.update(v["properties"])
                nested(v)
            if "items" in v and "properties" in v["items"]:
                keys.update(v["items"]["properties"])
    for kind in schema["$defs"]["check"]["oneOf"]:
        nested(kind)
    nested(schema)
    missing = [k for k in sorted(keys) if "| `%s` |" % k not in ref]
    assert not missing, missing


def test_docs_stand_alone():
    """Nothing a user reads points outside the repository."""
    paths = ["README.md"] + ["docs/" + f for f in os.listdir(os.path.join(ROOT, "docs"))
                             if f.endswith(".md")]
    for p in paths:
        text = _src(p)
        assert "../shared" not in text and "SPEC.md" not in text, p
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            full = os.path.normpath(os.path.join(ROOT, os.path.dirname(p), target))
            assert full.startswith(ROOT) and os.path.exists(full), (p, target)
