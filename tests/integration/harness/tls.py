"""A throwaway test PKI made with the openssl CLI at test time (no key is
ever committed), plus a small HTTPS server on 127.0.0.1 for the HTTP kinds.

Fixture ``tls_pki`` (session scope) yields a Pki whose attributes are paths
in a temporary directory:

    ca              the test CA's certificate (trust this one)
    other_ca        an unrelated CA's certificate (trusting it must fail)
    server, server_key     localhost + 127.0.0.1 (SAN DNS:localhost,
                           IP:127.0.0.1), signed by ca
    wrong, wrong_key       SAN DNS:wrong-name.invalid only, signed by ca
    expired, expired_key   localhost + 127.0.0.1, signed by ca, valid only
                           in January 2020 (made with `openssl ca
                           -startdate/-enddate`, since `openssl x509` in
                           OpenSSL 3.0 cannot back-date)

``HttpsServer(cert, key)`` answers every GET/HEAD with 200 "tls ok"; the
handshake runs in the request thread, so a client that rejects the
certificate (or speaks plain HTTP) cannot stall the accept loop.
If openssl fails, the fixture raises: the test fails, it is never skipped.
"""
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.net import free_port

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
# EC keys: generating them takes milliseconds, RSA takes noticeably longer.
KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes"]
LEAF_EXT = ("basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=%s\n")
CA_CONF = """[ca]
default_ca = pf
[pf]
database = {d}/index.txt
new_certs_dir = {d}
serial = {d}/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


def _openssl(*args, cwd):
    r = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr))


class Pki:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pf-pki-")
        os.chmod(self.dir, 0o755)  # the postgres user copies from here
        self.ca, self.ca_key = self._ca("ca", "preflightd test CA")
        self.other_ca, _ = self._ca("other-ca", "unrelated test CA")
        self.server, self.server_key = self._leaf(
            "server", "localhost", "DNS:localhost,IP:127.0.0.1")
        self.wrong, self.wrong_key = self._leaf(
            "wrong", "wrong-name.invalid", "DNS:wrong-name.invalid")
        self.expired, self.expired_key = self._expired()

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        crt, key = self.path(name + ".crt"), self.path(name + ".key")
        _openssl("req", "-x509", *KEY_ARGS, "-keyout", key, "-out", crt,
                 "-days", "2", "-subj", "/CN=" + cn,
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=self.dir)
        return crt, key

    def _csr(self, name, cn):
        csr, key = self.path(name + ".csr"), self.path(name + ".key")
        _openssl("req", "-new", *KEY_ARGS, "-keyout", key, "-out", csr,
                 "-subj", "/CN=" + cn, cwd=self.dir)
        return csr, key

    def _leaf(self, name, cn, san):
        csr, key = self._csr(name, cn)
        ext, crt = self.path(name + ".ext"), self.path(name + ".crt")
        with open(ext, "w") as f:
            f.write(LEAF_EXT % san)
        _openssl("x509", "-req", "-in", csr, "-CA", self.ca,
                 "-CAkey", self.ca_key,
                 "-set_serial", str(secrets.randbits(62) + 1),
                 "-days", "2", "-sha256", "-extfile", ext, "-out", crt,
                 cwd=self.dir)
        return crt, key

    def _expired(self):
        csr, key = self._csr("expired", "localhost")
        d = self.path("ca-db")
        os.mkdir(d)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        conf = os.path.join(d, "ca.cnf")
        with open(conf, "w") as f:
            f.write(CA_CONF.format(d=d))
        crt = self.path("expired.crt")
        _openssl("ca", "-batch", "-notext", "-config", conf,
                 "-cert", self.ca, "-keyfile", self.ca_key, "-in", csr,
                 "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                 "-extensions", "leaf", "-out", crt, cwd=self.dir)
        return crt, key

    def context(self):
        """A client context trusting the test CA (for harness health checks)."""
        return ssl.create_default_context(cafile=self.ca)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_pki():
    pki = Pki()
    yield pki
    pki.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.server.requests += 1
        body = b"tls ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


class HttpsServer(ThreadingHTTPServer):
    """HTTPS on 127.0.0.1:<free port> with the given certificate."""
    daemon_threads = True

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.handshakes = 0  # completed on the server side
        self.requests = 0    # HTTP requests that got through
        for attempt in range(5):
            try:
                super().__init__(("127.0.0.1", free_port()), _Handler)
                break
            except OSError:
                if attempt == 4:
                    raise
        self.port = self.server_address[1]
        self._t = threading.Thread(target=self.serve_forever,
                                   kwargs={"poll_interval": 0.1}, daemon=True)
        self._t.start()

    def url(self, host="127.0.0.1", path="/"):
        return "https://%s:%d%s" % (host, self.port, path)

    def finish_request(self, request, client_address):
        # Why here and not on the listening socket: a handshake in accept()
        # would run on the serving thread, where one silent client blocks all.
        request.settimeout(5)
        conn = self.ctx.wrap_socket(request, server_side=True)
        try:
            self.handshakes += 1
            super().finish_request(conn, client_address)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        pass  # clients that reject our certificate hang up mid-handshake

    def close(self):
        self.shutdown()
        self.server_close()


@pytest.fixture
def https_server(tls_pki):
    """https_server(cert=None, key=None): an HttpsServer, closed after the
    test; the default certificate is the valid localhost one."""
    servers = []

    def make(cert=None, key=None):
        s = HttpsServer(cert or tls_pki.server, key or tls_pki.server_key)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
