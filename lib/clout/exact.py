"""Exact sums of doubles: the same bits whatever the partitioning and the order of the rows.

Why. Floating-point addition is not associative, and Spark adds a group's values in the order its tasks meet
them (a partial sum per input partition, merged in the order the shuffle delivers them). The same rows under
another number of shuffle partitions, or read from rewritten files, then sum to different last bits, and those
bits break exact ties in the percentile ranks: a score moves by a point. Every sum of doubles that feeds a
published table (scores, authority, score_explanations, account_risk, rings) goes through here.

How. Each term is cast to a DECIMAL and the decimals are summed. Decimal addition is exact, so the total is the
same in any order; it is cast back to double once, at the end. The only rounding left is per term (to the
decimal's scale), and it depends on the term alone.

Ranges. Spark's ANSI mode (on by default in Spark 4, and not turned off in conf/) raises on a decimal overflow
instead of wrapping or returning null, so a range too small would fail a job, never corrupt a table.

- ``AMOUNT`` decimal(38,24): effort, decayed reactions and posts, reach, counts x log2(counts): totals up to 1e14.
  The largest possible total is every event of a 90-day window at 100 M events a day, all to one person, at the
  heaviest action weight (6): 5.4e10, so there is a 1,000x margin. 24 decimals keep a term of 1e-8 (decayed,
  bot-discounted effort is far above that: 0.5 ** (89 / 21) = 0.05 before the discount) to 16 significant
  digits, as a double holds them.
- ``FRACTION`` decimal(38,36): PageRank ranks and the rank x share messages, their L1 change (<= 2) and dangling
  mass (<= 1), shares of a total: values below 100. 36 decimals keep a rank of 1e-9 times a share of 1e-6 to 21
  significant digits.

Cost: a sum over DECIMAL(38, s) adds Java BigDecimals instead of doubles, a few times slower per term; aggregation
is a small part of a day's run.
"""

from __future__ import annotations

from pyspark.sql import Column, WindowSpec
from pyspark.sql import functions as F

AMOUNT = "decimal(38,24)"
FRACTION = "decimal(38,36)"


def exact_sum(column: Column | str, kind: str = AMOUNT, over: WindowSpec | None = None) -> Column:
    """``sum(column)`` as a double, computed exactly (order-independent); ``kind``: ``AMOUNT`` or ``FRACTION`` (see above).

    An aggregate, or with ``over`` a window function (the cast back to double has to wrap the windowed sum, so
    ``exact_sum(...).over(w)`` would not do). Like ``F.sum``: null terms are skipped, and no term at all gives null.
    """
    if kind not in (AMOUNT, FRACTION):
        raise ValueError(f"kind must be AMOUNT or FRACTION, got {kind!r}")
    term = F.col(column) if isinstance(column, str) else column
    total = F.sum(term.cast(kind))
    return (total if over is None else total.over(over)).cast("double")
