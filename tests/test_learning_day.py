from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.learning_day import (
    day_end,
    day_start,
    delivery_moment,
    learning_day,
    local_to_utc,
    parse_clock_time,
    zone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_day_starts_at_four_local():
    berlin = ZoneInfo("Europe/Berlin")
    assert learning_day(datetime(2025, 3, 4, 3, 59, tzinfo=berlin), "Europe/Berlin") == date(2025, 3, 3)
    assert learning_day(datetime(2025, 3, 4, 4, 0, tzinfo=berlin), "Europe/Berlin") == date(2025, 3, 4)
    assert learning_day(datetime(2025, 3, 4, 23, 59, tzinfo=berlin), "Europe/Berlin") == date(2025, 3, 4)
    # The same instant given in UTC lands on the same learning day.
    assert learning_day(utc(2025, 3, 4, 2, 59), "Europe/Berlin") == date(2025, 3, 3)
    assert learning_day(utc(2025, 3, 4, 3, 0), "Europe/Berlin") == date(2025, 3, 4)


def test_both_sides_of_the_date_line():
    # Kiritimati is UTC+14, Pago Pago UTC-11: 25 hours apart, so one instant is two calendar days apart.
    instant = utc(2025, 3, 3, 20, 0)
    assert learning_day(instant, "Pacific/Kiritimati") == date(2025, 3, 4)  # 10:00 on the 4th
    assert learning_day(instant, "Pacific/Pago_Pago") == date(2025, 3, 3)  # 09:00 on the 3rd
    assert day_start(date(2025, 3, 4), "Pacific/Kiritimati") == utc(2025, 3, 3, 14, 0)
    assert day_start(date(2025, 3, 3), "Pacific/Pago_Pago") == utc(2025, 3, 3, 15, 0)
    assert learning_day(utc(2025, 3, 3, 13, 59), "Pacific/Kiritimati") == date(2025, 3, 3)
    assert learning_day(utc(2025, 3, 4, 14, 59), "Pacific/Pago_Pago") == date(2025, 3, 3)
    assert learning_day(utc(2025, 3, 4, 15, 0), "Pacific/Pago_Pago") == date(2025, 3, 4)
    assert delivery_moment(date(2025, 3, 4), time(8, 30), "Pacific/Kiritimati") == utc(2025, 3, 3, 18, 30)
    assert delivery_moment(date(2025, 3, 3), time(8, 30), "Pacific/Pago_Pago") == utc(2025, 3, 3, 19, 30)


def test_days_are_23_and_25_hours_long_when_berlin_changes_clocks():
    assert day_end(date(2025, 3, 29), "Europe/Berlin") - day_start(date(2025, 3, 29), "Europe/Berlin") == \
        timedelta(hours=23)
    assert day_end(date(2025, 10, 25), "Europe/Berlin") - day_start(date(2025, 10, 25), "Europe/Berlin") == \
        timedelta(hours=25)
    assert day_end(date(2025, 3, 3), "Europe/Berlin") - day_start(date(2025, 3, 3), "Europe/Berlin") == \
        timedelta(hours=24)


def test_berlin_spring_forward_rolls_a_missing_time_forward():
    # 2025-03-30: 02:00 CET -> 03:00 CEST; 02:30 does not exist and becomes 03:30 CEST (= 01:30 UTC).
    moment = local_to_utc(date(2025, 3, 30), time(2, 30), "Europe/Berlin")
    assert moment == utc(2025, 3, 30, 1, 30)
    assert moment.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:30 CEST"
    # A delivery at 08:30 stays 08:30 local: one hour earlier in UTC after the change.
    assert delivery_moment(date(2025, 3, 29), time(8, 30), "Europe/Berlin") == utc(2025, 3, 29, 7, 30)
    assert delivery_moment(date(2025, 3, 30), time(8, 30), "Europe/Berlin") == utc(2025, 3, 30, 6, 30)


def test_berlin_fall_back_takes_the_first_of_a_repeated_time():
    # 2025-10-26: 03:00 CEST -> 02:00 CET; 02:30 happens twice, the first is 00:30 UTC.
    assert local_to_utc(date(2025, 10, 26), time(2, 30), "Europe/Berlin") == utc(2025, 10, 26, 0, 30)
    assert delivery_moment(date(2025, 10, 26), time(8, 30), "Europe/Berlin") == utc(2025, 10, 26, 7, 30)


def test_new_york_spring_forward_and_fall_back():
    # 2025-03-09: 02:00 EST -> 03:00 EDT.
    assert local_to_utc(date(2025, 3, 9), time(2, 30), "America/New_York") == utc(2025, 3, 9, 7, 30)
    assert delivery_moment(date(2025, 3, 8), time(8, 30), "America/New_York") == utc(2025, 3, 8, 13, 30)
    assert delivery_moment(date(2025, 3, 9), time(8, 30), "America/New_York") == utc(2025, 3, 9, 12, 30)
    # 2025-11-02: 02:00 EDT -> 01:00 EST. A 01:30 delivery belongs to the learning day before (it is
    # before 04:00), i.e. it happens on the 2nd, and 01:30 happens twice that night: the first (EDT).
    assert delivery_moment(date(2025, 11, 1), time(1, 30), "America/New_York") == utc(2025, 11, 2, 5, 30)
    assert delivery_moment(date(2025, 11, 2), time(8, 30), "America/New_York") == utc(2025, 11, 2, 13, 30)
    assert learning_day(utc(2025, 11, 2, 5, 30), "America/New_York") == date(2025, 11, 1)
    # The second 01:30 (EST, 06:30 UTC) is still the 1st's learning day, and so is 03:59 EST.
    assert learning_day(utc(2025, 11, 2, 6, 30), "America/New_York") == date(2025, 11, 1)
    assert learning_day(utc(2025, 11, 2, 8, 59), "America/New_York") == date(2025, 11, 1)
    assert learning_day(utc(2025, 11, 2, 9, 0), "America/New_York") == date(2025, 11, 2)


def test_a_delivery_time_before_four_is_the_night_after():
    assert delivery_moment(date(2025, 3, 3), time(1, 0), "UTC") == utc(2025, 3, 4, 1, 0)
    assert delivery_moment(date(2025, 3, 3), time(4, 0), "UTC") == utc(2025, 3, 3, 4, 0)
    assert learning_day(delivery_moment(date(2025, 3, 3), time(3, 59), "UTC"), "UTC") == date(2025, 3, 3)


@pytest.mark.parametrize("text, expected", [
    ("08:30", time(8, 30)), ("8:30", time(8, 30)), ("8.30", time(8, 30)), ("8h30", time(8, 30)),
    ("8am", time(8, 0)), ("8:30 PM", time(20, 30)), ("12am", time(0, 0)), ("12pm", time(12, 0)),
    ("20:05", time(20, 5)), ("7", time(7, 0)), (" 23:59 ", time(23, 59)),
])
def test_clock_times_people_write(text, expected):
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8:60", "13pm", "0am", "noonish", "", "8:3", "-1:00"])
def test_bad_clock_times_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock_time(text)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", " Europe/Berlin", "../etc/passwd", "Europe/berlin "])
def test_unknown_zones_are_refused_with_an_example(name):
    with pytest.raises(ValueError, match="Europe/Berlin"):
        zone(name)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        learning_day(datetime(2025, 3, 3, 8, 0), "UTC")
