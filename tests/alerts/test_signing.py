from alerts import signing

BODY = b'{"event":"firing"}'


def test_a_signature_verifies_with_its_secret_and_timestamp():
    headers = signing.signed_headers("s3cret", BODY, now=1_700_000_000)
    assert headers[signing.SIGNATURE_HEADER].startswith("sha256=")
    assert signing.verify(
        "s3cret",
        timestamp=headers[signing.TIMESTAMP_HEADER],
        body=BODY,
        given=headers[signing.SIGNATURE_HEADER],
        now=1_700_000_010,
    )


def test_another_secret_a_changed_body_or_an_old_timestamp_fail():
    headers = signing.signed_headers("s3cret", BODY, now=1_700_000_000)
    timestamp, given = headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER]
    now = 1_700_000_001
    assert not signing.verify("other", timestamp=timestamp, body=BODY, given=given, now=now)
    assert not signing.verify("s3cret", timestamp=timestamp, body=BODY + b" ", given=given, now=now)
    assert not signing.verify(
        "s3cret", timestamp=timestamp, body=BODY, given=given, now=1_700_000_000 + 301
    )
    assert not signing.verify("s3cret", timestamp="soon", body=BODY, given=given, now=now)
