"""Where a daily run's work goes, per pipeline stage: task seconds, shuffle written and read, input, output, spill.

Prints figures; it is not a timed test. The daily driver labels every Spark job with its stage (the job
description "clout <date> <version> <stage>", ``clout.pipeline.StageTimer``), so Spark's event log can be summed
per stage. Two ways to use it:

    # run the daily job of a day already landed (here: the demo's) with the event log on, then summarise it
    .venv/bin/python bench/stage_profile.py --date 2026-11-20
    # summarise an event log written elsewhere (a cluster's spark.eventLog.dir), uncompressed
    .venv/bin/python bench/stage_profile.py --log /path/to/eventlog/app-20261207...

With ``--date`` the events of the day (the ``events`` rows of that date) divide the byte columns, which gives the
bytes each stage shuffles per event: the figure that sizes a cluster's network and disks (README, "Internet
scale, on paper"). Task seconds (executor run time) and CPU seconds are summed over tasks, so they add up across
cores; on a busy machine run time stretches while CPU time does not. A rerun of a day finds its landing files
already ingested, so its ingest row is near zero (bench/ingest_throughput.py measures ingest).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

OUTSIDE = "(outside the stages)"
COLUMNS = ("task_s", "cpu_s", "shuffle_write", "shuffle_read", "input", "output", "spill_disk")


def summarise(log: Path) -> dict[str, dict[str, float]]:
    """Per stage name (the job description's last word after "clout <date> <version>"): the COLUMNS summed over tasks."""
    from clout.pipeline import STAGE_PREFIX

    stage_of: dict[int, str] = {}  # Spark stage id -> Clout stage; a stage id skipped by a later job keeps its first job
    totals: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0.0))
    with open(log, encoding="utf-8") as lines:
        for line in lines:
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerJobStart":
                description = (event.get("Properties") or {}).get("spark.job.description") or ""
                name = description.split(" ", 3)[3] if description.startswith(STAGE_PREFIX) and description.count(" ") >= 3 else OUTSIDE
                name = name.split(" - ")[0]  # Delta appends its operation to the description: "accounts - MERGE operation - ..."
                for stage_id in event.get("Stage IDs", []):
                    stage_of.setdefault(stage_id, name)
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                row = totals[stage_of.get(event.get("Stage ID"), OUTSIDE)]
                read = metrics.get("Shuffle Read Metrics") or {}
                row["task_s"] += metrics.get("Executor Run Time", 0) / 1000.0
                row["cpu_s"] += metrics.get("Executor CPU Time", 0) / 1e9  # unlike run time, not stretched by a busy machine
                row["shuffle_write"] += (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
                row["shuffle_read"] += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
                row["input"] += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                row["output"] += (metrics.get("Output Metrics") or {}).get("Bytes Written", 0)
                row["spill_disk"] += metrics.get("Disk Bytes Spilled", 0)
    return dict(totals)


def print_summary(totals: dict[str, dict[str, float]], events: int | None) -> None:
    def mib(x: float) -> str:
        return f"{x / 2**20:,.1f}"

    per = " | shuffle written B/event | shuffle read B/event" if events else ""
    print(f"| stage | task s | CPU s | shuffle written MiB | shuffle read MiB | input MiB | output MiB | spilled to disk MiB{per} |")
    print("|---" * (10 if events else 8) + "|")
    order = sorted(totals, key=lambda name: -totals[name]["task_s"])
    everything = dict.fromkeys(COLUMNS, 0.0)
    for name in order:
        row = totals[name]
        for key in COLUMNS:
            everything[key] += row[key]
    for name, row in [*((n, totals[n]) for n in order), ("all", everything)]:
        tail = f" | {row['shuffle_write'] / events:,.0f} | {row['shuffle_read'] / events:,.0f}" if events else ""
        seconds = (f"{row['task_s']:,.1f}", f"{row['cpu_s']:,.1f}")
        cells = (*seconds, *(mib(row[key]) for key in ("shuffle_write", "shuffle_read", "input", "output", "spill_disk")))
        print(f"| {name} | " + " | ".join(cells) + tail + " |")


def run_day(day: dt.date, env: str, overrides: list[str], log_dir: Path) -> tuple[Path, int]:
    """The daily job of ``day`` with the event log on (uncompressed, under ``log_dir``): (the log, events of the day)."""
    from pyspark.sql import functions as F

    from clout.config import load_settings
    from clout.pipeline import run_daily
    from clout.session import build_session
    from clout.tables import EVENTS, TableStore

    logging_on = [
        "spark.conf.spark.eventLog.enabled=true",
        f"spark.conf.spark.eventLog.dir=file://{log_dir}",
        "spark.conf.spark.eventLog.compress=false",
        "spark.conf.spark.eventLog.rolling.enabled=false",
    ]
    settings = load_settings(env, [*overrides, *logging_on])
    spark = build_session(settings, "stage-profile")
    try:
        result = run_daily(spark, settings, day)
        events = TableStore(spark, settings).read(EVENTS).where(F.col("event_date") == F.lit(day)).count()
        print(f"daily run of {day} ({result.algorithm_version}): {events:,} events of the day; stage seconds:")
        for key, value in sorted(result.metrics.items()):
            if key.startswith("seconds_"):
                print(f"  {key[len('seconds_') :]:<28} {value:8.1f}")
    finally:
        spark.stop()  # flushes and closes the event log
    logs = [p for p in log_dir.iterdir() if not p.name.endswith(".inprogress")]
    if len(logs) != 1:
        raise SystemExit(f"expected one finished event log in {log_dir}, found {[p.name for p in log_dir.iterdir()]}")
    return logs[0], events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--date", type=dt.date.fromisoformat, help="run the daily job of this date (its landing files in place) and profile it")
    source.add_argument("--log", type=Path, help="an uncompressed Spark event log file to summarise")
    parser.add_argument("--events", type=int, default=None, help="with --log: the day's events, to print bytes per event")
    parser.add_argument("--keep-log", type=Path, default=None, help="with --date: write the event log under this folder and keep it")
    parser.add_argument("--env", default="local")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="conf overrides, as clout --set")
    args = parser.parse_args()
    if args.log:
        print_summary(summarise(args.log), args.events)
        return 0
    with tempfile.TemporaryDirectory(prefix="clout-eventlog-") as folder:
        where = Path(folder) if args.keep_log is None else args.keep_log.resolve()
        where.mkdir(parents=True, exist_ok=True)
        log, events = run_day(args.date, args.env, args.set, where)
        print(f"event log: {log} ({log.stat().st_size / 2**20:,.1f} MiB)")
        print_summary(summarise(log), events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
