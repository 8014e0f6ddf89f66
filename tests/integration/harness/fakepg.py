"""A fake PostgreSQL server that refuses every session with one error, in
English or in German, for the tests that prove the postgres check
classifies server errors by SQLSTATE and never by their text.

    with FakePg("28P01", lang="de") as fake:
        url = fake.url("mobius_chat", sslmode="prefer")
        ...  # probe it
    fake.startups          [{"user": ..., "database": ..., ...}, ...]
    fake.ssl_requests      SSLRequests answered 'N'
    fake.passwords         PasswordMessages received (ask_password=True)

It speaks just enough of the v3 protocol (protocol 3.0, as libpq 15 sends
it): reads the startup packet, answers an SSLRequest or GSSENCRequest with
'N' (no encryption here, so libpq goes on in plain text as with
sslmode=prefer against a server without ssl), optionally asks for a
cleartext password first (AuthenticationCleartextPassword) the way a
server checks one before it refuses it, then sends one ErrorResponse with
the fields a real server sends (S localized severity, V non-localized
severity, C SQLSTATE, M message, D detail, F/L/R where in the server's
source) and closes the connection.

MESSAGES holds, per SQLSTATE, the real server's text (PostgreSQL 15) and
its German translation (postgres-15.mo of Debian 12, de); the severity
word is translated too (FATAL stays FATAL in German, ERROR is FEHLER).

Also PgReplica, PgTrustServer, PgLangServer and PgStuckStandby: variants
of the harness PgServer (harness.pg) for the tests of a hot standby (in
recovery), of trust authentication, of a server whose lc_messages is
German (or English with the same pg_hba, to compare), and of a real server
that answers 57P03 forever.  All listen
on 127.0.0.1 ports below 32768 (harness.net.free_port) and remove their
temporary directories when stopped.
"""
import os
import shutil
import struct
import subprocess
import tempfile
import time

from harness.net import listen_low, serve_in_thread
from harness.pg import PG_BIN, PgServer

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608

# sqlstate -> {"en"/"de": (severity, message, detail or None)} and where the
# real server raises it (file, line, routine of PostgreSQL 15).
MESSAGES = {
    "28P01": {
        "en": ("FATAL", 'password authentication failed for user "{user}"', None),
        "de": ("FATAL", "Passwort-Authentifizierung für Benutzer »{user}« fehlgeschlagen", None),
        "where": ("auth.c", "326", "auth_failed"),
    },
    "3D000": {
        "en": ("FATAL", 'database "{database}" does not exist', None),
        "de": ("FATAL", "Datenbank »{database}« existiert nicht", None),
        "where": ("postinit.c", "941", "InitPostgres"),
    },
    "57P03": {
        "en": ("FATAL", "the database system is starting up", None),
        "de": ("FATAL", "das Datenbanksystem startet", None),
        "where": ("postmaster.c", "2356", "ProcessStartupPacket"),
    },
    "53300": {
        "en": ("FATAL", "sorry, too many clients already", None),
        "de": ("FATAL", "tut mir leid, schon zu viele Verbindungen", None),
        "where": ("proc.c", "359", "InitProcess"),
    },
    "28000": {
        "en": ("FATAL", 'no pg_hba.conf entry for host "{host}", user "{user}",'
               ' database "{database}", no encryption', None),
        "de": ("FATAL", "kein pg_hba.conf-Eintrag für Host »{host}«, Benutzer"
               " »{user}«, Datenbank »{database}«, keine Verschlüsselung", None),
        "where": ("auth.c", "540", "ClientAuthentication"),
    },
    "42501": {
        "en": ("FATAL", "permission denied for database {database}",
               "User does not have CONNECT privilege."),
        "de": ("FATAL", "keine Berechtigung für Datenbank {database}",
               "Benutzer hat das CONNECT-Privileg nicht."),
        "where": ("postinit.c", "367", "CheckMyDatabase"),
    },
}


def _recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


def error_response(sqlstate, severity, message, detail=None, where=None,
                   localized_severity=None):
    """The bytes of one ErrorResponse ('E') message."""
    fields = [(b"S", localized_severity or severity), (b"V", severity),
              (b"C", sqlstate), (b"M", message)]
    if detail:
        fields.append((b"D", detail))
    if where:
        fields += [(b"F", where[0]), (b"L", where[1]), (b"R", where[2])]
    body = b"".join(k + v.encode("utf-8") + b"\0" for k, v in fields) + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


