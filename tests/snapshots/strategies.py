"""Hypothesis strategies for `DistrictStatistics` (every field, None where the type allows)."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from districts.dashboard import statistics

counts = st.integers(min_value=-(10**6), max_value=10**9)
maybe_counts = st.none() | counts
maybe_floats = st.none() | st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(max_size=24)
dates = st.dates(min_value=date(2015, 7, 1), max_value=date(2030, 6, 30))
goals = st.tuples(maybe_counts, maybe_counts, maybe_counts)
district_ids = st.from_regex(r"\A([1-9][0-9]{0,2}|[A-Z])\Z")

areas = st.builds(
    statistics.Area,
    area=texts,
    club_base=maybe_counts,
    clubs=counts,
    paid_clubs=maybe_counts,
    distinguished_clubs=maybe_counts,
    paid_club_goals=goals,
    distinguished_club_goals=goals,
    nov_visits=counts,
    may_visits=counts,
    distinguished_status=texts,
)
divisions = st.builds(
    statistics.Division,
    division=texts,
    club_base=maybe_counts,
    clubs=counts,
    paid_clubs=maybe_counts,
    distinguished_clubs=maybe_counts,
    paid_club_goals=goals,
    distinguished_club_goals=goals,
    distinguished_status=texts,
    areas=st.lists(areas, max_size=3).map(tuple),
)
club_details = st.builds(
    statistics.ClubDetail,
    club_number=st.from_regex(r"\A[0-9]{1,8}\Z"),
    name=texts,
    division=texts,
    area=texts,
    status=st.none() | st.sampled_from(["Active", "Low", "Suspended", "Ineligible"]),
    active_members=maybe_counts,
    membership_base=maybe_counts,
    new_members=maybe_counts,
    goals_met=maybe_counts,
    distinguished_level=st.sampled_from(["", "D", "S", "P", "M"]),
    new_payments=maybe_counts,
    october_payments=maybe_counts,
    april_payments=maybe_counts,
    late_payments=maybe_counts,
    charter_payments=maybe_counts,
    total_payments=maybe_counts,
    charter_date=st.none() | dates,
    suspend_date=st.none() | dates,
)


@st.composite
def district_statistics(draw: st.DrawFn) -> statistics.DistrictStatistics:
    logical_date = draw(dates)
    return statistics.DistrictStatistics(
        district_id=draw(district_ids),
        logical_date=logical_date,
        as_of_date=draw(dates),
        data_month=logical_date.strftime("%Y-%m"),
        program_year=draw(texts),
        is_closing_period=draw(st.booleans()),
        detail=draw(st.sampled_from(["summary", "full"])),
        region=draw(st.none() | texts),
        membership=draw(st.builds(statistics.Membership, *(maybe_counts,) * 4)),
        payments=draw(st.builds(statistics.Payments, *(maybe_counts,) * 7, maybe_floats)),
        clubs=draw(
            st.builds(
                statistics.ClubCounts,
                *(maybe_counts,) * 7,
                maybe_floats,
                *(maybe_counts,) * 5,
                maybe_floats,
            )
        ),
        education=draw(st.none() | st.builds(statistics.Education, *(counts,) * 6)),
        divisions=tuple(draw(st.lists(divisions, max_size=3))),
        club_details=tuple(draw(st.lists(club_details, max_size=5))),
        warnings=tuple(draw(st.lists(texts, max_size=3))),
    )
