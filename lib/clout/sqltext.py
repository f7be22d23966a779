"""The only way a value reaches SQL text (Delta ``replaceWhere`` conditions, catalog DDL, view definitions).

Data values go through DataFrame expressions (``F.lit``) wherever Spark allows it. Where an API takes SQL text
instead, a value is spliced only through these functions: a date is formatted from a ``datetime.date``, a string
must match a closed pattern (no quote, no semicolon, no whitespace), and an identifier must be a plain name.
Anything else is an InputError naming the value, raised before any SQL runs.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from clout.errors import InputError

# what a version, network or other word from conf or the command line may look like inside quotes
_SAFE_STRING = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def date_literal(value: dt.date) -> str:
    """``DATE'YYYY-MM-DD'`` from a real date (a string that merely looks like one is refused)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InputError(f"not a date: {value!r}")
    return f"DATE'{value.isoformat()}'"


def string_literal(value: str, what: str = "value") -> str:
    """``'value'`` for a word of letters, digits, '_', '.', ':' and '-' (versions, networks, ids)."""
    if not isinstance(value, str) or not _SAFE_STRING.fullmatch(value):
        raise InputError(f"{what} {value!r}: expected letters, digits, '_', '.', ':' or '-' (no quotes, spaces or ';')")
    return f"'{value}'"


def fraction_literal(value: float, what: str = "fraction") -> str:
    """A number in [0, 1] as a SQL decimal literal (Python's shortest round-trip spelling of the float)."""
    if isinstance(value, bool) or not isinstance(value, (float, int)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise InputError(f"{what} {value!r}: expected a number in [0, 1]")
    return repr(float(value))


def identifier(value: str, what: str = "name") -> str:
    """A database, table or column name: letters, digits and '_', not starting with a digit."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise InputError(f"{what} {value!r}: expected letters, digits and '_' (a plain SQL name)")
    return value


def path_literal(value: str) -> str:
    """``'path'`` for a table location: a quote would end the literal, so it is refused."""
    if "'" in value or "\\" in value or "\n" in value:
        raise InputError(f"table location {value!r}: quotes, backslashes and line breaks are not allowed")
    return f"'{value}'"


def snapshot_condition(snapshot_date: dt.date, algorithm_version: str) -> str:
    """The replaceWhere condition of one snapshot (date and algorithm version)."""
    return f"snapshot_date = {date_literal(snapshot_date)} AND algorithm_version = {string_literal(algorithm_version, 'algorithm version')}"
