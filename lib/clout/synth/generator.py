"""Generate one day of raw landing files for every network whose adapter can ``render``.

Everything is Spark expressions over ``spark.range`` (no Python loop over events), so the generator scales
with partitions: 100 M events is the same code as 1 M with more partitions.

Planted truth. Person ``i`` (0 = most influential) receives reactions with probability proportional to
``(i + 1) ** -alpha``: influence falls with the index, and ``true_influence`` is exactly that expected share.
Reactors are drawn uniformly from the population, so who acts is unrelated to who is acted upon except
through the planted influence. Bots (a small share of ids, the last ones) are never reacted to and act by one
of ``BOT_STRATEGIES`` (``SynthSpec.bot_strategies``, split among the bots by id):

- ``timer`` (the default): on a 5-minute timer over the whole day, aimed at uniformly random people;
- ``imitator``: people's own timing and action mix, but most of its targeted actions amplify a handful of
  "client" accounts (the same few for every imitator of the day);
- ``burst``: silent most of the day, then shares and likes within seconds of each other, every burst bot in
  the same few minutes, all on the posts of that burst's client (each bot works through the same list of posts).

A small share of lines is corrupted or duplicated on purpose so that quarantine and dedupe have something to
do; the truth file records how many.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from clout.config import BOT_STRATEGIES, Settings
from clout.ingest.adapters import load_adapter
from clout.synth.schema import SYNTH_COLUMNS

log = logging.getLogger(__name__)
TOPICS = ["physics", "ai", "music", "football", "cooking", "travel", "finance", "health", "gaming", "climate", "art", "politics"]
# what a planted action names (clout.synth.attacks): rendered like the population's actions. A planted frame may
# also carry a ``topic`` column (PLANTED_TOPIC): the action's topic instead of the population's rule (the topic of
# the person acted upon, or of the poster); null keeps the rule.
PLANTED_COLUMNS = ("network", "seq", "action", "actor_idx", "target_idx", "seconds")
PLANTED_TOPIC = "topic"
REACTION_ACTIONS = ("reply", "comment", "quote", "share", "like", "mention", "vote_up", "vote_down", "answer", "accepted_answer", "checkin_tag", "view")


@dataclass(frozen=True)
class SynthSpec:
    day: dt.date
    events: int
    persons: int | None = None  # default: events / 40, at least 200
    alpha: float = 1.1  # steepness of planted influence
    bot_permille: int = 5  # share of persons that are bots (per mille)
    bot_event_share: float = 0.04  # share of events made by bots
    bad_line_share: float = 0.0005  # corrupted lines (malformed JSON)
    duplicate_share: float = 0.0005  # lines written twice
    seed: int = 7
    networks: tuple[str, ...] | None = None
    bot_strategies: tuple[str, ...] = ("timer",)  # bot i (counted from the first bot id) acts by bot_strategies[i % len]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.bot_strategies) - set(BOT_STRATEGIES))
        if not self.bot_strategies or unknown or len(set(self.bot_strategies)) != len(self.bot_strategies):
            raise ValueError(f"bot_strategies {self.bot_strategies!r}: name each of {BOT_STRATEGIES} at most once, at least one")

    @property
    def n_persons(self) -> int:
        return self.persons or max(200, self.events // 40)


def _u(*cols: Column, salt: int) -> Column:
    """A uniform number in [0, 1) from a hash of the columns: deterministic, partitioning-independent."""
    h = F.xxhash64(*cols, F.lit(salt))
    return (F.pmod(h, F.lit(1_000_000_007)).cast("double")) / F.lit(1_000_000_007.0)


def _pick(u: Column, weights: dict[str, float]) -> Column:
    """Choose a key of ``weights`` by a uniform number (cumulative thresholds)."""
    total = sum(weights.values())
    expr, acc = None, 0.0
    items = list(weights.items())
    for i, (key, w) in enumerate(items):
        acc += w / total
        cond = u < F.lit(acc if i < len(items) - 1 else 2.0)
        expr = F.when(cond, F.lit(key)) if expr is None else expr.when(cond, F.lit(key))
    return expr


def native_id(network: str, idx: Column) -> Column:
    """The person's account id on a network, in that network's own id style."""
    s = idx.cast("string")
    styles = {
        "mastodon": F.concat(F.lit("user"), s, F.lit("@mastodon.example")),
        # the bare base-36 id: Reddit's fullname "t2_<id>" is built by the renderer, as Reddit builds it
        "reddit": F.lower(F.conv(s, 10, 36)),
        "linkedin": F.concat(F.lit("urn:li:person:"), F.upper(F.conv((idx + 90_000_000).cast("string"), 10, 36))),
        "youtube": F.concat(F.lit("UC"), F.lpad(s, 22, "0")),
    }
    return styles.get(network, (idx + F.lit(100_000_000)).cast("string"))


def n_bots(spec: SynthSpec) -> int:
    return max(1, spec.n_persons * spec.bot_permille // 1000)


def is_bot(idx: Column, spec: SynthSpec) -> Column:
    """Bots are the last ids: the planted least influential, so a bot ranking high is the pipeline's fault."""
    return idx >= F.lit(spec.n_persons - n_bots(spec))


