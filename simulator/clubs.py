"""The simulated clubs of a district: names, rosters (charters and closures over the years) and
each club's state on a day of the program year (members, payments, goals, awards, status).

Deterministic as the rest of the simulator: every generator is `stable_random` seeded by a
descriptive string, and a club's figures are cumulative functions of the program year's day.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

REALIGNMENT_YEAR = 2026
SMEDLEY_YEAR = 2025
LEGACY_GOALS_BEFORE = 2018

UNASSIGNED_DIVISION = "0D"
UNASSIGNED_AREA = "0A"
DIVISION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWX"
_MAX_CLUBS_PER_DISTRICT = 140

ACTIVE, LOW, SUSPENDED, INELIGIBLE = "Active", "Low", "Suspended", "Ineligible"
PAID_STATUSES = frozenset({ACTIVE, LOW})


def stable_random(*parts: object) -> random.Random:
    """A generator seeded by the parts' text; identical in every process and Python version."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --- Club names -----------------------------------------------------------------------------
_PLACES = (
    "Riverside", "Harbour", "Maple Ridge", "Lakeview", "Sunrise", "Downtown", "Northgate",
    "Pacific", "Cedar Valley", "Hillcrest", "Bayside", "Granite City", "Prairie", "Summit",
    "Old Town", "Westbrook", "Eastside", "Silver Lake", "Capitol", "Thunderbird", "Golden Gate",
    "Red River", "Evergreen", "Oakwood", "Kingsway", "Beacon Hill", "Meadowbrook", "Clearwater",
    "Ironwood", "Highland", "St. John's", "O'Fallon",
)  # fmt: skip
_ORGANISATIONS = (
    "Acme Corp", "City Hall", "Metro Transit", "St. Mary's Hospital", "Arc'teryx",
    "Johnson & Lee", "Northwind Bank", "Public Library", "State University", "Tech Park",
    "Veterans Affairs", "Airport Authority", "AT&T", "Procter & Gamble",
)  # fmt: skip
_WORDS = (
    "Readers", "Debaters", "Achievers", "Orators", "Storytellers", "Leaders", "Speakers",
    "Thinkers", "Pioneers", "Voices", "Innovators", "Communicators",
)  # fmt: skip


_NAME_PATTERNS = (
    "{place} Toastmasters Club",
    "{place} Toastmasters",
    "{organisation} Toastmasters",
    "Let's Talk {topic}",
    "{word} & {word2} Toastmasters Club",
    "{place} Toastmasters Club #{number}",
    "{word}  Toastmasters Club",
    "{place} Club   #{number}",
    "Speakers of {place}, {other}",
    "Advanced Leaders Lab ({abbreviation})",
    'The "{word}" of {place}',
    "{place} Early Risers",
    "{organisation} Speak Easy",
)


def _club_name(rng: random.Random) -> str:
    """Free-text names with the quirks of real ones: apostrophes, `&`, `#`, commas, quotes,
    runs of spaces."""
    place, other = rng.sample(_PLACES, 2)
    word, word2 = rng.sample(_WORDS, 2)
    return rng.choice(_NAME_PATTERNS).format(
        place=place,
        other=other,
        word=word,
        word2=word2,
        organisation=rng.choice(_ORGANISATIONS),
        topic=rng.choice(("Business", "Leadership", "Tech", "Science")),
        number=rng.randint(100, 9999),
        abbreviation=word[:3].upper(),
    )


@lru_cache(maxsize=512)
def _club_identities(seed: int, district_id: str) -> tuple[tuple[str, str], ...]:
    """(club number, name) by club index: the same club keeps its number and name every year."""
    identities: list[tuple[str, str]] = []
    taken: set[int] = set()
    # One generator drawn in index order: club i's identity never depends on later clubs.
    rng = stable_random(seed, "clubs", district_id)
    for _ in range(_MAX_CLUBS_PER_DISTRICT):
        number = rng.randint(1, 999_999) if rng.random() < 0.35 else rng.randint(10**6, 3 * 10**7)
        while number in taken:
            number += 1
        taken.add(number)
        identities.append((f"{number:08d}", _club_name(rng)))
    return tuple(identities)


