"""Where an import may connect, and how much it may read. Only http(s); every host name
resolved once and every address it resolves to checked (loopback, private, link-local,
multicast, reserved and cloud-metadata ranges refused unless allowed, IPv4 addresses carried
in IPv6 ones included); the domain allow-list checked for every host, redirects included;
every connection checked again against the address it goes to; every redirect's target checked
to be http(s) before it is followed; and every byte received counted against the import's
limit and its minimum transfer rate: all because every lookup, connection, redirect and read in
the importing process goes through `guarded()`."""

import importlib
import ipaddress
import socket
import ssl
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from service.kernel.errors import ImportRefused
from service.kernel.settings import Settings

SCHEMES = ("http", "https")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Cloud metadata services answer on these even where they are not link-local: AWS and most
# (169.254.169.254, fd00:ec2::254), Alibaba (100.100.100.200), Oracle (192.0.0.192).
METADATA = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00:ec2::/32"),
            ipaddress.ip_network("100.100.100.200/32"),
            ipaddress.ip_network("192.0.0.192/32"))  # fmt: skip


@dataclass(frozen=True)
class ImportPolicy:
    allow_private: bool = False
    allowed_domains: tuple[str, ...] = ()  # empty: any domain
    allowed_networks: tuple[Network, ...] = field(default=())  # allowed even when private

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImportPolicy":
        return cls.from_text(
            allow_private=settings.import_allow_private,
            domains=settings.import_allowed_domains,
            networks=settings.import_allowed_networks,
        )

    @classmethod
    def from_text(cls, *, allow_private: bool, domains: str, networks: str) -> "ImportPolicy":
        return cls(
            allow_private=allow_private,
            allowed_domains=tuple(d.lower().strip(".") for d in _listed(domains)),
            allowed_networks=tuple(ipaddress.ip_network(n) for n in _listed(networks)),
        )

    def check_url(self, url: str) -> str:
        """The URL's host, once its form, scheme and domain are acceptable."""
        # No URL holds one (RFC 3986); urlsplit drops tabs and line breaks unsaid, the stored
        # operation would keep them, and PostgreSQL's JSON refuses NUL in its own words.
        control = next((c for c in url if unicodedata.category(c) == "Cc"), None)
        if control is not None:
            raise ImportRefused(f"the URL holds a control character (U+{ord(control):04X})")
        try:
            parts = urlsplit(url)
            port = parts.port  # a port out of range raises here, not when connecting
        except ValueError as exc:
            raise ImportRefused(f"the URL is malformed ({exc})") from None
        if port == 0:  # nothing listens there: the import would fail, and be retried
            raise ImportRefused("the URL's port is 0; a port is from 1 to 65535")
        if parts.scheme.lower() not in SCHEMES:
            raise scheme_refusal(parts.scheme, redirected=False)
        if "@" in parts.netloc:
            raise ImportRefused(
                "the URL carries a user name or password, which an import would keep in its "
                "operations for anyone to read: import a URL that needs none, or upload the file"
            )
        if not parts.hostname:
            raise ImportRefused("the URL has no host")
        if not _is_ip(parts.hostname):
            try:  # as resolving will: an empty or over-long label, a character IDNA forbids
                parts.hostname.encode("idna")
            except UnicodeError as exc:
                raise ImportRefused(f"the URL's host is not a valid domain name ({exc})") from None
        self.check_host(parts.hostname)
        return parts.hostname

    def check_host(self, host: str) -> None:
        name = host.lower().strip(".")
        if (
            self.allowed_domains
            and not _is_ip(name)
            and not any(
                name == domain or name.endswith(f".{domain}") for domain in self.allowed_domains
            )
        ):
            raise ImportRefused(
                f"{host} is not on the import allow-list (EDITROOM_IMPORT_ALLOWED_DOMAINS: "
                f"{', '.join(self.allowed_domains)})"
            )
        if self.allowed_domains and _is_ip(name):
            raise ImportRefused(
                f"{host}: addresses are refused while an allow-list of domains is set"
            )

    def check_address(self, host: str, address: str) -> None:
        """An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo) is judged by that
        IPv4 address too: a relay would deliver it there."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        embedded = _embedded_ipv4(ip)
        judged = [ip] if embedded is None else [embedded, ip]
        if self.allow_private or any(
            candidate in network for candidate in judged for network in self.allowed_networks
        ):
            return
        for candidate in judged:
            reason = _why_private(candidate)
            if reason:
                carrying = "," if candidate == ip else f", which carries {candidate},"
                raise ImportRefused(
                    f"{host} resolves to {ip}{carrying} {_article(reason)} {reason} address; such "
                    "addresses are refused unless EDITROOM_IMPORT_ALLOW_PRIVATE=1 (or "
                    "EDITROOM_IMPORT_ALLOWED_NETWORKS names it)"
                )


def redirect_refusal(url: str, location: str) -> ImportRefused | None:
    """The refusal of a redirect from `url` to `location` (as a Location header gives it,
    perhaps relative), or None when it goes to http(s)."""
    scheme = urlsplit(urljoin(url, location.strip())).scheme.lower()
    return None if scheme in SCHEMES else scheme_refusal(scheme, redirected=True)


def scheme_refusal(scheme: str, *, redirected: bool) -> ImportRefused:
    """A scheme not imported; none at all (`notaurl`, `example.com/a.mp4`) is no URL."""
    if redirected:
        where = f"a {scheme}: URL" if scheme else "an address that is no URL"
        return ImportRefused(
            f"the server redirected to {where}; only http and https URLs can be imported, "
            "redirects included"
        )
    if not scheme:
        return ImportRefused("not an http(s) URL: it does not start with http:// or https://")
    return ImportRefused(f"only http and https URLs can be imported, not {scheme!r}")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 (2002::/16) or Teredo (2001::/32, its client) address carries."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ip.teredo[1] if ip.teredo is not None else None


def _why_private(ip: Address) -> str | None:
    checks: Sequence[tuple[str, bool]] = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("cloud metadata", any(ip in network for network in METADATA)),
        ("link-local", ip.is_link_local),
        # fec0::/10: deprecated, yet Python counts it global; some networks still route it.
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-global", not ip.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


class ImportTooLarge(ConnectionAbortedError):
    """Raised by a socket read past the import's byte limit (an OSError, as libraries expect
    of sockets); `ByteBudget.exceeded` is what the import checks afterwards."""


class ByteBudget:
    """Every byte any socket of the process receives while guarded, pages, manifests,
    redirects and retries included, counted against one limit. Reads are shortened so that
    each takes at most one byte past the limit from the network (reads in flight at once, in
    several threads, may each do so)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.received = 0
        self._lock = threading.Lock()  # fragment downloads may read from several threads

    @property
    def exceeded(self) -> bool:
        return self.received > self.max_bytes

    def allowance(self, wanted: int) -> int:
        """How many of `wanted` bytes the next read may take; refuses once past the limit."""
        if self.exceeded:
            raise ImportTooLarge(self.message())
        return min(wanted, self.max_bytes - self.received + 1)

    def add(self, count: int) -> None:
        with self._lock:
            self.received += count
        if self.exceeded:
            raise ImportTooLarge(self.message())

    def message(self) -> str:
        return (
            f"the import was stopped at {self.max_bytes:,} bytes, its limit "
            "(EDITROOM_IMPORT_MAX_BYTES), counting every byte received (web pages and "
            "manifests included), whatever the server said its size was"
        )