def bot_strategy(idx: Column, spec: SynthSpec) -> Column:
    """The strategy a bot id acts by (null for people): the bots take the listed strategies in turn."""
    first_bot = F.lit(spec.n_persons - n_bots(spec))
    turn = F.pmod(idx - first_bot, F.lit(len(spec.bot_strategies))) + 1
    return F.when(is_bot(idx, spec), F.element_at(F.array(*[F.lit(s) for s in spec.bot_strategies]), turn.cast("int")))


def _by_strategy(strategy: Column, exprs: dict[str, Column], spec: SynthSpec) -> Column:
    """One expression per strategy of the day, chosen by ``strategy``; a one-strategy day is that expression itself."""
    *first, last = spec.bot_strategies
    out = None
    for name in first:
        out = F.when(strategy == name, exprs[name]) if out is None else out.when(strategy == name, exprs[name])
    return exprs[last] if out is None else out.otherwise(exprs[last])


# imitators and burst bots work for a few "client" accounts, the same for all of them on a day
CLIENTS = 5
IMITATOR_CLIENT_SHARE = 0.8  # of an imitator's targeted actions; the rest aims like a person, as cover
BURSTS, BURST_SECONDS = 6, 120  # burst bots act only in these windows of the day, all in the same ones
AMPLIFYING = ("share", "like", "vote_up")  # what a burst bot does: every generated network renders one of them


def client(k: Column, spec: SynthSpec) -> Column:
    """The k-th client account of the day (0 <= k < CLIENTS): a person, drawn from the seed."""
    return F.pmod(F.xxhash64(F.lit(spec.seed), F.lit("client"), k), F.lit(spec.n_persons - n_bots(spec)))