# --- The program-year calendar in days ------------------------------------------------------
@dataclass(frozen=True)
class YearDays:
    """Days of the program year (July 1 = day 0) at which the club year's events happen."""

    oct_1: int
    nov_30: int
    feb_1: int
    apr_1: int
    may_31: int
    length: int

    @classmethod
    def of(cls, start: int) -> YearDays:
        july_1 = date(start, 7, 1)

        def day(when: date) -> int:
            return (when - july_1).days

        return cls(
            oct_1=day(date(start, 10, 1)),
            nov_30=day(date(start, 11, 30)),
            feb_1=day(date(start + 1, 2, 1)),
            apr_1=day(date(start + 1, 4, 1)),
            may_31=day(date(start + 1, 5, 31)),
            length=day(date(start + 1, 7, 1)),
        )


def _ramp(day: float, begin: float, end: float) -> float:
    if day <= begin:
        return 0.0
    if day >= end:
        return 1.0
    return (day - begin) / (end - begin)


# --- Clubs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Club:
    """A club's fixed facts and year targets; its figures at a day come from `club_state`."""

    number: str
    name: str
    division: str
    area: str
    charter_day: int | None  # chartered during this program year on this day, else None
    suspend_day: int | None  # suspended with effect from the day after this one
    ineligible: bool
    base: int
    csp: bool
    new_target: int
    oct_target: int
    apr_target: int
    late_oct: int
    late_apr: int
    charter_members: int
    levels: tuple[int, int, int, int, int]  # Level 1s .. Level 5s/DTM earned by year end
    legacy_awards: tuple[int, int, int]  # CCs, ACs, CL/AL/DTMs earned by year end
    award_curve: float
    trained_round_1: int
    trained_round_2: int
    dues_on_time_oct: bool
    dues_on_time_apr: bool
    officer_list_on_time: int
    nov_visit: bool
    may_visit: bool


def _new_club(
    rng: random.Random,
    *,
    identity: tuple[str, str],
    start: int,
    days: YearDays,
    chartered_this_year: bool,
) -> Club:
    charter_day = rng.randint(20, days.length - 20) if chartered_this_year else None
    base = 0 if chartered_this_year else max(3, int(rng.triangular(5, 40, 18)))
    suspend_day = None
    if not chartered_this_year and rng.random() < 0.05:
        suspend_day = days.oct_1 - 1 if rng.random() < 0.6 else days.apr_1 - 1
    weak = suspend_day is not None
    oct_target = 0 if weak and suspend_day < days.oct_1 else round(base * rng.uniform(0.55, 1.0))
    apr_target = 0 if weak else round(max(base, 8) * rng.uniform(0.5, 1.0))
    l1 = rng.randint(0, 12)
    l2 = rng.randint(0, min(l1, 7))
    l3 = rng.randint(0, min(l2 + 1, 5))
    l4 = rng.randint(0, 3)
    l5 = rng.randint(0, 2)
    legacy = (0, 0, 0)
    if start < 2020:
        scale = 1.0 if start < LEGACY_GOALS_BEFORE else 0.5
        legacy = (
            round(rng.randint(0, 8) * scale),
            round(rng.randint(0, 4) * scale),
            round(rng.randint(0, 3) * scale),
        )
    if start < 2018:
        l1 = l2 = l3 = l4 = l5 = 0
    return Club(
        number=identity[0],
        name=identity[1],
        division="",
        area="",
        charter_day=charter_day,
        suspend_day=suspend_day,
        ineligible=not weak and not chartered_this_year and rng.random() < 0.02,
        base=base,
        csp=rng.random() < 0.6,
        new_target=0 if weak else int(rng.triangular(0, 18, 5)),
        oct_target=oct_target,
        apr_target=apr_target,
        late_oct=rng.randint(0, 3),
        late_apr=rng.randint(0, 2) if not weak else 0,
        charter_members=rng.randint(20, 28) if chartered_this_year else 0,
        levels=(l1, l2, l3, l4, l5),
        legacy_awards=legacy,
        award_curve=rng.uniform(1.0, 2.5),
        trained_round_1=rng.choice((0, 2, 3, 4, 4, 5, 6, 7, 7)),
        trained_round_2=rng.choice((0, 1, 3, 4, 4, 5, 6, 7)),
        dues_on_time_oct=rng.random() < 0.75,
        dues_on_time_apr=rng.random() < 0.7,
        officer_list_on_time=2 if rng.random() < 0.03 else int(rng.random() < 0.8),
        nov_visit=rng.random() < 0.7,
        may_visit=rng.random() < 0.6,
    )


