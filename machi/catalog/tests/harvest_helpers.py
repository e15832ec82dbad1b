"""What the harvest tests share: real local HTTP servers and a harvest source."""

import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.contrib.auth.models import User

from machi.catalog.harvest import save_source
from machi.catalog.models import HarvestSource

# (status, content type, body) for a request path and its query parameters.
Route = Callable[[str, dict[str, str]], tuple[int, str, bytes]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(route: Route) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on a free port, in a thread; yields its URL and the requests seen."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            parts = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(parts.query))
            status, content_type, body = route(parts.path, params)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def make_source(
    actor: User, url: str, *, kind: str = "ckan", name: str = "tokyo", **fields: object
) -> HarvestSource:
    return save_source(
        actor=actor,
        source=HarvestSource(name=name, title=f"{name} catalog", kind=kind, url=url, **fields),
    )
