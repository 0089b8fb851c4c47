"""GitHub's timestamps, one way: ISO-8601 UTC strings ending in ``Z`` (``2024-05-01T12:00:00Z``),
the form GitHub sends and prseed stores, compares and writes to logs."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

GITHUB_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse(timestamp: str) -> datetime:
    """An aware UTC datetime from GitHub's form (or any ISO-8601 text with an offset)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def github(moment: datetime) -> str:
    """GitHub's form of an aware (or naive UTC) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(GITHUB_FORMAT)


def epoch(timestamp: str) -> float:
    """The Unix time of a timestamp in GitHub's form."""
    return parse(timestamp).timestamp()


def from_epoch(seconds: float) -> str:
    """GitHub's form of a Unix time."""
    return github(datetime.fromtimestamp(seconds, UTC))


def start_of(day: date) -> str:
    """The first second of a UTC day, in GitHub's form."""
    return github(datetime.combine(day, time.min, UTC))


def now() -> str:
    return github(datetime.now(UTC))


def shifted(timestamp: str, seconds: float) -> str:
    """``timestamp`` moved by ``seconds`` (negative: earlier), in GitHub's form."""
    return github(parse(timestamp) + timedelta(seconds=seconds))


def clock_time(seconds: float) -> str:
    """The UTC time of day of a Unix time, for log lines: ``12:34:56 UTC``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")


def day_and_time(seconds: float, zone: bool = True) -> str:
    """The UTC date and time of a Unix time, for log lines: ``2024-05-01 12:34:56 UTC``
    (``zone=False``: without `` UTC``, for a table whose header names the zone)."""
    shown = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{shown} UTC" if zone else shown
