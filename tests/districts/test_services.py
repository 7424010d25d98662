"""districts/services.py: district ids, the configured scope and the districts seen."""

from __future__ import annotations

from datetime import date

import pytest

from districts import services
from districts.ids import InvalidDistrictId
from districts.models import District, DistrictConfiguration
from tests.factories import DistrictConfigurationFactory, DistrictFactory


def test_the_configured_scope_is_stored_in_canonical_form(db):
    assert services.set_configured_districts(district_ids=["42", "02", " f "]) == ("2", "42", "F")


@pytest.mark.parametrize("raw", ["1234", "AB", "4a", "", " ", "-1", "4.2", "é"])
def test_malformed_district_ids_are_rejected(db, raw):
    with pytest.raises(InvalidDistrictId, match="Invalid district id"):
        services.set_configured_districts(district_ids=[raw])


def test_numbers_sort_numerically_before_letter_districts():
    ids = ["F", "101", "9", "U", "42"]
    assert sorted(ids, key=services.district_sort_key) == ["9", "42", "101", "F", "U"]


def test_no_configured_district_means_an_empty_scope(db):
    assert services.configured_districts() == ()


def test_configured_districts_are_sorted(db):
    for district_id in ("F", "101", "9"):
        DistrictConfigurationFactory(district_id=district_id)
    assert services.configured_districts() == ("9", "101", "F")


def test_without_a_configured_scope_every_target_is_in_scope(db):
    resolution = services.resolve_scope(targets=["42", "61", "42"])
    assert resolution.targets == ("42", "61")
    assert resolution.excluded == ()
    assert resolution.all_configured is False


def test_targets_outside_the_configured_scope_are_excluded(db):
    services.set_configured_districts(district_ids=["42", "61"])
    resolution = services.resolve_scope(targets=["99", "42", "7"])
    assert resolution.configured == ("42", "61")
    assert resolution.targets == ("42",)
    assert resolution.excluded == ("99", "7")
    assert resolution.all_configured is False


def test_targeting_every_configured_district_is_all_configured(db):
    services.set_configured_districts(district_ids=["42", "61"])
    assert services.resolve_scope(targets=["61", "42"]).all_configured is True


def test_set_replaces_the_scope_with_canonical_ids(db):
    DistrictConfigurationFactory(district_id="7")
    assert services.set_configured_districts(district_ids=["02", "f", "61"]) == ("2", "61", "F")
    assert not DistrictConfiguration.objects.filter(district_id="7").exists()


def test_set_to_nothing_puts_every_district_in_scope(db):
    services.set_configured_districts(district_ids=["42"])
    assert services.set_configured_districts(district_ids=[]) == ()


def test_set_with_a_bad_id_changes_nothing(db):
    services.set_configured_districts(district_ids=["42"])
    with pytest.raises(InvalidDistrictId):
        services.set_configured_districts(district_ids=["61", "bad"])
    assert services.configured_districts() == ("42",)


def test_add_keeps_the_scope_and_ignores_ids_already_in_it(db):
    services.set_configured_districts(district_ids=["42"])
    assert services.add_configured_districts(district_ids=["042", "F"]) == ("42", "F")


def test_remove_takes_districts_out_of_the_scope(db):
    services.set_configured_districts(district_ids=["42", "61", "F"])
    assert services.remove_configured_districts(district_ids=["f", "99"]) == ("42", "61")


def test_seen_districts_are_recorded_with_their_region_and_date(db):
    services.record_districts_seen(seen={"42": "05", "F": ""}, on=date(2025, 3, 10))
    district = District.objects.get(id="42")
    assert (district.region, district.first_seen, district.last_seen) == (
        "05",
        date(2025, 3, 10),
        date(2025, 3, 10),
    )
    assert District.objects.get(id="F").region == ""


def test_seeing_a_district_again_widens_its_date_range(db):
    DistrictFactory(id="42", region="05", first_seen=date(2025, 3, 1), last_seen=date(2025, 3, 31))
    services.record_districts_seen(seen={"42": ""}, on=date(2024, 7, 1))
    services.record_districts_seen(seen={"42": "06"}, on=date(2025, 6, 30))
    district = District.objects.get(id="42")
    assert (district.first_seen, district.last_seen) == (date(2024, 7, 1), date(2025, 6, 30))
    assert district.region == "06"


def test_an_empty_region_keeps_the_known_one(db):
    DistrictFactory(id="42", region="05")
    services.record_districts_seen(seen={"42": ""}, on=date(2025, 3, 15))
    assert District.objects.get(id="42").region == "05"
