"""moto's server, handling one request at a time.

`moto_server` serves requests on many threads, and moto's in-memory backends are not
thread-safe: under a burst of concurrent DynamoDB transactions it answers some with HTML
500 pages. Real DynamoDB serialises conflicting transactions, so for the contract tests moto
runs every request under one lock. Connections stay threaded (keep-alive works).

Usage: python moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    backends = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            # Materialise the body under the lock: nothing of moto runs outside it.
            return list(backends(environ, start_response))

    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