class FakePg:
    """Refuses every PostgreSQL session with the error of `sqlstate` in
    `lang` ("en" or "de"), or with message/detail given explicitly."""

    def __init__(self, sqlstate, lang="en", message=None, detail=None,
                 ask_password=False, host="127.0.0.1"):
        self.sqlstate = sqlstate
        self.lang = lang
        self.host = host
        self.ask_password = ask_password
        entry = MESSAGES.get(sqlstate, {})
        sev, msg, det = entry.get(lang, ("FATAL", message or "error", detail))
        self.severity = sev
        self.message = message if message is not None else msg
        self.detail = detail if detail is not None else det
        self.where = entry.get("where")
        self.startups = []
        self.ssl_requests = 0
        self.passwords = 0
        self.errors = []
        self._stop = False
        self.sock = listen_low(host, 16)
        self.port = self.sock.getsockname()[1]
        self._t = serve_in_thread(self.sock, self._serve_one, lambda: self._stop)

    def url(self, db, user="mobius_app", password=None, **params):
        cred = user + (":" + password if password else "")
        q = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{cred}@{self.host}:{self.port}/{db}" + \
            ("?" + q if q else "")

    # -- the server ---------------------------------------------------------
    def _serve_one(self, c):
        c.settimeout(5)
        try:
            self._session(c)
        except (OSError, ConnectionError, ValueError) as e:
            self.errors.append(repr(e))
        finally:
            c.close()

    def _startup(self, c):
        """Reads packets until the startup packet; its parameters."""
        while True:
            (length,) = struct.unpack("!i", _recv_exact(c, 4))
            if length < 8 or length > 10000:
                raise ValueError(f"bad startup length {length}")
            body = _recv_exact(c, length - 4)
            (code,) = struct.unpack("!i", body[:4])
            if code in (SSL_REQUEST, GSSENC_REQUEST):
                if code == SSL_REQUEST:
                    self.ssl_requests += 1
                c.sendall(b"N")
                continue
            if code == CANCEL_REQUEST:
                raise ValueError("cancel request")
            if code != PROTOCOL_3:
                raise ValueError(f"unknown protocol {code}")
            parts = body[4:].split(b"\0")
            params = {}
            for k, v in zip(parts[0::2], parts[1::2]):
                if k:
                    params[k.decode()] = v.decode("utf-8", "replace")
            return params

    def _session(self, c):
        params = self._startup(c)
        self.startups.append(params)
        if self.ask_password:
            c.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password
            kind = _recv_exact(c, 1)
            (length,) = struct.unpack("!i", _recv_exact(c, 4))
            _recv_exact(c, length - 4)  # the password: never kept
            if kind == b"p":
                self.passwords += 1
        fmt = dict(user=params.get("user", ""),
                   database=params.get("database", params.get("user", "")),
                   host=self.host)
        c.sendall(error_response(
            self.sqlstate, self.severity, self.message.format(**fmt),
            self.detail, self.where))
        # A real server closes right after a FATAL: so do we.

    def close(self):
        self._stop = True
        self._t.join(timeout=2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- variants of the harness's real server ---------------------------------

class PgReplica(PgServer):
    """A hot standby of `primary` (a running harness PgServer): a base
    backup taken with pg_basebackup -R (standby.signal written, streaming
    from the primary), started with hot_standby=on.  Same roles, passwords
    and databases as the primary, read-only: pg_is_in_recovery() is true."""

    def __init__(self, primary):
        super().__init__()
        self.primary = primary
        self.passwords = dict(primary.passwords)
        self.extra_args = ["-c", "hot_standby=on"]

    def _initdb(self):
        os.mkdir(self.socket_dir)
        self._chown(self.dir)
        self._chown(self.socket_dir)
        env = dict(os.environ, PGPASSWORD=self.passwords["postgres"])
        r = subprocess.run(self._cmd([
            os.path.join(PG_BIN, "pg_basebackup"), "-D", self.data,
            "-h", self.primary.socket_dir, "-p", str(self.primary.port),
            "-U", "postgres", "-X", "stream", "-R", "--no-sync",
            "--checkpoint=fast"]), capture_output=True, text=True, env=env,
            timeout=120)
        if r.returncode != 0:
            raise RuntimeError("pg_basebackup failed: " + r.stdout + r.stderr)
        if not os.path.exists(os.path.join(self.data, "standby.signal")):
            raise RuntimeError("pg_basebackup -R wrote no standby.signal")

    def _setup(self):
        # Everything came from the primary; wait until the standby answers
        # queries (pg_isready says yes once it is consistent).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.sql("postgres", "SELECT pg_is_in_recovery()").strip() == "t":
                    return
            except RuntimeError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the standby did not come up in recovery:\n"
                           + self.log_text()[-2000:])


class PgTrustServer(PgServer):
    """The harness server with `trust` for TCP from 127.0.0.1 (the unix
    socket keeps scram-sha-256 for the harness's own psql): anyone who
    reaches the port gets in as any role without a password."""

    def _initdb(self):
        super()._initdb()
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba, "w") as f:
            f.write("local all all scram-sha-256\n"
                    "host all all 127.0.0.1/32 trust\n")
        self._chown(hba)


