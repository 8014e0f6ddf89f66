"""The http kind against real servers on loopback: the Chat API fixture's
/health and /ready, plus a small in-process server for redirects, methods
and headers; refused, tarpit and black-hole peers for the failures; HTTPS
servers with the harness.tls test PKI for ca_file and the tls reason."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.chat import probe_once
from harness.net import free_port, refused_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, body=b"", extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        if self.path == "/redirect":
            return self._send(302, b"moved", [("Location", "http://127.0.0.1:1/x")])
        if self.path == "/echo":
            return self._send(200, json.dumps(dict(self.headers)).encode())
        if self.path == "/teapot":
            return self._send(418, b"I'm a teapot\n\x01\x02 with\tcontrol")
        if self.path == "/secret":
            return self._send(401, b"go away")
        if self.path == "/badutf8":
            return self._send(500, b"broken \xff\xfe\xc3( text \xed\xa0\x80 end")
        self._send(200, b"hello world")

    do_HEAD = do_GET

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        self._send(201, b"created")


@pytest.fixture
def web():
    srv = None
    for _ in range(5):
        try:
            srv = ThreadingHTTPServer(("127.0.0.1", free_port()), _Handler)
            break
        except OSError:
            continue
    if srv is None:
        pytest.fail("could not start the test HTTP server")
    srv.daemon_threads = True
    srv.seen = []
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True)
    t.start()
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    yield srv
    srv.shutdown()
    srv.server_close()


def run(check):
    rc, res, err = probe_once(dict(check, kind="http"))
    assert res is not None, err
    return rc, res


def test_health_and_ready_pass(chat_api):
    for path, needle in (("/health", "ok"), ("/ready", "ready")):
        rc, res = run({"url": chat_api.base_url + path, "body_contains": needle})
        assert rc == 0, res
        assert res["details"]["status_code"] == 200


def test_ready_is_not_proof_of_redis(chat_api, chat_redis):
    """The real /ready (app/main.py) runs SELECT 1 and reports the queue's
    type without contacting Redis: with Redis stopped it stays 200, so
    chat-api-ready passes while the redis check fails.  That is why the
    profile gates the Chat containers on the redis check, not on /ready.
    /ready does fail when the API's database is down."""
    ready = {"url": chat_api.base_url + "/ready", "body_contains": "ready"}
    redis = {"kind": "redis", "url": chat_redis.url(), "timeout": "2s"}
    rc, res, err = probe_once(redis)
    assert rc == 0, (res, err)
    chat_redis.stop()
    try:
        rc, res = run(ready)
        assert rc == 0 and res["details"]["status_code"] == 200, res
        rc, res, err = probe_once(redis)
        assert rc == 1 and res["reason"] == "connect_refused", (res, err)
    finally:
        chat_redis.start()
    chat_api.control(db="down")
    try:
        rc, res = run(ready)
        assert rc == 1 and res["reason"] == "http_status", res
        assert "503" in res["error"] and "200-299" in res["error"], res
        assert res["details"]["status_code"] == 503
    finally:
        chat_api.control(db="up")
    rc, res = run(ready)
    assert rc == 0, res


def test_expect_status_mismatch_and_forms(web):
    rc, res = run({"url": web.url + "/teapot"})
    assert rc == 1 and res["reason"] == "http_status", res
    assert "418" in res["error"]
    assert "\n" not in res["error"] and "\x01" not in res["error"]
    for expect in (418, "418", "4xx", "400-499", [200, "418"]):
        rc, res = run({"url": web.url + "/teapot", "expect_status": expect})
        assert rc == 0, (expect, res)
    rc, res = run({"url": web.url + "/", "expect_status": [201, "3xx"]})
    assert rc == 1 and "201, 300-399" in res["error"], res


def test_401_is_auth(web):
    rc, res = run({"url": web.url + "/secret"})
    assert rc == 1 and res["reason"] == "auth", res


def test_redirect_is_not_followed(web):
    rc, res = run({"url": web.url + "/redirect"})
    assert rc == 1 and res["reason"] == "http_status", res
    assert "302" in res["error"]
    rc, res = run({"url": web.url + "/redirect", "expect_status": "3xx"})
    assert rc == 0, res
    assert [s[1] for s in web.seen] == ["/redirect", "/redirect"]


def test_body_contains(web):
    rc, res = run({"url": web.url + "/", "body_contains": "hello"})
    assert rc == 0, res
    rc, res = run({"url": web.url + "/", "body_contains": "goodbye"})
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "goodbye" in res["error"] and "hello world" in res["error"]


def test_methods_and_headers(web):
    rc, res = run({"url": web.url + "/", "method": "HEAD"})
    assert rc == 0, res
    rc, res = run({"url": web.url + "/", "method": "POST", "expect_status": 201})
    assert rc == 0, res
    rc, res = run({"url": web.url + "/echo", "headers": {"X-Probe": "yes"},
                   "body_contains": "yes"})
    assert rc == 0, res
    assert [s[0] for s in web.seen] == ["HEAD", "POST", "GET"]
    assert web.seen[2][2].get("X-Probe") == "yes"


