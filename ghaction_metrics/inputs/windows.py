"""Time windows: parsing ``window`` and ``incident-window`` values, and the comparison period."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_RELATIVE = re.compile(r"^(\d{1,4})([dw])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_DURATION = re.compile(r"^(\d{1,4})([hdw])$")
# No repository holds data from before the Unix epoch (GitHub itself dates from 2008); an
# earlier date only makes the comparison and backfill windows run off the calendar.
EARLIEST = date(1970, 1, 1)
MAX_DAYS = 3660  # about ten years


@dataclass(frozen=True)
class Window:
    """A half-open interval ``[since, until)`` of UTC-aware instants, measured in the calendar
    of ``zone`` (the run's ``timezone``).

    Lengths are calendar days, not elapsed time: a week across a daylight-saving change is 7
    days (167 or 169 hours), per-day rates divide by that, and the windows derived from this
    one (the previous window, backfilled weeks) start and end at local midnight.
    """

    since: datetime
    until: datetime
    zone: tzinfo = field(default=UTC, compare=False)

    @property
    def days(self) -> float:
        """Calendar days: whole days between day starts, else local wall-clock time in days."""
        if _day_start(self.since, self.zone) and _day_start(self.until, self.zone):
            return float((_date(self.until, self.zone) - _date(self.since, self.zone)).days)
        return (_wall(self.until, self.zone) - _wall(self.since, self.zone)) / timedelta(days=1)

    def __contains__(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def shifted(self, delta: timedelta) -> Window:
        """This window moved by ``delta`` of local calendar time (whole days stay whole)."""
        return Window(
            _shift(self.since, delta, self.zone), _shift(self.until, delta, self.zone), self.zone
        )

    def previous(self) -> Window:
        """The window of the same calendar length just before this one."""
        return self.ending(self.since)

    def starting(self, moment: datetime, cut: datetime | None = None) -> Window:
        """A window of this calendar length from ``moment``, ending at ``cut`` if earlier."""
        until = _shift(moment, self._length(), self.zone)
        return Window(moment, min(until, cut) if cut is not None else until, self.zone)

    def ending(self, moment: datetime) -> Window:
        """A window of this calendar length that ends at ``moment``."""
        return Window(_shift(moment, -self._length(), self.zone), moment, self.zone)

    def _length(self) -> timedelta:
        return timedelta(days=self.days)


def _date(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    """The local wall-clock time of ``moment`` in ``zone``, as a naive datetime."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _local(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a local wall-clock time; one that a clock change skips maps to the
    instant the change happens (so a day whose midnight is skipped starts at 01:00)."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _day_start(moment: datetime, zone: tzinfo) -> bool:
    return moment == midnight(_date(moment, zone), zone)


def _shift(moment: datetime, delta: timedelta, zone: tzinfo) -> datetime:
    """``moment`` moved by ``delta`` of local calendar time: a day start by whole days stays a
    day start, whatever clock changes lie between."""
    if _day_start(moment, zone) and delta % timedelta(days=1) == timedelta(0):
        return midnight(_date(moment, zone) + delta, zone)
    return _local(_wall(moment, zone) + delta, zone)


@dataclass(frozen=True)
class WindowSpec:
    """A parsed ``window`` input, resolved against a clock by ``resolve``."""

    text: str
    days: int | None = None  # relative: the last N whole days before today
    first: date | None = None  # absolute: inclusive dates
    last: date | None = None

    def resolve(self, now: datetime, zone: tzinfo) -> Window:
        if self.days is not None:
            # Whole days that have ended, so a daily run measures complete days and the
            # figures do not move with the time of day the schedule fires.
            today = now.astimezone(zone).date()
            until_day = today
            since_day = today - timedelta(days=self.days)
        else:
            assert self.first is not None
            assert self.last is not None
            since_day, until_day = self.first, self.last + timedelta(days=1)
        return Window(midnight(since_day, zone), midnight(until_day, zone), zone)


def midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC instant at which ``day`` begins in ``zone``."""
    return _local(datetime.combine(day, time(0, 0)), zone)


def parse_window(text: str) -> WindowSpec:
    """Parse ``Nd``, ``Nw`` or ``YYYY-MM-DD..YYYY-MM-DD``; raise ValueError with what is allowed."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        count = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        if count < 1:
            raise ValueError("the window must be at least one day long")
        if count > MAX_DAYS:
            raise ValueError(f"the window may be at most {MAX_DAYS} days (about ten years) long")
        return WindowSpec(value, days=count)
    match = _RANGE.match(value)
    if match:
        try:
            first = date.fromisoformat(match.group(1))
            last = date.fromisoformat(match.group(2))
        except ValueError as exc:
            raise ValueError(f"{exc}") from None
        if last < first:
            raise ValueError("the end date is before the start date")
        check_date(first)
        if (last - first).days + 1 > MAX_DAYS:
            raise ValueError(f"the window may be at most {MAX_DAYS} days (about ten years) long")
        return WindowSpec(value, first=first, last=last)
    raise ValueError("use Nd (days), Nw (weeks) or YYYY-MM-DD..YYYY-MM-DD (inclusive dates)")


def check_date(day: date) -> None:
    """Raise ValueError for a date earlier than any repository's data."""
    if day < EARLIEST:
        raise ValueError(
            f"use a date from {EARLIEST.isoformat()} on: no repository holds older data"
        )


def in_the_future(day: date, now: datetime, zone: tzinfo) -> bool:
    """Whether ``day`` has not begun yet in ``zone``."""
    return day > now.astimezone(zone).date()


def parse_duration(
    text: str, longest: timedelta | None = None, longest_text: str = ""
) -> timedelta:
    """Parse ``Nh``, ``Nd`` or ``Nw`` into a positive duration, at most ``longest``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError("use Nh (hours), Nd (days) or Nw (weeks), for example 7d")
    count = int(match.group(1))
    if count < 1:
        raise ValueError("the duration must be positive")
    unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    duration = count * unit[match.group(2)]
    if longest is not None and duration > longest:
        raise ValueError(f"the duration may be at most {longest_text}")
    return duration
