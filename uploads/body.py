"""Reading a PATCH body of known length in large blocks into the caller's buffer.

Under gunicorn the body is read straight from the client's socket with `recv_into` into a
buffer the caller reuses: one copy per byte (kernel to buffer). Reading through
`request.read()` instead went through gunicorn's `Body` and `Unreader` (BytesIO writes,
`getvalue()` and slices: five or six copies of every byte) and Django's `LimitedStream`; for a
600 MB upload that was more time than the SHA-256. Bytes gunicorn had already buffered (read
ahead with the headers) are served first, and gunicorn's own count of what is left in the socket
(`LengthReader.length`) is kept up to date, so a keep-alive worker still finds the next request
where it starts.

Any other server (runserver, the test client, uvicorn): `request.read()` in blocks of the
buffer's size, copied into the buffer.
"""

from __future__ import annotations

import io

try:  # gunicorn is the production server; without it only the generic path exists
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader
except ImportError:  # pragma: no cover
    Body = LengthReader = SocketUnreader = None


class BodyReader:
    """`readinto(view)` fills `view` from the body and returns how many bytes it put there:
    fewer than asked only at the end of the body or when the client went away (then `broken`)."""

    def __init__(self, request, length: int):
        self.remaining = length
        self.broken = False
        self._request = request
        self._prefix = memoryview(b"")
        self._sock = None
        self._gunicorn_reader = None
        self._attach_gunicorn(request)

    @property
    def direct(self) -> bool:
        """True when the body is read from the socket itself (gunicorn)."""
        return self._sock is not None

    def _attach_gunicorn(self, request) -> None:
        if Body is None or getattr(request, "_read_started", False):
            return
        stream = request.environ.get("wsgi.input")
        sock = request.environ.get("gunicorn.socket")
        limited = getattr(request, "_stream", None)
        if (sock is None or type(stream) is not Body or type(stream.reader) is not LengthReader
                or type(stream.reader.unreader) is not SocketUnreader or getattr(limited, "_pos", None) != 0
                or getattr(limited, "limit", None) != self.remaining):
            return
        reader = stream.reader
        try:  # nothing is changed until every attribute has been found (another gunicorn: fall back)
            held_by_body = stream.buf.getvalue()  # read from the reader, not yet handed out
            held_by_unreader = reader.unreader.buf.getvalue()  # read from the socket, not yet by the reader
            if len(held_by_body) + reader.length != self.remaining:
                return  # not the state of an unread body: leave it to request.read()
        except AttributeError:
            return
        mine = held_by_unreader[: reader.length]
        stream.buf = io.BytesIO()
        reader.unreader.buf = io.BytesIO()
        reader.unreader.buf.write(held_by_unreader[len(mine):])  # a pipelined next request, if any
        reader.length -= len(mine)  # what is still in the socket
        self._prefix = memoryview(held_by_body + mine)
        self._sock, self._gunicorn_reader = sock, reader
        request._read_started = True  # request.body / request.read() now refuse, as after a read
        limited._pos = limited.limit

    def readinto(self, view: memoryview) -> int:
        want = min(len(view), self.remaining)
        got = 0
        if self._prefix:
            n = min(want, len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            got = n
        while got < want and not self.broken:
            n = self._recv_into(view[got:want])
            if n == 0:
                self.broken = True
                break
            got += n
        self.remaining -= got
        return got

    def _recv_into(self, view: memoryview) -> int:
        if self._sock is not None:
            try:
                n = self._sock.recv_into(view)
            except OSError:  # reset, timeout: the client went away mid-body — keep what arrived
                return 0
            self._gunicorn_reader.length -= n
            return n
        try:
            data = self._request.read(len(view))
        except Exception:  # noqa: BLE001 - the client went away mid-body (the test client raises here)
            return 0
        view[: len(data)] = data
        return len(data)
