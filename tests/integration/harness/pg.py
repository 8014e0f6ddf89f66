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
    pg.sql_file(db, path)     the same with the text of a file
    pg.restore(db=None)       re-creates the fixture schema of db (or both)
    pg.log_text()             the server log (log_statement=all, and the
                              line prefix names app=%a user=%u db=%d)

Database mobius_chat is built from the modelled mobius-chat migration
corpus CHAT_CORPUS (tests/fixtures/migrations/chat), applied file by file
the way the service's scripts/migrate.sh does it: byte-wise lexical order,
one transaction per file, ON_ERROR_STOP, psql as superuser over the unix
socket.  pg.migrate() runs one psql per file with --single-transaction;
restore() runs the files in one psql session, each between BEGIN and
COMMIT as migrate.sh feeds them (about 0.6 s instead of 1.5 s).  The
database then gets one seed chat_threads row (SEED_THREAD_ID).
Database mobius_rag is tests/fixtures/pg/mobius_rag.sql (create_all of the
RAG ORM models plus the start-up migrations).  In both, mobius_app may
SELECT/INSERT/UPDATE/DELETE every table and use every sequence of schemas
public and compliance, and mobius_ro may SELECT them.

    pg.migrate(db, corpus=CHAT_CORPUS, upto=None, skip=(),
               stop_on_error=True)
                              applies corpus files in lexical order (up to
                              and including the file named upto, or the
                              first upto files when it is an int; names in
                              skip are left out), returns [(file, ok,
                              stderr)]; with stop_on_error the list ends at
                              the first failing file.  stderr holds warnings
                              and errors (client_min_messages=warning, as in
                              migrate.sh)
    pg.apply_file(db, path)   one file that way: (ok, stderr)
    pg.reset(db)              drops schemas public and compliance (CASCADE:
                              with the extensions in them) and re-creates an
                              empty public (USAGE granted to PUBLIC)
    pg.create_database(name, template=None)
                              CREATE DATABASE with CONNECT only for
                              mobius_app and mobius_ro
    pg.drop_database(name)    DROP DATABASE IF EXISTS ... WITH (FORCE)
    pg.catalog(db, schemas=None)
                              {"tables": {name: [columns in attnum order]},
                               "views": {name: {"materialized": bool}}}
                              from pg_catalog (relkinds r/p and v/m, every
                              non-system schema or only those in schemas);
                              names in public are unqualified, others are
                              "schema.name"; tables in creation (oid) order
    pg.dump_schema(db, path)  pg_dump -s (the server's own) into path

Authentication is SCRAM-SHA-256 everywhere.  When the tests run as root
the server runs as the `postgres` user (or `nobody`) in a temporary
directory it owns; psql and pg_dump run as the test process over the
socket with PGPASSWORD.  If the server cannot start the fixture raises:
the test fails, it is never skipped.

Fixture ``pg_tls`` (session scope, only started by the tests that use it)
is a second server with ssl=on (TLS 1.3 only), the localhost certificate
of harness.tls, hostssl-only TCP access and log_connections=on; same
attributes and helpers as ``pg``.
"""
import json
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
_TESTS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(_TESTS, "fixtures", "pg")
CHAT_CORPUS = os.path.join(_TESTS, "fixtures", "migrations", "chat")
DATABASES = ("mobius_chat", "mobius_rag")
# The schemas the fixtures create (and restore() rebuilds), per database.
FIXTURE_SCHEMAS = {"mobius_chat": ("public", "compliance"),
                   "mobius_rag": ("public",)}
SEED_THREAD_ID = "00000000-0000-0000-0000-000000000001"
START_TIMEOUT = 30.0
PSQL_TIMEOUT = 60
# The server's own psql: /usr/bin/psql on Debian is a Perl wrapper that
# costs ~50 ms a run, which adds up over a corpus applied file by file.
PSQL = os.path.join(PG_BIN, "psql")
if not os.access(PSQL, os.X_OK):
    PSQL = "psql"

_CATALOG_SQL = r"""
SELECT coalesce(json_agg(json_build_object(
         'schema', n.nspname, 'name', c.relname, 'kind', c.relkind,
         'columns', (SELECT coalesce(json_agg(a.attname ORDER BY a.attnum),
                                     '[]'::json)
                       FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum > 0
                        AND NOT a.attisdropped))
         ORDER BY c.oid), '[]'::json)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp%'
"""


def corpus_files(corpus=CHAT_CORPUS):
    """The migration files of corpus in the order they are applied:
    regular *.sql files, not hidden, sorted byte-wise (LC_ALL=C sort)."""
    names = [f for f in os.listdir(corpus)
             if f.endswith(".sql") and not f.startswith(".")
             and os.path.isfile(os.path.join(corpus, f))]
    return sorted(names, key=lambda f: f.encode())


def _sql_name(name):
    return name if name.endswith(".sql") else name + ".sql"


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
    def _psql_env(self, **extra):
        return dict(os.environ, PGPASSWORD=self.passwords["postgres"],
                    PGCONNECT_TIMEOUT="10", **extra)

    def _psql(self, db, args, env_extra=None):
        """psql as superuser over the unix socket; the CompletedProcess."""
        return subprocess.run(
            [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-h", self.socket_dir, "-p", str(self.port), "-U", "postgres",
             "-d", db] + args,
            capture_output=True, text=True,
            env=self._psql_env(**(env_extra or {})), timeout=PSQL_TIMEOUT)

    def sql(self, db, text):
        """Runs text as superuser in db (over the unix socket)."""
        r = self._psql(db, ["-At", "-c", text])
        if r.returncode != 0:
            raise RuntimeError(f"psql {db}: {r.stderr.strip()}")
        return r.stdout

    def sql_file(self, db, path):
        with open(path) as f:
            return self.sql(db, f.read())

    # -- migrations ---------------------------------------------------------
    def apply_file(self, db, path):
        """Applies one migration file the way scripts/migrate.sh does (one
        transaction, stop at the first error; notices are not shown, as
        with its client_min_messages=warning).  (ok, stderr)."""
        r = self._psql(db, ["--single-transaction", "-f", path],
                       env_extra={"PGOPTIONS": "-c client_min_messages=warning"})
        return r.returncode == 0, r.stderr

    def migrate(self, db, corpus=CHAT_CORPUS, upto=None, skip=(),
                stop_on_error=True):
        """Applies the files of corpus to db in byte-wise lexical order, one
        transaction per file.  upto: the last file to apply (name, with or
        without .sql), or an int: apply the first upto files.  skip: file
        names left out.  Returns [(file, ok, stderr)] for the files it ran;
        with stop_on_error it stops after the first failing file."""
        files = corpus_files(corpus)
        if isinstance(upto, int) and not isinstance(upto, bool):
            files = files[:upto]
        elif upto is not None:
            last = _sql_name(upto)
            if last not in files:
                raise ValueError(f"{corpus}: no migration {last}")
            files = files[:files.index(last) + 1]
        if isinstance(skip, str):
            skip = (skip,)
        skipped = {_sql_name(n) for n in skip}
        results = []
        for f in files:
            if f in skipped:
                continue
            ok, err = self.apply_file(db, os.path.join(corpus, f))
            results.append((f, ok, err))
            if not ok and stop_on_error:
                break
        return results

    _RESET_SQL = ("DROP SCHEMA IF EXISTS public CASCADE;\n"
                  "DROP SCHEMA IF EXISTS compliance CASCADE;\n"
                  "CREATE SCHEMA public;\n"
                  "GRANT USAGE ON SCHEMA public TO PUBLIC;\n")

    def reset(self, db):
        """Empties db: schemas public and compliance dropped (CASCADE, which
        also drops the extensions created in them), public re-created with
        USAGE for PUBLIC."""
        self.sql(db, self._RESET_SQL)

    @staticmethod
    def _grant_sql(db):
        """The fixture roles' privileges on those of the fixture's schemas
        that exist."""
        names = ", ".join(f"'{n}'" for n in FIXTURE_SCHEMAS.get(db, ("public",)))
        return f"""DO $grant$
DECLARE s text;
BEGIN
    FOR s IN SELECT nspname FROM pg_namespace WHERE nspname IN ({names}) LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO mobius_app, mobius_ro', s);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES'
                       ' IN SCHEMA %I TO mobius_app', s);
        EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO mobius_app', s);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO mobius_ro', s);
    END LOOP;
