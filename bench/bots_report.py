"""Bot detection figures: cross-validated and held-out metrics on cresci-2015, precision / recall on generated bots.

Prints figures; it is not a timed test. Trains both models with the configured training days (conf/base.yaml
``bots``) into a throw-away store, then generates an evaluation day with another seed, ingests it, scores
it with the champion model and rules, and compares ``account_risk`` with the generator's planted bots.

    .venv/bin/python bench/bots_report.py --events 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from pyspark.sql import functions as F

from clout.bots.generated import truth_accounts
from clout.bots.stage import score_accounts
from clout.bots.training import train
from clout.config import load_settings, overrides_under
from clout.ingest.stage import ingest
from clout.session import build_session
from clout.synth.generator import SynthSpec, generate
from clout.tables import ACCOUNT_RISK, TableStore


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000, help="events of the generated evaluation day")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the evaluation day (the training days have their own)")
    parser.add_argument("--root", default=None, help="work folder (default: a temp folder, removed afterwards)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="clout-bots-"))
    day = dt.date(2026, 11, 20)
    settings = load_settings(
        "local",
        [
            *overrides_under(root),
            *args.overrides,
        ],
    )
    spark = build_session(settings, "bots-report")

    t0 = time.monotonic()
    report = train(spark, settings)
    train_s = time.monotonic() - t0
    folds = settings.bots.classifier.folds
    print(
        f"training (both models, {len(settings.bots.training.days)} generated training days): {train_s:.0f}s "
        f"({', '.join(f'{k} {v:.0f}s' for k, v in report.seconds.items())}); MLflow run {report.run_id}"
    )
    print(f"cresci-2015 rows rejected while parsing: {report.rejected or 'none'}")
    for m in report.models.values():
        source = "cresci-2015 genuine vs fake followers" if m.kind == "profile" else "generated training days, planted bots"
        print(f"\n{m.kind} model ({source}); rows {m.rows}")
        print(
            f"  {folds}-fold CV on the training split: "
            + "  ".join(f"{k} {m.cv[f'{k}_mean']:.4f} +- {m.cv[f'{k}_std']:.4f}" for k in ("auc", "f1", "precision", "recall"))
        )
        print("  held-out split:                  " + "  ".join(f"{k} {m.heldout[k]:.4f}" for k in ("auc", "f1", "precision", "recall")))
        top = sorted(m.importances.items(), key=lambda kv: -kv[1])[:5]
        print("  top features: " + ", ".join(f"{k} {v:.3f}" for k, v in top))

    t0 = time.monotonic()
    meta = generate(spark, settings, SynthSpec(day=day, events=args.events, seed=args.seed))
    ingest(spark, settings, day, now=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6)))
    counts = score_accounts(spark, settings, day)
    score_s = time.monotonic() - t0
    truth = spark.read.parquet(f"{settings.landing_path('_truth')}/{day.isoformat()}/persons")
    risk = TableStore(spark, settings).read(ACCOUNT_RISK).where(F.col("risk_date") == F.lit(day))
    labelled = risk.join(truth_accounts(truth, meta["networks"]), on=["network", "account"], how="inner")
    bot, by_rule = F.col("label") == 1.0, F.exists("reasons", lambda r: ~r.startswith("classifier:"))
    c = labelled.agg(
        *[
            F.sum(cond.cast("long")).alias(name)
            for name, cond in {
                "tp": F.col("is_risky") & bot,
                "fp": F.col("is_risky") & ~bot,
                "fn": ~F.col("is_risky") & bot,
                "tp_classifier": (F.col("probability") >= settings.bots.threshold) & bot,
                "fp_classifier": (F.col("probability") >= settings.bots.threshold) & ~bot,
                "tp_rules": by_rule & bot,
                "fp_rules": by_rule & ~bot,
                "bots": bot,
            }.items()
        ],
        F.count(F.lit(1)).alias("accounts"),
    ).first()
    print(
        f"\nevaluation day: {args.events:,} generated events (seed {args.seed}), {meta['n_persons']:,} persons on {len(meta['networks'])} networks; "
        f"generate + ingest + score {score_s:.0f}s"
    )
    risky_by_reason = {k: v for k, v in counts.items() if k.startswith("risky_")}
    print(f"  accounts scored {counts['accounts_scored']:,}; planted bot accounts {c.bots:,}; risky {counts['accounts_risky']:,} {risky_by_reason}")
    print(f"  classifier + rules: precision {c.tp / max(1, c.tp + c.fp):.4f}  recall {c.tp / max(1, c.bots):.4f}  (tp {c.tp}, fp {c.fp}, fn {c.fn})")
    print(f"  classifier alone:   precision {c.tp_classifier / max(1, c.tp_classifier + c.fp_classifier):.4f}  recall {c.tp_classifier / max(1, c.bots):.4f}")
    print(f"  rules alone:        precision {c.tp_rules / max(1, c.tp_rules + c.fp_rules):.4f}  recall {c.tp_rules / max(1, c.bots):.4f}")
    spark.stop()
    if not args.root:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
