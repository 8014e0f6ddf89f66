"""Real redis-server instances for integration tests (Debian's redis-server).

Each server runs on 127.0.0.1, on a free port below 32768, in its own
temporary directory, with persistence off (`save ""`, `appendonly no`).
A server that cannot start raises: the test fails, it is never skipped.

Fixtures (registered in conftest.py's pytest_plugins):

    redis           a server without a password
    redis_auth      a server with requirepass PASSWORD and an ACL user
                    ACL_USER / ACL_PASSWORD allowed everything
    redis_factory   redis_factory(password=None, acl=False) -> a new,
                    independent RedisServer; all are stopped at teardown

RedisServer API:

    .host, .port                     where it listens
    .url(password=None, db=0, user=None)   "redis://..." (percent-encoded)
    .cmd("LPUSH", "k", "v")          one command via a tiny RESP client,
                                     authenticated as the admin; returns
                                     str / int / list / None, raises
                                     RedisError (resp.RespError) on an
                                     error reply
    .push(key, n)                    RPUSH n items onto list key
    .stop() / .start()               SIGTERM and wait / start again, same port
    .pause() / .resume()             SIGSTOP / SIGCONT: accepts, never answers
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

from harness.net import free_port

# The RESP codec is shared with the Chat API fixture (tests/fixtures).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "fixtures"))
from resp import Reader, RespError as RedisError, encode  # noqa: E402

PASSWORD = "pf-redis-pw"
ACL_USER = "app"
ACL_PASSWORD = "app-pw-7"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One redis-server process; see the module docstring."""

    def __init__(self, password=None, acl=False, port=None, databases=16):
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.password = password
        self.acl = acl
        self.databases = databases
        self.dir = tempfile.mkdtemp(prefix="pf-redis-")
        self.proc = None
        self.paused = False

    # -- lifecycle ---------------------------------------------------------
    def _write_conf(self):
        lines = [
            "bind 127.0.0.1",
            "port %d" % self.port,
            "dir %s" % self.dir,
            'save ""',
            "appendonly no",
            "daemonize no",
            "databases %d" % self.databases,
            "logfile %s" % os.path.join(self.dir, "redis.log"),
        ]
        if self.password:
            lines.append("requirepass %s" % self.password)
        if self.acl:
            lines.append("user %s on >%s ~* &* +@all" % (ACL_USER, ACL_PASSWORD))
        path = os.path.join(self.dir, "redis.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, wait=5.0):
        """Starts the server (same port as before) and waits until it answers."""
        if self.proc and self.proc.poll() is None:
            return self
        conf = self._write_conf()
        self.proc = subprocess.Popen([REDIS_SERVER, conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + wait
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except (OSError, ConnectionError, RedisError) as e:
                last = e
            time.sleep(0.05)
        log = ""
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                log = f.read()[-2000:]
        except OSError:
            pass
        self.stop()
        raise RuntimeError("redis-server on port %d did not start (%s): %s"
                           % (self.port, last, log))

    def stop(self):
        """SIGTERM (after SIGCONT if paused) and wait for the exit."""
        if not self.proc:
            return
        if self.paused:
            self.resume()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def pause(self):
        """SIGSTOP: the kernel still accepts connections, nobody answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- client ------------------------------------------------------------
    def url(self, password=None, db=0, user=None):
        auth = ""
        if password is not None:
            auth = "%s:%s@" % (urllib.parse.quote(user or "", safe=""),
                               urllib.parse.quote(password, safe=""))
        return "redis://%s%s:%d/%d" % (auth, self.host, self.port, db)

    def cmd(self, *args, db=0):
        """Runs one command as the admin (AUTH first when needed)."""
        cmds = []
        if self.password:
            cmds.append(("AUTH", self.password))
        if db:
            cmds.append(("SELECT", db))
        cmds.append(args)
        with socket.create_connection((self.host, self.port), timeout=3) as s:
            s.sendall(b"".join(encode(c) for c in cmds))
            r = Reader(s)
            replies = [r.reply() for _ in cmds]
        for rep in replies:
            if isinstance(rep, RedisError):
                raise rep
        return replies[-1]

    def push(self, key, n, db=0):
        """RPUSH n items onto key, in batches; returns the new length."""
        length = 0
        for start in range(0, n, 1000):
            items = ["job-%d" % i for i in range(start, min(n, start + 1000))]
            length = self.cmd("RPUSH", key, *items, db=db)
        return length


@pytest.fixture
def redis_factory():
    servers = []

    def make(password=None, acl=False, databases=16):
        last = None
        for _ in range(3):  # a port taken between free_port() and bind()
            srv = RedisServer(password=password, acl=acl, databases=databases)
            try:
                srv.start()
            except RuntimeError as e:
                srv.close()
                last = e
                continue
            servers.append(srv)
            return srv
        raise last

    yield make
    for srv in servers:
        srv.close()


@pytest.fixture
def redis(redis_factory):
    return redis_factory()


@pytest.fixture
def redis_auth(redis_factory):
    return redis_factory(password=PASSWORD, acl=True)
