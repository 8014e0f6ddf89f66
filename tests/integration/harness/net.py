"""Loopback networking helpers: free ports below 32768, a tarpit (accepts
and never answers), a listener whose accept queue is full (connects time
out), and a refused port.  Traffic goes to 127.0.0.1 only."""
import contextlib
import random
import socket
import threading
import time

import pytest

PORT_LO, PORT_HI = 20000, 32000


def free_port(host="127.0.0.1"):
    """A TCP port below 32768 that is free now (bound and released)."""
    for _ in range(500):
        port = random.randint(PORT_LO, PORT_HI)
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


def refused_port(host="127.0.0.1"):
    """A port nothing listens on: connects are refused."""
    return free_port(host)


class Tarpit:
    """Accepts connections and never sends a byte.  Keeps accepted sockets
    open until closed, so the peer sees a silent server, not a reset."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = None
        for _ in range(100):
            port = free_port(host)
            try:
                self.sock.bind((host, port))
                self.port = port
                break
            except OSError:
                continue
        if self.port is None:
            raise RuntimeError("tarpit: no port")
        self.sock.listen(1024)
        self.sock.settimeout(0.2)
        self.conns = []
        self.accepted = 0
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(c)
            # Drop sockets the peer already closed so fds do not pile up.
            if len(self.conns) > 2000:
                old, self.conns = self.conns[:1000], self.conns[1000:]
                for o in old:
                    o.close()

    def close(self):
        self._stop = True
        self._t.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


class BlackHole:
    """A listener that never accepts, with a full accept queue: new
    connects get no SYN-ACK and time out, like an unroutable private IP."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.port = free_port(host)
        self.sock.bind((host, self.port))
        self.sock.listen(0)
        self.fillers = []
        # Fill the backlog: with listen(0) Linux queues one connection;
        # further SYNs are dropped, so later connects hang.
        for _ in range(8):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex((host, self.port))
            self.fillers.append(f)
        time.sleep(0.1)

    def close(self):
        for f in self.fillers:
            f.close()
        self.sock.close()


@pytest.fixture
def tarpit():
    t = Tarpit()
    yield t
    t.close()


@pytest.fixture
def blackhole():
    b = BlackHole()
    yield b
    b.close()
