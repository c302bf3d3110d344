"""uploads/body.py: a PATCH body read from gunicorn's socket with recv_into — what gunicorn had
already buffered first, then the socket; its count of what is left stays right (a keep-alive worker
finds the next request where it starts); a client that goes away leaves `broken` and what arrived.
Other servers: request.read() in blocks."""

import io
import socket
import threading

from django.core.handlers.wsgi import LimitedStream
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from uploads.body import BodyReader


class FakeRequest:
    def __init__(self, environ, stream):
        self.environ, self._stream, self._read_started = environ, stream, False

    def read(self, n):
        return self._stream.read(n)


def _gunicorn_request(server_sock, body_length: int, *, held_by_body: bytes, held_by_unreader: bytes):
    """The objects gunicorn's sync worker hands to Django: Body(LengthReader(SocketUnreader)),
    after its parser read ahead `held_by_unreader` with the headers and Body kept `held_by_body`."""
    unreader = SocketUnreader(server_sock)
    unreader.buf.write(held_by_unreader)
    reader = LengthReader(unreader, body_length - len(held_by_body))
    body = Body(reader)
    body.buf.write(held_by_body)
    environ = {"wsgi.input": body, "gunicorn.socket": server_sock}
    return FakeRequest(environ, LimitedStream(body, body_length)), reader, unreader


def _read_all(reader: BodyReader, block: int = 1000) -> bytes:
    out, buf = bytearray(), bytearray(block)
    while True:
        n = reader.readinto(memoryview(buf))
        out += buf[:n]
        if n < block:
            return bytes(out)


def test_gunicorn_body_comes_from_its_buffers_then_the_socket():
    data = bytes(range(256)) * 40  # 10 240 bytes
    following = b"GET /next HTTP/1.1\r\n\r\n"  # a pipelined request behind the body
    server, client = socket.socketpair()
    with server, client:
        request, reader, unreader = _gunicorn_request(
            server, len(data), held_by_body=data[:100], held_by_unreader=data[100:700])
        sender = threading.Thread(target=client.sendall, args=(data[700:] + following,))
        sender.start()
        body = BodyReader(request, len(data))
        assert body.direct
        assert _read_all(body) == data
        sender.join()
        assert not body.broken and body.remaining == 0
        assert reader.length == 0  # gunicorn knows the body is over
        assert request._read_started  # request.body now refuses, as after any read
        assert server.recv(100) == following  # not one byte of the next request was taken


def test_gunicorn_buffer_holding_the_next_request_keeps_it():
    data = b"x" * 50
    following = b"GET /next HTTP/1.1\r\n\r\n"
    server, client = socket.socketpair()
    with server, client:
        request, reader, unreader = _gunicorn_request(server, len(data), held_by_body=b"",
                                                      held_by_unreader=data + following)
        body = BodyReader(request, len(data))
        assert _read_all(body) == data
        assert reader.length == 0 and unreader.buf.getvalue() == following


def test_a_client_that_goes_away_leaves_what_arrived():
    data = b"abc" * 5000
    server, client = socket.socketpair()
    with server:
        request, reader, _ = _gunicorn_request(server, len(data), held_by_body=b"", held_by_unreader=data[:10])
        client.sendall(data[10:9000])
        client.close()
        body = BodyReader(request, len(data))
        assert _read_all(body, block=4096) == data[:9000]
        assert body.broken and body.remaining == len(data) - 9000
        assert reader.length == len(data) - 9000


def test_a_body_already_read_is_left_to_request_read():
    data = b"y" * 3000
    server, client = socket.socketpair()
    with server, client:
        request, _, _ = _gunicorn_request(server, len(data), held_by_body=b"", held_by_unreader=data)
        request._read_started = True
        assert not BodyReader(request, len(data)).direct


def test_other_servers_read_through_request_read():
    data = b"z" * 2500
    request = FakeRequest({"wsgi.input": io.BytesIO(data)}, LimitedStream(io.BytesIO(data), len(data)))
    body = BodyReader(request, len(data))
    assert not body.direct
    assert _read_all(body) == data and not body.broken
