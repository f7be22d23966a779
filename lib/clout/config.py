"""Configuration: conf/base.yaml + conf/<env>.yaml + CLI overrides, checked against typed models.

Unknown keys and wrong types fail loudly at load time, with the dotted path of the offending key,
instead of surfacing later as a mysterious Spark error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from clout.jvm import PROJECT_ROOT, SOURCE_TREE

CONF_DIR_ENV = "CLOUT_CONF_DIR"


def find_conf_dir() -> Traversable:
    """The folder base.yaml and the env files are read from, the first of:

    1. ``$CLOUT_CONF_DIR``: a folder laid out like conf/ (a deployment's own conf, an unpacked ``--archives``);
    2. the working directory when it holds base.yaml: what ``spark-submit --files conf/base.yaml,conf/cluster.yaml``
       gives a driver in cluster deploy mode (YARN, Kubernetes), whose working directory holds the shipped files;
    3. the conf shipped in the package (clout/conf/ in the wheel, setup.py): a wheel installed on a cluster or the
       wheel spark-submit ships with --py-files, read from inside the zip;
    4. conf/ of the source tree (a checkout, an editable install): the one copy anyone edits; the wheel copies it.
    """
    explicit = os.environ.get(CONF_DIR_ENV)
    if explicit:
        if not (Path(explicit) / "base.yaml").is_file():
            raise ConfigError(f"${CONF_DIR_ENV}={explicit}: no base.yaml there")
        return Path(explicit)
    if (Path.cwd() / "base.yaml").is_file():
        return Path.cwd()
    shipped = resources.files("clout") / "conf"
    if (shipped / "base.yaml").is_file():
        return shipped
    if SOURCE_TREE is not None:
        return SOURCE_TREE / "conf"
    raise ConfigError(f"no conf found: set ${CONF_DIR_ENV}, ship base.yaml with --files, or install the clout wheel (it carries clout/conf)")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StorageConf(_Strict):
    root: str
    database: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")  # a plain SQL name: it is spliced into DDL
    landing: str
    checkpoint_dir: str


class SparkConf(_Strict):
    master: str
    app_name: str
    driver_memory: str
    conf: dict[str, str]


class MlflowConf(_Strict):
    tracking_uri: str
    artifact_root: str
    experiment: str


# algorithm versions name files and partitions and appear in SQL: a plain identifier, nothing else
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class CatalogConf(_Strict):
    # a Derby database name ends at ';' (the rest is read as connection attributes): no ';' in the folder
    metastore_dir: str = Field(pattern=r"^[^;]*$")
    metastore_uri: str = Field(pattern=r"^(thrift://[A-Za-z0-9.-]+:[0-9]{1,5}(,thrift://[A-Za-z0-9.-]+:[0-9]{1,5})*)?$")
    register_wait_seconds: float = Field(ge=0)
    query_wait_seconds: float = Field(ge=0)
    jdbc_host: str = Field(pattern=r"^[A-Za-z0-9.:-]+$")
    jdbc_port: int = Field(ge=1, le=65535)


class AlgorithmRef(_Strict):
    version: str = Field(pattern=VERSION_PATTERN)
    dir: str  # empty: algorithms/ of the conf folder in use (clout.config.find_conf_dir), so a wheel reads its own


class IngestConf(_Strict):
    max_field_chars: int = Field(gt=0)
    max_future_minutes: int = Field(ge=0)
    fail_on_quarantine_ratio: float = Field(ge=0, le=1)
    suppression_salt: str = Field(min_length=1)


class QualityConf(_Strict):
    enabled: bool


class NetworkConf(_Strict):
    adapter: str
    founded: dt.date


class BotRulesConf(_Strict):
    timer_period_seconds: int = Field(gt=0)
    timer_min_gaps: int = Field(gt=0)
    timer_share: float = Field(gt=0, le=1)
    fixed_gap_share: float = Field(gt=0, le=1)
    coarse_clock_share: float = Field(gt=0, le=1)
    follow_share: float = Field(gt=0, le=1)
    follow_min_targets: int = Field(gt=0)
    follow_max_reactions_per_action: float = Field(ge=0)


class BotClassifierConf(_Strict):
    num_trees: int = Field(gt=0)
    max_depth: int = Field(gt=0, le=30)
    folds: int = Field(ge=2)
    test_fraction: float = Field(gt=0, lt=1)
    seed: int
    promote_min_auc: float = Field(ge=0, le=1)


class BotRegistryConf(_Strict):
    profile_model: str
    behaviour_model: str
    alias: str


# How the generator's planted bots act (clout.synth.generator): named here, not there, so that conf can check a
# training day's strategies without importing the generator (production code never does).
BotStrategy = Literal["timer", "imitator", "burst"]
BOT_STRATEGIES: tuple[str, ...] = get_args(BotStrategy)


class BotTrainingDayConf(_Strict):
    date: dt.date
    events: int = Field(gt=0)
    persons: int = Field(gt=0)
    bot_permille: int = Field(gt=0, lt=1000)
    bot_event_share: float = Field(gt=0, lt=1)
    seed: int
    bot_strategies: list[BotStrategy] = Field(default=["timer"], min_length=1)  # the day's bots split among these by id

    @model_validator(mode="after")
    def _distinct_strategies(self) -> BotTrainingDayConf:
        if len(set(self.bot_strategies)) != len(self.bot_strategies):
            raise ValueError(f"bot_strategies names a strategy twice (got {self.bot_strategies})")
        return self


class LabelledProfilesConf(_Strict):
    path: str  # a Twitter v1 profile CSV (.csv or .csv.gz); relative paths are under the project
    label: Literal[0, 1]  # 1: every row is a bot, 0: every row is genuine


class BotTrainingConf(_Strict):
    days: list[BotTrainingDayConf] = Field(min_length=1)
    networks: list[str] | None = None
    profiles: list[LabelledProfilesConf] = Field(min_length=2)

    @model_validator(mode="after")
    def _both_labels(self) -> BotTrainingConf:
        if {p.label for p in self.profiles} != {0, 1}:
            raise ValueError("bots.training.profiles needs files of both labels (0 genuine, 1 bot)")
        return self

    @model_validator(mode="after")
    def _distinct_dates(self) -> BotTrainingConf:
        dates = [d.date for d in self.days]
        if len(set(dates)) != len(dates):
            raise ValueError(f"training days need distinct dates (got {sorted(map(str, dates))})")
        return self


class BotEvidenceConf(_Strict):
    # how an account's behaviour and profile probabilities make the day's probability, where its profile is known:
    # noisy_or (1 - (1 - b)(1 - p): independent evidence adds up) or max (the stronger one alone)
    combine: Literal["noisy_or", "max"]


class BotsConf(_Strict):
    train_if_missing: bool  # the daily run trains the models when none is registered yet (else it fails)
    window_days: int = Field(gt=0)
    threshold: float = Field(gt=0, lt=1)
    top_fraction: float = Field(gt=0, lt=1)
    rules: BotRulesConf
    classifier: BotClassifierConf
    registry: BotRegistryConf
    training: BotTrainingConf
    evidence: BotEvidenceConf


class Settings(_Strict):
    storage: StorageConf
    spark: SparkConf
    mlflow: MlflowConf
    catalog: CatalogConf
    algorithm: AlgorithmRef
    ingest: IngestConf
    quality: QualityConf
    bots: BotsConf
    networks: dict[str, NetworkConf]
    env: str = "local"
    _conf_dir: Traversable | None = PrivateAttr(default=None)  # where load_settings read base.yaml: algorithms are beside it

    def conf_source(self) -> str:
        """The folder load_settings read base.yaml from (inside a zip for the wheel spark-submit ships)."""
        return str(self._conf_dir) if self._conf_dir is not None else "(not read from files)"

    def algorithms_dir(self) -> Traversable:
        """Where the algorithm versions' YAML files are: conf ``algorithm.dir`` when set (relative: under the project), else
        algorithms/ of the conf folder in use, or that folder itself when it has none (files shipped flat with --files)."""
        if self.algorithm.dir:
            return Path(self.path(self.algorithm.dir))
        folder = self._conf_dir if self._conf_dir is not None else find_conf_dir()
        return folder / "algorithms" if (folder / "algorithms").is_dir() else folder

    def path(self, value: str) -> str:
        """Resolve a storage path: URIs (s3a://, abfss://, file:) as they are, relative paths under the project."""
        if "://" in value or value.startswith("file:") or Path(value).is_absolute():
            return value
        return str(PROJECT_ROOT / value)

    def table_path(self, table: str) -> str:
        return f"{self.path(self.storage.root).rstrip('/')}/{self.storage.database}/{table}"

    def metastore_path(self) -> str | None:
        """The embedded Derby metastore's folder, or None when conf names a shared metastore service."""
        if self.catalog.metastore_uri:
            return None
        folder = self.path(self.catalog.metastore_dir or f"{self.storage.root.rstrip('/')}/_metastore")
        if "://" in folder or folder.startswith("file:"):
            # Derby opens a folder on this machine; a lakehouse on object storage needs a metastore service
            raise ConfigError(f"catalog: the embedded metastore needs a local folder, not {folder!r}: set catalog.metastore_uri or catalog.metastore_dir")
        return folder

    def landing_path(self, network: str, day: dt.date | None = None) -> str:
        base = f"{self.path(self.storage.landing).rstrip('/')}/{network}"
        return f"{base}/{day.isoformat()}" if day else base

    def tracking_uri(self) -> str:
        uri = self.mlflow.tracking_uri
        if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            return "sqlite:///" + str(PROJECT_ROOT / uri.removeprefix("sqlite:///"))
        return uri


class PageRankConf(_Strict):
    damping: float = Field(gt=0, lt=1)
    max_iter: int = Field(gt=0)
    tol: float = Field(ge=0)  # stop when the L1 change of the ranks falls below this
    checkpoint_interval: int = Field(gt=0)  # cut the plan's lineage every this many iterations


class WindowConf(_Strict):
    days: int = Field(gt=0)
    half_life_days: float = Field(gt=0)


class PartWeights(_Strict):
    reach: float = Field(ge=0)
    amplification: float = Field(ge=0)
    authority: float = Field(ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> PartWeights:
        if self.reach + self.amplification + self.authority <= 0:
            raise ValueError("at least one part weight must be positive")
        return self


class ScoreConf(_Strict):
    part_weights: PartWeights
    amplification_prior_posts: float = Field(ge=0)  # posts a person is assumed to have made before any reaction
    # points a published score may move in one day (clout.score.bound); at or above ceiling - floor it bounds nothing
    max_daily_move: int = Field(gt=0)


class BotDiscountConf(_Strict):
    discount_reactions: bool  # a reaction weighs (1 - bot probability of who acted); a risky actor's weighs 0
    suppress_risky: bool  # a risky person's own score is held at the floor and flagged


class RingsConf(_Strict):
    """Coordinated rings (clout.graph.rings): groups that react to each other far more than to anyone else."""

    enabled: bool  # off: no ring is looked for, the rings partition of the snapshot is left empty, nothing is discounted
    min_pair_effort: float = Field(gt=0)  # decayed, bot-discounted effort each way for two persons to count as a reciprocal tie
    label_propagation_iterations: int = Field(gt=0)  # rounds of GraphFrames label propagation on the reciprocal ties
    min_size: int = Field(ge=3)  # two persons liking each other is a friendship, not a ring
    max_size: int = Field(gt=0)
    min_density: float = Field(gt=0, le=1)  # reciprocal ties inside / possible pairs
    min_insularity: float = Field(gt=0, le=1)  # share of the members' given effort that stays inside (also each member's own)
    min_inbound_share: float = Field(ge=0, le=1)  # share of the effort members receive that comes from inside
    reaction_weight: float = Field(ge=0, le=1)  # what a reaction between two members of one ring still weighs

    @model_validator(mode="after")
    def _size_range(self) -> RingsConf:
        if self.min_size > self.max_size:
            raise ValueError(f"rings.min_size ({self.min_size}) is above rings.max_size ({self.max_size})")
        return self


class CalibrationConf(_Strict):
    mean: float
    p95: float
    floor: int
    ceiling: int


class TopicsConf(_Strict):
    """Per-topic scores (clout.score.topics, the ``topic_scores`` table), calibrated within each topic like the global score."""

    # a topic fewer distinct persons reacted to in the window is trivial: nobody is scored on it (a handful of
    # reactors cannot tell an expert from a lucky post, and a percentile among three persons means nothing)
    min_reactors: int = Field(ge=1)
    # authority (1 = an average person) given to an anonymous placeholder's reactions (Stack Exchange's unnamed
    # voters): they are not vertices of the graph, so the rank of whoever voted is unknown
    unnamed_authority: float = Field(ge=0)


def _check_weights(weights: dict[str, float], where: str, complete: bool) -> None:
    """Weight keys are checked against the action vocabulary: a typo must be an error, not a silent weight of 0."""
    from clout.ingest.actions import ACTIONS, TARGETED

    unknown = sorted(set(weights) - ACTIONS)
    if unknown:
        raise ValueError(f"{where}: unknown action(s) {unknown}; the vocabulary is {sorted(ACTIONS)}")
    missing = sorted(TARGETED - set(weights)) if complete else []
    if missing:
        raise ValueError(f"{where}: no weight for action(s) {missing} (give 0.0 to ignore one)")
    negative = sorted(k for k, v in weights.items() if v < 0)
    if negative:
        raise ValueError(f"{where}: negative weight for {negative}")


class Algorithm(_Strict):
    version: str = Field(pattern=VERSION_PATTERN)
    action_weights: dict[str, float]  # every targeted action, by name
    network_action_weights: dict[str, dict[str, float]] = Field(default_factory=dict)  # per-network overrides
    window: WindowConf
    pagerank: PageRankConf
    score: ScoreConf
    bots: BotDiscountConf
    rings: RingsConf
    calibration: CalibrationConf
    topics: TopicsConf

    @model_validator(mode="after")
    def _weights_name_actions(self) -> Algorithm:
        _check_weights(self.action_weights, "action_weights", complete=True)
        for network, overrides in self.network_action_weights.items():
            _check_weights(overrides, f"network_action_weights.{network}", complete=False)
        return self

    def weights_for(self, network: str) -> dict[str, float]:
        """The action weights on ``network``: the defaults with that network's overrides."""
        return self.action_weights | self.network_action_weights.get(network, {})


def _read_yaml(path: Traversable) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Merge ``override`` into ``base``; a mapping may only be replaced by a mapping."""
    merged = dict(base)
    for key, value in override.items():
        dotted = f"{where}.{key}" if where else key
        if isinstance(merged.get(key), dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}: expected a mapping, got {type(value).__name__}")
            merged[key] = deep_merge(merged[key], value, dotted)
        else:
            merged[key] = value
    return merged


def parse_override(item: str) -> dict[str, Any]:
    """'spark.conf.spark.sql.shuffle.partitions=4' style: the value is parsed as YAML (so 4 is an int).

    Keys under a free-form mapping (spark.conf) may contain dots, so everything after ``spark.conf.``
    is one key.
    """
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected key.path=value")
    key, raw = item.split("=", 1)
    value = yaml.safe_load(raw) if raw else ""
    parts = key.split(".")
    if parts[:2] == ["spark", "conf"] and len(parts) > 2:
        parts = ["spark", "conf", ".".join(parts[2:])]
        value = str(raw)
    nested: dict[str, Any] = value
    for part in reversed(parts):
        nested = {part: nested}
    return nested


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        kind = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {loc}: {kind} (got {e.get('input')!r})")
    return f"invalid configuration ({source}):\n" + "\n".join(lines)


def overrides_under(root: str | Path) -> list[str]:
    """The overrides (as ``--set``) that keep a store's tables, landing files, checkpoints and MLflow store under one
    folder: a throw-away store of a bench or a scratch run."""
    return [
        f"storage.root={root}/lake",
        f"storage.landing={root}/landing",
        f"storage.checkpoint_dir={root}/ckpt",
        f"mlflow.tracking_uri=sqlite:///{root}/mlflow.db",
        f"mlflow.artifact_root={root}/mlartifacts",
    ]


def load_settings(env: str = "local", overrides: list[str] | None = None, conf_dir: Traversable | None = None) -> Settings:
    """conf ``base.yaml`` + ``<env>.yaml`` + overrides; ``conf_dir``: the folder to read (default: clout.config.find_conf_dir())."""
    folder = conf_dir if conf_dir is not None else find_conf_dir()
    data = _read_yaml(folder / "base.yaml")
    data = deep_merge(data, _read_yaml(folder / f"{env}.yaml"))
    for item in overrides or []:
        data = deep_merge(data, parse_override(item))
    data["env"] = env
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, f"base + {env} + overrides")) from None
    settings._conf_dir = folder
    return settings


def load_algorithm(settings: Settings, version: str | None = None) -> Algorithm:
    version = version or settings.algorithm.version
    if not re.match(VERSION_PATTERN, version):
        raise ConfigError(f"algorithm version {version!r}: expected letters, digits, '.', '_' or '-' (e.g. v2)")
    path = settings.algorithms_dir() / f"{version}.yaml"
    data = _read_yaml(path)
    try:
        algo = Algorithm.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, str(path))) from None
    if algo.version != version:
        raise ConfigError(f"{path}: declares version {algo.version!r}, expected {version!r}")
    unknown_networks = sorted(set(algo.network_action_weights) - set(settings.networks))
    if unknown_networks:
        raise ConfigError(f"{path}: network_action_weights names unknown network(s) {unknown_networks}; configured: {sorted(settings.networks)}")
    return algo
