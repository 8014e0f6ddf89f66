"""A real PostgreSQL 15 for the integration tests, one per test session.

Fixture ``pg`` (session scope) starts the server and yields a PgServer:

    pg.host, pg.port          127.0.0.1 and a free TCP port below 32768
    pg.socket_dir             directory of the unix socket (.s.PGSQL.<port>)
    pg.passwords[user]        password of "postgres" (superuser),
                              "mobius_app" (read/write application role) and
                              "mobius_ro" (SELECT and CONNECT only)
    pg.url(db, user="mobius_app", password=None, host=None, port=None,
           **params)          a postgresql:// URL (password defaults to the
                              user's; host may be pg.socket_dir)
    pg.sql(db, text)          runs SQL as superuser with psql, returns stdout
                              (-At format); raises on error
    pg.restore(db=None)       re-creates the fixture schema of db (or both)
    pg.log_text()             the server log (log_statement=all, and the
                              line prefix names app=%a user=%u db=%d)

Databases mobius_chat and mobius_rag hold the SPEC §1 tables, from
tests/fixtures/pg/<db>.sql.  Authentication is SCRAM-SHA-256 everywhere.
When the tests run as root the server runs as the `postgres` user (or
`nobody`) in a temporary directory it owns.  If the server cannot start
the fixture raises: the test fails, it is never skipped.

Fixture ``pg_tls`` (session scope, only started by the tests that use it)
is a second server with ssl=on (TLS 1.3 only), the localhost certificate
of harness.tls, hostssl-only TCP access and log_connections=on; same
attributes and helpers as ``pg``.
"""
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from harness.net import free_port

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "pg")
DATABASES = ("mobius_chat", "mobius_rag")
START_TIMEOUT = 30.0