class ImportTooSlow(ConnectionAbortedError):
    """Raised by a socket read once the import has fallen below its minimum transfer rate;
    `TransferFloor.shortfall` is what the import checks afterwards."""


class TransferFloor:
    """At least `min_bytes_per_second`, on average, over every window of `window_seconds`:
    a server that trickles a byte now and then never trips a socket's timeout, yet would hold
    a runner's slot for the import's whole time limit. A window closes at the first read past
    its end; one that brought too little stops the import, and every read after it fails."""

    def __init__(self, min_bytes_per_second: int, window_seconds: float) -> None:
        self.min_bytes_per_second = min_bytes_per_second
        self.window_seconds = window_seconds
        self.shortfall: tuple[int, float] | None = None  # bytes, seconds of the slow window
        self._window_start = time.monotonic()
        self._window_bytes = 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._window_bytes += count
            elapsed = now - self._window_start
            if self.shortfall is None and elapsed >= self.window_seconds:
                if self._window_bytes < self.min_bytes_per_second * elapsed:
                    self.shortfall = (self._window_bytes, elapsed)
                self._window_start, self._window_bytes = now, 0
        if self.shortfall is not None:
            raise ImportTooSlow(self.message())

    def message(self) -> str:
        received, seconds = self.shortfall or (0, 0.0)
        return (
            f"the import was stopped: the server sent {received:,} bytes in {seconds:.1f} s, "
            f"below the minimum of {self.min_bytes_per_second:,} bytes per second over "
            f"{self.window_seconds:g} s (EDITROOM_IMPORT_MIN_BYTES_PER_SECOND, "
            "EDITROOM_IMPORT_RATE_WINDOW_SECONDS)"
        )


