"""A minimal tus 1.0.0 client over Django's test client (protocol tests) — one PATCH per chunk,
optionally with Upload-Checksum."""

from __future__ import annotations

import base64
import hashlib

OCTET = "application/offset+octet-stream"
V = {"Tus-Resumable": "1.0.0"}


def metadata(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


class Tus:
    def __init__(self, client):
        self.client = client

    def create(self, url: str, length: int, filename: str = "doc.pdf", **headers):
        return self.client.post(url, headers={**V, "Upload-Length": str(length),
                                              "Upload-Metadata": metadata(filename=filename), **headers})

    def head(self, location: str, **headers):
        return self.client.head(location, headers={**V, **headers})

    def patch(self, location: str, offset: int, data: bytes, *, with_checksum: bool = False, extra=None, **headers):
        h = {**V, "Upload-Offset": str(offset), **headers}
        if with_checksum:
            h["Upload-Checksum"] = checksum(data)
        return self.client.generic("PATCH", location, data, content_type=headers.pop("content_type", OCTET),
                                   headers=h, **(extra or {}))

    def delete(self, location: str):
        return self.client.delete(location, headers=V)

    def upload(self, url: str, data: bytes, chunk: int, *, with_checksum: bool = True, filename: str = "doc.pdf"):
        created = self.create(url, len(data), filename)
        assert created.status_code == 201, (created.status_code, created.content)
        location = created["Location"]
        offset = 0
        while offset < len(data):
            piece = data[offset: offset + chunk]
            response = self.patch(location, offset, piece, with_checksum=with_checksum)
            assert response.status_code == 204, (response.status_code, response.content)
            offset = int(response["Upload-Offset"])
        return location
