"""The outgoing-request guard: private targets refused in every spelling, allowed ones fetched
from a real server on loopback within the size and time limits."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kreis.core import netguard


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/",
        "http://2130706433/",  # decimal
        "http://0177.0.0.1/",  # octal
        "http://0x7f.1/",  # hex, short form
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://169.254.1.1/",  # link-local (metadata services: test_netguard_metadata.py)
        "http://[fe80::1]/",  # link-local, IPv6
        "http://100.64.0.1/",  # shared address space
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://0/",
    ],
)
def test_private_targets_are_refused(url):
    with pytest.raises(netguard.TargetRefused, match="private"):
        netguard.check_url(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x/", "//x"])
def test_only_http_and_https(url):
    with pytest.raises(netguard.TargetRefused):
        netguard.check_url(url, allow_private=True)


def test_public_addresses_pass_the_check():
    assert netguard.address_is_public("93.184.215.14")
    assert netguard.address_is_public("2a00:1450:4001:80e::200e")
    assert netguard.address_is_public("::ffff:93.184.215.14")
    assert not netguard.address_is_public("224.0.0.1")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/big":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the limit has to count while reading
            self.wfile.write(b"x" * 5000)
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client gave up, as it should
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/hello?x=1")
            self.end_headers()
        else:
            body = f"hello {self.path} {self.headers.get('Authorization', '-')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_loopback_is_refused_without_the_allow_and_fetched_with_it(server):
    with pytest.raises(netguard.TargetRefused):
        netguard.fetch(f"{server}/hello")
    answer = netguard.fetch(f"{server}/hello", allow_private=True)
    assert (answer.status, answer.body) == (200, b"hello /hello -")


def test_redirects_are_followed_and_credentials_sent_as_basic_auth(server):
    url = server.replace("http://", "http://erp:s%40cret@") + "/moved"
    answer = netguard.fetch(url, allow_private=True)
    assert answer.body == b"hello /hello?x=1 Basic ZXJwOnNAY3JldA=="  # erp:s@cret
    assert answer.url.endswith("/hello?x=1")


def test_size_limit_while_reading(server):
    with pytest.raises(netguard.ResponseTooLarge):
        netguard.fetch(f"{server}/big", allow_private=True, max_bytes=4000)
    assert netguard.fetch(f"{server}/big", allow_private=True, max_bytes=5000).size == 5000


def test_a_slow_server_runs_into_the_overall_timeout(server):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        netguard.fetch(f"{server}/slow", allow_private=True, timeout=1.0)
    assert time.monotonic() - started < 2.5
