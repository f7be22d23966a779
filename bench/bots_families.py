"""Cross-family evaluation of the profile model: train on one family of bots, test on another.

Prints a table; it is not a timed test. For each feature set (the groups of clout.bots.features, added one at
a time) and each experiment, the profile pipeline of clout.bots.training (conf ``bots.classifier``) is fitted on
the training rows and measured on the test rows at ``bots.threshold`` (AUC, precision, recall, F1; bot = positive):

- ``cresci held-out``: cresci-2015 genuine + fake followers, seeded 80/20 hash split (the training family itself);
- ``cresci -> imitator``: trained on all of cresci-2015, tested on generated people + generated human imitators
  (clout.synth.profiles); ``cresci -> buyer``: the same with accounts that bought followers;
- ``imitator -> cresci``: the reverse, trained on generated people + imitators, tested on cresci-2015;
- ``buyer -> imitator``: both generated, trained on one bot family and tested on the other (people of another seed);
- ``cresci+buyer -> imitator``, ``cresci+imitator -> buyer``: leave one family out, trained on the other two (with
  generated people beside cresci's), tested on the third.

cresci-2015 allows no split of its own by family: every fake follower comes from one vendor (``dataset`` INT)
and every genuine account from one sample (E13), so the second family is generated.

    .venv/bin/python bench/bots_families.py [--rows 1500]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from pyspark.sql import functions as F

from clout.bots.features import PROFILE_FEATURE_GROUPS, profile_features, read_profile_csv
from clout.bots.model import evaluate
from clout.bots.training import _u, build_pipeline
from clout.config import load_settings
from clout.session import build_session
from clout.synth.profiles import write_profiles


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1500, help="generated profiles per family (genuine, imitator, follower_buyer)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="clout-families-"))
    settings = load_settings("local", [f"storage.root={root}/lake", f"storage.checkpoint_dir={root}/ckpt", *args.overrides])
    spark = build_session(settings, "bots-families")
    conf, threshold = settings.bots.classifier, settings.bots.threshold
    try:

        def load(path: str, label: int):
            return profile_features(read_profile_csv(spark, path), label).profiles

        cresci = [settings.path(p.path) for p in settings.bots.training.profiles]
        labels = [p.label for p in settings.bots.training.profiles]
        real = load(cresci[0], labels[0]).unionByName(load(cresci[1], labels[1])).cache()

        def generated(family: str, label: int, seed: int):
            return load(write_profiles(root / f"{family}_{seed}.csv", family, args.rows, seed), label)

        people, people_other = generated("genuine", 0, 1).cache(), generated("genuine", 0, 2).cache()
        imitators, buyers = generated("imitator", 1, 3).cache(), generated("follower_buyer", 1, 4).cache()
        split = _u(F.col("id"), conf.seed) < F.lit(conf.test_fraction)
        experiments = {
            "cresci held-out": (real.where(~split), real.where(split)),
            "cresci -> imitator": (real, people.unionByName(imitators)),
            "cresci -> buyer": (real, people.unionByName(buyers)),
            "imitator -> cresci": (people.unionByName(imitators), real),
            "buyer -> imitator": (people.unionByName(buyers), people_other.unionByName(imitators)),
            # leave one family out: trained on two kinds of bots, tested on the third
            "cresci+buyer -> imitator": (real.unionByName(people).unionByName(buyers), people_other.unionByName(imitators)),
            "cresci+imitator -> buyer": (real.unionByName(people).unionByName(imitators), people_other.unionByName(buyers)),
        }
        groups = list(PROFILE_FEATURE_GROUPS)
        feature_sets = {"+".join(groups[: i + 1]): tuple(f for g in groups[: i + 1] for f in PROFILE_FEATURE_GROUPS[g]) for i in range(len(groups))}
        without_locale = tuple(f for g in groups if g != "locale" for f in PROFILE_FEATURE_GROUPS[g])
        feature_sets["all but locale"] = without_locale
        forest = f"RandomForest {conf.num_trees} trees depth {conf.max_depth}"
        print(f"profile model, cross-family: {forest}, threshold {threshold:g}, {args.rows} generated rows per family")
        print(f"{'experiment':<26} {'features':<38} {'auc':>7} {'prec':>7} {'recall':>7} {'f1':>7} {'s':>5}")
        importances = {}
        for name, (train, test) in experiments.items():
            for label, features in feature_sets.items():
                started = time.monotonic()
                model = build_pipeline(features, conf).fit(train)
                m = evaluate(model.transform(test), threshold)
                took = time.monotonic() - started
                print(f"{name:<26} {label:<38} {m['auc']:7.4f} {m['precision']:7.4f} {m['recall']:7.4f} {m['f1']:7.4f} {took:5.1f}", flush=True)
                if name == "cresci held-out" and features == feature_sets[label] and label == "+".join(groups):
                    importances = dict(zip(features, model.stages[-1].featureImportances.toArray(), strict=True))
        top = sorted(importances.items(), key=lambda kv: -kv[1])[:10]
        print("top importances, all features, trained on cresci: " + ", ".join(f"{k} {v:.3f}" for k, v in top))
    finally:
        spark.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
