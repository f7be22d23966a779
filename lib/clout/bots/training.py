"""Training the bot classifiers: a profile model on labelled profile CSVs (cresci-2015 by default, from conf), a
behaviour model on generated days (``clout.bots.generated``).

Two models, not one with the missing half imputed: no training account has both kinds of features
(cresci-2015 holds profiles and no activity; a generated day holds activity and no profiles). A combined
model would see the profile features missing exactly when the behaviour ones are present, so the missing
pattern would tell it the data source, and with it the source's bot share, instead of anything about bots.
The daily job (``clout.bots.stage``) applies the behaviour model to every account of the window, and the
profile model to those whose Twitter v1 profile was loaded into ``account_profiles`` (``clout.bots.profiles``),
combining the two probabilities by conf ``bots.evidence`` (``clout.bots.rules``). Both are loaded and applied by
``clout.bots.model``, which never imports this module.

Each model is a Spark ML pipeline: Imputer (median; e.g. timing features of an account that acted once) ->
VectorAssembler -> RandomForestClassifier. A seeded hash split holds out ``test_fraction`` of the rows; the
rest gets k-fold cross-validation (manual folds, so precision, recall and F1 are reported per fold, not only
AUC), then the model is fitted on all of it and scored once on the held-out rows. Parameters, metrics and the
model go to MLflow; the model is registered, and becomes ``@<alias>`` (the daily job loads
``models:/<name>@<alias>``) only when its held-out AUC reaches ``promote_min_auc``.

Training data: the profile CSVs of ``bots.training.profiles`` (path and label each), and the generated days of
``bots.training.days`` (``clout.bots.generated``, the only module that imports the generator).

Held-out rows say how well the behaviour model knows the bots it was trained on, not bots that act otherwise.
``held_out_strategies`` measures that: each training day is generated once per bot strategy (every bot of it on
that strategy), and for each strategy the model is trained on the other strategies' days and measured on that
strategy's days, beside the usual held-out-rows figures of a model trained on all of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import RandomForestClassifier
from pyspark.ml.feature import Imputer, VectorAssembler
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.bots.features import BEHAVIOUR_FEATURES, PROFILE_FEATURES, profile_features, read_profile_csv
from clout.bots.generated import behaviour_training_data
from clout.bots.model import evaluate
from clout.config import BOT_STRATEGIES, BotClassifierConf, BotTrainingDayConf, Settings
from clout.publish import tracking

log = logging.getLogger(__name__)


@dataclass
class ModelReport:
    kind: str
    name: str
    rows: dict[str, int]
    cv: dict[str, float]
    heldout: dict[str, float]
    importances: dict[str, float]
    version: str | None = None
    promoted: bool = False


@dataclass
class TrainReport:
    run_id: str
    models: dict[str, ModelReport] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def behaviour_key() -> Column:
    """A behaviour row's key (one account on one network on one generated day): what the seeded split hashes."""
    return F.concat_ws("|", F.col("day").cast("string"), "network", "account")


def _u(key: Column, salt: int) -> Column:
    """A uniform number in [0, 1) from a hash: a seeded split that does not depend on partitioning."""
    return F.pmod(F.xxhash64(key, F.lit(salt)), F.lit(1_000_003)).cast("double") / F.lit(1_000_003.0)


def build_pipeline(features: tuple[str, ...], conf: BotClassifierConf) -> Pipeline:
    imputed = [f"{c}_imputed" for c in features]
    return Pipeline(
        stages=[
            Imputer(inputCols=list(features), outputCols=imputed, strategy="median"),
            VectorAssembler(inputCols=imputed, outputCol="features"),
            RandomForestClassifier(labelCol="label", featuresCol="features", numTrees=conf.num_trees, maxDepth=conf.max_depth, seed=conf.seed),
        ]
    )


def is_heldout(key: Column, conf: BotClassifierConf) -> Column:
    """Whether a row is in the seeded held-out split (the same rows on every run with the same seed)."""
    return _u(key, conf.seed) < F.lit(conf.test_fraction)


def fit_and_evaluate(data: DataFrame, key: Column, features: tuple[str, ...], settings: Settings, kind: str) -> tuple[PipelineModel, ModelReport]:
    """Seeded held-out split, k-fold cross-validation on the rest, final fit, held-out metrics."""
    conf, threshold = settings.bots.classifier, settings.bots.threshold
    split = data.withColumn("_test", is_heldout(key, conf)).withColumn("_fold", F.floor(_u(key, conf.seed + 1) * conf.folds).cast("int")).cache()
    train, test = split.where(~F.col("_test")), split.where(F.col("_test"))
    pipeline = build_pipeline(features, conf)
    folds = []
    for k in range(conf.folds):
        model = pipeline.fit(train.where(F.col("_fold") != k))
        folds.append(evaluate(model.transform(train.where(F.col("_fold") == k)), threshold))
    cv = {}
    for metric in folds[0]:
        values = [f[metric] for f in folds]
        mean = sum(values) / len(values)
        cv[f"{metric}_mean"] = mean
        cv[f"{metric}_std"] = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    model = pipeline.fit(train)
    heldout = evaluate(model.transform(test), threshold)
    counts = split.groupBy(F.col("_test").alias("test"), "label").count().collect()
    rows = {f"{'test' if r.test else 'train'}_{'bots' if r.label == 1.0 else 'genuine'}": r["count"] for r in counts}
    importances = dict(zip(features, (float(x) for x in model.stages[-1].featureImportances.toArray()), strict=True))
    split.unpersist()
    name = settings.bots.registry.profile_model if kind == "profile" else settings.bots.registry.behaviour_model
    return model, ModelReport(kind, name, rows, cv, heldout, importances)


