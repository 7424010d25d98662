"""The API's JSON parser (the default of every endpoint): DRF's, with bounds on what it builds.

- Nesting deeper than `MAX_DEPTH` is refused before parsing (400 "JSON nested too deeply"):
  thousands of levels made the decoder raise RecursionError (a 500); no request of this API
  nests more than a few levels.
- An integer literal longer than `MAX_INTEGER_DIGITS` digits becomes a stand-in of that many
  digits with its sign, so the field it was given to refuses it with its own short message
  ("Ensure this value is less than or equal to 32.") instead of Python's limit on integer
  conversion ("... use sys.set_int_max_str_digits() ...").
"""

from __future__ import annotations

import codecs
import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 64

_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deeply `text`'s arrays and objects nest (brackets inside strings do not count).

    Linear and without recursion: escapes are dropped, then strings, then everything but
    brackets, and the running sum of +1 / -1 is taken.
    """
    brackets = _NOT_A_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _integer(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) <= MAX_INTEGER_DIGITS:
        return int(text)
    stand_in = 10**MAX_INTEGER_DIGITS
    return -stand_in if text.startswith("-") else stand_in


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except LookupError:
            raise ParseError("JSON parse error - unknown charset.") from None
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - not {encoding}: {exc.reason}") from None
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(f"JSON nested too deeply: at most {MAX_DEPTH} levels.")
        try:
            return json.loads(
                text,
                parse_int=_integer,
                parse_constant=drf_json.strict_constant if self.strict else None,
            )
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
