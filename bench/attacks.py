"""How Clout resists gaming: the attack scenarios of clout.synth.attacks through the daily job, as a table.

Prints figures; it is not a timed test. Generates ``--days`` days of an honest population with every scenario
planted (each attacker next to a twin that receives the same honest reactions but does not attack), runs the daily
job on each day in a fresh lakehouse, and prints, for the last day's published scores: per scenario the score
before (the twin's, or the reference the rule compares with), after (the attacker's), what is allowed, and whether
it holds; then the same attackers' scores day by day.

    .venv/bin/python bench/attacks.py --days 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from clout.config import load_settings, overrides_under
from clout.pipeline import run_daily
from clout.score import stage as score_stage
from clout.session import build_session
from clout.synth.attacks import AttackPlan, attack_rows, outcomes
from clout.synth.generator import SynthSpec, generate
from clout.synth.presets import SMALL_BOT_TRAINING
from clout.tables import SCORES, TableStore

FIRST = dt.date(2026, 10, 5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--events", type=int, default=40_000, help="honest events per day")
    parser.add_argument("--persons", type=int, default=2_000)
    parser.add_argument("--networks", default="twitter,mastodon,instagram")
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-attacks-"))
    settings = load_settings(
        "local",
        [
            *overrides_under(root),
            "spark.conf.spark.sql.shuffle.partitions=4",
            *SMALL_BOT_TRAINING,
        ],
    )
    spark = build_session(settings, "bench-attacks")
    store = TableStore(spark, settings)
    networks = tuple(args.networks.split(","))
    by_day = []
    started = time.monotonic()
    for i in range(args.days):
        day = FIRST + dt.timedelta(days=i)
        spec = SynthSpec(day=day, events=args.events, persons=args.persons, seed=70 + i, networks=networks)
        rows, planted = attack_rows(spark, spec, AttackPlan())
        generate(spark, settings, spec, planted=rows)
        t0 = time.monotonic()
        run_daily(spark, settings, day, now=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6)))
        snapshot = store.read(SCORES).where(score_stage.snapshot_rows(day, "v1")).select("person_id", "score")
        scores = {r.person_id: r.score for r in snapshot.collect()}  # a bench population: thousands of rows
        by_day.append((day, outcomes(scores, planted)))
        print(
            f"{day}: daily job {time.monotonic() - t0:.0f}s, {len(scores):,} persons scored; after/before: "
            + "  ".join(f"{o.after:.1f}/{o.before:.1f}" for o in by_day[-1][1]),
            flush=True,
        )
    day, last = by_day[-1]
    population = f"{args.events:,} honest events a day ({args.persons:,} persons, {', '.join(networks)})"
    print(f"\n{args.days} days of {population} with every scenario planted; scores of {day}:")
    print(f"| {'scenario':<46} | before | after | {'allowed':<42} | holds |")
    print(f"|{'-' * 48}|--------|-------|{'-' * 44}|-------|")
    for o in last:
        print(f"| {o.scenario:<46} | {o.before:>6.1f} | {o.after:>5.1f} | {o.allowed:<42} | {'yes' if o.holds else 'NO':<5} |")
    print("\nafter, day by day: " + "; ".join(o.scenario.split(" (")[0] for o in last))
    for d, rows in by_day:
        print(f"  {d}: " + "  ".join(f"{o.after:.1f}/{o.before:.1f}" for o in rows))
    print(f"\ntotal {time.monotonic() - started:.0f}s")
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(o.holds for o in last) else 1


if __name__ == "__main__":
    raise SystemExit(main())