def profile_training_data(spark: SparkSession, settings: Settings) -> tuple[DataFrame, dict[str, int]]:
    """The labelled profile files of ``bots.training.profiles``, read in place; rejected rows counted by reason."""
    parts, rejected = [], {}
    for source in settings.bots.training.profiles:
        load = profile_features(read_profile_csv(spark, settings.path(source.path)), source.label)
        parts.append(load.profiles)
        for r in load.rejected.groupBy("reason").count().collect():
            rejected[r.reason] = rejected.get(r.reason, 0) + r["count"]
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out, rejected


def _log_model(model: PipelineModel, report: ModelReport, settings: Settings) -> None:
    import mlflow
    import pyspark

    info = mlflow.spark.log_model(model, report.kind, registered_model_name=report.name, pip_requirements=[f"pyspark=={pyspark.__version__}"])
    report.version = str(info.registered_model_version)
    report.promoted = report.heldout["auc"] >= settings.bots.classifier.promote_min_auc
    if report.promoted:
        mlflow.MlflowClient().set_registered_model_alias(report.name, settings.bots.registry.alias, report.version)
    else:
        log.warning(
            "bots: %s v%s held-out AUC %.3f < %.3f: registered, not promoted",
            report.name,
            report.version,
            report.heldout["auc"],
            settings.bots.classifier.promote_min_auc,
        )


def train(spark: SparkSession, settings: Settings) -> TrainReport:
    """Train, evaluate, log and register the profile and behaviour models (one MLflow run)."""
    import mlflow

    experiment_id = tracking.configure(settings)
    # nested when a daily run trains the models on first use, so the training is recorded under that day's run
    nested = mlflow.active_run() is not None
    run_name = f"bots-train-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags={"job": "bots-train", "env": settings.env}, nested=nested) as run:
        report = TrainReport(run.info.run_id)
        mlflow.log_params(tracking.flatten("bots", settings.bots.model_dump(mode="json"), {}))
        profiles, report.rejected = profile_training_data(spark, settings)
        started = time.monotonic()
        behaviour = behaviour_training_data(spark, settings)
        report.seconds["training_days"] = round(time.monotonic() - started, 1)  # generated and ingested
        for kind, data, key, features in (
            ("profile", profiles, F.col("id"), PROFILE_FEATURES),
            ("behaviour", behaviour, behaviour_key(), BEHAVIOUR_FEATURES),
        ):
            started = time.monotonic()
            model, model_report = fit_and_evaluate(data, key, features, settings, kind)
            report.seconds[f"{kind}_model"] = round(time.monotonic() - started, 1)  # features, folds, final fit
            _log_model(model, model_report, settings)
            report.models[kind] = model_report
            metrics = {f"{kind}_heldout_{k}": v for k, v in model_report.heldout.items()}
            metrics |= {f"{kind}_cv_{k}": v for k, v in model_report.cv.items()}
            metrics |= {f"{kind}_rows_{k}": float(v) for k, v in model_report.rows.items()}
            mlflow.log_metrics(metrics)
            tracking.log_json(f"{kind}/feature_importances.json", model_report.importances)
        mlflow.log_metrics(
            {f"profile_rows_rejected_{k}": float(v) for k, v in report.rejected.items()} | {"profile_rows_rejected": float(sum(report.rejected.values()))}
        )
        mlflow.log_metrics({f"seconds_{k}": v for k, v in report.seconds.items()})
    return report


@dataclass
class StrategyHoldout:
    """The behaviour model trained without one bot strategy, measured on the days whose bots all use it."""

    strategy: str
    train_days: list[dt.date]
    test_days: list[dt.date]
    train_bot_strategies: list[str]  # what the bots of the training rows actually did (read from the rows)
    test_bot_strategies: list[str]
    rows: dict[str, int]  # train_bots, train_genuine, test_bots, test_genuine
    held_out: dict[str, float]  # auc, precision, recall, f1 of the model that never saw the strategy
    seen: dict[str, float]  # the same figures of the all-strategies model, on the held-out rows of this strategy's days


