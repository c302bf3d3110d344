"""SHA-256 whose state can be saved between requests (hashlib's cannot be serialized).

An upload's bytes arrive over many PATCH requests, possibly in different worker processes; the
whole file's digest is kept as OpenSSL's SHA256_CTX midstate (112 bytes) in the upload row, so
the finished file's sha256 is known without reading the file back. Same library and speed as
hashlib (OpenSSL's libcrypto; ctypes releases the GIL during an update).
"""

from __future__ import annotations

import ctypes
import ctypes.util

_CTX_SIZE = 112  # SHA256_CTX: h[8], Nl, Nh, data[16], num, md_len — 28 × uint32
_lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
_lib.SHA256_Init.argtypes = [ctypes.c_char_p]
_lib.SHA256_Update.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
_lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


class ResumableSha256:
    def __init__(self, state: bytes = b""):
        self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
        if state:
            if len(state) != _CTX_SIZE:
                raise ValueError("not a SHA-256 state")
            ctypes.memmove(self._ctx, state, _CTX_SIZE)
        else:
            _lib.SHA256_Init(self._ctx)

    def update(self, data) -> None:
        """bytes, or any writable buffer (a bytearray, a memoryview of one) without a copy."""
        if isinstance(data, bytes):
            _lib.SHA256_Update(self._ctx, data, len(data))
            return
        view = memoryview(data).cast("B")
        if view.readonly:
            _lib.SHA256_Update(self._ctx, bytes(view), view.nbytes)
            return
        if view.nbytes:
            _lib.SHA256_Update(self._ctx, (ctypes.c_char * view.nbytes).from_buffer(view), view.nbytes)

    @property
    def state(self) -> bytes:
        return self._ctx.raw

    def hexdigest(self) -> str:
        ctx = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)  # Final must not spoil our state
        out = ctypes.create_string_buffer(32)
        _lib.SHA256_Final(out, ctx)
        return out.raw.hex()
