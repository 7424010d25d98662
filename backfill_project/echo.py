"""Error messages echo at most `ECHO_LIMIT` characters of what a client sent.

`capped` walks an error structure (field -> messages, as the API answers and the commands and the
admin form print it): a quoted value in a message (`Invalid date 'xxxx...'`), a run without spaces
(an id in a path) or a key (an unknown field's name) longer than the limit is cut there with an
ellipsis, and a message is never longer than `MESSAGE_LIMIT`.
"""

from __future__ import annotations

import re

ECHO_LIMIT = 64
MESSAGE_LIMIT = 300
# A value longer than the limit: quoted ('abc...' or "abc...", as repr() and DRF's messages
# quote it) or a run without spaces (an id in "No backfill job with id abc...").
_LONG = f"{{{ECHO_LIMIT + 1},}}"
_ECHOED = re.compile(f"'[^']{_LONG}'|\"[^\"]{_LONG}\"|\\S{_LONG}")


def capped(value, limit: int = ECHO_LIMIT):
    """An error body with every echoed value cut to `limit` characters (see the module doc)."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            key = _cut(key, limit) if isinstance(key, str) else key
            item = capped(item, limit)
            # Two long keys cut to the same text keep both messages.
            result[key] = result[key] + item if isinstance(result.get(key), list) else item
        return result
    if isinstance(value, list):
        return [capped(item, limit) for item in value]
    if isinstance(value, str) and len(value) > limit:
        shorter = _cut(_ECHOED.sub(lambda m: _cut_echo(m[0], limit), value), MESSAGE_LIMIT)
        # ErrorDetail keeps its code.
        return type(value)(shorter, code=value.code) if hasattr(value, "code") else shorter
    return value


def _cut_echo(text: str, limit: int) -> str:
    quote = text[0]
    if quote in "'\"" and text[-1] == quote and len(text) > 1:
        return quote + _cut(text[1:-1], limit) + quote
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\u2026"