def _run_as():
    """(uid, gid) to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            continue
    raise RuntimeError("running as root and neither user postgres nor nobody exists")


class PgServer:
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = None
        self.dir = tempfile.mkdtemp(prefix="pf-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "server.log")
        self.passwords = {
            "postgres": "pf-super-" + secrets.token_hex(8),
            "mobius_app": "pf-app-" + secrets.token_hex(8),
            "mobius_ro": "pf-ro-" + secrets.token_hex(8),
        }
        self.proc = None
        self._ids = _run_as()
        self.extra_args = []  # more "-c name=value" settings (PgTlsServer)

    # -- process management -------------------------------------------------
    def _cmd(self, argv):
        if self._ids is None:
            return argv
        uid, gid = self._ids
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}",
                "--clear-groups", "--"] + argv

    def _chown(self, path):
        if self._ids is not None:
            os.chown(path, *self._ids)

    def _initdb(self):
        os.mkdir(self.socket_dir)
        self._chown(self.dir)
        self._chown(self.socket_dir)
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.passwords["postgres"] + "\n")
        self._chown(pwfile)
        r = subprocess.run(self._cmd([
            os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
            "--auth=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8",
            "--locale=C", "--no-sync"]), capture_output=True, text=True,
            timeout=120)
        os.unlink(pwfile)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout + r.stderr)

    def _spawn(self):
        log = open(self.log_path, "ab")
        self._chown(self.log_path)
        argv = [os.path.join(PG_BIN, "postgres"), "-D", self.data,
                "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=" + self.socket_dir,
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "password_encryption=scram-sha-256",
                "-c", "max_connections=60", "-c", "shared_buffers=16MB",
                "-c", "log_statement=all",
                "-c", "log_line_prefix=%m [%p] app=%a user=%u db=%d ",
                "-c", "logging_collector=off"] + self.extra_args
        self.proc = subprocess.Popen(self._cmd(argv), stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q",
                                "-h", self.host, "-p", str(self.port)])
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready:\n" + self.log_text()[-2000:])

    def start(self):
        self._initdb()
        for _ in range(3):  # a free port can be taken before postgres binds it
            self.port = free_port()
            self._spawn()
            if self._wait_ready():
                break
        else:
            raise RuntimeError("postgres failed to start:\n" + self.log_text()[-2000:])
        self._setup()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- SQL helpers --------------------------------------------------------
    def sql(self, db, text):
        """Runs text as superuser in db (over the unix socket)."""
        env = dict(os.environ, PGPASSWORD=self.passwords["postgres"],
                   PGCONNECT_TIMEOUT="10")
        r = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-h", self.socket_dir, "-p", str(self.port), "-U", "postgres",
             "-d", db, "-c", text],
            capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql {db}: {r.stderr.strip()}")
        return r.stdout

    def sql_file(self, db, path):
        with open(path) as f:
            return self.sql(db, f.read())

    def restore(self, db=None):
        """Re-creates the fixture schema (and seed rows) of db, or of both."""
        for name in ([db] if db else DATABASES):
            self.sql_file(name, os.path.join(FIXTURES, name + ".sql"))

    def _setup(self):
        app, ro = self.passwords["mobius_app"], self.passwords["mobius_ro"]
        self.sql("postgres", f"CREATE ROLE mobius_app LOGIN PASSWORD '{app}'")
        self.sql("postgres", f"CREATE ROLE mobius_ro LOGIN PASSWORD '{ro}'")
        for db in DATABASES:
            self.sql("postgres", f"CREATE DATABASE {db}")
            self.sql("postgres", f"REVOKE CONNECT ON DATABASE {db} FROM PUBLIC;"
                     f" GRANT CONNECT ON DATABASE {db} TO mobius_app, mobius_ro")
        self.restore()

    def url(self, db, user="mobius_app", password=None, host=None, port=None,
            **params):
        """postgresql:// URL; host=pg.socket_dir gives the unix-socket form
        postgresql://user:pass@/db?host=/dir&port=N (like Cloud SQL)."""
        pw = self.passwords.get(user, "") if password is None else password
        cred = urllib.parse.quote(user, safe="")
        if pw:
            cred += ":" + urllib.parse.quote(pw, safe="")
        port = self.port if port is None else port
        host = self.host if host is None else host
        if host.startswith("/"):
            params = dict(params, host=host, port=str(port))
            netloc = cred + "@"
        else:
            netloc = f"{cred}@{host}:{port}"
        query = ("?" + urllib.parse.urlencode(params, safe="/:")) if params else ""
        return f"postgresql://{netloc}/{db}{query}"

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class PgTlsServer(PgServer):
    """The same server with ssl=on and the test PKI's localhost certificate
    (harness.tls), reachable over TCP only with TLS (hostssl): a plain
    connection finds no pg_hba.conf entry."""

    def __init__(self, pki):
        super().__init__()
        self.pki = pki

    def _initdb(self):
        super()._initdb()
        cert = os.path.join(self.data, "server.crt")
        key = os.path.join(self.data, "server.key")
        shutil.copyfile(self.pki.server, cert)
        shutil.copyfile(self.pki.server_key, key)
        os.chmod(key, 0o600)  # postgres refuses a key others can read
        for path in (cert, key):
            self._chown(path)
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all scram-sha-256\n"
                    "hostssl all all 127.0.0.1/32 scram-sha-256\n")
        self.extra_args = ["-c", "ssl=on", "-c", "ssl_cert_file=" + cert,
                           "-c", "ssl_key_file=" + key,
                           "-c", "ssl_min_protocol_version=TLSv1.3",
                           # "connection authorized: ... SSL enabled
                           # (protocol=...)" lets tests prove TLS was used.
                           "-c", "log_connections=on"]


def _serve(server):
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_tls(tls_pki):
    """A second PostgreSQL with TLS on (see PgTlsServer), same databases,
    roles and passwords API as ``pg``."""
    yield from _serve(PgTlsServer(tls_pki))


@pytest.fixture(scope="session")
def pg():
    yield from _serve(PgServer())