@dataclass
class StrategyReport:
    strategies: tuple[str, ...]
    threshold: float
    all_strategies: ModelReport  # trained and tested (held-out rows) on every strategy's days
    held_out: dict[str, StrategyHoldout] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None

    def table(self) -> str:
        metrics = ("auc", "precision", "recall", "f1")
        head = f"{'behaviour model at threshold ' + format(self.threshold, 'g'):<46}" + "".join(f"{m:>11}" for m in metrics)
        line = lambda name, figures, note="": f"{name:<46}" + "".join(f"{figures[m]:>11.4f}" for m in metrics) + note  # noqa: E731
        rows = self.all_strategies.rows
        lines = [
            head,
            line(
                "all strategies, held-out rows",
                self.all_strategies.heldout,
                f"   test {rows.get('test_bots', 0):,} bots / {rows.get('test_genuine', 0):,} genuine",
            ),
        ]
        for s, h in self.held_out.items():
            lines.append(line(f"  {s}: seen in training, held-out rows", h.seen))
            lines.append(
                line(
                    f"  {s}: held out (trained on {' + '.join(h.train_bot_strategies)})",
                    h.held_out,
                    f"   test {h.rows['test_bots']:,} bots / {h.rows['test_genuine']:,} genuine",
                )
            )
        return "\n".join(lines)


def strategy_days(days: list[BotTrainingDayConf], strategies: tuple[str, ...]) -> dict[str, list[BotTrainingDayConf]]:
    """Every training day once per strategy, all of its bots on that strategy, on its own date and seed.

    Another seed, not only other bots: with the same seed the people of two days would act exactly alike, and a
    model could recognise the test day's people from the training days.
    """
    span = (max(d.date for d in days) - min(d.date for d in days)).days + 1
    return {
        s: [d.model_copy(update={"date": d.date + dt.timedelta(days=i * span), "seed": d.seed * len(strategies) + i, "bot_strategies": [s]}) for d in days]
        for i, s in enumerate(strategies)
    }


def _bot_strategies(rows: DataFrame) -> list[str]:
    return sorted(r.bot_strategy for r in rows.where(F.col("label") == 1.0).select("bot_strategy").distinct().collect())  # a few names


def held_out_strategies(spark: SparkSession, settings: Settings, strategies: tuple[str, ...] = BOT_STRATEGIES) -> StrategyReport:
    """Train the behaviour model without each bot strategy in turn and measure it on that strategy's days.

    The days are ``bots.training.days``, each generated once per strategy (``strategy_days``); the classifier is
    ``bots.classifier``. Also the usual cross-validated and held-out-rows figures of a model trained on all of
    those days, and that model's figures on each strategy's held-out rows. Figures go to one MLflow run.
    """
    if len(strategies) < 2 or set(strategies) - set(BOT_STRATEGIES):
        raise ValueError(f"held-out strategies: name two or more of {BOT_STRATEGIES}, got {strategies}")
    conf, threshold = settings.bots.classifier, settings.bots.threshold
    by_strategy = strategy_days(settings.bots.training.days, strategies)
    dates = {s: [d.date for d in days] for s, days in by_strategy.items()}
    run_name = f"bots-strategies-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    params = {f"days_{s}": ", ".join(map(str, d)) for s, d in dates.items()} | {"threshold": str(threshold), "num_trees": str(conf.num_trees)}
    with tracking.job_run(settings, run_name, {"job": "bots-strategies", "env": settings.env}, params) as run:
        import mlflow

        started = time.monotonic()
        data = behaviour_training_data(spark, settings, [d for s in strategies for d in by_strategy[s]]).cache()
        seconds = {"days": round(time.monotonic() - started, 1)}  # generated, ingested, features
        started = time.monotonic()
        model, everything = fit_and_evaluate(data, behaviour_key(), BEHAVIOUR_FEATURES, settings, "behaviour")
        seconds["all_strategies"] = round(time.monotonic() - started, 1)
        report = StrategyReport(tuple(strategies), threshold, everything, seconds=seconds, run_id=run.info.run_id)
        pipeline = build_pipeline(BEHAVIOUR_FEATURES, conf)
        for s in strategies:
            started = time.monotonic()
            own_days = F.col("day").isin(*dates[s])
            train, test = data.where(~own_days), data.where(own_days)
            seen = evaluate(model.transform(test.where(is_heldout(behaviour_key(), conf))), threshold)
            held_out = evaluate(pipeline.fit(train).transform(test), threshold)
            counts = {(r.test, r.label): r["count"] for r in data.groupBy(own_days.alias("test"), "label").count().collect()}
            rows = {f"{'test' if t else 'train'}_{'bots' if label == 1.0 else 'genuine'}": n for (t, label), n in counts.items()}
            report.held_out[s] = StrategyHoldout(
                s,
                [d for o in strategies if o != s for d in dates[o]],
                dates[s],
                _bot_strategies(train),
                _bot_strategies(test),
                rows,
                held_out,
                seen,
            )
            seconds[f"held_out_{s}"] = round(time.monotonic() - started, 1)
        data.unpersist()
        metrics = {f"all_heldout_{k}": v for k, v in everything.heldout.items()} | {f"all_cv_{k}": v for k, v in everything.cv.items()}
        for s, h in report.held_out.items():
            metrics |= {f"{s}_held_out_{k}": v for k, v in h.held_out.items()} | {f"{s}_seen_{k}": v for k, v in h.seen.items()}
            metrics |= {f"{s}_rows_{k}": float(v) for k, v in h.rows.items()}
        mlflow.log_metrics(metrics | {f"seconds_{k}": v for k, v in seconds.items()})
    return report
