"""GET / in a real browser (Debian's chromium, headless): a failing check
whose peer put a script into its error must show as text -- the failing
check, its hint and its caused_by readable -- and nothing of it may run.
The screenshot of docs/status-page.png is taken the same way (see
docs/operations.md)."""
import os
import re
import shutil
import subprocess

from harness.net import listen_low, refused_port, serve_in_thread

PAYLOAD = (b"<script>document.title='PWNED';"
           b"document.body.setAttribute('data-pwned','1')</script>"
           b"<img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">")


def _hostile_server():
    """Answers 500 with a body that is an attack on whoever shows it."""
    sock = listen_low()
    stop = []

    def handle(conn):
        with conn:
            conn.settimeout(2)
            try:
                while b"\r\n\r\n" not in conn.recv(4096):
                    pass
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Type: text/html\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                         % len(PAYLOAD) + PAYLOAD)
    serve_in_thread(sock, handle, lambda: bool(stop))
    return sock, stop


def chromium(args, tmp_path, timeout=60):
    exe = shutil.which("chromium")
    assert exe, "chromium is not installed (scripts/deps.sh installs it)"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
           "--no-first-run", "--disable-dev-shm-usage",
           "--user-data-dir=%s" % (tmp_path / "chromium")] + args
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def _text(dom):
    """The page's visible text, roughly: tags and entities removed."""
    body = re.sub(r"(?s)<style>.*?</style>", " ", dom)
    text = re.sub(r"<[^>]+>", " ", body)
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"),
                 ("&amp;", "&")):
        text = text.replace(a, b)
    return re.sub(r"\s+", " ", text)


def test_status_page_shows_the_failure_and_runs_no_script(daemon_factory, tmp_path):
    server, stop = _hostile_server()
    try:
        d = daemon_factory({"checks": [
            {"name": "chat-db", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
             "address": "127.0.0.1:%d" % refused_port()},
            {"name": "chat-api", "kind": "http", "interval": "300ms", "timeout": "250ms",
             "url": "http://127.0.0.1:%d/ready" % server.getsockname()[1],
             "depends_on": ["chat-db"],
             "hints": {"http_status": "restart the Chat API after its database is back"}}],
            "groups": {"chat-worker": ["chat-db", "chat-api"]}})
        d.wait_status("chat-api", "fail")
        code, headers, body = d.get("/")
        assert code == 200 and headers["content-type"].startswith("text/html")
        assert "script-src" not in headers["content-security-policy"]
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert b"<script" not in body.lower() and b"<img" not in body.lower()
        assert b'name="viewport"' in body     # readable on a phone
        url = "http://127.0.0.1:%d/" % d.port
        shot = tmp_path / "page.png"
        r = chromium(["--screenshot=%s" % shot, "--window-size=1000,900", url], tmp_path)
        assert shot.exists() and shot.stat().st_size > 10000, r.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("PF_STATUS_PAGE_SHOT"):	# docs/status-page.png
            shutil.copy(shot, os.environ["PF_STATUS_PAGE_SHOT"])
        r = chromium(["--dump-dom", url], tmp_path)
        dom = r.stdout.decode("utf-8")
        assert "<title>preflightd: not ready</title>" in dom, dom[:500]
        assert "data-pwned" not in dom.replace("setAttribute('data-pwned'", "")
        assert "PWNED</title>" not in dom
        text = _text(dom)
        for words in ("Not ready", "chat-api", "http_status",
                      "restart the Chat API after its database is back",
                      "caused by chat-db", "chat-worker: fail", "<script>"):
            assert words in text, (words, text[:3000])
    finally:
        stop.append(True)
        server.close()
