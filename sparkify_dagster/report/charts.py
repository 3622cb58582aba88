"""The report's charts, drawn with matplotlib as PNG bytes.

Figures are made with the object API (no ``pyplot``, no global state) and the Agg canvas, so they
render the same on a server without a display. Every chart has a title and labelled axes; numbers
on axes read like ``1.2k`` and ``3.4M``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import (
    AutoDateLocator,
    ConciseDateFormatter,
    DateFormatter,
    DayLocator,
    date2num,
)
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

FREE = "#7aa6c2"
PAID = "#1f5f8b"
UP = "#2e8b57"
DOWN = "#c0504d"
BAR = "#3b6ea5"
DPI = 110


def compact(value: float) -> str:
    """``value`` for an axis: ``950``, ``1.2k``, ``3.4M``.

    >>> [compact(v) for v in (0, 950, 1200, 3_400_000, 2.5)]
    ['0', '950', '1.2k', '3.4M', '2.5']
    """
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".removesuffix(".0") + suffix
    return f"{value:.1f}".removesuffix(".0")


_COMPACT = FuncFormatter(lambda value, _position: compact(value))


# Text is text: titles and names with "$" are not mathematics (matplotlib's default parses
# "$…$" as mathtext, and "$$" or "$\frac$" then fail to draw).
PLAIN_TEXT: dict[Any, Any] = {"text.parse_math": False}


def _figure(height: float = 3.4) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(8.4, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _days(days: Sequence[dt.date]) -> Any:
    """Dates as matplotlib's day numbers (plotting functions are typed for numbers)."""
    return date2num(list(days))  # type: ignore[no-untyped-call]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


# The dates matplotlib can show: its own default margins would pad a span reaching 9998 past 9999.
_FIRST_DAY, _LAST_DAY = dt.date(1, 1, 2), dt.date(9999, 12, 30)


def _date_axis(axes: Axes, days: Sequence[dt.date]) -> None:
    """Dates on the x axis: one tick a day for a short period, calendar-aware ticks otherwise.

    The axis spans the days plus a margin of a day (or 3 % of a long span) each side, held within
    the dates matplotlib can show, so plays from 1970 to 9998 draw like any others.
    """
    first, last = min(days), max(days)
    margin = dt.timedelta(days=max(1, (last - first).days * 3 // 100))
    low = first - margin if first - _FIRST_DAY > margin else _FIRST_DAY
    high = last + margin if _LAST_DAY - last > margin else _LAST_DAY
    axes.set_xlim(_days([low, high]))
    if (last - first).days < 15:
        axes.xaxis.set_major_locator(DayLocator())  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
    else:
        locator = AutoDateLocator(maxticks=10)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        formatter = ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(formatter)
    axes.set_xlabel("Day (UTC)")


@rc_context(PLAIN_TEXT)
def plays_per_day(days: Sequence[dt.date], free: Sequence[int], paid: Sequence[int]) -> bytes:
    figure, axes = _figure()
    axes.bar(_days(days), free, color=FREE, label="free", width=0.8)
    axes.bar(_days(days), paid, bottom=free, color=PAID, label="paid", width=0.8)
    axes.set_title("Plays per day, by subscription level at the time of the play")
    axes.set_ylabel("Plays")
    axes.yaxis.set_major_formatter(_COMPACT)
    figure.legend(frameon=False, loc="outside right upper")
    _date_axis(axes, days)
    return _png(figure)


@rc_context(PLAIN_TEXT)
def active_users(days: Sequence[dt.date], users: Sequence[int]) -> bytes:
    figure, axes = _figure(3.0)
    axes.plot(_days(days), users, color=BAR, marker="o", markersize=3)
    axes.set_ylim(bottom=0)
    axes.set_title("Active users per day (played at least one song)")
    axes.set_ylabel("Users")
    axes.yaxis.set_major_formatter(_COMPACT)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _date_axis(axes, days)
    return _png(figure)


@rc_context(PLAIN_TEXT)
def heatmap(grid: Sequence[Sequence[int]], weekdays: Sequence[str]) -> bytes:
    figure, axes = _figure(3.6)
    image = axes.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    axes.set_title("When people listen: plays by weekday and hour (UTC)")
    axes.set_xlabel("Hour of day (UTC)")
    axes.set_ylabel("Weekday")
    axes.set_xticks(range(0, 24, 2))
    axes.set_yticks(range(len(weekdays)), labels=list(weekdays))
    bar = figure.colorbar(image, ax=axes, format=_COMPACT, pad=0.01)
    bar.set_label("Plays")
    return _png(figure)


@rc_context(PLAIN_TEXT)
def ranked(labels: Sequence[str], values: Sequence[int], title: str, xlabel: str) -> bytes:
    """A horizontal bar chart, largest at the top, each bar labelled with its value."""
    figure, axes = _figure(max(2.2, 0.5 + 0.32 * len(labels)))
    positions = range(len(labels))
    bars = axes.barh(positions, values, color=BAR)
    axes.set_yticks(positions, labels=[_shorten(label) for label in labels])
    axes.invert_yaxis()
    axes.bar_label(bars, labels=[f"{value:,}" for value in values], padding=3, fontsize=8)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.xaxis.set_major_formatter(_COMPACT)
    axes.margins(x=0.12)
    return _png(figure)


@rc_context(PLAIN_TEXT)
def level_changes(
    days: Sequence[dt.date], upgrades: Sequence[int], downgrades: Sequence[int]
) -> bytes:
    figure, axes = _figure(3.0)
    axes.bar(_days(days) - 0.2, upgrades, width=0.4, color=UP, label="upgrades")
    axes.bar(_days(days) + 0.2, downgrades, width=0.4, color=DOWN, label="downgrades")
    axes.set_title("Upgrades to paid and downgrades to free, per day")
    axes.set_ylabel("Submissions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(_COMPACT)
    figure.legend(frameon=False, loc="outside right upper")
    _date_axis(axes, days)
    return _png(figure)


@rc_context(PLAIN_TEXT)
def sessions(labels: Sequence[str], counts: Sequence[int]) -> bytes:
    figure, axes = _figure(3.0)
    bars = axes.bar(labels, counts, color=BAR)
    axes.bar_label(bars, labels=[f"{count:,}" for count in counts], padding=2, fontsize=8)
    axes.set_title("Session length: first to last play of a session")
    axes.set_xlabel("Session length")
    axes.set_ylabel("Sessions")
    axes.yaxis.set_major_formatter(_COMPACT)
    axes.margins(y=0.12)
    return _png(figure)


def _shorten(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
