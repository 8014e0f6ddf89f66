#!/usr/bin/python3
"""The demo behind scripts/demo.sh: real local services, preflightd from the
environment alone, one induced failure and its fix.  Uses the integration
tests' harness to start the servers (tests/integration/harness)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness.chat import ChatAPI  # noqa: E402
from harness.net import free_port  # noqa: E402
from harness.pg import PgServer  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

BIN = os.path.join(ROOT, "build", "preflightd")
BOLD, DIM, END = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(text):
    print(f"\n{BOLD}== {text}{END}", flush=True)


def run(args, env):
    print(f"{DIM}$ preflightd {' '.join(args)}{END}", flush=True)
    p = subprocess.run([BIN, *args], env=env, text=True, capture_output=True)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    print(f"{DIM}(exit {p.returncode}){END}", flush=True)
    return p.returncode


def http(method, url):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def show(method, url):
    code, body = http(method, url)
    print(f"{DIM}$ curl -X {method} {url}{END}\n{code} {body.strip()[:400]}", flush=True)
    return code, body


def wait_ready(base, group, want, timeout=30):
    """Waits until /readyz (of group, or overall) is (not) ready."""
    url = f"{base}/readyz" + (f"?group={group}" if group else "")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (http("GET", url)[0] == 200) == want:
            return True
        time.sleep(0.2)
    return False


def services(tmp):
    say("starting PostgreSQL 15 (mobius_chat, mobius_rag migrated), Redis and the Chat API fixture")
    pg = PgServer()
    pg.start()
    redis = RedisServer()
    redis.start()
    # The services' own environment, as they are deployed: SQLAlchemy
    # driver URLs, Chat's password apart from its URL, a JWT secret file.
    secret = "demo-jwt-secret-not-a-real-one"
    jwt_file = os.path.join(tmp, "jwt-secret")
    with open(jwt_file, "w") as f:
        f.write(secret + "\n")
    api = ChatAPI(redis, auth_mode="required", jwt_secret=secret)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFLIGHT")}
    env.update({
        "CHAT_RAG_DATABASE_URL": "postgresql+psycopg2://mobius_app@127.0.0.1:%d/mobius_chat" % pg.port,
        "CHAT_DB_PASSWORD": pg.passwords["mobius_app"],
        "RAG_DATABASE_URL": pg.url("mobius_rag").replace("postgresql://", "postgresql+asyncpg://"),
        "REDIS_URL": redis.url() + "?health_check_interval=30",
        "CHAT_API_URL": api.base_url,
        "JWT_SECRET_FILE": jwt_file,
    })
    print(f"PostgreSQL 127.0.0.1:{pg.port}, Redis 127.0.0.1:{redis.port}, Chat API {api.base_url}")
    return pg, redis, api, env


def quiet(args, env):
    return subprocess.run([BIN] + args, env=env, capture_output=True, text=True)


def status_table(base):
    """/status as one line a check (the JSON has them all)."""
    code, body = http("GET", f"{base}/status")
    doc = json.loads(body)
    print(f"{DIM}$ curl {base}/status   (one line a check of the JSON){END}")
    print(f"overall: {doc['status']}")
    for name, c in doc["checks"].items():
        extra = f"  {c['reason']}" if c.get("reason") else ""
        print(f"  {c['status']:<7} {name:<24} {c.get('target') or ''}{extra}")


def tour(pg, env, base):
    say("the pre-production checklist (free checks only; waits until ready, at most 60s)")
    run(["check", "--wait", "60s"], env)
    cfg = json.loads(quiet(["config"], env).stdout)
    print(f"{DIM}(built from the environment alone: {len(cfg['checks'])} checks;"
          f" `preflightd config` prints them, secrets masked){END}")
    say("the promotion gate: the paid end-to-end round trip, run once on demand")
    run(["check", "--group", "e2e"], env)
    say("the daemon's verdicts, per worker")
    if not wait_ready(base, None, True, timeout=60):
        print("preflightd did not turn ready within 60s")
    for group in ("chat-worker", "rag-embedding-worker"):
        show("GET", f"{base}/readyz?group={group}")
    status_table(base)

    say("breaking one thing: a migration that did not run")
    print(f"{DIM}$ psql -d mobius_chat -c 'DROP TABLE chat_turn_messages CASCADE'{END}")
    pg.sql("mobius_chat", "DROP TABLE chat_turn_messages CASCADE")
    show("POST", f"{base}/run")
    wait_ready(base, "chat-worker", False)
    show("GET", f"{base}/readyz?group=chat-worker")
    show("GET", f"{base}/readyz?group=rag-embedding-worker")
    run(["check", "--group", "chat-worker"], env)

    say("the fix the hint names: run the migrations for mobius_chat, then re-probe")
    print(f"{DIM}$ for f in db/schema/*.sql; do psql -d mobius_chat -f \"$f\"; done"
          f"   # mobius-chat's migrations{END}")
    pg.restore("mobius_chat")
    show("POST", f"{base}/run")
    wait_ready(base, "chat-worker", True)
    show("GET", f"{base}/readyz")


NEXT = """
Next steps
  - Next to the real services: run the image as a sidecar with the services'
    own environment (CHAT_RAG_DATABASE_URL, RAG_DATABASE_URL, REDIS_URL,
    CHAT_API_URL, JWT_SECRET or their _FILE forms): docs/deploy.md.
  - Gate a promotion: `preflightd check --group e2e --wait 2m` exits 0 only
    when the whole path works; `--format junit` for CI: docs/operations.md.
  - Watch it: GET / is the status page, /metrics the Prometheus view;
    deploy/monitoring/ has the rules and a dashboard.
  - Every key, reason, metric and endpoint: docs/reference.md.
"""


def main():
    serve = "--serve" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="pf-demo-")
    pg = redis = api = daemon = None
    try:
        pg, redis, api, env = services(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{port}", "--log-format", "text",
                                   "--log-level", "warning"], env=env)
        tour(pg, env, base)
        print(NEXT)
        if serve:
            say(f"preflightd serves on {base} (/, /status, /readyz, /metrics); Ctrl-C stops everything")
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        say("stopping")
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=5)
        for s in (api, redis, pg):
            if s:
                (s.close if hasattr(s, "close") else s.stop)()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