def test_body_over_cap(web):
    rc, res = run({"url": web.url + "/", "max_body": 5})
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "body over 5 bytes" in res["error"]


def test_refused():
    rc, res = run({"url": "http://127.0.0.1:%d/health" % refused_port()})
    assert rc == 1 and res["reason"] == "connect_refused", res


def test_tarpit_timeout(tarpit):
    rc, res = run({"url": "http://127.0.0.1:%d/health" % tarpit.port,
                   "timeout": "500ms"})
    assert rc == 1 and res["reason"] == "timeout", res
    assert 400 <= res["duration_ms"] < 1500


def test_blackhole_connect_timeout(blackhole):
    rc, res = run({"url": "http://127.0.0.1:%d/health" % blackhole.port,
                   "timeout": "500ms"})
    assert rc == 1 and res["reason"] == "connect_timeout", res


def test_invalid_utf8_from_a_peer_never_reaches_status_raw(web, daemon_factory):
    d = daemon_factory({"checks": [{"name": "bad", "kind": "http", "interval": "300ms",
                                    "timeout": "250ms", "url": web.url + "/badutf8"}]})
    d.wait_status("bad", "fail")
    for path in ("/status", "/status/bad"):
        body = d.get(path)[2]
        text = body.decode("utf-8")     # strict: raises on invalid UTF-8
        assert "broken" in text and "end" in text, text
    d.stop()
    d.stdout().encode("utf-8")
    for line in open(d.stdout_path, "rb"):
        line.decode("utf-8")


def test_proxy_environment_is_not_used(web, daemon_factory):
    proxy = "http://127.0.0.1:%d" % refused_port()
    env = {k: proxy for k in ("http_proxy", "HTTP_PROXY", "https_proxy",
                              "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}
    d = daemon_factory({"checks": [{"name": "direct", "kind": "http", "interval": "300ms",
                                    "timeout": "250ms", "url": web.url + "/"}]}, env=env)
    d.wait_status("direct", "pass")


def test_config_errors_exit_2():
    for bad in ({"url": "ftp://x/"}, {"url": "http://"}, {},
                {"url": "http://x/", "method": "PUT"},
                {"url": "http://x/", "method": "HEAD", "body_contains": "a"},
                {"url": "http://x/", "expect_status": "abc"},
                {"url": "http://x/", "expect_status": 99},
                {"url": "http://x/", "expect_status": 1e300},
                {"url": "http://x/", "expect_status": []},
                {"url": "http://x/", "expect_status": "299-200"}):
        rc, res, err = probe_once(dict(bad, kind="http"))
        assert rc == 2, (bad, res, err)
        assert "check." in err


# ---- HTTPS (harness.tls): verification stays on; ca_file trusts a
# private CA instead of the system store ----

def test_https_with_ca_file_passes(https_server, tls_pki):
    srv = https_server()
    for host in ("localhost", "127.0.0.1"):
        rc, res = run({"url": srv.url(host), "ca_file": tls_pki.ca,
                       "body_contains": "tls ok"})
        assert rc == 0, (host, res)
        assert res["details"]["status_code"] == 200
    assert srv.handshakes == 2 and srv.requests == 2


@pytest.mark.parametrize("case,words,hint", [
    ("system store", "certificate", "set ca_file to that CA's PEM bundle"),
    ("other CA", "certificate", "does not chain to the CA in ca_file"),
    ("wrong name", "subject name", "subjectAltName"),
    ("expired", "expired", "validity period"),
])
def test_https_untrusted_is_tls(https_server, tls_pki, case, words, hint):
    cert = {"wrong name": (tls_pki.wrong, tls_pki.wrong_key),
            "expired": (tls_pki.expired, tls_pki.expired_key)}.get(case, (None, None))
    srv = https_server(*cert)
    check = {"url": srv.url("localhost")}
    if case != "system store":
        check["ca_file"] = tls_pki.other_ca if case == "other CA" else tls_pki.ca
    rc, res = run(check)
    assert rc == 1 and res["reason"] == "tls", res
    assert words in res["error"], res
    assert hint in res["hint"], res
    assert res["details"]["status_code"] is None
    # The client hung up before sending a request (curl checks the name
    # after OpenSSL's handshake, so that one completes on the server side).
    assert srv.requests == 0


def test_https_url_on_plain_http_server_is_tls(web, tls_pki):
    rc, res = run({"url": web.url.replace("http://", "https://") + "/",
                   "ca_file": tls_pki.ca})
    assert rc == 1 and res["reason"] == "tls", res
    assert "use http://" in res["hint"], res
    assert web.seen == []


def test_ca_file_must_be_a_readable_pem_bundle(tls_pki):
    for ca_file, words in ((tls_pki.path("absent.pem"), "cannot be read"),
                           (tls_pki.dir, "not a regular file"),
                           (tls_pki.server_key, "holds no PEM certificate"),
                           ("", "must not be empty")):
        rc, res, err = probe_once({"kind": "http", "url": "https://x/",
                                   "ca_file": ca_file})
        assert rc == 2, (ca_file, res, err)
        assert "check.ca_file" in err and words in err, err
