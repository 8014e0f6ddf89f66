"""Loopback networking helpers: free ports below 32768, a tarpit (accepts
and never answers), a listener whose accept queue is full (connects time
out), and a refused port.  Traffic goes to 127.0.0.1 only."""
import contextlib
import os
import struct
import tempfile
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


def listen_low(host="127.0.0.1", backlog=64):
    """A listening TCP socket on a free port below 32768 (the port is
    sock.getsockname()[1])."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, free_port(host)))
        except OSError:
            s.close()
            continue
        s.listen(backlog)
        return s
    raise RuntimeError("no free port below 32768")


def recv_all(sock, limit=10_000_000):
    """Everything the peer sends until it closes (at most limit bytes)."""
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def refused_port(host="127.0.0.1"):
    """A port nothing listens on: connects are refused."""
    return free_port(host)


def serve_in_thread(sock, handle, stopped):
    """Starts a daemon thread accepting on sock (given a short timeout so
    that stopped() is polled) and calling handle(conn) for each connection,
    until stopped() is true.  The one accept loop of the test servers."""
    sock.settimeout(0.2)

    def run():
        while not stopped():
            try:
                c, _ = sock.accept()
            except OSError:
                continue
            handle(c)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


class Tarpit:
    """Accepts connections and never sends a byte.  Keeps accepted sockets
    open until closed, so the peer sees a silent server, not a reset."""

    def __init__(self, host="127.0.0.1"):
        self.sock = listen_low(host, 1024)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self._stop = False
        self._t = serve_in_thread(self.sock, self._keep, lambda: self._stop)

    def _keep(self, c):
        self.accepted += 1
        self.conns.append(c)
        if len(self.conns) > 256 and self.accepted % 64 == 0:
            self._sweep()

    def _sweep(self):
        """Closes our end of connections the peer already closed (EOF), so
        descriptors do not pile up over many probe cycles; live ones, silent
        or holding unread requests, are kept."""
        live = []
        for c in self.conns:
            try:
                gone = c.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                c.close()
            else:
                live.append(c)
        self.conns = live

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


class FakeDNS:
    """A UDP DNS server on 127.0.0.1 for the daemon's evdns resolver, so no
    query ever leaves the machine (the system resolv.conf may name a
    private-range nameserver).  Names under .loopback.test answer A
    127.0.0.1 (no AAAA); every other name is NXDOMAIN."""

    SUFFIX = ".loopback.test"

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(100):
            self.port = free_port()
            try:
                self.sock.bind(("127.0.0.1", self.port))
                break
            except OSError:
                continue
        self.sock.settimeout(0.2)
        self.queries = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    @staticmethod
    def _qname(pkt):
        labels, i = [], 12
        while i < len(pkt) and pkt[i]:
            n = pkt[i]
            labels.append(pkt[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        return ".".join(labels).lower(), i + 1

    def answer(self, pkt):
        qid, flags = struct.unpack("!HH", pkt[:4])
        name, end = self._qname(pkt)
        qtype = struct.unpack("!H", pkt[end:end + 2])[0] if len(pkt) >= end + 4 else 0
        question = pkt[12:end + 4]
        self.queries.append((name, qtype))
        known = name.endswith(self.SUFFIX)
        rcode = 0 if known else 3
        answers = b""
        if known and qtype == 1:
            answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4)
                       + socket.inet_aton("127.0.0.1"))
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode,
                          1, 1 if answers else 0, 0, 0)
        return hdr + question + answers

    def _run(self):
        while not self._stop:
            try:
                pkt, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(pkt) > 12:
                self.sock.sendto(self.answer(pkt), peer)

    def close(self):
        self._stop = True
        self._t.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="session", autouse=True)
def fake_dns():
    """Every preflightd and probe_once started by the tests resolves through
    FakeDNS (PREFLIGHT_RESOLV_CONF is inherited by subprocesses)."""
    dns = FakeDNS()
    d = tempfile.mkdtemp(prefix="pf-dns-")
    path = os.path.join(d, "resolv.conf")
    with open(path, "w") as f:
        f.write("nameserver 127.0.0.1:%d\noptions timeout:1 attempts:1\n" % dns.port)
    old = os.environ.get("PREFLIGHT_RESOLV_CONF")
    os.environ["PREFLIGHT_RESOLV_CONF"] = path
    yield dns
    if old is None:
        os.environ.pop("PREFLIGHT_RESOLV_CONF", None)
    else:
        os.environ["PREFLIGHT_RESOLV_CONF"] = old
    dns.close()
    os.remove(path)
    os.rmdir(d)


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
