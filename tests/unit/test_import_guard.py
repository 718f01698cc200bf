"""Which URLs and addresses an import may reach."""

import importlib
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest

from runner.engine.imports.guard import ByteBudget, ImportPolicy, guarded
from service.kernel.errors import ImportRefused
from tests.web import huge_page, redirect_to, serve_bytes, web_server

STRICT = ImportPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("100.64.0.1", "non-global"),
        ("fd00:ec2::254", "cloud metadata"),
        ("192.0.0.192", "cloud metadata"),  # Oracle Cloud
        ("2002:7f00:1::", "loopback"),  # 6to4, carrying 127.0.0.1
        ("2002:a9fe:a9fe::1", "cloud metadata"),  # 6to4, carrying 169.254.169.254
        ("2002:c0a8:101::", "private"),  # 6to4, carrying 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "private"),  # Teredo, client 8.8.8.8
        ("fec0::1", "site-local"),  # deprecated (RFC 3879), still routed inside some networks
        ("fec0:0:0:ffff::1", "site-local"),  # a site's well-known DNS server
    ],
)
def test_private_addresses_are_refused(address: str, reason: str) -> None:
    article = "an" if reason == "unspecified" else "a"
    with pytest.raises(ImportRefused, match=f" {article} {reason} address;"):
        STRICT.check_address("example.com", address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "151.101.1.69", "2002:808:808::1"]
)
def test_public_addresses_pass(address: str) -> None:
    STRICT.check_address("example.com", address)


def test_an_embedded_address_is_named() -> None:
    with pytest.raises(
        ImportRefused, match=r"2002:7f00:1::, which carries 127\.0\.0\.1, a loopback"
    ):
        STRICT.check_address("sixtofour.example", "2002:7f00:1::")


def test_allow_private_and_allowed_networks() -> None:
    ImportPolicy(allow_private=True).check_address("h", "10.0.0.1")
    internal = ImportPolicy(allowed_networks=(ipaddress.ip_network("10.9.0.0/16"),))
    internal.check_address("cdn.internal", "10.9.3.4")
    with pytest.raises(ImportRefused):
        internal.check_address("other.internal", "10.8.3.4")


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp4", "file:///etc/passwd", "gopher://h/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(ImportRefused, match="only http and https"):
        STRICT.check_url(url)


@pytest.mark.parametrize("url", ["notaurl", "//x/y", "example.com/a.mp4", ""])
def test_a_url_without_a_scheme_is_said_to_be_no_url(url: str) -> None:
    """Not "only http and https URLs can be imported, not 'none'": it is no URL at all."""
    with pytest.raises(ImportRefused) as refused:
        STRICT.check_url(url)
    assert str(refused.value) == ("not an http(s) URL: it does not start with http:// or https://")


def test_domain_allow_list() -> None:
    policy = ImportPolicy.from_text(
        allow_private=False, domains="videos.example, cdn.test", networks=""
    )
    assert policy.check_url("https://videos.example/a") == "videos.example"
    assert policy.check_url("https://media.cdn.test/a") == "media.cdn.test"
    for url in ("https://evil.example/a", "https://notcdn.test/a", "http://1.2.3.4/a"):
        with pytest.raises(ImportRefused):
            policy.check_url(url)


def test_every_lookup_in_the_process_is_checked() -> None:
    refused: list[ImportRefused] = []
    with guarded(STRICT, refused=refused), pytest.raises(OSError, match="loopback"):
        socket.getaddrinfo("localhost", 80)
    assert len(refused) == 1
    assert socket.getaddrinfo("localhost", 80)  # restored afterwards


LOOPBACK_ONLY = ImportPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


