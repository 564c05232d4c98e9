"""PostgreSQL for the storage tests: a fresh database (tests/cluster_support.py) and a TCP proxy in
front of the server, which a test cuts to make the database disappear for a while and restores,
without touching the server itself (other tests and sessions use it)."""

from __future__ import annotations

import socket
import threading

import psycopg


class Proxy:
    """127.0.0.1:<port> forwarded to PostgreSQL. `cut()` closes every connection through it and
    refuses new ones (as a database that went away); `restore()` lets connections in again."""

    def __init__(self, url: str):
        info = psycopg.conninfo.conninfo_to_dict(url)
        self.target = (info.get("host") or "127.0.0.1", int(info.get("port") or 5432))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        info["host"], info["port"] = "127.0.0.1", str(self.port)
        self.url = psycopg.conninfo.make_conninfo(**info)
        self._open = True
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._open:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            self._open = False
            sockets, self._sockets = list(self._sockets), set()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        self.cut()
        self.listener.close()
