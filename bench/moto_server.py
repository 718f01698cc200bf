"""`python -m bench.moto_server PORT`: moto's ThreadedMotoServer (an S3 endpoint, as the tests
use) on 127.0.0.1:PORT, until SIGTERM or SIGINT."""

import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
    server.start()
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
