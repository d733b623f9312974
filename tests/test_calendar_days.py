"""Windows follow calendar days in the run's time zone (SPEC §5): a week across a
daylight-saving change is 7 days, not 6.958, and every window, the previous one, the
before/after sides and the backfilled weeks start and end at local midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ghaction_metrics.inputs.windows import Window, parse_window
from ghaction_metrics.metrics.backfill import backfill_windows
from ghaction_metrics.metrics.report import comparison_windows

ZONES = [
    "UTC", "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "Australia/Sydney",
    "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Pacific/Apia", "Africa/Casablanca",
    "Asia/Tehran", "Europe/Dublin", "Asia/Gaza", "America/Havana",
]  # fmt: skip
BERLIN = ZoneInfo("Europe/Berlin")


def _is_local_midnight(moment: datetime, zone: ZoneInfo) -> bool:
    """The first instant of its local day (00:00, or later when the clock skips midnight)."""
    local = moment.astimezone(zone)
    start = datetime.combine(local.date(), time(0, 0), tzinfo=zone).astimezone(UTC)
    return moment == start


def test_a_berlin_week_across_the_spring_change_is_seven_days() -> None:
    # 2026-03-29 02:00 local jumps to 03:00: the week has 167 hours and 7 calendar days.
    window = parse_window("2026-03-23..2026-03-29").resolve(
        datetime(2026, 4, 1, tzinfo=UTC), BERLIN
    )
    assert window.until - window.since == timedelta(hours=167)
    assert window.days == 7
    previous = window.previous()
    assert previous.days == 7
    assert previous.since == datetime(2026, 3, 16, tzinfo=BERLIN).astimezone(UTC)
    assert _is_local_midnight(previous.since, BERLIN)


def test_a_day_whose_midnight_is_skipped_starts_when_its_clock_does() -> None:
    # Sao Paulo, 2017-10-15: 00:00 became 01:00, so the day began at 01:00 local time.
    zone = ZoneInfo("America/Sao_Paulo")
    window = parse_window("2017-10-15..2017-10-21").resolve(datetime(2018, 1, 1, tzinfo=UTC), zone)
    assert window.since.astimezone(zone).hour == 1
    assert window.days == 7
    assert window.previous().days == 7
    assert window.previous().since.astimezone(zone).hour == 0
    assert window.shifted(timedelta(weeks=1)).since.astimezone(zone).hour == 0


@settings(max_examples=300, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    today=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)),
    length=st.integers(min_value=1, max_value=120),
    weeks=st.integers(min_value=1, max_value=3),
    event_offset=st.integers(min_value=-400, max_value=400),
)
def test_every_window_is_whole_local_days(
    zone_name: str, today: date, length: int, weeks: int, event_offset: int
) -> None:
    zone = ZoneInfo(zone_name)
    now = datetime.combine(today, time(12, 0), tzinfo=zone).astimezone(UTC)
    window = parse_window(f"{length}d").resolve(now, zone)
    windows: list[Window] = [window, window.previous()]
    windows += backfill_windows(window, timedelta(weeks=weeks))
    event = today + timedelta(days=event_offset)
    sides = comparison_windows(window, event.isoformat(), zone, now)
    if sides is not None:
        before, after = sides
        windows.append(before)
        assert before.until == after.since
        if after.until < now:
            windows.append(after)
    for each in windows:
        assert _is_local_midnight(each.since, zone), each
        assert _is_local_midnight(each.until, zone), each
        assert each.days == length, each
    assert window.previous().until == window.since
    assert window.until.astimezone(zone).date() == today
