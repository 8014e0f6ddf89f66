"""Packaging: the systemd unit verifies against the installed binary and is
hardened, the example config loads, the Dockerfile builds the way CI does
and its scratch runtime holds every library the binary loads, and the
`healthcheck` subcommand the image's HEALTHCHECK runs works."""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from harness.net import free_port, refused_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("PREFLIGHTD_BIN", os.path.join(ROOT, "build", "preflightd")))
UNIT = os.path.join(ROOT, "systemd", "preflightd.service")
EXAMPLE = os.path.join(ROOT, "systemd", "preflightd.json")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
CONFIG_H = os.path.join(ROOT, "daemon", "config.h")
CRED_DIR = "/run/credentials/preflightd.service/"


def default_port():
    m = re.search(r'#define\s+PF_DEFAULT_LISTEN\s+"[^"]*:(\d+)"', open(CONFIG_H).read())
    assert m, "PF_DEFAULT_LISTEN not found in daemon/config.h"
    return int(m.group(1))


def unit_entries(text):
    """[(section, key, value)] of a unit file; keys may repeat."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def unit_values(key, section="Service"):
    return [v for s, k, v in unit_entries(open(UNIT).read()) if s == section and k == key]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`meson install --destdir` of the build PREFLIGHTD_BIN comes from."""
    assert os.access(BIN, os.X_OK), f"no built binary at {BIN}"
    builddir = os.path.dirname(BIN)
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", builddir, "--no-rebuild", "--destdir", str(dest)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["meson", "introspect", builddir, "--installed"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    target = json.loads(r.stdout).get(os.path.realpath(BIN)) or json.loads(r.stdout).get(BIN)
    assert target, f"{BIN} is not installed by meson"
    return {"target": target, "path": str(dest) + target}


def verify_unit(text, tmp_path):
    d = tmp_path / "unit"
    d.mkdir(exist_ok=True)
    (d / "preflightd.service").write_text(text)
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(d / "preflightd.service")],
                          capture_output=True, text=True, timeout=60)


def test_unit_execstart_is_install_location(installed):
    execstart = unit_values("ExecStart")
    assert len(execstart) == 1
    argv = execstart[0].split()
    assert argv[0] == installed["target"], "ExecStart must run the binary where meson installs it"
    assert argv[1:] == ["--config", "/etc/preflightd/preflightd.json"]


def test_unit_verifies_against_installed_binary(installed, tmp_path):
    text = open(UNIT).read().replace(installed["target"], installed["path"])
    assert installed["path"] in text
    r = verify_unit(text, tmp_path)
    # systemd-analyze only warns on unknown keys: any output is a defect.
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stdout + r.stderr


def test_verify_catches_defects(installed, tmp_path):
    """The verify step above is able to fail: a typo or a missing binary."""
    good = open(UNIT).read().replace(installed["target"], installed["path"])
    r = verify_unit(good.replace("ProtectClock=", "ProtectClok="), tmp_path)
    assert "Unknown key" in r.stderr
    r = verify_unit(good.replace(installed["path"], installed["path"] + "-missing"), tmp_path)
    assert r.returncode != 0


