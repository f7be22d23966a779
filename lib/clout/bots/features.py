"""Per-account bot features: behaviour from ``events`` over a window of days, profile from Twitter v1 profiles.

Behaviour features are per (network, account) over the days ``day - window_days + 1 .. day``, computed only
with Spark aggregates and window functions:

- volume: ``actions``, ``daily_actions`` (per active day, so a one-day and a seven-day window compare);
- timing: gaps between consecutive actions (same-second repeats left out) -> ``gap_cv`` (coefficient of
  variation), ``burstiness`` ((sigma - mu) / (sigma + mu)), ``gap_entropy`` (Shannon entropy of the
  log2-binned gaps), ``timer_share`` (share of gaps that are whole multiples of the timer period),
  ``fixed_gap_share`` (share of gaps equal to the most common gap of a period or more), ``hour_entropy``
  (Shannon entropy of the hour-of-day histogram); both entropies as a share of their maximum for that many
  observations, so they do not simply grow with volume. ``timer_evidence`` (what the classifier sees of the
  timer) is the log-likelihood ratio of the gaps under "a timer" (a gap is a whole period with probability
  0.95) against "chance" (one gap in ``timer_period_seconds`` is a whole period at second resolution): among
  thousands of accounts some have two or three whole-minute gaps by chance, and two such gaps out of seven
  are evidence against a timer, not for one;
- response: ``reactions_per_action`` (reactions received per action taken), ``reciprocity`` (share of the
  accounts it acted on that acted on it), ``top_target_share`` (share of its targeted actions aimed at the
  top accounts: the top ``top_fraction`` per network by distinct reactors received);
- content: ``follow_share``, ``distinct_targets``, ``repeat_share`` (targeted actions repeating an
  (action, item) pair it already did). ``events`` keeps no text, only its length, so duplicated text itself
  cannot be seen here;
- ``account_age_days``: days since the account was first seen in events (``accounts.first_seen``).

Timer features are null on a network whose clock is coarse (most events on whole minutes, e.g. day-level
votes): every gap there is a whole minute, whoever acted.

Profile features come from Twitter API v1 user objects (the cresci-2015 CSV export), in groups
(PROFILE_FEATURE_GROUPS): ``base`` (counts, followers/friends ratio, statuses per day, age at crawl time,
default-profile flags, description / URL / location present), ``description`` (length, words, a URL or a
mention in it), ``names`` (screen-name length, digit share and trailing digits, display-name length and words,
whether the handle spells the name), ``ratios`` (favourites per status, listed per thousand followers, followers
and friends gained per day) and ``locale`` (time zone set, time zone and UTC offset set together). The VALUES of
``lang`` and ``time_zone`` are never features: in cresci-2015 they say which sample an account was drawn from
(Italian genuine users), not whether it is fake.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout import window
from clout.config import BotsConf
from clout.errors import InputError
from clout.exact import exact_sum
from clout.ingest.actions import AUDIENCE, REACTIONS, TARGETED
from clout.sqltext import fraction_literal
from clout.tables import ACCOUNTS, TableStore

BEHAVIOUR_FEATURES = (
    "daily_actions",
    "gap_cv",
    "burstiness",
    "gap_entropy",
    "timer_evidence",
    "hour_entropy",
    "reactions_per_action",
    "reciprocity",
    "top_target_share",
    "follow_share",
    "repeat_share",
    "account_age_days",
)

# The profile features, in groups (bench/bots_families.py measures what each group adds). ``lang`` and ``time_zone``
# VALUES are never features: in cresci-2015 they say which sample an account was drawn from (Italian genuine users).
PROFILE_FEATURE_GROUPS = {
    "base": (
        "followers_count",
        "friends_count",
        "statuses_count",
        "favourites_count",
        "listed_count",
        "followers_friends_ratio",
        "statuses_per_day",
        "age_days",
        "default_profile",
        "default_profile_image",
        "has_description",
        "has_url",
        "has_location",
        "geo_enabled",
        "background_image",
    ),
    # what the account says about itself: how much, and whether it points elsewhere
    "description": ("description_chars", "description_words", "description_has_url", "description_mentions"),
    # machine-made handles: digit runs, trailing numbers, a screen name unrelated to the display name
    "names": ("screen_name_chars", "screen_name_digit_share", "screen_name_trailing_digits", "name_chars", "name_words", "name_matches_screen_name"),
    # rates and ratios that stay comparable across account ages and sizes
    "ratios": ("favourites_per_status", "listed_per_thousand_followers", "followers_per_day", "friends_per_day"),
    # whether the locale fields are filled in and agree with each other, never what they say
    "locale": ("time_zone_set", "time_zone_offset_agree"),
}
PROFILE_FEATURES = tuple(f for group in PROFILE_FEATURE_GROUPS.values() for f in group)
PROFILE_COUNTS = ("statuses_count", "followers_count", "friends_count", "favourites_count", "listed_count")
PROFILE_FLAGS = ("default_profile", "default_profile_image", "geo_enabled", "profile_use_background_image")
PROFILE_TEXTS = ("name", "screen_name", "description", "url", "location", "lang", "time_zone", "utc_offset")
# The Twitter v1 profile columns the profile features read, matched by header name in any order (every field is
# read as text, then checked). Other columns of an export (profile colours, crawled_at, test_set_1 ...) are ignored.
PROFILE_CSV_COLUMNS = ("id", *PROFILE_COUNTS, "created_at", *PROFILE_FLAGS, *PROFILE_TEXTS, "updated")
# May be absent from an export: without a crawl time an account's age is taken as 0 days (see profile_features);
# without names or locale fields their features are null (imputed by the model's median)
OPTIONAL_PROFILE_COLUMNS = frozenset({"updated", "name", "screen_name", "lang", "time_zone", "utc_offset"})
_CORRUPT = "_corrupt_record"
_MICROS = 1_000_000


def in_window(events: DataFrame, day: dt.date, window_days: int) -> DataFrame:
    return events.where(window.in_window(F.col("event_date"), day, window_days))


def _evenness(counts: DataFrame, keys: list[str], count: str, bins: int, name: str) -> DataFrame:
    """Shannon entropy of a histogram (one row per key and bin, with its count) over the most it can be.

    n observations fill at most min(n, bins) bins, so raw entropy grows with volume; divided by
    log2(min(n, bins)) it says how evenly an account spreads whatever it does (null below two observations).
    """
    # n sums whole numbers (exact in any order); n log n is an exact sum (clout.exact), not a double one that follows the partitioning
    n, n_log_n = F.sum(count), exact_sum(F.col(count) * F.log2(F.col(count)))
    entropy = F.log2(n) - n_log_n / n
    most = F.log2(F.least(n, F.lit(bins)).cast("double"))
    return counts.groupBy(*keys).agg(F.try_divide(entropy, most).alias(name))


TIMER_HIT_RATE = 0.95  # a scheduler's gap is a whole period this often (it may lag a second now and then)


def timer_evidence(on_timer: Column, gaps: Column, period_seconds: int) -> Column:
    """Log-likelihood ratio of ``on_timer`` whole-period gaps out of ``gaps``: timer against chance."""
    chance = 1.0 / period_seconds
    hit, miss = math.log(TIMER_HIT_RATE / chance), math.log((1 - TIMER_HIT_RATE) / (1 - chance))
    return on_timer * F.lit(hit) + (gaps - on_timer) * F.lit(miss)


def gap_features(window_events: DataFrame, conf: BotsConf, window_days: int) -> DataFrame:
    """Timing regularity per (network, account) from the gaps between consecutive actions."""
    keys = ["network", "account"]
    by_account = Window.partitionBy(*keys).orderBy("event_time", "event_id")
    gaps = (
        window_events.select(F.col("network"), F.col("actor_account").alias("account"), "event_time", "event_id")
        .withColumn("gap_us", F.unix_micros("event_time") - F.lag(F.unix_micros("event_time")).over(by_account))
        .where(F.col("gap_us") > 0)
        .select(*keys, "gap_us", (F.col("gap_us") / F.lit(float(_MICROS))).alias("gap_s"))
    )
    on_timer = (F.col("gap_us") % F.lit(conf.rules.timer_period_seconds * _MICROS)) == 0
    # Mean and standard deviation from exact sums of whole microseconds (DECIMAL(38,0): exact in any order, where avg
    # and stddev_pop of doubles follow the partitioning in their last bits): sigma = sqrt(n * s2 - s1^2) / n, the
    # integer under the root computed exactly. One account's gaps lie inside the window without overlapping, so
    # s1 <= the window (a year: 3.2e13 us), s2 <= s1^2 <= 1e27 and n * s2 <= 1e38 for any n below 1e11 gaps.
    micros = F.col("gap_us").cast("decimal(38,0)")
    sums = gaps.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("gaps"),
        F.sum(micros).alias("s1"),
        F.sum(micros * micros).alias("s2"),
        F.sum(on_timer.cast("long")).alias("on_timer"),
    )
    n = F.col("gaps").cast("decimal(38,0)")
    moments = sums.select(
        *keys,
        "gaps",
        "on_timer",
        (F.col("s1").cast("double") / F.col("gaps") / F.lit(float(_MICROS))).alias("mu"),
        (F.sqrt((n * F.col("s2") - F.col("s1") * F.col("s1")).cast("double")) / F.col("gaps") / F.lit(float(_MICROS))).alias("sigma"),
    )
    # sub-minute repeats (a quick run of likes) are not a schedule: the modal gap counts from one period up
    same_length = (
        gaps.where(F.col("gap_us") >= F.lit(conf.rules.timer_period_seconds * _MICROS))
        .groupBy(*keys, "gap_us")
        .agg(F.count(F.lit(1)).alias("n"))
        .groupBy(*keys)
        .agg(F.max("n").alias("modal_gaps"))
    )
    log_binned = gaps.groupBy(*keys, F.floor(F.log2(F.col("gap_s") + 1)).alias("bin")).agg(F.count(F.lit(1)).alias("n"))
    return (
        moments.join(same_length, on=keys, how="left")
        .join(_evenness(log_binned, keys, "n", math.floor(math.log2(window_days * 86400 + 1)) + 1, "gap_entropy"), on=keys, how="inner")
        .select(
            *keys,
            "gaps",
            F.try_divide(F.col("sigma"), F.col("mu")).alias("gap_cv"),
            F.try_divide(F.col("sigma") - F.col("mu"), F.col("sigma") + F.col("mu")).alias("burstiness"),
            "gap_entropy",
            (F.col("on_timer") / F.col("gaps")).alias("timer_share"),
            timer_evidence(F.col("on_timer"), F.col("gaps"), conf.rules.timer_period_seconds).alias("timer_evidence"),
            (F.coalesce("modal_gaps", F.lit(0)) / F.col("gaps")).alias("fixed_gap_share"),
        )
    )


def coarse_clock_networks(window_events: DataFrame, conf: BotsConf) -> DataFrame:
    """Networks whose timestamps are mostly whole minutes (day- or minute-level clocks): (network, coarse)."""
    on_minute = (F.unix_micros("event_time") % F.lit(60 * _MICROS)) == 0
    return window_events.groupBy("network").agg((F.avg(on_minute.cast("double")) >= F.lit(conf.rules.coarse_clock_share)).alias("coarse"))


def top_accounts(window_events: DataFrame, top_fraction: float) -> DataFrame:
    """The top ``top_fraction`` of targets per network by distinct reactors received: (network, account)."""
    reactors = (
        window_events.where(F.col("action").isin(*sorted(REACTIONS)) & (F.col("actor_account") != F.col("target_account")))
        .groupBy("network", F.col("target_account").alias("account"))
        .agg(F.countDistinct("actor_account").alias("reactors"))
    )
    # The exact discrete percentile (the smallest count with at least that share of targets at or below it; the value
    # percentile_approx gives while its sketch is exact) from a map of count -> targets: the same cut in any row
    # order, where the sketch, once many targets make it compress, depends on the order values meet in.
    # Its buffer holds one entry per distinct count of reactors, a few thousand at most. No Column API has it.
    cut_at = F.expr(f"percentile_disc({fraction_literal(1.0 - top_fraction, 'bots.top_fraction')}) WITHIN GROUP (ORDER BY reactors)")
    cut = reactors.groupBy("network").agg(cut_at.alias("cut"))
    return reactors.join(F.broadcast(cut), on="network", how="inner").where(F.col("reactors") >= F.col("cut")).select("network", "account")


def behaviour_features(events: DataFrame, first_seen: DataFrame, day: dt.date, conf: BotsConf, window_days: int | None = None) -> DataFrame:
    """Behaviour features per (network, account) acting in the window ending at ``day``.

    ``first_seen``: (account_id, first_seen) as in the ``accounts`` table; accounts missing there count
    from their first day in the window.
    """
    window_days = window_days or conf.window_days
    scope = in_window(events, day, window_days).select(
        "network", "event_id", "event_time", "event_date", "action", "actor_account", "target_account", "target_content_id"
    )
    keys = ["network", "account"]
    is_targeted = F.col("action").isin(*sorted(TARGETED)) & F.col("target_account").isNotNull() & (F.col("target_account") != F.col("actor_account"))
    targeted = scope.where(is_targeted)

    own = scope.groupBy("network", F.col("actor_account").alias("account")).agg(
        F.count(F.lit(1)).alias("actions"),
        F.countDistinct("event_date").alias("active_days"),
        F.min("event_date").alias("first_in_window"),
        F.sum(F.col("action").isin(*sorted(AUDIENCE)).cast("long")).alias("follows"),
    )
    hours = scope.groupBy("network", F.col("actor_account").alias("account"), F.hour("event_time").alias("hour")).agg(F.count(F.lit(1)).alias("n"))
    received = (
        scope.where(F.col("action").isin(*sorted(REACTIONS)) & is_targeted)
        .groupBy("network", F.col("target_account").alias("account"))
        .agg(F.count(F.lit(1)).alias("reactions_received"))
    )
    pairs = targeted.select("network", F.col("actor_account").alias("account"), F.col("target_account").alias("target")).distinct()
    acted_back = pairs.select("network", F.col("target").alias("account"), F.col("account").alias("target"), F.lit(True).alias("mutual"))
    # averages of 0/1 flags (here and in `aimed`) are already exact: their double sums are whole numbers, the same in any order
    reciprocity = (
        pairs.join(acted_back, on=["network", "account", "target"], how="left")
        .groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("distinct_targets"), F.avg(F.coalesce("mutual", F.lit(False)).cast("double")).alias("reciprocity"))
    )
    top = top_accounts(scope, conf.top_fraction).select("network", F.col("account").alias("target_account"), F.lit(True).alias("is_top"))
    aimed = (
        targeted.join(top, on=["network", "target_account"], how="left")
        .groupBy("network", F.col("actor_account").alias("account"))
        .agg(
            F.avg(F.coalesce("is_top", F.lit(False)).cast("double")).alias("top_target_share"),
            F.count("target_content_id").alias("item_actions"),
            F.countDistinct("action", "target_content_id").alias("distinct_items"),
        )
    )
    coarse = coarse_clock_networks(scope, conf)
    age = first_seen.select(F.col("account_id").alias("account"), F.col("first_seen"))

    timer_visible = ~F.coalesce(F.col("coarse"), F.lit(False))
    return (
        own.join(gap_features(scope, conf, window_days), on=keys, how="left")
        .join(_evenness(hours, keys, "n", 24, "hour_entropy"), on=keys, how="left")
        .join(received, on=keys, how="left")
        .join(reciprocity, on=keys, how="left")
        .join(aimed, on=keys, how="left")
        .join(F.broadcast(coarse), on="network", how="left")
        .join(age, on="account", how="left")
        .select(
            "network",
            "account",
            "actions",
            F.coalesce("gaps", F.lit(0)).cast("long").alias("gaps"),
            F.coalesce("distinct_targets", F.lit(0)).cast("long").alias("distinct_targets"),
            (F.col("actions") / F.col("active_days")).alias("daily_actions"),
            "gap_cv",
            "burstiness",
            "gap_entropy",
            *[F.when(timer_visible, F.col(c)).alias(c) for c in ("timer_share", "timer_evidence", "fixed_gap_share")],
            "hour_entropy",
            (F.coalesce("reactions_received", F.lit(0)) / F.col("actions")).alias("reactions_per_action"),
            "reciprocity",
            "top_target_share",
            (F.col("follows") / F.col("actions")).alias("follow_share"),
            (F.lit(1.0) - F.try_divide(F.col("distinct_items"), F.col("item_actions"))).alias("repeat_share"),
            F.datediff(F.lit(day), F.least(F.coalesce("first_seen", "first_in_window"), F.col("first_in_window"))).cast("double").alias("account_age_days"),
        )
    )


@dataclass(frozen=True)
class ProfileLoad:
    """Parsed profiles (with ``label``) and the rows set aside, with their reason."""

    profiles: DataFrame
    rejected: DataFrame


class ProfileCsvError(InputError):
    """A profile file that cannot be read as a whole: no header, a required column missing, a header name repeated."""


def profile_csv_header(spark: SparkSession, path: str) -> list[str]:
    """The column names of a profile CSV's header line (read through Spark: any file system, .gz or not)."""
    first = spark.read.text(path).limit(1).collect()
    if not first or not first[0].value.strip():
        raise ProfileCsvError(f"{path}: empty file, expected a header line naming the columns")
    return [name.strip().lstrip("\ufeff") for name in next(csv.reader([first[0].value]))]