END
$grant$;
"""

    def _build_chat(self, db="mobius_chat"):
        """reset + the whole corpus + seed row + grants, in ONE psql session
        (a psql start and a SCRAM login per file would cost more than the
        DDL): each file between BEGIN and COMMIT, as scripts/migrate.sh
        feeds it to psql, stopping at the first error."""
        lines = [self._RESET_SQL]
        for f in corpus_files(CHAT_CORPUS):
            path = os.path.join(CHAT_CORPUS, f).replace("'", "''")
            lines += ["BEGIN;", f"\\i '{path}'", "COMMIT;"]
        lines.append("INSERT INTO chat_threads (thread_id) VALUES"
                     f" ('{SEED_THREAD_ID}');")
        lines.append(self._grant_sql(db))
        script = "\n".join(lines) + "\n"
        r = subprocess.run(
            [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
             "-p", str(self.port), "-U", "postgres", "-d", db, "-f", "-"],
            input=script, capture_output=True, text=True,
            env=self._psql_env(PGOPTIONS="-c client_min_messages=warning"),
            timeout=PSQL_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"building {db} from {CHAT_CORPUS}: "
                               f"{r.stderr.strip()}")

    def restore(self, db=None):
        """Re-creates the fixture schema (and seed rows) of db, or of both:
        mobius_chat from the chat corpus, mobius_rag from its .sql file."""
        for name in ([db] if db else DATABASES):
            if name == "mobius_chat":
                self._build_chat(name)
            else:
                with open(os.path.join(FIXTURES, name + ".sql")) as f:
                    text = f.read()
                self.sql(name, text + "\n" + self._grant_sql(name))

    def create_database(self, name, template=None):
        """CREATE DATABASE name (optionally from template), CONNECT only for
        mobius_app and mobius_ro."""
        tpl = f" TEMPLATE {template}" if template else ""
        self.sql("postgres", f"CREATE DATABASE {name}{tpl}")
        self.sql("postgres", f"REVOKE CONNECT ON DATABASE {name} FROM PUBLIC;"
                 f" GRANT CONNECT ON DATABASE {name} TO mobius_app, mobius_ro")

    def drop_database(self, name):
        self.sql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def catalog(self, db, schemas=None):
        """Tables (with their columns in attnum order) and views of db as the
        server's catalog has them: {"tables": {name: [col, ...]}, "views":
        {name: {"materialized": bool}}}.  Every schema but pg_catalog,
        information_schema, pg_toast* and pg_temp*, or only those listed in
        schemas; a name in public is unqualified, others "schema.name"."""
        rows = json.loads(self.sql(db, _CATALOG_SQL))
        out = {"tables": {}, "views": {}}
        for r in rows:
            if schemas is not None and r["schema"] not in schemas:
                continue
            name = r["name"] if r["schema"] == "public" else \
                f'{r["schema"]}.{r["name"]}'
            if r["kind"] in ("r", "p"):
                out["tables"][name] = r["columns"]
            else:
                out["views"][name] = {"materialized": r["kind"] == "m"}
        return out

    def dump_schema(self, db, path):
        """Writes `pg_dump -s` of db (the server's own pg_dump) to path."""
        r = subprocess.run(
            [os.path.join(PG_BIN, "pg_dump"), "-s", "-h", self.socket_dir,
             "-p", str(self.port), "-U", "postgres", "-d", db, "-f", path],
            capture_output=True, text=True, env=self._psql_env(),
            timeout=PSQL_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError(f"pg_dump {db}: {r.stderr.strip()}")
        return path

    def _setup(self):
        app, ro = self.passwords["mobius_app"], self.passwords["mobius_ro"]
        self.sql("postgres", f"CREATE ROLE mobius_app LOGIN PASSWORD '{app}'")
        self.sql("postgres", f"CREATE ROLE mobius_ro LOGIN PASSWORD '{ro}'")
        for db in DATABASES:
            self.create_database(db)
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
