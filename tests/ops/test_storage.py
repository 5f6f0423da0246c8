"""S3-compatible storage through django-storages, against a local S3 server (moto)."""

from __future__ import annotations

import boto3
import httpx
import pytest
from django.core.files.base import ContentFile
from moto.server import ThreadedMotoServer

from stylevault.core.config import s3_options
from tests.e2e.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="stylevault-media"
    )
    from storages.backends.s3 import S3Storage

    options = s3_options(
        f"s3://stylevault-media/media?endpoint_url={s3_endpoint}&region_name=us-east-1"
    )
    return S3Storage(**options)


def test_files_round_trip_and_stay_private(s3_storage, s3_endpoint):
    name = s3_storage.save("signatures/a.png", ContentFile(b"\x89PNG fake bytes"))
    assert name.startswith("signatures/")
    with s3_storage.open(name) as handle:
        assert handle.read() == b"\x89PNG fake bytes"
    anonymous = httpx.get(f"{s3_endpoint}/stylevault-media/media/{name}")
    assert anonymous.status_code == 403
    assert "Signature=" in s3_storage.url(name)  # only pre-signed links reach a file
    second = s3_storage.save("signatures/a.png", ContentFile(b"other"))
    assert second != name  # never overwrites an existing file
