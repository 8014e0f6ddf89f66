"""The manual page renders without a warning and lists every command and
option the program accepts; meson installs it and the bash completion,
which completes the commands and the formats."""
import os
import re
import subprocess

from harness.daemon import ROOT, run_cli

MAN = os.path.join(ROOT, "docs", "preflightd.1")
COMPLETION = os.path.join(ROOT, "contrib", "preflightd.bash")


def test_man_page_renders_without_warnings():
    r = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True,
                       text=True, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"),
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    text = re.sub(r".\x08", "", r.stdout)	# bold and underline overstrikes
    assert "preflightd check" in text and "EXIT STATUS" in text, text[:500]


def test_man_page_covers_the_usage():
    usage = run_cli(["--help"]).stdout
    page = open(MAN).read().replace("\\-", "-")
    for word in sorted(set(re.findall(r"--[a-z][a-z-]+", usage))):
        assert word in page, word
    for cmd in ("check", "config", "schema", "healthcheck"):
        assert ".B %s" % cmd in page or "preflightd %s" % cmd in page, cmd
    for fmt in ("junit", "tap"):
        assert fmt in page


def _complete(words):
    script = 'source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _preflightd; echo "${COMPREPLY[@]}"' % (
        COMPLETION, " ".join(words), len(words) - 1)
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion():
    assert _complete(["preflightd", "ch"]) == ["check"]
    assert _complete(["preflightd", "check", "--format", ""]) == ["text", "json", "junit", "tap"]
    assert "--reference" in _complete(["preflightd", "config", "--"])


def test_meson_installs_page_and_completion(tmp_path):
    import json
    build = tmp_path / "b"
    subprocess.run(["meson", "setup", str(build), ROOT, "--prefix", "/usr"],
                   check=True, capture_output=True, timeout=120)
    r = subprocess.run(["meson", "introspect", "--installed", str(build)],
                       check=True, capture_output=True, text=True, timeout=60)
    installed = {os.path.relpath(src, ROOT): dst for src, dst in json.loads(r.stdout).items()
                 if src.startswith(ROOT)}
    assert installed.get("docs/preflightd.1") == "/usr/share/man/man1/preflightd.1", installed
    assert installed.get("contrib/preflightd.bash") == \
        "/usr/share/bash-completion/completions/preflightd", installed