@lru_cache(maxsize=1024)
def club_roster(seed: int, start: int, district_id: str) -> tuple[Club, ...]:
    """Every club of a district in a program year, placed in divisions and areas.

    Includes clubs chartered during the year (they exist from their charter day).
    """
    size_rng = stable_random(seed, "size", district_id)
    established = size_rng.randint(26, 34) if district_id == "U" else size_rng.randint(40, 110)
    rng = stable_random(seed, "roster", start, district_id)
    established = max(20, established + rng.randint(-3, 3))
    total = established + rng.randint(0, 5)
    identities = _club_identities(seed, district_id)
    days = YearDays.of(start)
    club_rng = stable_random(seed, "club-year", start, district_id)
    clubs = [
        _new_club(
            club_rng,
            identity=identities[index],
            start=start,
            days=days,
            chartered_this_year=index >= established,
        )
        for index in range(total)
    ]
    # New clubs are the usual unassigned ones (Division 0D, Area 0A); the realigned year has more.
    unassigned_count = rng.randint(1, 4) if start >= REALIGNMENT_YEAR else rng.randint(0, 2)
    unassigned = set(range(established, total)[:unassigned_count])
    order = [index for index in range(total) if index not in unassigned]
    rng.shuffle(order)
    placement: dict[int, tuple[str, str]] = dict.fromkeys(
        unassigned, (UNASSIGNED_DIVISION, UNASSIGNED_AREA)
    )
    area_number = 0
    division_index = 0
    areas_left_in_division = rng.randint(3, 5)
    position = 0
    while position < len(order):
        area_size = rng.randint(4, 6)
        area_number += 1
        letter = DIVISION_LETTERS[min(division_index, len(DIVISION_LETTERS) - 1)]
        for index in order[position : position + area_size]:
            placement[index] = (letter, f"{area_number:02d}")
        position += area_size
        areas_left_in_division -= 1
        if areas_left_in_division == 0:
            division_index += 1
            areas_left_in_division = rng.randint(3, 5)
    placed = [
        replace(club, division=placement[index][0], area=placement[index][1])
        for index, club in enumerate(clubs)
    ]
    return tuple(sorted(placed, key=lambda club: (club.division, club.area, club.number)))


@dataclass(frozen=True, slots=True)
class ClubState:
    """A club's published figures at one point of the program year."""

    club: Club
    status: str
    active_members: int
    new_members: int
    october_payments: int
    april_payments: int
    late_payments: int
    charter_payments: int
    levels: tuple[int, int, int, int, int]
    legacy_awards: tuple[int, int, int]
    trained_round_1: int
    trained_round_2: int
    dues_on_time_oct: int
    dues_on_time_apr: int
    officer_list_on_time: int
    nov_visit: int
    may_visit: int
    goals_met: int
    distinguished: str
    charter_suspend_date: str

    @property
    def total_renewals(self) -> int:
        return self.october_payments + self.april_payments + self.late_payments

    @property
    def total_payments(self) -> int:
        return self.new_members + self.total_renewals + self.charter_payments

    @property
    def paid(self) -> bool:
        return self.status in PAID_STATUSES


def _goals(
    *,
    start: int,
    levels: tuple[int, ...],
    legacy: tuple[int, ...],
    new: int,
    trained: tuple[int, int],
    dues: int,
    officer_list: int,
) -> int:
    """Distinguished Club Program goals met, 0-10, from the published award counts."""
    if start < LEGACY_GOALS_BEFORE:
        ccs, acs, leaders = legacy
        education = [ccs >= 2, ccs >= 4, acs >= 1, acs >= 2, leaders >= 1, leaders >= 2]
    else:
        l1, l2, l3, l4, l5 = levels
        education = [l1 >= 4, l2 >= 2, l2 >= 4, l3 >= 2, l4 + l5 >= 1, l4 + l5 >= 2]
    rest = [new >= 4, new >= 8, min(trained) >= 4, dues >= 1 and officer_list >= 1]
    return sum(education) + sum(rest)


