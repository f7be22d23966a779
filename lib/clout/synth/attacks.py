"""Attack scenarios planted into generated days, each next to a twin that does not attack.

The product promise: scores cannot be bought with activity. Each scenario plants accounts beyond the honest
population (ids from ``SynthSpec.n_persons`` up) on one network, with Spark expressions only (``spark.range`` and
hash draws, as the generator). Every attacker has a twin: an account that receives exactly the same honest
reactions (same reactors, actions and seconds) and posts the same posts, but does not attack. The twin's score on
the same snapshot is what the attacker would have scored without the attack, so the gain of an attack is
``score(attacker) - score(twin)``, free of the day-to-day drift of a generated population.

Scenarios (the issue's list; ``attack_rows`` plants all of them, every day):

- ``timer_bot``: posts every ``timer_minutes`` on a timer, each post liked within a minute by every account of a
  follower farm (themselves on a timer) that also follows it. Allowed: below the population's median score.
- ``big_accounts``: an ordinary author who replies to and likes the top 1 % of the population, ``reach_outs`` times a
  day. Allowed: at most 5 points above the twin.
- ``ring``: ``ring_size`` accounts that like and share each other's posts every day, at human-looking times.
  Allowed: at most 5 points above the twins, member by member.
- ``bought_followers``: an account followed by ``bought_followers`` farm accounts a day that do nothing else.
  Allowed: nothing above the twin.
- ``expert_vs_celebrity``: an expert whose few readers (drawn from the most influential 5 %) reply, comment and
  share, and a celebrity followed by many (follows from anyone, a few likes). Allowed: the expert ranks above.

Topic scenarios (not attacks, no twins: what the topic scores and the influencer search must find):

- ``topic_experts``: on ``TOPIC`` (a topic of the generated population, so both are ranked among its honest
  persons), a topic expert whose few posts get replies and shares from the most influential 2 %, beside a
  high-volume poster whose many posts get likes from many of the least influential half. Expected: the expert
  ranks above the poster on the topic. A quiet expert gets the same kind of readers but never posts or reacts
  (older content): scored on the topic, never active (``clout search --active-days`` leaves them out). And a
  niche poster on ``NICHE_TOPIC``, which only ``niche_reactors`` fixed persons ever react on: a trivial topic,
  scored for nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.synth.generator import PLANTED_COLUMNS, PLANTED_TOPIC, TOPICS, SynthSpec, _u  # _u: the generator's one hash draw

NETWORK = "twitter"
SECONDS_PER_DAY = 86_400
TOPIC = TOPICS[0]  # the topic experts' topic, one the generated population has
NICHE_TOPIC = "knitting"  # not one of the population's TOPICS: only the niche scenario acts on it


@dataclass(frozen=True)
class AttackPlan:
    """Sizes of the planted scenarios (per day); the defaults keep a generated test day small."""

    timer_minutes: int = 10
    farm_size: int = 20
    reach_outs: int = 120
    ring_size: int = 30
    bought_followers: int = 1500
    honest_reactions: int = 12  # honest reactions a day to each attacker and (identically) to its twin
    posts: int = 3  # honest posts a day of each attacker and twin
    expert_readers: int = 25
    celebrity_followers: int = 1500
    celebrity_likes: int = 10
    topic_expert_readers: int = 10  # replies and shares a day on the topic expert's posts, from the top 2 %
    topic_poster_posts: int = 20  # the high-volume poster's posts a day on the topic
    topic_poster_likes: int = 200  # likes a day on them, from the least influential half of the population
    niche_reactors: int = 3  # the only persons who react on the niche topic, every day (below topics.min_reactors)


@dataclass(frozen=True)
class Planted:
    """The planted ids of one population (``base`` = the population's size): who attacks, who is the twin."""

    base: int
    plan: AttackPlan

    # offsets above ``base``: single accounts first, groups in their own blocks
    @property
    def timer_bot(self) -> int:
        return self.base

    @property
    def author(self) -> int:
        return self.base + 1

    @property
    def author_twin(self) -> int:
        return self.base + 2

    @property
    def buyer(self) -> int:
        return self.base + 3

    @property
    def buyer_twin(self) -> int:
        return self.base + 4

    @property
    def expert(self) -> int:
        return self.base + 5

    @property
    def celebrity(self) -> int:
        return self.base + 6

    @property
    def topic_expert(self) -> int:
        return self.base + 7

    @property
    def topic_poster(self) -> int:
        return self.base + 8

    @property
    def niche_poster(self) -> int:
        return self.base + 9

    @property
    def quiet_expert(self) -> int:
        return self.base + 10

    @property
    def farm(self) -> range:
        return range(self.base + 100, self.base + 100 + self.plan.farm_size)

    @property
    def ring(self) -> range:
        return range(self.base + 1_000, self.base + 1_000 + self.plan.ring_size)

    @property
    def ring_twins(self) -> range:
        return range(self.base + 2_000, self.base + 2_000 + self.plan.ring_size)

    @property
    def follow_farm(self) -> range:
        return range(self.base + 10_000, self.base + 10_000 + self.plan.bought_followers)

    def account(self, idx: int) -> str:
        """The account id ingest gives a planted account (planted on one network, so nobody links it: it is its own person)."""
        return f"{NETWORK}:{idx + 100_000_000}"

    def pairs(self) -> dict[str, list[tuple[int, int]]]:
        """Attacker -> twin pairs per scenario whose gain is measured against a twin."""
        return {
            "big_accounts": [(self.author, self.author_twin)],
            "ring": list(zip(self.ring, self.ring_twins, strict=True)),
            "bought_followers": [(self.buyer, self.buyer_twin)],
        }


def _rows(spark: SparkSession, count: int, seq0: int) -> DataFrame:
    """``count`` rows numbered ``k`` with a sequence number unique in the day (above every population event)."""
    return spark.range(0, count, numPartitions=1).select(F.col("id").alias("k"), (F.col("id") + F.lit(seq0)).alias("seq"))


def _planted(df: DataFrame, action: Column, actor: Column, target: Column | None, seconds: Column) -> DataFrame:
    return df.select(
        F.lit(NETWORK).alias("network"),
        F.col("seq"),
        action.alias("action"),
        actor.cast("long").alias("actor_idx"),
        (target.cast("long") if target is not None else F.lit(None).cast("long")).alias("target_idx"),
        F.least(F.lit(SECONDS_PER_DAY - 1), seconds.cast("long")).alias("seconds"),
    ).select(*PLANTED_COLUMNS)


def _regular(u: Column, spec: SynthSpec, top_share: float = 1.0) -> Column:
    """A regular person of the population (no bot), uniform among the first ``top_share`` of them (most influential first)."""
    regular = spec.n_persons - max(1, spec.n_persons * spec.bot_permille // 1000)
    return F.floor(u * F.lit(max(1, int(regular * top_share)))).cast("long")


def _daytime(u: Column) -> Column:
    """A human-looking second of the day: between 07:00 and 23:00."""
    return F.lit(7 * 3600) + F.floor(u * F.lit(16 * 3600))


def honest_twins(spark: SparkSession, spec: SynthSpec, plan: AttackPlan, pairs: list[tuple[int, int]], seq0: int) -> DataFrame:
    """The same honest reactions and posts for each attacker and its twin: one draw, written once per side."""
    per_pair = plan.honest_reactions + plan.posts
    pair_df = spark.createDataFrame([(p, a, t) for p, (a, t) in enumerate(pairs)], "p long, attacker long, twin long")  # a few dozen pairs
    draws = _rows(spark, len(pairs) * per_pair, 0).select(
        (F.col("k") / per_pair).cast("long").alias("p"), F.pmod(F.col("k"), F.lit(per_pair)).alias("j"), F.col("k")
    )
    joined = draws.join(pair_df, on="p", how="inner")
    u_reactor, u_action, u_time = (_u(F.col("attacker"), F.col("j"), F.lit(spec.seed), salt=900 + s) for s in range(3))
    is_post = F.col("j") >= plan.honest_reactions
    action = F.when(is_post, F.lit("post")).otherwise(F.when(u_action < 0.6, F.lit("like")).when(u_action < 0.85, F.lit("comment")).otherwise(F.lit("share")))
    sides = []
    for side, offset in (("attacker", 0), ("twin", len(pairs) * per_pair)):
        rows = joined.withColumn("seq", F.col("k") + F.lit(seq0 + offset))
        actor = F.when(is_post, F.col(side)).otherwise(_regular(u_reactor, spec))
        target = F.when(~is_post, F.col(side))
        sides.append(_planted(rows, action, actor, target, _daytime(u_time)))
    return sides[0].unionByName(sides[1])


def timer_bot(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """The timer bot's posts and its farm's likes (a minute later, each farm account at its own second) and follows."""
    plan = planted.plan
    n_posts = SECONDS_PER_DAY // (plan.timer_minutes * 60)
    posts = _rows(spark, n_posts, seq0)
    post_second = F.col("k") * F.lit(plan.timer_minutes * 60) + F.lit(7)
    out = _planted(posts, F.lit("post"), F.lit(planted.timer_bot), None, post_second)
    farm = _rows(spark, n_posts * plan.farm_size, seq0 + n_posts)
    member = F.lit(planted.farm.start) + F.pmod(F.col("k"), F.lit(plan.farm_size))
    post = (F.col("k") / plan.farm_size).cast("long")
    like_second = post * F.lit(plan.timer_minutes * 60) + F.lit(60) + F.pmod(F.col("k"), F.lit(plan.farm_size))
    out = out.unionByName(_planted(farm, F.lit("like"), member, F.lit(planted.timer_bot), like_second))
    follows = _rows(spark, plan.farm_size, seq0 + n_posts * (plan.farm_size + 1))
    return out.unionByName(_planted(follows, F.lit("follow"), F.lit(planted.farm.start) + F.col("k"), F.lit(planted.timer_bot), F.lit(3600) + F.col("k")))


def big_accounts(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """The author's replies to and likes of the top 1 % of the population, at human-looking times."""
    rows = _rows(spark, planted.plan.reach_outs, seq0)
    u_target, u_action, u_time = (_u(F.col("k"), F.lit(spec.seed), salt=950 + s) for s in range(3))
    action = F.when(u_action < 0.5, F.lit("reply")).otherwise(F.lit("like"))
    return _planted(rows, action, F.lit(planted.author), _regular(u_target, spec, top_share=0.01), _daytime(u_time))


def ring(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """Every ring member likes and shares one post of every other member, every day, at human-looking times."""
    size = planted.plan.ring_size
    rows = _rows(spark, size * size * 2, seq0)
    giver = (F.col("k") / (size * 2)).cast("long")
    taker = F.pmod((F.col("k") / 2).cast("long"), F.lit(size))
    action = F.when(F.pmod(F.col("k"), F.lit(2)) == 0, F.lit("like")).otherwise(F.lit("share"))
    mutual = rows.where(giver != taker)  # nobody reacts to themselves
    start = planted.ring.start
    return _planted(mutual, action, F.lit(start) + giver, F.lit(start) + taker, _daytime(_u(F.col("k"), F.lit(spec.seed), salt=970)))


def bought_followers(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """The buyer's follows, one from each farm account, spread over the day."""
    rows = _rows(spark, planted.plan.bought_followers, seq0)
    follower = F.lit(planted.follow_farm.start) + F.col("k")
    return _planted(rows, F.lit("follow"), follower, F.lit(planted.buyer), F.floor(_u(F.col("k"), F.lit(spec.seed), salt=980) * SECONDS_PER_DAY))


def expert_and_celebrity(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """The expert's engaged readers (from the most influential 5 %) and the celebrity's passive audience (anyone)."""
    plan = planted.plan
    posts = _rows(spark, 2 * plan.posts, seq0)
    author = F.when(F.col("k") < plan.posts, F.lit(planted.expert)).otherwise(F.lit(planted.celebrity))
    out = _planted(posts, F.lit("post"), author, None, _daytime(_u(F.col("k"), F.lit(spec.seed), salt=990)))
    readers = _rows(spark, plan.expert_readers, seq0 + 2 * plan.posts)
    u_reader, u_action, u_time = (_u(F.col("k"), F.lit(spec.seed), salt=991 + s) for s in range(3))
    engaged = F.when(u_action < 0.4, F.lit("reply")).when(u_action < 0.7, F.lit("comment")).otherwise(F.lit("share"))
    out = out.unionByName(_planted(readers, engaged, _regular(u_reader, spec, top_share=0.05), F.lit(planted.expert), _daytime(u_time)))
    # the celebrity's audience only follows (no adapter renders views of generated days), and one in 150 likes
    audience = plan.celebrity_followers + plan.celebrity_likes
    seen = _rows(spark, audience, seq0 + 2 * plan.posts + plan.expert_readers)
    u_fan, u_seen = (_u(F.col("k"), F.lit(spec.seed), salt=995 + s) for s in range(2))
    passive = F.when(F.col("k") >= plan.celebrity_followers, F.lit("like")).otherwise(F.lit("follow"))
    return out.unionByName(_planted(seen, passive, _regular(u_fan, spec), F.lit(planted.celebrity), _daytime(u_seen)))


def _on_topic(rows: DataFrame, topic: str) -> DataFrame:
    return rows.withColumn(PLANTED_TOPIC, F.lit(topic))


def _least_influential_half(u: Column, spec: SynthSpec) -> Column:
    """A regular person uniform among the least influential half (the population's influence falls with the id)."""
    regular = spec.n_persons - max(1, spec.n_persons * spec.bot_permille // 1000)
    return F.lit(regular // 2) + F.floor(u * F.lit(max(1, regular - regular // 2))).cast("long")


def topic_experts(spark: SparkSession, spec: SynthSpec, planted: Planted, seq0: int) -> DataFrame:
    """The topic expert and the high-volume poster on TOPIC, and the niche poster on NICHE_TOPIC (see the module docstring)."""
    plan = planted.plan
    n_posts = plan.posts + plan.topic_poster_posts
    posts = _rows(spark, n_posts, seq0)
    author = F.when(F.col("k") < plan.posts, F.lit(planted.topic_expert)).otherwise(F.lit(planted.topic_poster))
    out = _planted(posts, F.lit("post"), author, None, _daytime(_u(F.col("k"), F.lit(spec.seed), salt=1010)))
    seq = seq0 + n_posts
    readers = _rows(spark, 2 * plan.topic_expert_readers, seq)  # as many for the quiet expert
    u_reader, u_action, u_time = (_u(F.col("k"), F.lit(spec.seed), salt=1011 + s) for s in range(3))
    engaged = F.when(u_action < 0.6, F.lit("reply")).otherwise(F.lit("share"))
    read = F.when(F.col("k") < plan.topic_expert_readers, F.lit(planted.topic_expert)).otherwise(F.lit(planted.quiet_expert))
    out = out.unionByName(_planted(readers, engaged, _regular(u_reader, spec, top_share=0.02), read, _daytime(u_time)))
    seq += 2 * plan.topic_expert_readers
    likes = _rows(spark, plan.topic_poster_likes, seq)
    u_fan, u_time = (_u(F.col("k"), F.lit(spec.seed), salt=1015 + s) for s in range(2))
    out = _on_topic(out.unionByName(_planted(likes, F.lit("like"), _least_influential_half(u_fan, spec), F.lit(planted.topic_poster), _daytime(u_time))), TOPIC)
    seq += plan.topic_poster_likes
    # the niche: one post and the same few fixed reactors every day (ids drawn without the day's seed), so the topic
    # stays below topics.min_reactors however many days the window holds
    niche = _rows(spark, 1 + plan.niche_reactors, seq)
    niche_actor = F.when(F.col("k") == 0, F.lit(planted.niche_poster)).otherwise(_regular(_u(F.col("k"), salt=1020), spec))
    niche_action = F.when(F.col("k") == 0, F.lit("post")).otherwise(F.lit("reply"))
    niche_target = F.when(F.col("k") > 0, F.lit(planted.niche_poster))
    niche_time = _daytime(_u(F.col("k"), F.lit(spec.seed), salt=1021))
    return out.unionByName(_on_topic(_planted(niche, niche_action, niche_actor, niche_target, niche_time), NICHE_TOPIC))


def attack_rows(spark: SparkSession, spec: SynthSpec, plan: AttackPlan | None = None) -> tuple[DataFrame, Planted]:
    """Every scenario's actions of the day (pass to ``generate(..., planted=)``) and the planted ids."""
    planted = Planted(spec.n_persons, plan or AttackPlan())
    seq0 = spec.events + 10_000_000  # above every population event of the day
    block = 10_000_000  # one block of sequence numbers per scenario
    pairs = [pair for group in planted.pairs().values() for pair in group]
    parts = [
        honest_twins(spark, spec, planted.plan, pairs, seq0),
        timer_bot(spark, spec, planted, seq0 + block),
        big_accounts(spark, spec, planted, seq0 + 2 * block),
        ring(spark, spec, planted, seq0 + 3 * block),
        bought_followers(spark, spec, planted, seq0 + 4 * block),
        expert_and_celebrity(spark, spec, planted, seq0 + 5 * block),
        topic_experts(spark, spec, planted, seq0 + 6 * block),
    ]
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part, allowMissingColumns=True)  # only the topic scenarios name their topic
    return out, planted


@dataclass(frozen=True)
class Outcome:
    """One row of the scenario table: the attacker's score without the attack (its twin's, or a reference) and with it."""

    scenario: str
    before: float  # the twin's score (what the attack started from), or the reference the rule compares against
    after: float  # the attacker's score on the same snapshot
    allowed: str
    holds: bool


def outcomes(scores: dict[str, int], planted: Planted) -> list[Outcome]:
    """The scenario table from one snapshot's published scores ({person_id: score}; unscored persons count as 0)."""

    def of(idx: int) -> int:
        return scores.get(planted.account(idx), 0)

    values = sorted(scores.values())
    median = values[len(values) // 2] if values else 0
    ring_gain = max(of(m) - of(t) for m, t in zip(planted.ring, planted.ring_twins, strict=True))
    ring_twins = sum(of(t) for t in planted.ring_twins) / planted.plan.ring_size
    ring_members = sum(of(m) for m in planted.ring) / planted.plan.ring_size
    bot, author, author_twin = of(planted.timer_bot), of(planted.author), of(planted.author_twin)
    buyer, buyer_twin, expert, celebrity = of(planted.buyer), of(planted.buyer_twin), of(planted.expert), of(planted.celebrity)
    return [
        Outcome("timer bot + follower farm", median, bot, "< population median (before = the median)", bot < median),
        Outcome("replies to / likes of the top 1 %", author_twin, author, "<= twin + 5", author - author_twin <= 5),
        Outcome(f"ring of {planted.plan.ring_size} (mean; worst member +{ring_gain})", ring_twins, ring_members, "each <= twin + 5", ring_gain <= 5),
        Outcome("purchased followers", buyer_twin, buyer, "<= twin", buyer <= buyer_twin),
        Outcome("expert (after) vs celebrity (before)", celebrity, expert, "expert > celebrity", expert > celebrity),
    ]
