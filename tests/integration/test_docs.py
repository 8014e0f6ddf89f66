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