def club_state(club: Club, *, start: int, day: float, days: YearDays) -> ClubState | None:
    """The club at `day` of program year `start`; None before its charter day."""
    if club.charter_day is not None and day < club.charter_day:
        return None
    progress = (day / days.length) ** club.award_curve
    since_charter = 0.0 if club.charter_day is None else float(club.charter_day)
    new = math.floor(club.new_target * _ramp(day, since_charter, days.length) ** 1.2)
    october = math.floor(club.oct_target * _ramp(day, 30, days.oct_1))
    april = math.floor(club.apr_target * _ramp(day, days.feb_1, days.apr_1))
    late = math.floor(club.late_oct * _ramp(day, days.oct_1, days.oct_1 + 60)) + math.floor(
        club.late_apr * _ramp(day, days.apr_1, days.apr_1 + 60)
    )
    charter = club.charter_members if club.charter_day is not None else 0
    suspended = club.suspend_day is not None and day > club.suspend_day
    # Members who did not renew drop off after each renewal deadline.
    drop_oct = max(0, club.base - club.oct_target - club.late_oct)
    drop_apr = max(0, club.base + club.new_target // 2 - club.apr_target - club.late_apr)
    active = (
        club.base
        + new
        + charter
        - round(drop_oct * _ramp(day, days.oct_1, days.oct_1 + 30))
        - round(drop_apr * _ramp(day, days.apr_1, days.apr_1 + 30))
    )
    active = 0 if suspended else max(1, active)
    if suspended:
        status = SUSPENDED
    elif club.ineligible:
        status = INELIGIBLE
    else:
        status = LOW if active < 8 else ACTIVE
    levels = tuple(math.floor(target * progress) for target in club.levels)
    legacy = tuple(math.floor(target * progress) for target in club.legacy_awards)
    trained = (
        math.floor(club.trained_round_1 * _ramp(day, 0, 90)),
        math.floor(club.trained_round_2 * _ramp(day, 150, 240)),
    )
    dues_oct = int(club.dues_on_time_oct and day >= days.oct_1)
    dues_apr = int(club.dues_on_time_apr and day >= days.apr_1)
    officer_list = club.officer_list_on_time if day >= 60 else 0
    if club.officer_list_on_time == 2 and day < days.may_31:
        officer_list = 1
    goals = _goals(
        start=start,
        levels=levels,
        legacy=legacy,
        new=new,
        trained=trained,
        dues=dues_oct + dues_apr,
        officer_list=officer_list,
    )
    distinguished = ""
    if status in PAID_STATUSES and day >= days.oct_1:
        qualifies = active >= 20 or active - club.base >= 3
        if qualifies and start >= SMEDLEY_YEAR and goals >= 10 and active >= 25:
            distinguished = "M"
        elif qualifies and goals >= 9:
            distinguished = "P"
        elif qualifies and goals >= 7:
            distinguished = "S"
        elif qualifies and goals >= 5:
            distinguished = "D"
    notes = []
    if club.charter_day is not None:
        notes.append(f"Charter {_program_day_date(start, club.charter_day):%m/%d/%y}")
    if suspended:
        notes.append(f"Susp {_program_day_date(start, club.suspend_day):%m/%d/%y}")
    return ClubState(
        club=club,
        status=status,
        active_members=active,
        new_members=new,
        october_payments=october,
        april_payments=april,
        late_payments=late,
        charter_payments=charter,
        levels=levels,
        legacy_awards=legacy,
        trained_round_1=trained[0],
        trained_round_2=trained[1],
        dues_on_time_oct=dues_oct,
        dues_on_time_apr=dues_apr,
        officer_list_on_time=officer_list,
        nov_visit=int(club.nov_visit and day > days.nov_30),
        may_visit=int(club.may_visit and day > days.may_31),
        goals_met=goals,
        distinguished=distinguished,
        charter_suspend_date=" ".join(notes),
    )


def _program_day_date(start: int, day: int) -> date:
    return date.fromordinal(date(start, 7, 1).toordinal() + day)


@lru_cache(maxsize=1024)
def club_states(seed: int, start: int, district_id: str, day: float) -> tuple[ClubState, ...]:
    """The district's existing clubs at `day`, ordered by division, area and club number."""
    days = YearDays.of(start)
    states = (
        club_state(club, start=start, day=day, days=days)
        for club in club_roster(seed, start, district_id)
    )
    return tuple(state for state in states if state is not None)