def burst_start_second(k: Column, spec: SynthSpec) -> Column:
    """When the day's k-th burst starts: a whole minute drawn from the seed, early enough to end within the day."""
    return F.pmod(F.xxhash64(F.lit(spec.seed), F.lit("burst"), k), F.lit(1440 - BURST_SECONDS // 60 - 1)) * 60


def persons_truth(spark: SparkSession, spec: SynthSpec) -> DataFrame:
    """The planted truth per person."""
    n = spec.n_persons
    idx = F.col("id")
    weight = F.pow(idx + 1, -spec.alpha)
    norm = sum((i + 1) ** -spec.alpha for i in range(n))  # n is people, not events: small
    return spark.range(0, n, numPartitions=max(1, n // 500_000)).select(
        F.concat(F.lit("p"), idx.cast("string")).alias("person_key"),
        idx.alias("person_idx"),
        (weight / F.lit(norm)).alias("true_influence"),
        is_bot(idx, spec).alias("is_bot"),
        bot_strategy(idx, spec).alias("bot_strategy"),
        F.element_at(F.array(*[F.lit(t) for t in TOPICS]), (F.pmod(idx, F.lit(len(TOPICS))) + 1).cast("int")).alias("topic"),
    )


def canonical_actions(spark: SparkSession, spec: SynthSpec, synth_actions: dict[str, dict[str, float]], planted: DataFrame | None = None) -> DataFrame:
    """All synthetic actions of the day in the canonical schema (network-neutral ids resolved per network).

    ``planted``: extra actions (``PLANTED_COLUMNS``: network, seq, action, actor_idx, target_idx, seconds into the
    day; optionally ``PLANTED_TOPIC``) rendered like the population's, e.g. the attack scenarios of clout.synth.attacks.
    """
    n = spec.n_persons
    networks = sorted(synth_actions)
    parts = max(2, spec.events // 1_000_000)
    seq = F.col("id")
    start_epoch = int(dt.datetime.combine(spec.day, dt.time(), tzinfo=dt.UTC).timestamp())

    u_net, u_act, u_actor, u_target, u_time, u_bot = (_u(seq, salt=spec.seed * 100 + k) for k in range(6))
    network = _pick(u_net, dict.fromkeys(networks, 1.0))
    bot_rows = u_bot < F.lit(spec.bot_event_share)
    bot_actor = F.lit(n - n_bots(spec)) + F.floor(u_actor * n_bots(spec)).cast("long")
    regular_actor = F.floor(u_actor * (n - n_bots(spec))).cast("long")
    actor_idx = F.when(bot_rows, bot_actor).otherwise(regular_actor)
    skewed_target = F.floor(F.lit(n) * F.pow(u_target, F.lit(spec.alpha * 3.0))).cast("long")
    uniform_target = F.floor(u_target * n).cast("long")

    df = (
        spark.range(0, spec.events, numPartitions=parts)
        .select(
            seq.alias("seq"),
            network.alias("network"),
            actor_idx.alias("actor_idx"),
            bot_rows.alias("bot_row"),
            u_act.alias("u_act"),
            skewed_target.alias("skewed_target"),
            uniform_target.alias("uniform_target"),
            u_time.alias("u_time"),
        )
        .withColumn("actor_is_bot", is_bot(F.col("actor_idx"), spec))
        .withColumn("bot_strategy", bot_strategy(F.col("actor_idx"), spec))
    )
    bursting = F.col("bot_strategy") == "burst"  # null (not bursting) for people
    burst = F.floor(F.col("u_time") * BURSTS)  # which of the day's bursts a burst bot's action falls in

    action = None
    for net in networks:
        chosen = _pick(F.col("u_act"), synth_actions[net])
        if "burst" in spec.bot_strategies:
            # a network without any amplifying action keeps its whole mix
            amplifying = {a: w for a, w in synth_actions[net].items() if a in AMPLIFYING} or synth_actions[net]
            chosen = F.when(bursting, _pick(F.col("u_act"), amplifying)).otherwise(chosen)
        action = F.when(F.col("network") == net, chosen) if action is None else action.when(F.col("network") == net, chosen)
    df = df.withColumn("action", action)
    # people aim by planted influence; timer bots at random people; imitators mostly at their clients (the rest like
    # a person); a burst at its client. Nobody reacts to a bot or to themselves.
    u_aim = _u(F.col("seq"), salt=spec.seed * 100 + 6)
    imitator_target = F.when(u_aim < F.lit(IMITATOR_CLIENT_SHARE), client(F.floor(u_aim / F.lit(IMITATOR_CLIENT_SHARE) * CLIENTS), spec)).otherwise(
        F.col("skewed_target")
    )
    bot_target = _by_strategy(
        F.col("bot_strategy"), {"timer": F.col("uniform_target"), "imitator": imitator_target, "burst": client(F.pmod(burst, F.lit(CLIENTS)), spec)}, spec
    )
    # a column first: the fix-ups below repeat it, and a repeated expression would be copied into the plan each time
    df = df.withColumn("aim", F.when(F.col("actor_is_bot"), bot_target).otherwise(F.col("skewed_target")))
    target = F.col("aim")
    target = F.when(is_bot(target, spec), F.pmod(target + 1, F.lit(n))).otherwise(target)
    target = F.when(target == F.col("actor_idx"), F.pmod(target + 1, F.lit(n))).otherwise(target)
    has_target = ~F.col("action").isin("post", "checkin")
    df = df.withColumn("target_idx", F.when(has_target, target))
    # timer bots post every 5 minutes, whatever the day brings; imitators keep people's clock; burst bots act within
    # seconds of each other in the day's few bursts
    person_seconds = F.floor(F.col("u_time") * 86400)
    bot_seconds = _by_strategy(
        F.col("bot_strategy"),
        {
            "timer": F.floor(F.col("u_time") * 288) * 300 + F.pmod(F.col("actor_idx"), F.lit(60)),
            "imitator": person_seconds,
            "burst": burst_start_second(burst, spec) + F.floor((F.col("u_time") * BURSTS - burst) * BURST_SECONDS),
        },
        spec,
    )
    seconds = F.when(F.col("actor_is_bot"), bot_seconds).otherwise(person_seconds)
    # which of the target's posts was acted upon: one of 10^6, so one person rarely hits the same post twice
    target_post = F.pmod(F.xxhash64(F.col("seq"), F.lit(spec.seed)), F.lit(1_000_000))
    df = df.withColumn("target_post", target_post)
    if "burst" in spec.bot_strategies:
        # every burst bot works through the burst's posts in the same order (its i-th action in a burst hits the
        # burst's i-th post), so the bots pile onto the same posts and none hits one post twice (a platform keeps
        # one like per user and post: a second would be a duplicate event). A window over the burst rows only.
        in_order = Window.partitionBy("actor_idx", burst).orderBy(seconds, F.col("seq"))
        bursts = df.where(bursting).withColumn("target_post", (burst + 1) * 1_000_000 + F.row_number().over(in_order))
        df = df.where(~F.coalesce(bursting, F.lit(False))).unionByName(bursts)
    # the render reads only these columns, so planted actions (clout.synth.attacks) join the day's here
    no_topic = F.lit(None).cast("string").alias(PLANTED_TOPIC)
    df = df.select(*PLANTED_COLUMNS[:-1], seconds.cast("long").alias("seconds"), "target_post", no_topic)
    if planted is not None:
        planted_topic = F.col(PLANTED_TOPIC).cast("string").alias(PLANTED_TOPIC) if PLANTED_TOPIC in planted.columns else no_topic
        df = df.unionByName(planted.select(*PLANTED_COLUMNS, target_post.alias("target_post"), planted_topic))
    by_rule = lambda idx: F.element_at(F.array(*[F.lit(t) for t in TOPICS]), (F.pmod(idx, F.lit(len(TOPICS))) + 1).cast("int"))  # noqa: E731
    topic_of = lambda idx: F.coalesce(F.col(PLANTED_TOPIC), by_rule(idx))  # noqa: E731
    topic_idx = F.coalesce(F.col("target_idx"), F.col("actor_idx"))

    rows = []
    for net in networks:
        part = df.where(F.col("network") == net)
        actor_native = native_id(net, F.col("actor_idx"))
        target_native = native_id(net, F.col("target_idx"))
        content = F.concat(F.lit("c"), F.col("seq").cast("string"))
        target_content = F.concat(F.lit("t"), F.col("target_idx").cast("string"), F.lit("x"), F.col("target_post").cast("string"))
        creates = F.col("action").isin("post", "reply", "comment", "quote", "share", "answer", "checkin", "mention")
        rows.append(
            part.select(
                F.col("network"),
                F.col("seq"),
                F.col("action"),
                F.timestamp_seconds(F.lit(start_epoch) + F.col("seconds")).alias("event_time"),
                actor_native.alias("actor_native"),
                F.concat(F.lit("user"), F.col("actor_idx").cast("string")).alias("actor_handle"),
                F.when(F.col("target_idx").isNotNull(), target_native).alias("target_native"),
                F.when(F.col("target_idx").isNotNull(), F.concat(F.lit("user"), F.col("target_idx").cast("string"))).alias("target_handle"),
                F.when(creates, content).alias("content_native"),
                F.when(F.col("target_idx").isNotNull(), target_content).alias("target_content_native"),
                F.array(topic_of(topic_idx)).alias("topics"),
                F.when(creates, F.concat(F.lit("about "), topic_of(topic_idx), F.lit(" #"), F.col("seq").cast("string"))).alias("text"),
                F.col("actor_idx"),
                F.col("target_idx"),
            )
        )
    out = rows[0]
    for r in rows[1:]:
        out = out.unionByName(r)
    return out


def corrupt(lines: DataFrame, spec: SynthSpec, network: str) -> DataFrame:
    """Cut a few lines in half (malformed) and write a few twice (duplicates), deterministically."""
    u = _u(F.col("value"), salt=spec.seed + len(network))
    broken = F.when(u < spec.bad_line_share, F.substring("value", 1, 17)).otherwise(F.col("value"))
    dup = lines.where((u >= spec.bad_line_share) & (u < spec.bad_line_share + spec.duplicate_share))
    return lines.select(broken.alias("value")).unionByName(dup.select("value"))


def generate(spark: SparkSession, settings: Settings, spec: SynthSpec, planted: DataFrame | None = None) -> dict:
    """Write the day's landing files, identity links and truth; return the counts written.

    ``planted``: extra actions rendered with the population's (see ``canonical_actions``)."""
    renderers = {}
    for name, conf in settings.networks.items():
        if spec.networks and name not in spec.networks:
            continue
        adapter = load_adapter(conf.adapter)
        if hasattr(adapter, "render") and hasattr(adapter, "SYNTH_ACTIONS"):
            renderers[name] = adapter
    if not renderers:
        raise ValueError("no configured network can render synthetic data")
    synth_actions = {name: a.SYNTH_ACTIONS for name, a in renderers.items()}
    day = spec.day.isoformat()
    # staged once, partitioned by network: each network renders only its own partition and the day is not
    # recomputed once per network
    staging = f"{settings.landing_path('_staging')}/{day}/actions"
    canonical_actions(spark, spec, synth_actions, planted).write.mode("overwrite").partitionBy("network").parquet(staging)
    actions = spark.read.parquet(staging)
    written = {}
    for name, adapter in sorted(renderers.items()):
        own = spark.read.parquet(f"{staging}/network={name}").withColumn("network", F.lit(name))
        lines = adapter.render(own.select(*SYNTH_COLUMNS))
        out = settings.landing_path(name, spec.day)
        corrupt(lines, spec, name).write.mode("overwrite").text(out)
        written[name] = out

    truth_root = f"{settings.landing_path('_truth')}/{day}"
    persons_truth(spark, spec).write.mode("overwrite").parquet(f"{truth_root}/persons")
    # explicit identity links: the top 10 and 70% of everyone else active on 2+ networks link their accounts
    accounts = (
        actions.select("network", F.col("actor_idx").alias("idx"))
        .unionByName(actions.where(F.col("target_idx").isNotNull()).select("network", F.col("target_idx").alias("idx")))
        .distinct()
    )
    native = None
    for name in renderers:
        expr = native_id(name, F.col("idx"))  # a link names the native id: the account id without "<network>:"
        native = F.when(F.col("network") == name, expr) if native is None else native.when(F.col("network") == name, expr)
    linked = (
        accounts.withColumn("native", native)
        .groupBy("idx")
        .agg(F.collect_list(F.struct(F.col("network"), F.col("native").alias("id"))).alias("accounts"))
        .where((F.size("accounts") >= 2) & ((F.col("idx") < 10) | (_u(F.col("idx"), salt=spec.seed + 5) < 0.7)))
        .select(F.to_json(F.struct(F.concat(F.lit("p"), F.col("idx").cast("string")).alias("person_id"), F.col("accounts"))).alias("value"))
    )
    linked.write.mode("overwrite").text(f"{settings.landing_path('identity', spec.day)}")
    meta = asdict(spec) | {"day": day, "n_persons": spec.n_persons, "networks": sorted(renderers), "landing": written}
    spark.createDataFrame([(json.dumps(meta, default=str),)], "value string").coalesce(1).write.mode("overwrite").text(f"{truth_root}/spec")
    return meta
