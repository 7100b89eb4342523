"""A TCP proxy between the browser and the server that a test can cut, restore, and make
lose one answer after the server has sent it (the request was committed, the phone never
heard back): what a phone's network does, without DevTools' offline mode (which does not
reliably cover service workers)."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections import Counter

REQUEST_LINE = re.compile(rb"((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+) HTTP/1\.1\r\n")


class FlakyProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``upstream``; see the module docstring."""

    def __init__(self, port: int, upstream: int) -> None:
        self.port, self.upstream = port, upstream
        self.requests: Counter[bytes] = Counter()  # request lines seen, method and path
        self._lose: set[bytes] = set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def restore(self) -> None:
        """Accept connections again (also the first start)."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break every open one, as a lost signal does."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            _close(sock)

    def lose_answer_once(self, request: bytes) -> None:
        """The next ``request`` (method and path, e.g. b"POST /scans") reaches the server;
        its answer never reaches the browser (the connection is broken instead)."""
        self._lose.add(request)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets |= {client, server}
            losing = threading.Event()
            threading.Thread(target=self._to_server, args=(client, server, losing),
                             daemon=True).start()
            threading.Thread(target=self._to_browser, args=(server, client, losing),
                             daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket,
                   losing: threading.Event) -> None:
        while chunk := _receive(client):
            start = REQUEST_LINE.match(chunk)
            if start:
                line = start[1]
                self.requests[line] += 1
                armed = next((s for s in self._lose if line.split(b"?")[0] == s), None)
                if armed is not None:
                    self._lose.discard(armed)
                    losing.set()
            with contextlib.suppress(OSError):
                server.sendall(chunk)
        _close(server)

    def _to_browser(self, server: socket.socket, client: socket.socket,
                    losing: threading.Event) -> None:
        while chunk := _receive(server):
            if losing.is_set():
                break  # the server answered (so it committed); the browser gets nothing
            with contextlib.suppress(OSError):
                client.sendall(chunk)
        _close(client)
        _close(server)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
