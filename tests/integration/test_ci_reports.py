"""`preflightd check --format junit|tap` read by what CI systems use: the
JUnit XML by python3's xml.etree with the elements and attributes the
JUnit schema requires, the TAP by `prove` (Perl's TAP::Harness)."""
import json
import subprocess
import xml.etree.ElementTree as ET

from harness.daemon import run_cli
from harness.net import listen_low, refused_port


def _config(tmp_path, up_port):
    cfg = {"checks": [
        {"name": "chat-db", "kind": "tcp", "address": "127.0.0.1:%d" % up_port},
        {"name": "redis", "kind": "tcp", "address": "127.0.0.1:%d" % refused_port(),
         "depends_on": ["chat-db"]},
        {"name": "rag-db", "kind": "tcp", "address": "127.0.0.1:%d" % refused_port()},
        {"name": "e2e", "kind": "tcp", "interval": "off",
         "address": "127.0.0.1:%d" % up_port}],
        "groups": {"chat-worker": ["chat-db", "redis"], "e2e": ["e2e"]}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    return path


def _junit_schema_ok(root):
    """The required elements and attributes of the JUnit XML schema
    (testsuites > testsuite[name,tests] > testcase[name,classname] >
    failure[message,type] / skipped)."""
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites
    for s in suites:
        for attr in ("name", "tests", "failures", "errors", "skipped"):
            assert attr in s.attrib, (attr, s.attrib)
        cases = s.findall("testcase")
        assert int(s.get("tests")) == len(cases)
        assert int(s.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
        for c in cases:
            assert c.get("name") and c.get("classname") is not None
            float(c.get("time"))
            f = c.find("failure")
            if f is not None:
                assert f.get("message") and f.get("type")
    return {s.get("name"): {c.get("name"): c for c in s.findall("testcase")}
            for s in suites}


def test_junit_is_valid_and_complete(tmp_path):
    up = listen_low()
    try:
        path = _config(tmp_path, up.getsockname()[1])
        r = run_cli(["check", "--config", str(path), "--format", "junit"])
        assert r.returncode == 1, r.stderr
        suites = _junit_schema_ok(ET.fromstring(r.stdout))
        # one testsuite per group; checks in no group in "preflightd";
        # the on-demand e2e was not selected, so not reported
        assert set(suites) == {"chat-worker", "preflightd"}, suites.keys()
        assert set(suites["chat-worker"]) == {"chat-db", "redis"}
        assert suites["chat-worker"]["chat-db"].find("failure") is None
        fail = suites["chat-worker"]["redis"].find("failure")
        assert fail.get("type") == "connect_refused"
        assert fail.get("message").startswith("connect_refused: connect to 127.0.0.1:")
        assert "hint: " in fail.text
        assert set(suites["preflightd"]) == {"rag-db"}
        r = run_cli(["check", "--config", str(path), "--format", "junit",
                     "--group", "e2e"])
        assert r.returncode == 0, r.stderr
        suites = _junit_schema_ok(ET.fromstring(r.stdout))
        assert list(suites) == ["e2e"] and list(suites["e2e"]) == ["e2e"]
    finally:
        up.close()


def _prove(tmp_path, tap):
    f = tmp_path / "report.tap"
    f.write_text(tap)
    return subprocess.run(["prove", "-v", "-e", "cat", str(f)],
                          capture_output=True, text=True, timeout=30)


def test_tap_is_read_by_prove(tmp_path):
    up = listen_low()
    try:
        path = _config(tmp_path, up.getsockname()[1])
        r = run_cli(["check", "--config", str(path), "--format", "tap"])
        assert r.returncode == 1, r.stderr
        assert r.stdout.startswith("TAP version 13\n1..3\n"), r.stdout
        p = _prove(tmp_path, r.stdout)
        assert p.returncode != 0, p.stdout
        assert "Failed 2/3 subtests" in p.stdout, p.stdout
        assert "caused_by: \"chat-db\"" not in p.stdout     # chat-db passes
        assert "reason: \"connect_refused\"" in p.stdout
        r = run_cli(["check", "--config", str(path), "--format", "tap",
                     "--check", "chat-db"])
        assert r.returncode == 0, r.stderr
        p = _prove(tmp_path, r.stdout)
        assert p.returncode == 0 and "Result: PASS" in p.stdout, p.stdout
    finally:
        up.close()


def test_unknown_format_is_a_usage_error():
    r = run_cli(["check", "--format", "xml"])
    assert r.returncode == 2 and "junit or tap" in r.stderr
