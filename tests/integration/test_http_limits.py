"""The HTTP surface under descriptor exhaustion: a flood of idle clients
past the process's fd limit must not spin the loop (libevent retries a
failing accept() at once, forever, unless told otherwise) nor stop the
daemon from serving and probing once the flood is gone."""
import json
import os
import re
import signal
import socket
import subprocess
import time

from harness.daemon import loop_turns, preflightd_bin, sanitizer_errors, turns_over
from harness.net import free_port, recv_all

FD_LIMIT = 96


def _cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime


def _get(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
    data = recv_all(s)
    s.close()
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


def test_accept_pauses_when_out_of_descriptors(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    cfg = {"checks": [{"name": "up", "kind": "tcp", "interval": "500ms", "timeout": "300ms",
                       "address": "127.0.0.1:%d" % listener.getsockname()[1]}]}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    port = free_port()
    err = open(tmp_path / "stderr", "wb")
    out = open(tmp_path / "stdout", "wb")
    # `ulimit -n` lowers the hard limit too, so the daemon cannot raise it.
    proc = subprocess.Popen(
        ["bash", "-c", 'ulimit -n %d && exec "$@"' % FD_LIMIT, "sh", preflightd_bin(),
         "--config", str(tmp_path / "c.json"), "--listen", "127.0.0.1:%d" % port],
        stdout=out, stderr=err)
    flood = []
    try:
        for _ in range(100):
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        for _ in range(FD_LIMIT * 2):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            flood.append(s)
        time.sleep(0.5)
        t0 = _cpu_ticks(proc.pid)
        time.sleep(2.0)
        used = (_cpu_ticks(proc.pid) - t0) / os.sysconf("SC_CLK_TCK") / 2.0
        # Spinning on accept() costs most of a core; pausing costs next to nothing.
        assert used < 0.2, "daemon used %.0f%% of a core while out of fds" % (used * 100)
        for s in flood:
            s.close()
        flood = []
        time.sleep(0.5)
        assert proc.poll() is None, "daemon exited: %s" % proc.returncode
        code, body = _get(port, "/status")
        assert code == 200
        status = json.loads(body)
        assert status["checks"]["up"]["status"] == "pass"
    finally:
        for s in flood:
            s.close()
        proc.terminate()
        rc = proc.wait(timeout=5)
        listener.close()
        out.close()
        err.close()
    assert rc == 0
    logs = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
    assert not sanitizer_errors(logs), logs
    # What happened is logged once as a structured line, not as libevent
    # noise: the cap (lowered to leave descriptors to the probes) sheds the
    # oldest connections, or, out of descriptors, accepting pauses.
    warned = [json.loads(line) for line in logs.splitlines()
              if line.startswith("{") and ("pausing accept" in line or
                                           "closing the oldest" in line)]
    assert warned and warned[0]["severity"] == "WARNING", logs[-2000:]
    assert "[warn]" not in logs, logs[-2000:]


def test_a_malformed_query_gets_exactly_one_answer(daemon_factory):
    d = daemon_factory({"checks": []})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"GET /status?abc HTTP/1.1\r\nHost: x\r\n\r\n")
    data = recv_all(s)
    s.close()
    assert data.startswith(b"HTTP/1.1 400") and data.count(b"HTTP/1.1 ") == 1, data


def test_head_answers_headers_only_and_keeps_the_connection(daemon_factory):
    d = daemon_factory({"checks": []})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = recv_all(s)
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length:")]
    status_len = len(d.get("/status")[2])
    assert length and abs(length[0] - status_len) < 64, (length, status_len)
    # no body after the HEAD answer: the next bytes are the second answer
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert rest.endswith(b"\r\n\r\nok\n"), rest[-80:]


ABUSE = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET /status?group=%ZZ%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /" + b"x" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /status/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
    b"POST /run?check=" + b"%41" * 3000 + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    b"POST /run HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"a" * 70000,
    b"POST /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 2000 + b"\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 50,  # pipelined
    b"GET /metrics?" + b"&" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
]