@dataclass
class _Checker:
    """The checks the patched socket functions make, and what they found."""

    policy: ImportPolicy
    refused: list[ImportRefused]
    resolved: dict[str, str] = field(default_factory=dict)  # address -> the name it came from

    def refuse(self, refusal: ImportRefused) -> OSError:
        self.refused.append(refusal)
        return OSError(str(refusal))

    def peer(self, sock: socket.socket, address: Any) -> None:
        """A connection goes only to an address a checked lookup returned, or to a literal
        address allowed as it is: never to a name the C library would resolve unchecked."""
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            raise self.refuse(ImportRefused(f"{sock.family.name} connections are refused"))
        host = str(address[0])
        try:
            if not _is_ip(host):
                raise ImportRefused(
                    f"a connection to {host} by name is refused: names go through the checked "
                    "lookup only"
                )
            name = self.resolved.get(host.split("%", 1)[0])
            if name is None:
                self.policy.check_host(host)
            self.policy.check_address(name or host, host)
        except ImportRefused as refusal:
            raise self.refuse(refusal) from refusal


@contextmanager
def guarded(
    policy: ImportPolicy,
    *,
    refused: list[ImportRefused],
    budget: ByteBudget | None = None,
    floor: TransferFloor | None = None,
) -> Iterator[None]:
    """While it lasts, every name resolved in this process is checked, and so is every address
    it resolves to; every connection is checked again against the address it really goes to
    (so it is pinned to what a checked lookup returned); and with a `budget`, every byte
    received is counted (and held to the `floor`'s rate, with one). Refusals are also appended
    to `refused`: libraries report them as mere connection failures."""
    checker = _Checker(policy, refused)
    original_lookup: Callable[..., Any] = socket.getaddrinfo

    def checked_lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            policy.check_host(name)
            results = original_lookup(host, port, *args, **kwargs)
            for result in results:
                address = str(result[4][0]).split("%", 1)[0]
                policy.check_address(name, address)
                checker.resolved[address] = name
        except ImportRefused as refusal:
            raise checker.refuse(refusal) from refusal
        return results

    patches = [(socket, "getaddrinfo", checked_lookup), *_connect_patches(checker)]
    patches += _redirect_patches(checker)
    if budget is not None:
        patches += _read_patches(budget, floor)
    with _patched(patches):
        yield


Patch = tuple[Any, str, Callable[..., Any]]


def _connect_patches(checker: _Checker) -> list[Patch]:
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def checked_connect(sock: socket.socket, address: Any) -> None:
        checker.peer(sock, address)
        connect(sock, address)

    def checked_connect_ex(sock: socket.socket, address: Any) -> int:
        checker.peer(sock, address)
        return connect_ex(sock, address)

    return [
        (socket.socket, "connect", checked_connect),
        (socket.socket, "connect_ex", checked_connect_ex),
    ]