def test_unit_contract():
    v = unit_values
    assert v("Type") == ["notify"]
    assert v("NotifyAccess") == ["main"]
    assert v("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert v("WatchdogSec") == ["30s"]
    assert v("Restart") == ["on-failure"]
    assert v("EnvironmentFile") == ["-/etc/preflightd/preflightd.env"]
    for key in ("DynamicUser", "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictNamespaces",
                "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute"):
        assert v(key) == ["yes"], key
    assert v("ProtectSystem") == ["strict"]
    assert v("CapabilityBoundingSet") == [""]
    assert v("RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
    assert v("SystemCallArchitectures") == ["native"]
    assert "@system-service" in v("SystemCallFilter")
    assert v("UMask") == ["0077"]
    assert v("WantedBy", "Install") == ["multi-user.target"]


def test_unit_exposure_is_low(tmp_path):
    d = tmp_path / "sec"
    d.mkdir()
    (d / "preflightd.service").write_text(open(UNIT).read())
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                        str(d / "preflightd.service")], capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for preflightd.service: ([0-9.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.0, r.stdout


def test_example_config_is_valid_and_redacted(tmp_path):
    token = "tok-" + os.urandom(6).hex()
    (tmp_path / "chat-api-token").write_text(token + "\n")
    cfg = tmp_path / "preflightd.json"
    cfg.write_text(open(EXAMPLE).read().replace(CRED_DIR, str(tmp_path) + "/"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "CHAT_RAG_DATABASE_URL": "postgresql://mobius_app:s3cretpw@127.0.0.1:5432/mobius_chat",
           "RAG_DATABASE_URL": "postgresql://rag:s3cretpw@127.0.0.1:5432/mobius_rag",
           "REDIS_URL": "redis://:s3cretpw@127.0.0.1:6379/0",
           "CHAT_API_URL": "http://127.0.0.1:8080"}
    r = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "s3cretpw" not in out and token not in out
    for name in ("chat-db", "rag-chunking-db", "rag-embedding-db", "redis", "chat-api-ready",
                 "chat-roundtrip"):
        assert name in r.stdout
    # Without the variables the example names, loading fails with status 2.
    r = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=30, env={"PATH": env["PATH"]})
    assert r.returncode == 2
    assert "CHAT_RAG_DATABASE_URL" in r.stderr


def dockerfile_instructions():
    text = open(DOCKERFILE).read().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def runtime_stage():
    ins = dockerfile_instructions()
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    return ins[:froms[-1]], ins[froms[-1]:]


def test_dockerfile_build_stage_matches_ci():
    build, runtime = runtime_stage()
    runs = " && ".join(r for w, r in build if w == "RUN")
    assert "scripts/deps.sh --build" in runs
    assert "meson setup build --buildtype=release -Dwerror=true" in runs
    assert "ninja -C build" in runs and "meson install -C build" in runs
    assert build[0][1].startswith("debian:12")
    # CI's script builds with the same flags (warnings are errors).
    assert "-Dwerror=true" in open(os.path.join(ROOT, "scripts", "test.sh")).read()


def test_dockerfile_runtime_stage():
    build, runtime = runtime_stage()
    get = lambda w: [r for k, r in runtime if k == w]  # noqa: E731
    # scratch plus one tree made in the build stage: no shell, no apt.
    assert get("FROM")[0].split()[0] == "scratch"
    assert get("RUN") == [], "a scratch stage has no shell to RUN with"
    assert get("COPY") == ["--from=build /rootfs/ /"]
    runs = " && ".join(r for w, r in build if w == "RUN")
    assert "scripts/image-rootfs.sh /out /rootfs" in runs
    user = get("USER")
    assert len(user) == 1 and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user[0]), user
    assert json.loads(get("ENTRYPOINT")[0]) == ["/usr/local/bin/preflightd"]
    assert get("EXPOSE") == [str(default_port())]
    hc = get("HEALTHCHECK")
    assert len(hc) == 1
    cmd = hc[0].split(" CMD ", 1)[1]
    argv = json.loads(cmd)  # exec form: a JSON array, no shell
    assert argv[0] == "/usr/local/bin/preflightd" and argv[1] == "healthcheck"


def _tree_bytes(root):
    total = 0
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def test_image_rootfs_runs_the_binary_alone(tmp_path, redis):
    """scripts/image-rootfs.sh (the image's whole file system) holds every
    library the binary loads: `preflightd check` runs in a chroot of it as
    uid 65532 and passes against a live Redis, fails against a refused port.
    The tree has no shell and is far under the image's 100 MB budget."""
    assert os.geteuid() == 0, "chroot needs root (CI runs the suite as root)"
    dest, root = tmp_path / "dest", tmp_path / "rootfs"
    (dest / "usr/local/bin").mkdir(parents=True)
    subprocess.run(["cp", BIN, str(dest / "usr/local/bin/preflightd")], check=True)
    r = subprocess.run([os.path.join(ROOT, "scripts", "image-rootfs.sh"), str(dest), str(root)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(root / "bin/sh") and not os.path.exists(root / "usr/bin/sh")
    assert _tree_bytes(root) < 60 * 1024 * 1024, _tree_bytes(root)

    def check(url):
        return subprocess.run(
            ["/usr/sbin/chroot", "--userspec=65532:65532", str(root),
             "/usr/local/bin/preflightd", "check", "--format", "text"],
            env={"REDIS_URL": url}, capture_output=True, text=True, timeout=30)
    # A sanitizer build's leak checker reads /proc, as a container runtime
    # provides it; a plain build needs nothing mounted.
    sanitized = "libasan" in subprocess.run(["ldd", BIN], capture_output=True,
                                            text=True, timeout=30).stdout
    if sanitized:
        (root / "proc").mkdir()
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    try:
        ok = check(redis.url())
        bad = check("redis://127.0.0.1:%d/0" % refused_port())
    finally:
        if sanitized:
            subprocess.run(["umount", str(root / "proc")], check=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "connect_refused" in bad.stdout or "refused" in bad.stdout, bad.stdout


def test_dockerignore_excludes_local_state():
    lines = [ln.strip() for ln in open(os.path.join(ROOT, ".dockerignore")) if ln.strip()]
    assert ".git" in lines and "build" in lines and "build-*" in lines


def wait_http(port, path, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"daemon did not answer {path} on port {port}")


def test_healthcheck_subcommand(tmp_path):
    port = free_port()
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"listen": f"127.0.0.1:{port}", "checks": [
        {"name": "t", "kind": "tcp", "address": f"127.0.0.1:{refused_port()}"}]}))
    proc = subprocess.Popen([BIN, "--config", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_http(port, "/healthz") == 200
        # Liveness even while a critical check fails (readiness is not its job).
        r = subprocess.run([BIN, "healthcheck", "--listen", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        env = dict(os.environ, PREFLIGHT_LISTEN=f"0.0.0.0:{port}")
        r = subprocess.run([BIN, "healthcheck"], capture_output=True, text=True, timeout=10, env=env)
        assert r.returncode == 0, r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    r = subprocess.run([BIN, "healthcheck", "--listen", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "cannot connect" in r.stderr


def collect_until(sock, pred, deadline=5.0):
    """Datagrams received until pred(msg) holds; AssertionError on timeout."""
    got, end = [], time.monotonic() + deadline
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        if pred(msg):
            return got
    raise AssertionError(f"no matching notification; got {got}")


@pytest.mark.parametrize("kind", ["abstract", "path"])
def test_systemd_notify_protocol(tmp_path, kind):
    """The daemon speaks sd_notify the way systemd's Type=notify + watchdog
    expects: READY=1, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 with
    MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "abstract":
        name = f"pf-notify-{os.getpid()}-{os.urandom(4).hex()}"
        sock.bind("\0" + name)  # Python binds abstract names with their exact length
        addr = "@" + name
    else:
        addr = str(tmp_path / "notify")
        sock.bind(addr)
    port = free_port()
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"listen": f"127.0.0.1:{port}", "checks": [
        {"name": "t", "kind": "tcp", "address": f"127.0.0.1:{refused_port()}"}]}))
    env = dict(os.environ, NOTIFY_SOCKET=addr, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([BIN, "--config", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        collect_until(sock, lambda m: "READY=1" in m.split("\n"))
        t0 = time.monotonic()
        pings = collect_until(sock, lambda m: m == "WATCHDOG=1")
        pings += collect_until(sock, lambda m: m == "WATCHDOG=1")
        assert time.monotonic() - t0 < 1.5, "watchdog pings should come every ~200 ms"
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        proc.send_signal(signal.SIGHUP)
        got = collect_until(sock, lambda m: m.startswith("RELOADING=1"))
        lines = got[-1].split("\n")
        assert lines[0] == "RELOADING=1" and lines[1].startswith("MONOTONIC_USEC=")
        usec = int(lines[1].split("=", 1)[1])
        assert before <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        collect_until(sock, lambda m: "READY=1" in m.split("\n"))
        proc.send_signal(signal.SIGTERM)
        collect_until(sock, lambda m: m == "STOPPING=1" or m.startswith("STOPPING=1\n"))
        assert proc.wait(timeout=3) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        sock.close()
