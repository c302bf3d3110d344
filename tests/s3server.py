"""An S3-compatible server for the tests and the benches: moto in server mode, as its own HTTP
process on a free port (real sockets, real S3 wire protocol: multipart parts, aborts, listings).

    with running() as endpoint:       # "http://127.0.0.1:<port>"
        client = s3_client(endpoint)

The suite's fixtures (`s3_server`, `s3_storage`) are in the root conftest.py.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time

import httpx

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@contextlib.contextmanager
def running():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(endpoint + "/moto-api/", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto server did not start")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def s3_client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name=REGION)


def storage_settings(endpoint: str, bucket: str) -> dict:
    """The STORAGES["default"] entry the portal builds from S3_* environment variables."""
    from homeportal.settings import s3_storage

    return s3_storage(bucket=bucket, endpoint_url=endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                      region=REGION, addressing_style="path")


def object_keys(endpoint: str, bucket: str) -> list[str]:
    response = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in response.get("Contents", [])]


def open_multipart_uploads(endpoint: str, bucket: str) -> list[dict]:
    return s3_client(endpoint).list_multipart_uploads(Bucket=bucket).get("Uploads", [])
