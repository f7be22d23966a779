"""Does the daily run cost more with a 90-day window of history than with one day? (issue 12, item 2)

Prints figures; it is not a timed test. One generated day D (``--events``, ``clout.synth``) is run through
``clout.pipeline.run_daily`` twice, back to back in one process and one Spark session, each time in a fresh
lakehouse:

- **1 day**: the lakehouse holds nothing before D;
- **90 days**: before D the lakehouse holds 89 earlier days of the same volume: D's aggregates (``daily_interactions``,
  ``daily_posts``) copied to each of D-89 .. D-1, D's events copied to the days the bots' window reads (D-6 .. D-1,
  with new event ids) and D's accounts; and the window state of D-1, as the day before's run leaves it. Those are
  written before the timed run and not timed.

The copied days repeat D's pairs, so the graph of the window has as many edges as one day's: the comparison
isolates the cost of the window's history (reading and decaying 90 days) from the growth of the graph a longer
real history brings, which is the graph's size and is paid by authority whatever the window is kept as.

It prints the seconds of each stage in both runs and their ratio (the target: end to end <= 1.3), then times on
the 90-day lakehouse the two ways of getting D's window: the state update from D-1 (what the run did) and the full
recomputation over 90 days of aggregates (what every run did before the state).

    .venv/bin/python bench/window_cost.py --events 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from pyspark.sql import functions as F

from clout import window_state
from clout.bots.stage import champion_or_train
from clout.config import load_algorithm, load_settings
from clout.pipeline import run_daily
from clout.session import build_session
from clout.synth.generator import SynthSpec, generate
from clout.synth.presets import SMALL_BOT_TRAINING
from clout.tables import ACCOUNTS, DAILY_INTERACTIONS, EVENTS, POSTS_DAILY, TableStore

DAY = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 21, 6, 0)
TARGET_RATIO = 1.3


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000, help="events in the day (and in each day of history)")
    parser.add_argument("--events-per-person", type=int, default=20)
    parser.add_argument("--history-days", type=int, default=90, help="days in the long lakehouse, D included")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = parser.parse_args()
    logging.getLogger("py4j").setLevel(logging.WARNING)
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-bench-window-")).resolve()
    common = [f"mlflow.tracking_uri=sqlite:///{root}/mlflow/mlflow.db", f"mlflow.artifact_root={root}/mlflow/artifacts", *SMALL_BOT_TRAINING]

    def settings_at(name: str, landing: Path):
        return load_settings("local", [f"storage.root={root}/{name}/lake", f"storage.landing={landing}", f"storage.checkpoint_dir={root}/{name}/ckpt", *common])

    base = settings_at("bot-training", root / "bot-training" / "landing")
    spark = build_session(base, "bench-window-cost")
    champion_or_train(spark, base)  # not timed: both runs load it

    spec = SynthSpec(day=DAY, events=args.events, persons=max(200, args.events // args.events_per_person), seed=args.seed)
    landing = root / "day" / "landing"
    if not (root / "day" / "generated").exists():
        generate(spark, settings_at("gen", landing), spec)
        shutil.rmtree(landing / "_staging", ignore_errors=True)
        (root / "day" / "generated").write_text("ok")

    short = settings_at("one-day", landing)
    t0 = time.monotonic()
    one = run_daily(spark, short, DAY, now=NOW)
    one_total = time.monotonic() - t0

    long = settings_at("history", landing)
    t0 = time.monotonic()
    rows = plant_history(TableStore(spark, short), TableStore(spark, long), args.history_days)
    algorithm = load_algorithm(long, one.algorithm_version)
    window_state.update(TableStore(spark, long), algorithm, DAY - dt.timedelta(days=1))  # the state the day before left
    print(f"history                 : {args.history_days - 1} days before {DAY} planted in {time.monotonic() - t0:.1f}s (not timed): {rows}")
    t0 = time.monotonic()
    many = run_daily(spark, long, DAY, now=NOW)
    many_total = time.monotonic() - t0

    store = TableStore(spark, long)
    t0 = time.monotonic()
    for kind in window_state.KINDS:
        window_state.full(store, kind, algorithm, DAY).write.format("noop").mode("overwrite").save()
    full_s = time.monotonic() - t0

    stages = [k for k in one.metrics if k.startswith("seconds_")]
    stages += [k for k in many.metrics if k.startswith("seconds_") and k not in stages]
    print(f"\nday {DAY}: {args.events:,} events, {spec.n_persons:,} persons; window {algorithm.window.days} days")
    print(f"{'seconds':28s}{'1 day':>10s}{str(args.history_days) + ' days':>10s}{'ratio':>8s}")
    for key in stages:
        a, b = one.metrics.get(key), many.metrics.get(key)
        ratio = f"{b / a:8.2f}" if a and b else f"{'-':>8s}"
        print(f"{key.removeprefix('seconds_'):28s}{a or 0:10.1f}{b or 0:10.1f}{ratio}")
    ratio = many_total / one_total
    print(f"{'end to end (run_daily)':28s}{one_total:10.1f}{many_total:10.1f}{ratio:8.2f}")
    for key in ("graph_edges", "persons_scored", "window_pairs_rows", "window_pairs_incremental", "window_posts_incremental"):
        print(f"{key:28s}{one.metrics.get(key, 0):10,.0f}{many.metrics.get(key, 0):10,.0f}")
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"ratio {args.history_days} days / 1 day end to end: {ratio:.2f}, {verdict} the {TARGET_RATIO} target")
    print(f"window of {DAY} on {args.history_days} days: the state update took {many.metrics.get('window_seconds', float('nan')):.1f}s in the run;")
    print(f"  recomputing it in full from {args.history_days} days of aggregates (pairs and posts, no write) takes {full_s:.1f}s")
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def plant_history(day: TableStore, into: TableStore, days: int) -> dict[str, int]:
    """Copy the one-day lakehouse's D into ``into`` as the ``days`` - 1 days before D (see the module's docstring)."""
    spark = day.spark
    offsets = spark.range(1, days).select(F.col("id").cast("int").alias("back"))
    shifted = F.date_sub(F.col("event_date"), F.col("back"))
    counts = {}
    for spec in (DAILY_INTERACTIONS, POSTS_DAILY):
        rows = day.read(spec).crossJoin(offsets).withColumn("event_date", shifted).drop("back")
        into.append(spec, rows)
        counts[spec.name] = into.read(spec).count()
    bots_days = offsets.where(F.col("back") < 7)
    events = day.read(EVENTS).crossJoin(bots_days).withColumn("event_date", shifted)
    events = events.withColumn("event_time", F.col("event_time") - F.make_interval(days=F.col("back")))
    events = events.withColumn("event_id", F.concat(F.col("event_id"), F.lit("@h"), F.col("back").cast("string"))).drop("back")
    into.append(EVENTS, events)
    into.append(ACCOUNTS, day.read(ACCOUNTS))
    counts[EVENTS.name] = into.read(EVENTS).count()
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
