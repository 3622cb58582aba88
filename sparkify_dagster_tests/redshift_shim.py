"""A loopback proxy that lets redshift-connector talk to the suite's PostgreSQL server.

Redshift speaks PostgreSQL's wire protocol, but Amazon's driver opens a session in ways
PostgreSQL refuses: its startup packet carries parameters only Redshift knows
(``client_protocol_version``, ``driver_version``, ``os_version`` …) and it parses the
``server_version`` PostgreSQL reports (``15.18 (Debian 15.18-1)``) strictly. The proxy passes
only the startup parameters PostgreSQL knows, reports the bare version number, and relays every
other byte unchanged: the driver's queries, parameters and transactions reach a real server.

With a TLS context it answers the driver's ``SSLRequest`` and encrypts its side of the
connection, as a cluster does; PostgreSQL itself is reached in plain text on loopback.
It listens on 127.0.0.1 only, serves at most ``max_connections`` clients at once, and
:meth:`RedshiftShim.close` ends every connection and thread it started.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import struct
import threading
from types import TracebackType

SSL_REQUEST = 80877103
PROTOCOL_3 = 196608
# Startup parameters PostgreSQL accepts; the driver's others are dropped.
KNOWN_PARAMETERS = frozenset(
    {"user", "database", "application_name", "options", "client_encoding", "DateStyle", "TimeZone"}
)
_VERSION = re.compile(rb"\d+(?:\.\d+)*")
HANDSHAKE_TIMEOUT = 10.0


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed during the handshake")
        data += chunk
    return data


def _startup_message(sock: socket.socket) -> tuple[int, bytes]:
    (length,) = struct.unpack("!i", _read_exactly(sock, 4))
    if not 8 <= length <= 10_000:
        raise ConnectionError(f"implausible startup length {length}")
    body = _read_exactly(sock, length - 4)
    (code,) = struct.unpack("!i", body[:4])
    return code, body[4:]


def filtered_startup(parameters: bytes) -> bytes:
    """A protocol-3 startup packet with only the parameters PostgreSQL knows."""
    fields = parameters.rstrip(b"\x00").split(b"\x00")
    kept = b""
    for key, value in zip(fields[::2], fields[1::2], strict=False):
        if key.decode() in KNOWN_PARAMETERS:
            kept += key + b"\x00" + value + b"\x00"
    body = struct.pack("!i", PROTOCOL_3) + kept + b"\x00"
    return struct.pack("!i", len(body) + 4) + body


def _server_message(sock: socket.socket) -> tuple[bytes, bytes]:
    kind = _read_exactly(sock, 1)
    (length,) = struct.unpack("!i", _read_exactly(sock, 4))
    return kind, _read_exactly(sock, length - 4)


def _plain_version(payload: bytes) -> bytes:
    """A ParameterStatus payload with ``server_version`` cut to its number."""
    name, _, value = payload.partition(b"\x00")
    if name != b"server_version":
        return payload
    found = _VERSION.match(value)
    return name + b"\x00" + (found.group(0) if found else value.rstrip(b"\x00")) + b"\x00"


class RedshiftShim:
    """Listens on a free loopback port and relays each client to ``upstream``."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        tls: ssl.SSLContext | None = None,
        max_connections: int = 16,
    ) -> None:
        self.upstream = upstream
        self.tls = tls
        self.slots = threading.BoundedSemaphore(max_connections)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.sockets: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.accepter = threading.Thread(target=self._accept, name="redshift-shim", daemon=True)

    def __enter__(self) -> RedshiftShim:
        self.accepter.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, end every open connection, and wait for every thread."""
        self.stopping.set()
        self.accepter.join(timeout=5)
        self.listener.close()
        with self.lock:
            sockets, self.sockets = list(self.sockets), set()
            threads = list(self.threads)
        for sock in sockets:
            _close(sock)
        for thread in threads:
            thread.join(timeout=5)

    def _track(self, sock: socket.socket) -> socket.socket:
        with self.lock:
            self.sockets.add(sock)
        return sock

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self.lock:
            self.threads = [t for t in self.threads if t.is_alive()]
            self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.slots.acquire(blocking=False):
                _close(client)  # over the limit: refused, as a full server would
                continue
            self._start(self._serve, self._track(client))

    def _serve(self, client: socket.socket) -> None:
        server: socket.socket | None = None
        try:
            client.settimeout(HANDSHAKE_TIMEOUT)
            code, parameters = _startup_message(client)
            if code == SSL_REQUEST:
                if self.tls is None:
                    client.sendall(b"N")
                else:
                    client.sendall(b"S")
                    client = self._track(self.tls.wrap_socket(client, server_side=True))
                code, parameters = _startup_message(client)
            if code != PROTOCOL_3:
                return
            server = self._track(socket.create_connection(self.upstream, timeout=HANDSHAKE_TIMEOUT))
            server.sendall(filtered_startup(parameters))
            client.settimeout(None)
            self._start(self._pump, client, server)
            while True:  # until the server is ready for queries, reword server_version
                kind, payload = _server_message(server)
                if kind == b"S":
                    payload = _plain_version(payload)
                client.sendall(kind + struct.pack("!i", len(payload) + 4) + payload)
                if kind in (b"Z", b"E"):
                    break
            server.settimeout(None)
            self._pump(server, client)
        except (OSError, ConnectionError, ssl.SSLError):
            pass
        finally:
            for sock in (client, server):
                if sock is not None:
                    _close(sock)
            self.slots.release()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except (OSError, ssl.SSLError):
            pass
        finally:
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
