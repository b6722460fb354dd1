"""Outgoing HTTP(S) requests to addresses an administrator typed in (connector URLs, webhook
targets) without letting them reach the machine itself or the private network (SSRF).

A URL is refused unless its scheme is http or https and *every* address its host resolves to
is public (``ipaddress``'s ``is_global``, not multicast). The check runs on the resolved
addresses, at send time, so the odd spellings of an address land where the resolver puts
them: ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` (glibc's ``inet_aton``), ``[::ffff:127.0.0.1]``
(IPv4-mapped), and host names that resolve to a private address. IPv6 forms that carry an
IPv4 address (mapped, 6to4, Teredo, NAT64 ``64:ff9b::/96``) are judged by that address too.
The connection then goes to the address that was checked (the host name is kept for the
``Host`` header and TLS), so a second DNS answer cannot swap it (DNS rebinding).

An administrator may allow private targets explicitly (``allow_private=True``), for an ERP on
the office network or a test server on loopback. Cloud metadata services are refused all the
same (``refuse_metadata``): they hand out the machine's credentials, and no ERP or receiver
lives there. They are refused by name (``metadata.google.internal``, …) and by address
(169.254.169.254, fd00:ec2::254, 100.100.100.200, …) in every spelling — decimal, octal,
hex, short, IPv4-mapped, NAT64, 6to4 — before and after resolving. Redirects are followed
(at most five) and each hop is checked again. Proxies from the environment are not used.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from django.utils.translation import gettext as _

NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
# Instance metadata services of the clouds (AWS with ECS and EKS, Google, Azure with its wire
# server, Oracle, Alibaba, Tencent, OpenStack, DigitalOcean, Hetzner, Equinix): never a target.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
        "metadata.packet.net",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, Google, Azure, Oracle, OpenStack, DigitalOcean, Hetzner
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent
        "100.100.100.200",  # Alibaba
        "192.0.0.192",  # Oracle (older instances)
        "168.63.129.16",  # Azure wire server (a public address)
        "fd00:ec2::254",  # AWS, IPv6
        "fd00:ec2::23",  # AWS EKS pod identity, IPv6
        "fd20:ce::254",  # Google, IPv6
    )
)
MAX_REDIRECTS = 5
CHUNK = 64 * 1024


class TargetRefused(ValueError):
    """The URL is not one Kreis may call (scheme, private address, unresolvable host)."""


class ResponseTooLarge(ValueError):
    """The answer is longer than the caller allows."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64 or (address in IPV4_COMPATIBLE and int(address) > 1):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL's host spells out, in the forms the resolver accepts (``2852039166``,
    ``0251.0376.0251.0376``, ``0xa9fea9fe``, ``169.254.43518``, ``[::ffff:a9fe:a9fe]``); None
    for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):  # not an address; ValueError: NUL or non-ASCII
        return None


def is_metadata_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> bool:
    """True for a cloud metadata address, also carried inside an IPv6 address."""
    if isinstance(address, str):
        address = ipaddress.ip_address(address.split("%", 1)[0])
    if address in METADATA_ADDRESSES:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        return any(v4 in METADATA_ADDRESSES for v4 in embedded_ipv4(address))
    return False


def _metadata_refused(host: str) -> TargetRefused:
    return TargetRefused(
        _(
            "%(host)s is a cloud metadata service. Kreis never sends requests there, not even "
            "when an administrator allows private targets."
        )
        % {"host": host}
    )


def refuse_metadata(host: str, addresses: Sequence[str] = ()) -> None:
    """Raise ``TargetRefused`` for a metadata service's name or address (whatever the
    administrator allowed): the host as written, and the addresses it resolved to."""
    literal = literal_address(host)
    if host.lower().rstrip(".") in METADATA_NAMES or (
        literal is not None and is_metadata_address(literal)
    ):
        raise _metadata_refused(host)
    if any(is_metadata_address(address) for address in addresses):
        raise _metadata_refused(host)


def address_is_public(text: str) -> bool:
    """True for a globally routable unicast address; loopback, private, link-local (cloud
    metadata 169.254.169.254), shared (100.64/10), reserved and multicast are not."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner and not all(address_is_public(str(v4)) for v4 in inner):
            return False
        if address.ipv4_mapped is not None:
            return True  # judged by its IPv4 address alone
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    auth: str | None  # "user:password" from the URL, sent as Basic authentication

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)


def parse_target(url: str) -> Target:
    """Split an http(s) URL; anything else is refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(_("This is not a valid URL.")) from exc
    if parts.scheme not in {"http", "https"}:
        raise TargetRefused(_("Only http and https URLs are allowed."))
    if not parts.hostname:
        raise TargetRefused(_("The URL has no host."))
    auth = None
    if parts.username is not None:
        auth = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path, auth)


