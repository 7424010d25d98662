"""`website.destinations`: a directory, an S3 bucket (moto's server) and a Google Cloud Storage
bucket (the emulator) each take the site's tree whole, and a second publish writes nothing."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.fixtures.s3 import CREDENTIALS
from tests.website.stored import store_day
from website.destinations import DirectoryDestination, destination_of
from website.errors import BadDestination, PublishError
from website.publishing import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(snapshot_root):
    store_day(date(2025, 3, 10), ["42", "61"])
    return snapshot_root


def test_a_directory_file_is_replaced_whole_without_leftovers(tmp_path):
    target = destination_of(f"file://{tmp_path}")
    assert isinstance(target, DirectoryDestination)
    target.write("v1/latest.json", b"old")
    target.write("v1/latest.json", b"new")
    assert (tmp_path / "v1" / "latest.json").read_bytes() == b"new"
    assert [p.name for p in (tmp_path / "v1").iterdir()] == ["latest.json"]


@pytest.mark.parametrize("path", ["../escape.json", "/abs.json", "a//b.json", "a/./b.json", ""])
def test_a_path_outside_the_destination_is_refused(tmp_path, path):
    with pytest.raises(PublishError, match="refusing"):
        destination_of(f"file://{tmp_path}").write(path, b"x")


@pytest.mark.parametrize(
    "url", ["file://host/dir", "file:relative", "s3://", "gs:///prefix", "s3://b/p?x=1", "http://x"]
)
def test_malformed_destinations_are_refused_by_name(url):
    with pytest.raises(BadDestination):
        destination_of(url)


def test_the_tree_in_an_s3_bucket_matches_the_directory_and_a_second_publish_writes_nothing(
    stored, tmp_path, s3_server, settings, monkeypatch
):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.PUBLISH_S3_ENDPOINT_URL = s3_server.endpoint_url
    client = s3_server.client()
    client.create_bucket(Bucket="site")
    local = publish(f"file://{tmp_path / 'cdn'}")
    first = publish("s3://site/prod")
    assert first.written == local.written and first.errors == ()
    for path in first.paths:
        body = client.get_object(Bucket="site", Key=f"prod/{path}")["Body"].read()
        assert body == (tmp_path / "cdn" / path).read_bytes()
    head = client.head_object(Bucket="site", Key="prod/v1/latest.json")
    assert head["ContentType"] == "application/json"
    assert publish("s3://site/prod").written == 0


def test_the_tree_in_a_gcs_bucket_matches_the_directory_and_a_second_publish_writes_nothing(
    stored, tmp_path, gcs_bucket
):
    local = publish(f"file://{tmp_path / 'cdn'}")
    url = f"gs://{gcs_bucket.name}/site"
    first = publish(url)
    assert first.written == local.written and first.errors == ()
    for path in first.paths:
        blob = gcs_bucket.blob(f"site/{path}")
        assert blob.download_as_bytes() == (tmp_path / "cdn" / path).read_bytes()
    latest = json.loads(gcs_bucket.blob("site/v1/latest.json").download_as_bytes())
    assert latest["latestSnapshotDate"] == "2025-03-10"
    assert publish(url).written == 0


def test_a_failed_bucket_write_stops_the_date_and_is_reported(stored, gcs_server, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.endpoint_url)
    outcome = publish("gs://no-such-bucket/site")
    assert outcome.written == 0
    assert outcome.errors and "gs://no-such-bucket/site" in outcome.errors[0]
