"""The questions the analytics endpoints and admin pages take (the API and the admin validate
with the same serializers, so `02` means district 2 and a bad year is refused alike)."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from backfill_project.fields import StrictDateField
from districts.ids import InvalidDistrictId, canonical_district_id

PROGRAM_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


class ProgramYearField(serializers.CharField):
    """A program year `YYYY-YYYY`, the second year one after the first (`2024-2025`)."""

    default_error_messages = {
        "invalid_year": "Invalid program year {value!r}: use YYYY-YYYY with consecutive "
        "years, e.g. 2024-2025 (July 2024 to June 2025)."
    }

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        match = PROGRAM_YEAR.match(value)
        if not match or int(match[2]) != int(match[1]) + 1:
            self.fail("invalid_year", value=value)
        return value


class DistrictIdField(serializers.CharField):
    """A district id in any accepted form (`42`, `02`, `f`), returned canonical (`2`, `F`)."""

    def to_internal_value(self, data: Any) -> str:
        try:
            return canonical_district_id(super().to_internal_value(data))
        except InvalidDistrictId as exc:
            raise serializers.ValidationError(str(exc)) from None


class DistrictAnalyticsQuerySerializer(serializers.Serializer):
    district_id = DistrictIdField(help_text="42, 02 or F.")
    programYear = ProgramYearField(
        required=False, help_text="2024-2025; omitted: the latest generated."
    )


class RankingsQuerySerializer(serializers.Serializer):
    date = StrictDateField(required=False, help_text="YYYY-MM-DD; omitted: the latest generated.")