def _redirect_patches(checker: _Checker) -> list[Patch]:
    """Redirects, in both of yt-dlp's HTTP libraries: requests (when installed) is told there
    is no redirect to follow when its target is not http(s), so the 3xx response is the answer;
    urllib, which follows a redirect to ftp: itself (and refuses file: and data: on its own,
    answering the 3xx), opens no URL but an http(s) one."""
    patches: list[Patch] = []
    try:
        sessions: Any = importlib.import_module("requests.sessions")
    except ModuleNotFoundError:  # yt-dlp uses urllib alone then
        pass
    else:
        target = sessions.Session.get_redirect_target

        def checked_target(session: Any, response: Any) -> str | None:
            location: str | None = target(session, response)
            if location is not None and (refusal := redirect_refusal(response.url, location)):
                checker.refused.append(refusal)
                return None
            return location

        patches.append((sessions.Session, "get_redirect_target", checked_target))
    opener_open = urllib.request.OpenerDirector.open

    def checked_open(opener: urllib.request.OpenerDirector, url: Any, *args: Any, **kw: Any) -> Any:
        full_url = url.full_url if isinstance(url, urllib.request.Request) else str(url)
        scheme = urlsplit(full_url).scheme.lower()
        if scheme not in SCHEMES:  # a redirect's request is one the user did not make
            redirected = isinstance(url, urllib.request.Request) and url.unverifiable
            refusal = scheme_refusal(scheme, redirected=redirected)
            checker.refused.append(refusal)
            raise urllib.error.URLError(str(refusal))
        return opener_open(opener, url, *args, **kw)

    patches.append((urllib.request.OpenerDirector, "open", checked_open))
    return patches


def _read_patches(budget: ByteBudget, floor: TransferFloor | None) -> list[Patch]:
    """Plain sockets' reads, and TLS sockets' (whose reads do not go through the former)."""
    recv, recv_into = socket.socket.recv, socket.socket.recv_into
    recvfrom, recvfrom_into = socket.socket.recvfrom, socket.socket.recvfrom_into
    tls_read = ssl.SSLSocket.read

    def counted(data: Any) -> Any:
        count = data if isinstance(data, int) else len(data)
        budget.add(count)
        if floor is not None:
            floor.add(count)
        return data

    def counted_recv(sock: socket.socket, size: int, *args: Any) -> bytes:
        return counted(recv(sock, budget.allowance(size), *args))  # type: ignore[no-any-return]

    def counted_recv_into(sock: socket.socket, buffer: Any, size: int = 0, *args: Any) -> int:
        wanted = size or memoryview(buffer).nbytes
        return counted(recv_into(sock, buffer, budget.allowance(wanted), *args))  # type: ignore[no-any-return]

    def counted_recvfrom(sock: socket.socket, size: int, *args: Any) -> Any:
        data, peer = recvfrom(sock, budget.allowance(size), *args)
        return counted(data), peer

    def counted_recvfrom_into(sock: socket.socket, buffer: Any, size: int = 0, *args: Any) -> Any:
        wanted = size or memoryview(buffer).nbytes
        count, peer = recvfrom_into(sock, buffer, budget.allowance(wanted), *args)
        return counted(count), peer

    def counted_tls_read(sock: ssl.SSLSocket, size: int = 1024, buffer: Any = None) -> Any:
        return counted(tls_read(sock, budget.allowance(size), buffer))

    return [
        (socket.socket, "recv", counted_recv),
        (socket.socket, "recv_into", counted_recv_into),
        (socket.socket, "recvfrom", counted_recvfrom),
        (socket.socket, "recvfrom_into", counted_recvfrom_into),
        (ssl.SSLSocket, "read", counted_tls_read),
    ]


@contextmanager
def _patched(patches: list[Patch]) -> Iterator[None]:
    """Each attribute replaced, then restored as it was (or removed, when it was inherited)."""
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