def _send_raw(port, data):
    """Sends data, half-closes, returns what came back (b"" when the daemon
    closed the connection on us, which is a fine answer to garbage)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    got = b""
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        # not recv_all: a reset after part of an answer keeps that part
        while len(got) < 10_000_000:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:  # reset, broken pipe, not connected: closed on us
        pass
    finally:
        s.close()
    return got


def test_malformed_requests_get_an_answer_or_a_close(daemon_factory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    d = daemon_factory({"checks": [{"name": "up", "kind": "tcp",
                                    "address": "127.0.0.1:%d" % listener.getsockname()[1]}]})
    try:
        for data in ABUSE:
            reply = _send_raw(d.port, data)
            if reply:
                status = int(reply.split(b" ", 2)[1])
                assert 200 <= status < 600, reply[:200]
                # No request can make the daemon echo arbitrary input back
                # as a success on the routes that matter.
                if data.startswith((b"\x00", b"BREW", b"GET /status/..")):
                    assert status >= 400, reply[:200]
            assert d.proc.poll() is None, "daemon died on %r" % data[:60]
        assert d.get("/healthz")[0] == 200
        assert d.get("/status")[0] == 200
        # 50 pipelined requests on one connection all get answers (the
        # client keeps its side open, as pipelining clients do)
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.sendall(ABUSE[14])
        replies, deadline = b"", time.monotonic() + 5
        while replies.count(b"HTTP/1.1 200") < 50 and time.monotonic() < deadline:
            replies += s.recv(65536)
        s.close()
        assert replies.count(b"HTTP/1.1 200") == 50
    finally:
        listener.close()
    d.check_clean()


def _target(backlog):
    """A local listener for tcp checks (the kernel completes their
    handshakes; nothing accepts) and its address."""
    s = socket.socket()
    s.bind(("127.0.0.1", free_port()))
    s.listen(backlog)
    return s, "127.0.0.1:%d" % s.getsockname()[1]


def _status_readers(d, k):
    """k clients with a 4 KB receive buffer, each having asked for
    /status: [socket, bytes so far]."""
    readers = []
    for _ in range(k):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", d.port))
        s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        readers.append([s, b""])
    return readers


def _take(r, chunk, n):
    """Reads up to chunk more bytes for reader r; True (and closes it) once
    its whole body is in: exactly its Content-Length, JSON, n checks."""
    r[1] += r[0].recv(chunk)
    head, _, body = r[1].partition(b"\r\n\r\n")
    m = re.search(rb"Content-Length: (\d+)", head)
    if not m or len(body) < int(m.group(1)):
        return False
    assert len(body) == int(m.group(1))
    assert len(json.loads(body)["checks"]) == n
    r[0].close()
    return True


def test_slow_readers_get_whole_bodies_while_status_changes(daemon_factory):
    """Responses reference the cached body instead of copying it: a client
    that reads slowly must still get the whole body it was promised, byte
    for byte, while results keep replacing the cache underneath it."""
    listener, addr = _target(512)
    d = daemon_factory({"checks": [
        {"name": "svc-%03d" % i, "kind": "tcp", "address": addr,
         "interval": "200ms", "timeout": "150ms"} for i in range(300)]})
    try:
        time.sleep(1.0)
        readers = _status_readers(d, 8)
        deadline = time.monotonic() + 20
        while readers and time.monotonic() < deadline:
            for r in list(readers):
                if _take(r, 2048, 300):  # a trickle: the body outlives renders
                    readers.remove(r)
            time.sleep(0.01)
        assert not readers, "slow readers did not get their bodies in 20 s"
        assert d.get("/healthz")[0] == 200
    finally:
        listener.close()
    d.check_clean()


def test_large_status_streams_whole_bodies_to_slow_and_vanishing_readers(daemon_factory):
    """/status of more than 300 checks is streamed from the per-check
    fragments, ~256 KB at a time: slow readers still get the whole body
    they were promised (its length, valid JSON, every check) while results
    re-render fragments and a SIGHUP drops them all mid-stream; a client
    that leaves mid-body and a HEAD cost nothing (ASan: no leak, no use
    of a freed fragment)."""
    listener, addr = _target(1024)
    n = 1500
    d = daemon_factory({"checks": [
        {"name": "big-%04d-%s" % (i, "x" * 100), "kind": "tcp", "address": addr,
         "interval": "300ms", "timeout": "200ms"} for i in range(n)]})
    try:
        d.wait_for(lambda: len(d.get_json("/status")[1]["checks"]) == n, timeout=30,
                   what="a first /status")
        readers = _status_readers(d, 7)
        leaver = socket.create_connection(("127.0.0.1", d.port))
        leaver.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        leaver.recv(10000)
        leaver.close()  # mid-body
        code, hdrs, body = d.request("HEAD", "/status")
        assert code == 200 and body == b"" and int(hdrs["content-length"]) > 300 * n
        deadline = time.monotonic() + 40
        reloaded = False
        while readers and time.monotonic() < deadline:
            for r in list(readers):
                if _take(r, 8192, n):
                    readers.remove(r)
                elif not reloaded and len(r[1]) > 100000:
                    d.signal(signal.SIGHUP)  # the fragments go mid-stream
                    reloaded = True
            time.sleep(0.002)
        assert not readers, "slow readers did not get their bodies in 40 s"
        assert reloaded
        assert d.get("/healthz")[0] == 200
        assert len(d.get_json("/status")[1]["checks"]) == n
    finally:
        listener.close()
    d.check_clean()


def _scrape_concurrently(d, n_clients, during=None):
    """n_clients /metrics requests at once; `during()` runs once they are
    sent.  Returns the bodies."""
    socks = []
    for _ in range(n_clients):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        socks.append(s)
    if during:
        during()
    bodies = [recv_all(s).partition(b"\r\n\r\n")[2].decode() for s in socks]
    for s in socks:
        s.close()
    return bodies


def _assert_whole(body, n):
    lines = body.splitlines()
    assert sum(l.startswith("preflight_check_up{") for l in lines) == n
    types = [l.split()[2] for l in lines if l.startswith("# TYPE ")]
    assert len(types) == len(set(types)), "a family split in two"
    assert lines[-1].startswith("preflight_build_info{")


def test_large_metrics_render_in_steps_and_survive_a_reload(daemon_factory):
    """/metrics of 3,000 checks is ~5 MB; rendered in one go it held the
    loop ~80 ms (release build).  Now in steps of 1,000 lines a turn:
    concurrent scrapers each get a whole, well-formed body with no loop
    turn of 50 ms of CPU meanwhile (ASan included), and a SIGHUP in the
    middle of a render starts it over for the new configuration."""
    listener, addr = _target(512)
    n = 3000
    cfg = {"checks": [{"name": "m-%04d" % i, "kind": "tcp", "address": addr,
                       "interval": "1h", "timeout": "1s"} for i in range(n)]}
    d = daemon_factory(cfg)
    try:
        d.wait_for(lambda: b'preflight_check_runs_total{check="m-2999",kind="tcp"} 1'
                   in d.get("/metrics", timeout=60)[2], timeout=30,
                   what="every check ran once")
        time.sleep(1.1)  # the cached body expires
        before = loop_turns(d)[0]
        time.sleep(1.1)
        for body in _scrape_concurrently(d, 3):
            _assert_whole(body, n)
        after = loop_turns(d)[0]
        assert turns_over(before, after, 0.05) == 0, (before, after)
        time.sleep(1.1)
        for body in _scrape_concurrently(d, 2, lambda: d.signal(signal.SIGHUP)):
            _assert_whole(body, n)
        assert d.get("/healthz")[0] == 200
    finally:
        listener.close()
    d.check_clean()
