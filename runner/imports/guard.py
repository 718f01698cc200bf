"""Where an import may connect. Only http(s); every host name resolved once and every address
it resolves to checked (loopback, private, link-local, multicast, reserved and cloud-metadata
ranges refused unless allowed); the domain allow-list checked for every host, redirects
included, because every connection in the importing process goes through `guarded()`."""

import ipaddress
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from runner.ops.base import EditFailed
from service.settings import Settings

SCHEMES = ("http", "https")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Cloud metadata services answer on these even where they are not link-local.
METADATA = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00:ec2::/32"),
            ipaddress.ip_network("100.100.100.200/32"))  # fmt: skip


class ImportRefused(EditFailed):
    """The URL, a redirect or an address it resolves to is not allowed."""


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
        """The URL's host, once its scheme and domain are acceptable."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES:
            raise ImportRefused(
                f"only http and https URLs can be imported, not {parts.scheme or 'none'!r}"
            )
        if not parts.hostname:
            raise ImportRefused("the URL has no host")
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
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed_networks):
            return
        reason = _why_private(ip)
        if reason and not self.allow_private:
            raise ImportRefused(
                f"{host} resolves to {ip}, a {reason} address; such addresses are refused unless "
                "EDITROOM_IMPORT_ALLOW_PRIVATE=1 (or EDITROOM_IMPORT_ALLOWED_NETWORKS names it)"
            )


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _why_private(ip: Address) -> str | None:
    checks: Sequence[tuple[str, bool]] = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("cloud metadata", any(ip in network for network in METADATA)),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-global", not ip.is_global),
    )
    return next((reason for reason, hit in checks if hit), None)


@contextmanager
def guarded(policy: ImportPolicy, *, refused: list[ImportRefused]) -> Iterator[None]:
    """Every name resolved in this process meanwhile is checked, and so is every address it
    resolves to; connections use exactly the addresses returned (no second lookup). Refusals
    are also appended to `refused`: libraries report them as mere connection failures."""
    original: Callable[..., Any] = socket.getaddrinfo

    def checked(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            policy.check_host(name)
            results = original(host, port, *args, **kwargs)
            for result in results:
                policy.check_address(name, str(result[4][0]))
        except ImportRefused as refusal:
            refused.append(refusal)
            raise OSError(str(refusal)) from refusal
        return results

    socket.getaddrinfo = checked
    try:
        yield
    finally:
        socket.getaddrinfo = original
