"""How a webhook body is signed, and how a receiver checks it.

The signature is HMAC-SHA256, keyed with the endpoint's secret, over "<timestamp>.<body>"
(the raw bytes sent); headers `X-Backfill-Timestamp` (Unix seconds) and
`X-Backfill-Signature: sha256=<hex>`. Signing the timestamp with the body lets a receiver
refuse a replayed request older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Backfill-Timestamp"
SIGNATURE_HEADER = "X-Backfill-Signature"
# A receiver refuses a timestamp further than this from its clock.
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    given: str,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether `given` signs `body` at `timestamp` with `secret`, within `tolerance` seconds."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), given)
