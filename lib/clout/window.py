"""The one window and decay helper: which daily rows fall in a snapshot's window, and how much each still weighs.

Graph, score, explanations and bots all ask these two questions; answering them in one place keeps their windows
identical (a reaction is in the graph exactly when it is in the reach it supports). The score's 90-day window is
read through its kept state (clout.window_state), which asks them here too; the bots' 7-day window of raw events
asks them directly.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column
from pyspark.sql import functions as F


def window_start(snapshot_date: dt.date, days: int) -> dt.date:
    """First day of the ``days``-day window that ends on (and includes) ``snapshot_date``."""
    return snapshot_date - dt.timedelta(days=days - 1)


def in_window(date_col: Column, snapshot_date: dt.date, days: int) -> Column:
    return (date_col >= F.lit(window_start(snapshot_date, days))) & (date_col <= F.lit(snapshot_date))


def decay(date_col: Column, snapshot_date: dt.date, half_life_days: float) -> Column:
    """0.5 ** (age in days / half-life): a reaction on the snapshot day weighs 1, one a half-life old 0.5."""
    age = F.datediff(F.lit(snapshot_date), date_col)
    return F.pow(F.lit(0.5), age / F.lit(half_life_days))