def read_profile_csv(spark: SparkSession, path: str) -> DataFrame:
    """A Twitter v1 profile CSV export as the text columns of PROFILE_CSV_COLUMNS plus ``_corrupt_record``.

    Columns are matched by their header name, in any order; columns not read are ignored; a required column
    missing from the header (or a name given twice) is a ProfileCsvError naming it, before any row is read.
    RFC 4180 quoting (a quote inside a field is doubled) and quoted line breaks are accepted; a row with the
    wrong number of fields keeps its raw text in ``_corrupt_record`` (and is rejected as malformed).
    """
    header = profile_csv_header(spark, path)
    repeated = sorted({name for name in header if header.count(name) > 1})
    missing = [c for c in PROFILE_CSV_COLUMNS if c not in header and c not in OPTIONAL_PROFILE_COLUMNS]
    if repeated or missing or _CORRUPT in header:
        problems = [f"missing required column(s) {', '.join(missing)}"] if missing else []
        problems += [f"column(s) named twice: {', '.join(repeated)}"] if repeated else []
        problems += [f"a column may not be named {_CORRUPT}"] if _CORRUPT in header else []
        raise ProfileCsvError(f"{path}: {'; '.join(problems)} (header: {', '.join(header)})")
    # the file's own order, so Spark's positional CSV reader puts every field under its header name
    schema = T.StructType([T.StructField(name, T.StringType()) for name in header] + [T.StructField(_CORRUPT, T.StringType())])
    rows = (
        spark.read.schema(schema)
        .option("header", True)
        .option("multiLine", True)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .csv(path)
    )
    return rows.select(*[F.col(f"`{c}`") if c in header else F.lit(None).cast("string").alias(c) for c in PROFILE_CSV_COLUMNS], _CORRUPT)


