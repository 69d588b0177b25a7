"""Parsing `/tutor` command text: times, days, zones, channels, schedules."""

from __future__ import annotations

from datetime import time

import pytest

from bot.slack.parsing import (
    ChannelRef,
    CommandError,
    Verb,
    format_days,
    parse_channel,
    parse_command,
    parse_days,
    parse_schedule,
    parse_schedule_id,
    parse_time,
)


def test_commands() -> None:
    assert parse_command("").verb is Verb.HELP
    assert parse_command("  JOIN  basics ") == parse_command("join basics")
    assert parse_command("join basics").args == ("basics",)
    with pytest.raises(CommandError, match="/tutor help"):
        parse_command("frobnicate")


@pytest.mark.parametrize("text, expected", [
    ("08:30", time(8, 30)), ("8:30", time(8, 30)), ("17:00", time(17)), ("8am", time(8)),
    ("12am", time(0)), ("12pm", time(12)), ("5:30pm", time(17, 30)), ("00:00", time(0)),
])
def test_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["8", "24:00", "08:60", "13pm", "noon", "8.30", ""])
def test_bad_times(text: str) -> None:
    with pytest.raises(CommandError):
        parse_time(text)


def test_days() -> None:
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("mon,wed,fri") == (0, 2, 4)
    assert parse_days("daily") == tuple(range(7))
    assert parse_days("Weekends") == (5, 6)
    assert parse_days("fri-mon") == (0, 4, 5, 6)  # wraps
    assert parse_days("monday,tues") == (0, 1)
    assert format_days((0, 1, 2, 3, 4)) == "mon-fri" and format_days((0, 2)) == "mon,wed"
    for bad in ("mo", "funday", "mon-xyz", ","):
        with pytest.raises(CommandError):
            parse_days(bad)


def test_channels() -> None:
    assert parse_channel("<#C012AB3CD|general>") == ChannelRef("C012AB3CD", "general")
    assert parse_channel("<#C012AB3CD>") == ChannelRef("C012AB3CD", None)
    assert parse_channel("C012AB3CD") == ChannelRef("C012AB3CD", None)
    assert parse_channel("#team-ml") == ChannelRef(None, "team-ml")
    with pytest.raises(CommandError):
        parse_channel("general")


def test_schedule() -> None:
    request = parse_schedule(("<#C012AB3CD|general>", "basics", "09:00", "mon-fri", "Europe/Berlin",
                              "close", "17:00"), default_tz="UTC")
    assert (request.channel.id, request.deck, request.at, request.days, request.tz, request.close) == (
        "C012AB3CD", "basics", time(9), (0, 1, 2, 3, 4), "Europe/Berlin", time(17))
    default = parse_schedule(("#general", "basics", "9am"), default_tz="Asia/Tokyo")
    assert default.days == tuple(range(7)) and default.tz == "Asia/Tokyo" and default.close is None
    swapped = parse_schedule(("#general", "basics", "09:00", "UTC", "mon,wed"), default_tz="Asia/Tokyo")
    assert swapped.tz == "UTC" and swapped.days == (0, 2)
    for args, message in [(("#general", "basics"), "Usage"), (("#g", "d", "09:00", "Mars/Base"), "neither"),
                          (("#g", "d", "09:00", "close"), "needs a time"),
                          (("#g", "d", "09:00", "close", "08:00"), "after")]:
        with pytest.raises(CommandError, match=message):
            parse_schedule(args, default_tz="UTC")
    assert parse_schedule_id(("3",)) == 3 and parse_schedule_id(("#3",)) == 3
    with pytest.raises(CommandError):
        parse_schedule_id(("x",))