def fetch(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the env
    with opener.open(url, timeout=5) as response:
        data: bytes = response.read()
    return data


def test_every_byte_received_counts_against_the_budget() -> None:
    sent: list[int] = []
    routes = {"/small": serve_bytes(b"x" * 600, "text/plain"), "/huge": huge_page(10**8, sent=sent)}
    budget = ByteBudget(4000)
    with web_server(routes) as base_url, guarded(LOOPBACK_ONLY, refused=[], budget=budget):
        assert len(fetch(f"{base_url}/small")) == 600  # headers and body both count
        with pytest.raises(OSError, match="stopped at 4,000 bytes"):
            fetch(f"{base_url}/huge")
        with pytest.raises(OSError, match="EDITROOM_IMPORT_MAX_BYTES"):
            fetch(f"{base_url}/small")  # nothing more once past the limit
    assert budget.exceeded
    # Reads are cut short at the limit (this test's server, in the same process, reads too).
    assert budget.received < budget.max_bytes + 1024


def test_connections_go_only_to_the_address_a_checked_lookup_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: a name that resolves first to an allowed address, then to a refused one.
    The second connection is refused, and nothing ever reaches the refused address."""
    answers = iter(["127.0.0.1", "127.0.0.2"])
    real_lookup = socket.getaddrinfo

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> object:
        return real_lookup(next(answers) if host == "rebind.test" else host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    refused: list[ImportRefused] = []
    with web_server({"/a": serve_bytes(b"fine", "text/plain")}) as base_url:
        port = urlsplit(base_url).port
        assert port is not None
        with (
            socket.create_server(("127.0.0.2", port)) as elsewhere,
            guarded(LOOPBACK_ONLY, refused=refused),
        ):
            assert fetch(f"http://rebind.test:{port}/a") == b"fine"
            with pytest.raises(OSError, match=r"resolves to 127\.0\.0\.2, a loopback address"):
                fetch(f"http://rebind.test:{port}/a")
            elsewhere.setblocking(False)
            with pytest.raises(BlockingIOError):
                elsewhere.accept()  # no connection ever came
    assert len(refused) == 1


@pytest.mark.parametrize(
    ("policy", "host", "message"),
    [
        (STRICT, "127.0.0.1", "a loopback address"),
        (ImportPolicy(allow_private=True, allowed_domains=("example.com",)), "127.0.0.1",
         "addresses are refused while an allow-list of domains is set"),
        (ImportPolicy(allow_private=True), "localhost", "by name is refused"),
    ],
)  # fmt: skip
def test_connections_that_skip_the_lookup_are_checked(
    policy: ImportPolicy, host: str, message: str
) -> None:
    """A socket connected directly (no lookup through Python, or one the C library would make
    unchecked) is checked against the address it really goes to."""
    refused: list[ImportRefused] = []
    with web_server({}) as base_url, guarded(policy, refused=refused):
        port = urlsplit(base_url).port
        with socket.socket() as sock, pytest.raises(OSError, match=message):
            sock.connect((host, port))
    assert len(refused) == 1
    with web_server({}) as base_url, socket.socket() as sock:
        sock.connect(("127.0.0.1", urlsplit(base_url).port))  # restored afterwards


REDIRECTED_TO_FILE = (
    "the server redirected to a file: URL; only http and https URLs can be imported, "
    "redirects included"
)


def test_requests_does_not_follow_a_redirect_off_http() -> None:
    """requests (yt-dlp's first choice when installed) is told there is nothing to follow:
    the 302 is the answer, and the refusal is recorded."""
    requests: Any = importlib.import_module("requests")  # installed with the dev tools
    refused: list[ImportRefused] = []
    with (
        web_server({"/go": redirect_to("file:///etc/passwd")}) as base_url,
        guarded(LOOPBACK_ONLY, refused=refused),
    ):
        response = requests.get(f"{base_url}/go", proxies={"http": ""}, timeout=5)
    assert response.status_code == 302
    assert [str(refusal) for refusal in refused] == [REDIRECTED_TO_FILE]
    with (
        web_server({"/go": redirect_to("file:///etc/passwd")}) as base_url,
        pytest.raises(requests.exceptions.InvalidSchema),  # followed, unguarded
    ):
        requests.get(f"{base_url}/go", proxies={"http": ""}, timeout=5)


def test_urllib_opens_no_redirect_off_http() -> None:
    """urllib (yt-dlp's choice without requests) follows a redirect to ftp: by itself."""
    refused: list[ImportRefused] = []
    with (
        web_server({"/go": redirect_to("ftp://127.0.0.1:9/clip.mp4")}) as base_url,
        guarded(LOOPBACK_ONLY, refused=refused),
        pytest.raises(OSError, match="redirected to a ftp: URL"),
    ):
        fetch(f"{base_url}/go")
    assert len(refused) == 1
    assert str(refused[0]).startswith("the server redirected to a ftp: URL; only http and https")
