"""Reading a site tree from a directory or a bucket (website/sources.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.s3 import CREDENTIALS
from website.sources import SiteSourceError, open_source


def test_a_directory_lists_and_reads(tmp_path):
    (tmp_path / "snapshots" / "2025-03-10").mkdir(parents=True)
    (tmp_path / "snapshots" / "2025-03-10" / "metadata.json").write_bytes(b"{}")

    for url in (str(tmp_path), f"file://{tmp_path}"):
        site = open_source(url)
        assert site.listdir("snapshots") == (["2025-03-10"], [])
        assert site.listdir("snapshots/2025-03-10") == ([], ["metadata.json"])
        assert site.read("snapshots/2025-03-10/metadata.json") == b"{}"
        assert site.read("snapshots/2025-03-10/district_1.json") is None
        assert site.listdir("v1") == ([], [])


@pytest.fixture
def bucket(s3_server, monkeypatch, settings):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.PUBLISH_S3_ENDPOINT_URL = s3_server.endpoint_url
    client = s3_server.client()
    name = f"site-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="cdn/snapshots/2025-03-10/metadata.json", Body=b"{}")
    client.put_object(Bucket=name, Key="other/snapshots/2025-01-01/metadata.json", Body=b"[]")
    return name


def test_a_bucket_prefix_lists_and_reads(bucket):
    site = open_source(f"s3://{bucket}/cdn")

    assert site.listdir("snapshots") == (["2025-03-10"], [])
    assert site.listdir("snapshots/2025-03-10") == ([], ["metadata.json"])
    assert site.read("snapshots/2025-03-10/metadata.json") == b"{}"
    assert site.read("snapshots/2025-03-10/district_1.json") is None


def test_a_gcs_bucket_prefix_lists_and_reads(gcs_bucket):
    gcs_bucket.blob("cdn/snapshots/2025-03-10/metadata.json").upload_from_string(b"{}")
    site = open_source(f"gs://{gcs_bucket.name}/cdn")

    assert site.listdir("snapshots") == (["2025-03-10"], [])
    assert site.read("snapshots/2025-03-10/metadata.json") == b"{}"
    assert site.read("snapshots/2025-03-10/district_1.json") is None


def test_a_missing_bucket_is_an_error_not_an_empty_site(bucket):
    site = open_source(f"s3://{bucket}-gone/cdn")

    with pytest.raises(SiteSourceError, match="cannot list"):
        site.listdir("snapshots")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/dir", "expected file:///dir"),
        ("s3:///prefix", "no bucket named"),
        ("/no/such/directory", "no such directory"),
    ],
)
def test_urls_it_cannot_read(url, message):
    with pytest.raises(SiteSourceError, match=message):
        open_source(url)
