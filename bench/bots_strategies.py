"""The behaviour model against bot strategies it was not trained on (issue 13, item 3).

Prints figures; it is not a timed test. Each training day (two days shaped like conf's ``bots.training.days``,
``--events`` each) is generated once per bot strategy of the generator (timer, imitator, burst: every bot of a
day on one strategy), ingested into a throw-away store, and turned into behaviour features labelled by the
planted truth. Then, for each strategy, the model is trained on the other strategies' days and measured on that
strategy's days (held-out strategy), beside the usual cross-validated and held-out-rows figures of a model trained
on all of them, and that model's figures on each strategy's held-out rows (seen in training).

    .venv/bin/python bench/bots_strategies.py --events 60000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from clout.bots.training import held_out_strategies
from clout.config import BOT_STRATEGIES, load_settings, overrides_under
from clout.session import build_session


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=60_000, help="events of each generated day (persons scale with it, as in conf's training days)")
    parser.add_argument("--strategies", default=",".join(BOT_STRATEGIES), help="comma-separated, two or more of " + ", ".join(BOT_STRATEGIES))
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-strategies-"))
    e = args.events
    # conf's two training days at 100,000 events (1,000 persons with 4% bots; 2,500 with 1%), scaled to --events
    days = (
        f"bots.training.days=[{{date: 2026-01-05, events: {e}, persons: {max(200, e // 100)}, bot_permille: 40, bot_event_share: 0.04, seed: 101}},"
        f" {{date: 2026-01-06, events: {e}, persons: {max(200, e // 40)}, bot_permille: 10, bot_event_share: 0.04, seed: 102}}]"
    )
    settings = load_settings(
        "local",
        [
            *overrides_under(root),
            days,
            *args.overrides,
        ],
    )
    spark = build_session(settings, "bots-strategies")
    started = time.monotonic()
    report = held_out_strategies(spark, settings, tuple(args.strategies.split(",")))
    c = settings.bots.classifier
    print(
        f"{len(settings.bots.training.days)} training-day shapes x {len(report.strategies)} strategies, {e:,} events each; "
        f"forest {c.num_trees} trees, depth {c.max_depth}; {time.monotonic() - started:.0f}s "
        f"({', '.join(f'{k} {v:.0f}s' for k, v in report.seconds.items())}); MLflow run {report.run_id}"
    )
    m = report.all_strategies
    print(f"all strategies: rows {m.rows}")
    print(f"  {c.folds}-fold CV: " + "  ".join(f"{k} {m.cv[f'{k}_mean']:.4f} +- {m.cv[f'{k}_std']:.4f}" for k in ("auc", "precision", "recall", "f1")))
    print("  top features: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(m.importances.items(), key=lambda kv: -kv[1])[:5]))
    print()
    print(report.table())
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