def resolve(target: Target, *, allow_private: bool) -> list[str]:
    """The addresses to connect to, every one of them checked (unless private is allowed;
    metadata services are refused even then)."""
    refuse_metadata(target.host)
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:  # ValueError: a NUL byte
        raise TargetRefused(
            _("The host %(host)s could not be resolved.") % {"host": target.host}
        ) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refuse_metadata(target.host, addresses)
    if not allow_private:
        for address in addresses:
            if not address_is_public(address):
                raise TargetRefused(
                    _(
                        "%(host)s points to a private, loopback or reserved address (%(address)s). "
                        "An administrator has to allow private targets explicitly."
                    )
                    % {"host": target.host, "address": address}
                )
    return addresses


def check_url(url: str, *, allow_private: bool = False) -> Target:
    """Refuse a URL now (when it is saved) for what ``fetch`` would refuse when it is sent."""
    target = parse_target(url)
    resolve(target, allow_private=allow_private)
    return target


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    size: int = 0


def _connect(target: Target, addresses: list[str], timeout: float) -> http.client.HTTPConnection:
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    error = OSError(_("No address of %(host)s answered.") % {"host": target.host})
    for address in addresses:
        conn = cls(target.host, target.port, address=address, timeout=timeout)
        try:
            conn.connect()
            return conn
        except OSError as exc:
            conn.close()
            error = exc
    raise error


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
    allow_private: bool = False,
    sink: BinaryIO | None = None,
    follow_redirects: bool = True,
) -> Response:
    """Send one request and read the answer, within ``timeout`` seconds in all (connecting,
    redirects and reading) and ``max_bytes`` of body. With ``sink`` the body is written there
    instead of being kept in memory. Raises ``TargetRefused``, ``ResponseTooLarge``,
    ``TimeoutError`` or ``OSError``. ``follow_redirects=False`` answers a redirect as it
    came (webhooks: an administrator's permission for a private target covers that target
    only, not where it points on)."""
    deadline = time.monotonic() + timeout
    target = parse_target(url)
    first_origin = target.origin
    for _hop in range(MAX_REDIRECTS + 1):
        addresses = resolve(target, allow_private=allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(_("The server did not answer in time."))
        conn = _connect(target, addresses, remaining)
        try:
            sent = {"User-Agent": "Kreis", "Accept-Encoding": "identity", **(headers or {})}
            if target.auth and target.origin == first_origin:
                token = base64.b64encode(target.auth.encode()).decode()
                sent["Authorization"] = f"Basic {token}"
            conn.request(method, target.path, body=body, headers=sent)
            sock = conn.sock  # getresponse() lets go of it when the server closes after
            answer = conn.getresponse()
            location = answer.getheader("Location")
            redirect = answer.status in {301, 302, 303, 307, 308} and location
            if redirect and follow_redirects:
                answer.close()
                url = urljoin(url, location)
                target = parse_target(url)
                if answer.status == 303:
                    method, body = "GET", None
                continue
            return _read(url, answer, sock, deadline, max_bytes, sink)
        finally:
            conn.close()
    raise TargetRefused(_("Too many redirects."))


def _read(
    url: str,
    answer: http.client.HTTPResponse,
    sock: socket.socket | None,
    deadline: float,
    max_bytes: int,
    sink: BinaryIO | None,
) -> Response:
    response = Response(url=url, status=answer.status)
    response.headers = {name.lower(): value for name, value in answer.getheaders()}
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            _("The answer is larger than %(limit)s bytes.") % {"limit": max_bytes}
        )
    parts = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(_("The server did not answer in time."))
        if sock is not None:
            sock.settimeout(remaining)
        chunk = answer.read1(CHUNK)
        if not chunk:
            break
        response.size += len(chunk)
        if response.size > max_bytes:
            raise ResponseTooLarge(
                _("The answer is larger than %(limit)s bytes.") % {"limit": max_bytes}
            )
        if sink is not None:
            sink.write(chunk)
        else:
            parts.append(chunk)
    response.body = b"".join(parts)
    return response
