"""The secrets sweep (SPEC §4): every form of secret a config can hold,
each a distinctive marker, and every output the daemon and the command
line produce -- /status, /status/{check}, /metrics, the logs,
`preflightd config`, `preflightd check` (text and JSON).  No marker may
appear anywhere, whatever its length.

Forms: ?token= / ?key= / ?api_key= query parameters, sslpassword= in a
DSN, a 3-byte PostgreSQL password, http://TOKEN@host, a header whose name
does not say secret (X-Signature), a ${file:} content in a field that is
not a secret (a hint), a peer echoing the URL and headers it was sent
back in its error body, and a JWT echoed in a failed job's message.
"""
import json
import re

from harness.daemon import run_cli
from harness.net import listen_low, refused_port, serve_in_thread

MARKS = {
    "query_token": "qtok7f3a91",
    "query_key": "kkey51c2d0",
    "query_api_key": "akey9e77b4",
    "dsn_sslpassword": "sslp3d9e11",
    "pg_password": "Zq7",
    "userinfo": "utok84b2c6",
    "header": "xsig2a6f08",
    "file": "filec0ffee42",
    "jwt_secret": "jwtsecret5b19e3",
}
JWT_SECRET = MARKS["jwt_secret"]


def _echo_server():
    """An HTTP server that answers 500 with the request it got (request
    line and headers), as a careless service's error page might."""
    sock = listen_low()
    stop = []

    def handle(conn):
        with conn:
            conn.settimeout(2)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                return
            body = b"error handling: " + data
            conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                         % len(body) + body)
    serve_in_thread(sock, handle, lambda: bool(stop))
    return sock, stop


def _config(tmp_path, echo_port, chat):
    secret_file = tmp_path / "hint.txt"
    secret_file.write_text(MARKS["file"] + "\n")
    pg_port = refused_port()
    return {"checks": [
        {"name": "http-query", "kind": "http", "interval": "300ms", "timeout": "250ms",
         "url": "http://127.0.0.1:%d/x?token=%s&key=%s&api_key=%s" % (
             echo_port, MARKS["query_token"], MARKS["query_key"],
             MARKS["query_api_key"]),
         "hints": {"http_status": "${file:%s}" % secret_file}},
        {"name": "http-userinfo", "kind": "http", "interval": "300ms", "timeout": "250ms",
         "url": "http://%s@127.0.0.1:%d/y" % (MARKS["userinfo"], echo_port),
         "headers": {"X-Signature": MARKS["header"], "Accept": "text/plain"}},
        {"name": "pg-dsn", "kind": "postgres", "interval": "300ms", "timeout": "250ms",
         "url": "host=127.0.0.1 port=%d dbname=mobius_chat user=app password=%s "
                "sslpassword=%s" % (pg_port, MARKS["pg_password"],
                                     MARKS["dsn_sslpassword"])},
        dict(chat.check(jwt={"secret": JWT_SECRET,
                             "claims": {"sub": "preflightd", "type": "access"}}),
             name="chat-echo", interval="1s", timeout="3s"),
    ]}


def _leaks(text):
    found = []
    for form, mark in MARKS.items():
        # the 3-byte password: as a word, so that it is not found inside
        # hashes and base64 by chance
        pat = r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(mark) \
            if len(mark) < 6 else re.escape(mark)
        if re.search(pat, text):
            found.append(form)
    if re.search(r"eyJ[A-Za-z0-9_-]+\.eyJ", text):
        found.append("minted JWT")
    return found


def test_no_secret_reaches_any_output(tmp_path, daemon_factory, chat_api_factory):
    echo, stop = _echo_server()
    chat = chat_api_factory(outcome="failed_echo", auth_mode="required",
                            jwt_secret=JWT_SECRET)
    try:
        cfg = _config(tmp_path, echo.getsockname()[1], chat)
        d = daemon_factory(cfg, args=["--log-level", "debug"])
        for name in ("http-query", "http-userinfo", "pg-dsn"):
            d.wait_status(name, "fail")
        d.post("/run?check=chat-echo")
        d.wait_status("chat-echo", "fail", timeout=15)
        outputs = {}
        for path in ("/status", "/metrics", "/readyz", "/status/http-query",
                     "/status/http-userinfo", "/status/pg-dsn", "/status/chat-echo"):
            outputs[path] = d.get(path)[2].decode("utf-8")
        # what the peers sent back did reach the daemon, masked
        q = json.loads(outputs["/status/http-query"])
        assert "error handling" in q["error"] and "***" in q["error"], q["error"]
        assert q["hint"] == "***", q["hint"]
        u = json.loads(outputs["/status/http-userinfo"])
        assert "X-Signature: ***" in u["error"], u["error"]
        echo_job = json.loads(outputs["/status/chat-echo"])
        assert echo_job["reason"] == "job_failed" and "***" in echo_job["error"]
        d.stop()
        outputs["logs"] = d.stdout() + d.stderr()
        path = tmp_path / "sweep.json"
        path.write_text(json.dumps(cfg))
        r = run_cli(["config", "--config", str(path)])
        assert r.returncode == 0, r.stderr
        outputs["config"] = r.stdout + r.stderr
        for fmt in ("json", "text"):
            r = run_cli(["check", "--config", str(path), "--format", fmt],
                        timeout=60)
            assert r.returncode == 1, (r.returncode, r.stderr)
            outputs["check " + fmt] = r.stdout + r.stderr
        leaks = {where: _leaks(text) for where, text in outputs.items()}
        assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}
    finally:
        stop.append(True)
        echo.close()


def test_secret_of_any_length_is_masked_in_errors(tmp_path):
    """A 1- to 3-byte password quoted back by a config error."""
    for pw in ("Q", "Zq", "Zq7"):
        path = tmp_path / "c.json"
        path.write_text(json.dumps({"checks": [
            {"name": "db", "kind": "postgres",
             "url": "postgresql://app:%s@127.0.0.1:1/db?bogus=%s" % (pw, pw)}]}))
        r = run_cli(["config", "--config", str(path)])
        assert r.returncode == 2
        assert not re.search(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % pw, r.stderr), r.stderr


def test_header_values_are_masked_but_an_allow_list(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"checks": [
        {"name": "api", "kind": "http", "url": "http://127.0.0.1:1/",
         "headers": {"X-Signature": "sig-value", "X-Custom": "custom-value",
                     "Accept": "application/json", "User-Agent": "preflightd-test"}}]}))
    r = run_cli(["config", "--config", str(path)])
    assert r.returncode == 0, r.stderr
    headers = json.loads(r.stdout)["checks"][0]["headers"]
    assert headers == {"X-Signature": "***", "X-Custom": "***",
                       "Accept": "application/json", "User-Agent": "preflightd-test"}
