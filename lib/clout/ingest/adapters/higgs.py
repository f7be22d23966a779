"""Higgs Twitter data set (SNAP, De Domenico et al. 2013): ``higgs-activity_time.txt.gz``, a real dump.

Native shape, one action per line, fields separated by white space (a space in the dump; tabs are accepted)::

    userA userB unix_timestamp action          e.g.  223789 213163 1341100972 MT

``userA`` / ``userB`` are anonymised integer user ids, ``unix_timestamp`` is epoch seconds (UTC), ``action`` is
``RT`` (userA retweeted userB), ``MT`` (userA mentioned userB) or ``RE`` (userA replied to userB). Several
actions can share a timestamp, also between the same two users (an ``MT`` and an ``RE`` of one tweet).
The ``higgs-*_network.edgelist.gz`` files hold the same actions aggregated; they are not an event source and
must not be ingested alongside (their 3-field lines would all be ``malformed_record``).

Mapping (one candidate per line; account ids are ``higgs:<user id>``, taken verbatim):
- ``RT`` -> ``share``, ``MT`` -> ``mention``, ``RE`` -> ``reply``; actor ``higgs:<userA>``, target
  ``higgs:<userB>``; event_time = the timestamp; no content ids and no text (the dump has neither).
- an unknown code ``X`` -> action ``code:X``, which validation rejects as ``unknown_action``
  (detail ``action=code:X``), so the offending code stays visible in quarantine.
- event_id ``higgs:<userA>:<userB>:<timestamp>:<code>``: deterministic from the line content. Distinct
  actions sharing a timestamp differ in users or code; two identical lines get the same id and the ingest
  stage's in-batch dedupe quarantines the later one as ``duplicate_in_batch`` (the full dump has none).
- topics: ``["higgs"]`` for every event. The dump carries no hashtags or text, but the whole data set was
  collected by tracking the Higgs-boson discovery (keywords lhc, cern, boson, higgs), so every action is
  on that one topic; labelling it lets topic-scoped influence work for this network. (Decision: a
  constant topic rather than an empty array.)
- userA == userB (7,588 lines in the dump) is passed through; validation quarantines it as
  ``self_interaction``.

Problems (parse_error; the record then carries no event fields):
- not exactly 4 fields -> ``malformed_record``;
- a timestamp that is not an integer (or is out of the range of a timestamp, years 1..9999) -> ``wrong_type``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from clout.ingest.adapters.base import account, candidates, event_key, first_problem, ts_epoch_seconds, wrong_type

NETWORK = "higgs"
TOPIC = "higgs"
CODES = {"RT": "share", "MT": "mention", "RE": "reply"}


def to_events(raw: DataFrame) -> DataFrame:
    fields = F.split(F.trim(F.col("raw_payload")), r"\s+")
    user_a, user_b, stamp, code = (F.get(fields, i) for i in range(4))
    event_time = ts_epoch_seconds(stamp)  # years 1..9999, else null -> wrong_type
    mapped = F.create_map(*[x for k, v in sorted(CODES.items()) for x in (F.lit(k), F.lit(v))])[code]
    action = F.coalesce(mapped, F.concat(F.lit("code:"), code))
    event = F.struct(
        event_key(NETWORK, user_a, user_b, stamp, code).alias("event_id"),
        event_time.alias("event_time"),
        action.alias("action"),
        account(NETWORK, user_a).alias("actor_account"),
        account(NETWORK, user_b).alias("target_account"),
        F.array(F.lit(TOPIC)).alias("topics"),
    )
    problem = first_problem(
        (F.size(fields) != 4, "malformed_record"),
        (wrong_type(stamp, event_time), "wrong_type"),
    )
    shaped = raw.select(
        "raw_payload",
        "source_file",
        problem.alias("parse_error"),
        F.when(problem.isNull(), F.array(event)).alias("ev"),
    )
    return candidates(shaped, NETWORK)
