"""Business hours: weekends, German public holidays, after-hours starts, pauses."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kreis.service.sla import BusinessCalendar, add_business_hours, business_hours_between

BERLIN = ZoneInfo("Europe/Berlin")
CAL = BusinessCalendar(tz=BERLIN)  # Mon–Fri 08:00–17:00, nationwide holidays


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def test_hours_within_one_business_day():
    assert add_business_hours(at(2026, 12, 1, 9), 4, CAL) == at(2026, 12, 1, 13)


def test_hours_carry_over_to_the_next_morning():
    # Tuesday 15:00 + 4 h: two hours left on Tuesday, two on Wednesday from 08:00.
    assert add_business_hours(at(2026, 12, 1, 15), 4, CAL) == at(2026, 12, 2, 10)


def test_a_weekend_is_skipped():
    # Friday 16:00 + 2 h → Monday 09:00.
    assert add_business_hours(at(2026, 12, 4, 16), 2, CAL) == at(2026, 12, 7, 9)


def test_christmas_holidays_are_skipped():
    # Thursday 24 Dec 16:00 + 2 h: 25 and 26 Dec are holidays, then the weekend → Mon 28 Dec 09:00.
    assert add_business_hours(at(2026, 12, 24, 16), 2, CAL) == at(2026, 12, 28, 9)


def test_a_start_after_hours_counts_from_the_next_opening():
    assert add_business_hours(at(2026, 12, 1, 20), 1, CAL) == at(2026, 12, 2, 9)
    assert add_business_hours(at(2026, 12, 2, 6, 30), 1, CAL) == at(2026, 12, 2, 9)


def test_a_state_holiday_counts_only_in_that_state():
    # 6 January (Epiphany) 2027 is a Wednesday: a holiday in Bavaria, not nationwide.
    start = at(2027, 1, 5, 16)
    assert add_business_hours(start, 2, CAL) == at(2027, 1, 6, 9)
    bavaria = BusinessCalendar(tz=BERLIN, state="BY")
    assert add_business_hours(start, 2, bavaria) == at(2027, 1, 7, 9)


def test_business_hours_between_skip_nights_and_holidays():
    assert business_hours_between(at(2026, 12, 1, 15), at(2026, 12, 2, 10), CAL) == 4
    assert business_hours_between(at(2026, 12, 24, 9), at(2026, 12, 28, 9), CAL) == 9
    assert business_hours_between(at(2026, 12, 2), at(2026, 12, 1), CAL) == 0


def test_a_pause_moves_the_deadline_by_its_business_hours():
    due = add_business_hours(at(2026, 12, 1, 9), 8, CAL)  # Tue 17:00
    paused = business_hours_between(at(2026, 12, 1, 10), at(2026, 12, 1, 13), CAL)
    assert add_business_hours(due, paused, CAL) == at(2026, 12, 2, 11)


def test_answers_are_utc_and_bad_input_is_refused():
    assert add_business_hours(at(2026, 12, 1, 9), 1, CAL).tzinfo == dt.UTC
    with pytest.raises(ValueError, match="aware"):
        add_business_hours(dt.datetime(2026, 12, 1, 9), 1, CAL)  # noqa: DTZ001
    with pytest.raises(ValueError, match="end after"):
        BusinessCalendar(day_start=dt.time(17), day_end=dt.time(8))
