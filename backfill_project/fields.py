"""Serializer fields shared by the apps' APIs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rest_framework import serializers

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class StrictDateField(serializers.DateField):
    """A `YYYY-MM-DD` date and nothing else (`date.fromisoformat` also takes `2025-W11-1`)."""

    default_error_messages = {
        "invalid": "Invalid date {value!r}: use an ISO date, YYYY-MM-DD.",
        "null": "Invalid date None: use an ISO date, YYYY-MM-DD.",
        "blank": "Enter a date as YYYY-MM-DD.",
    }

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not ISO_DATE.match(value):
            self.fail("invalid", value=value)
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail("invalid", value=value)