def _flag(text: Column) -> Column:
    """Twitter v1 boolean exported as "1" / "True" / empty (false)."""
    return F.coalesce(F.lower(F.trim(text)).isin("1", "true"), F.lit(False))


def _text(text: Column) -> Column:
    """A text field, trimmed; null when empty or the export's "NULL"."""
    trimmed = F.trim(text)
    return F.when(trimmed.isNotNull() & (trimmed != "") & (F.upper(trimmed) != "NULL"), trimmed)


# The checked profile row: typed fields, as ``account_profiles`` stores them (clout.bots.profiles) and as the
# features read them, whether from a CSV export or from the table.
CHECKED_PROFILE = T.StructType(
    [T.StructField("id", T.StringType(), False)]
    + [T.StructField(c, T.LongType(), False) for c in PROFILE_COUNTS]
    + [T.StructField("created", T.TimestampType(), False), T.StructField("crawled", T.TimestampType(), False)]
    + [T.StructField(c, T.BooleanType(), False) for c in PROFILE_FLAGS]
    + [T.StructField(c, T.StringType(), True) for c in PROFILE_TEXTS]
)


def check_profiles(raw: DataFrame) -> DataFrame:
    """Raw profile rows (read_profile_csv) -> the CHECKED_PROFILE columns plus ``reason`` (null: good) and ``raw``.

    The first failing rule wins: a malformed record, a missing id, a count that is not a non-negative integer,
    an unreadable creation time. A missing crawl time is no reason to reject: the account's age is then 0.
    """
    counts = {c: F.trim(F.col(c)).try_cast("long") for c in PROFILE_COUNTS}
    # "Fri Apr 06 10:58:22 +0000 2007": the weekday cannot be parsed (Spark only formats it), so it is cut off
    created = F.try_to_timestamp(F.regexp_replace(F.trim("created_at"), r"^[A-Za-z]{3} ", ""), F.lit("MMM dd HH:mm:ss Z yyyy"))
    crawled = F.try_to_timestamp(F.trim("updated"), F.lit("yyyy-MM-dd HH:mm:ss"))
    malformed = F.col(_CORRUPT).isNotNull()
    missing_id = F.col("id").isNull() | (F.trim("id") == "")
    bad_count = F.lit(False)
    for c in PROFILE_COUNTS:
        bad_count = bad_count | counts[c].isNull() | (counts[c] < 0)
    reason = F.when(malformed, "malformed_record").when(missing_id, "missing_id").when(bad_count, "bad_count").when(created.isNull(), "bad_created_at")
    return raw.select(
        F.trim("id").alias("id"),
        *[counts[c].alias(c) for c in PROFILE_COUNTS],
        created.alias("created"),
        F.coalesce(crawled, created).alias("crawled"),  # no crawl time: age 0, not a rejected row
        *[_flag(F.col(c)).alias(c) for c in PROFILE_FLAGS],
        *[_text(F.col(c)).alias(c) for c in PROFILE_TEXTS],
        reason.alias("reason"),
        F.coalesce(F.col(_CORRUPT), F.concat_ws(",", *[F.coalesce(F.col(c), F.lit("")) for c in PROFILE_CSV_COLUMNS])).alias("raw"),
    )