class _Lang:
    """lc_messages of a server: "en" (C) or "de" (de_DE.UTF-8, found
    through LOCPATH=locpath, a folder made by compile_locale())."""

    def _lang_init(self, lang, locpath):
        if lang not in ("en", "de"):
            raise ValueError(lang)
        if lang == "de" and not locpath:
            raise ValueError("German needs a compiled locale (locpath)")
        self.lang = lang
        self.locpath = locpath
        self.extra_args = self.extra_args + [
            "-c", "lc_messages=" + ("de_DE.UTF-8" if lang == "de" else "C")]

    def _cmd(self, argv):
        if not self.locpath:
            return super()._cmd(argv)
        return ["env", "LOCPATH=" + self.locpath] + super()._cmd(argv)


class PgLangServer(_Lang, PgServer):
    """The harness server (same roles, databases and fixtures) with
    lc_messages in `lang`: "de" makes every message it sends, errors at
    connect included, German; "en" keeps the server's own English.  Both
    get the same pg_hba.conf, so the two can be compared error for error:

        local all all scram-sha-256
        local replication all scram-sha-256     (PgStuckStandby's backup)
        host pf_rejected mobius_ro 127.0.0.1/32 reject      -> 28000
        host all mobius_app,mobius_ro,pf_limited,ghost 127.0.0.1/32 scram-sha-256

    (any other role over TCP finds no pg_hba.conf entry: 28000)."""

    HBA = ("local all all scram-sha-256\n"
           "local replication all scram-sha-256\n"
           "host pf_rejected mobius_ro 127.0.0.1/32 reject\n"
           "host all mobius_app,mobius_ro,pf_limited,ghost 127.0.0.1/32"
           " scram-sha-256\n")

    def __init__(self, lang, locpath=None):
        super().__init__()
        self._lang_init(lang, locpath)

    def _initdb(self):
        super()._initdb()
        hba = os.path.join(self.data, "pg_hba.conf")
        with open(hba, "w") as f:
            f.write(self.HBA)
        self._chown(hba)


class PgStuckStandby(_Lang, PgReplica):
    """A standby that never finishes starting: a base backup of `primary`
    taken WITHOUT its WAL (pg_basebackup -X none), standby.signal, and no
    primary_conninfo nor restore_command, so the server waits for WAL
    forever and answers every connection with 57P03 ("the database system
    is starting up"), in lc_messages `lang` (see _Lang)."""

    def __init__(self, primary, lang="en", locpath=None):
        super().__init__(primary)
        self.extra_args = []
        self._lang_init(lang, locpath)

    def _initdb(self):
        os.mkdir(self.socket_dir)
        self._chown(self.dir)
        self._chown(self.socket_dir)
        env = dict(os.environ, PGPASSWORD=self.passwords["postgres"])
        r = subprocess.run(self._cmd([
            os.path.join(PG_BIN, "pg_basebackup"), "-D", self.data,
            "-h", self.primary.socket_dir, "-p", str(self.primary.port),
            "-U", "postgres", "-X", "none", "--no-sync",
            "--checkpoint=fast"]), capture_output=True, text=True, env=env,
            timeout=120)
        if r.returncode != 0:
            raise RuntimeError("pg_basebackup failed: " + r.stdout + r.stderr)
        signal_file = os.path.join(self.data, "standby.signal")
        open(signal_file, "w").close()
        self._chown(signal_file)

    def _wait_ready(self):
        """Up when pg_isready says "rejecting connections" (exit 1)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q",
                                "-h", self.host, "-p", str(self.port)])
            if r.returncode == 1:
                return True
            time.sleep(0.1)
        raise RuntimeError("the standby never answered:\n" + self.log_text()[-2000:])

    def _setup(self):
        pass


def serve(server):
    """Fixture body: start server, yield it, stop it (dirs removed)."""
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


def compile_locale(directory):
    """Compiles de_DE.UTF-8 into directory (for LOCPATH=directory)."""
    r = subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                        os.path.join(directory, "de_DE.UTF-8")],
                       capture_output=True, text=True, timeout=120)
    if not os.path.isfile(os.path.join(directory, "de_DE.UTF-8", "LC_CTYPE")):
        raise RuntimeError("localedef de_DE.UTF-8 failed: " + r.stdout + r.stderr)
    return directory


def tmp_locale_dir():
    """A new temporary directory holding a compiled de_DE.UTF-8 (for
    LOCPATH); the caller removes it."""
    d = tempfile.mkdtemp(prefix="pf-locale-")
    os.chmod(d, 0o755)  # the server (user postgres when we are root) reads it
    try:
        return compile_locale(d)
    except Exception:
        shutil.rmtree(d, ignore_errors=True)
        raise
