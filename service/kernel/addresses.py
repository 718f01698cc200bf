"""Where a server listens, said so that a person can use it. A wildcard address (0.0.0.0,
::) makes a server listen on every interface, but it is no address to open: a browser
given http://0.0.0.0:8000 fails (or, on some systems, happens to reach this machine).
Logs give the URL to open, with localhost in its place, and say where the socket listens."""

import errno
import socket

from service.kernel.errors import ConfigurationError

WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # "": every interface, as the sockets module reads it


def url_to_open(host: str, port: int) -> str:
    """http://HOST:PORT as a person opens it: localhost for a wildcard address."""
    shown = "localhost" if host in WILDCARD_HOSTS else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def listening_on(host: str, port: int) -> str:
    """Where a socket listens, for a log: `127.0.0.1:8000`, `0.0.0.0:8000 (all interfaces)`."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{where} (all interfaces)" if host in WILDCARD_HOSTS else where


def check_can_listen(host: str, port: int) -> None:
    """Before anything starts (`editroom run`, `serve`): once it has, "is up" would be said of
    whatever holds the port, and the API would fail to bind only after its start-up, in
    uvicorn's words and with its exit status."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        where = f"cannot listen on {host}:{port} ({exc.strerror})"
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"EDITROOM_PORT: {where}: another `editroom run` or `serve`? `--port N` picks "
                "another port"
            ) from exc
        raise ConfigurationError(
            f"EDITROOM_HOST: {where}: it must be an address of this machine"
        ) from exc