def _present(text: Column) -> Column:
    return text.isNotNull().cast("double")


def _chars(text: Column) -> Column:
    return F.coalesce(F.char_length(text), F.lit(0)).cast("double")


def _words(text: Column) -> Column:
    return F.when(text.isNotNull(), F.size(F.split(text, r"\s+"))).otherwise(F.lit(0)).cast("double")


def _letters(text: Column) -> Column:
    """Lower-case letters only: "Emma_Smith88" and "Emma Smith" -> "emmasmith"."""
    return F.lower(F.regexp_replace(text, r"[^\p{L}]", ""))


def profile_feature_columns(checked: DataFrame) -> list[Column]:
    """The PROFILE_FEATURES of CHECKED_PROFILE rows, as Column expressions (in PROFILE_FEATURES order)."""
    c = {name: F.col(name).cast("double") for name in PROFILE_COUNTS}
    age_days = F.greatest(F.lit(1.0), (F.unix_seconds("crawled") - F.unix_seconds("created")) / F.lit(86400.0))
    screen, name = F.col("screen_name"), F.col("name")
    # the display name's first word (3+ letters) inside the handle, or the handle inside the name: a person's
    # handle usually spells their name; a generated one ("user84512", "xkq_83jd") does not. Null without both.
    first_word = _letters(F.split(F.trim(name), r"\s+")[0])
    name_in_handle = (F.char_length(first_word) >= 3) & (F.instr(_letters(screen), first_word) > 0)
    handle_in_name = (F.char_length(_letters(screen)) >= 3) & (F.instr(_letters(name), _letters(screen)) > 0)
    tz, offset = F.col("time_zone"), F.col("utc_offset")
    columns = {
        **{n: c[n] for n in PROFILE_COUNTS},
        "followers_friends_ratio": c["followers_count"] / F.greatest(c["friends_count"], F.lit(1.0)),
        "statuses_per_day": c["statuses_count"] / age_days,
        "age_days": age_days,
        "default_profile": F.col("default_profile").cast("double"),
        "default_profile_image": F.col("default_profile_image").cast("double"),
        "has_description": _present(F.col("description")),
        "has_url": _present(F.col("url")),
        "has_location": _present(F.col("location")),
        "geo_enabled": F.col("geo_enabled").cast("double"),
        "background_image": F.col("profile_use_background_image").cast("double"),
        "description_chars": _chars(F.col("description")),
        "description_words": _words(F.col("description")),
        "description_has_url": F.coalesce(F.col("description").rlike(r"(?i)https?://|www\."), F.lit(False)).cast("double"),
        "description_mentions": F.coalesce(F.col("description").rlike(r"[@#]\w"), F.lit(False)).cast("double"),
        "screen_name_chars": F.char_length(screen).cast("double"),
        "screen_name_digit_share": F.try_divide(F.char_length(F.regexp_replace(screen, r"[^0-9]", "")), F.char_length(screen)).cast("double"),
        "screen_name_trailing_digits": F.char_length(F.regexp_extract(screen, r"([0-9]*)$", 1)).cast("double"),
        "name_chars": F.char_length(name).cast("double"),
        "name_words": F.when(name.isNotNull(), _words(name)),
        "name_matches_screen_name": F.when(screen.isNotNull() & name.isNotNull(), (name_in_handle | handle_in_name).cast("double")),
        "favourites_per_status": c["favourites_count"] / F.greatest(c["statuses_count"], F.lit(1.0)),
        "listed_per_thousand_followers": c["listed_count"] * F.lit(1000.0) / F.greatest(c["followers_count"], F.lit(1.0)),
        "followers_per_day": c["followers_count"] / age_days,
        "friends_per_day": c["friends_count"] / age_days,
        # filled in at all, and the zone and its offset set together (an account setting one without the other is
        # unusual); what they hold is never read
        "time_zone_set": _present(tz),
        "time_zone_offset_agree": (tz.isNotNull() == offset.isNotNull()).cast("double"),
    }
    return [columns[f].alias(f) for f in PROFILE_FEATURES]


def profile_features(raw: DataFrame, label: int | None = None) -> ProfileLoad:
    """Raw profile rows -> numeric profile features; rows with a missing id, a count that is not a
    non-negative integer or an unreadable creation time are rejected with their reason, never raised."""
    checked = check_profiles(raw)
    good = checked.where(F.col("reason").isNull())
    profiles = good.select("id", *profile_feature_columns(good), *([F.lit(float(label)).alias("label")] if label is not None else []))
    rejected = checked.where(F.col("reason").isNotNull()).select("id", "reason", "raw")
    return ProfileLoad(profiles, rejected)


def first_seen(store: TableStore) -> DataFrame:
    """(account_id, first_seen) from ``accounts``; empty before the identity stage has run."""
    if store.exists(ACCOUNTS):
        return store.read(ACCOUNTS).select("account_id", "first_seen")
    return store.spark.createDataFrame([], "account_id string, first_seen date")
