"""Mastodon (and any ActivityPub server): activities as delivered to our collector's inbox, JSON lines.

Native records, one ActivityStreams 2.0 activity (JSON-LD, compact form) per line:
``{"@context", "id" (activity IRI), "type", "actor" (actor IRI, e.g. "https://mastodon.social/users/alice"),
"published", "object", ...}`` with
- ``Create``: ``object`` is the embedded Note (also Question = poll, Article, Page) ``{"id", "type",
  "attributedTo", "inReplyTo" (IRI of the replied-to note or null), "content" (HTML), "published",
  "tag": [{"type": "Hashtag", "name": "#x"}, {"type": "Mention", "href": actor IRI, "name": "@bob@host"}]}``.
  ActivityPub gives only the IRI of the replied-to note; our collector resolves it and adds the note's author
  as ``inReplyToAttributedTo`` (on the Note).
- ``Announce`` (boost), ``Like``: ``object`` is the IRI of the note. ActivityPub does not say whose note it
  is; our collector resolves the IRI and either adds ``objectAttributedTo`` (the note's author) to the
  activity or embeds the fetched note as ``object`` (an embedded object is valid ActivityStreams; it also
  carries the note's hashtags). ``render`` writes the embedded form.
- ``Follow``: ``object`` is the followed actor's IRI.
Mastodon sends no ``published`` on Like and Follow; our collector stamps them with the time it received them.
Any IRI field may also come as an embedded object with an ``id``; ``tag`` may be a single object.

Mapping to events (account ids are ``mastodon:<user>@<host>``, from actor IRIs ``https://<host>/users/<user>``
or ``https://<host>/@<user>``, or ``acct:`` URIs; the host is lower-cased):
- Create without inReplyTo -> ``post`` (content_id = the note IRI); with inReplyTo -> ``reply`` aimed at
  ``inReplyToAttributedTo`` (target_content_id = inReplyTo).
- each Mention tag of a Create -> ``mention`` of that actor, except the replied-to author (Mastodon adds that
  mention to every reply itself).
- Announce -> ``share``, Like -> ``like``, aimed at the note's author; Follow -> ``follow`` of the object actor.
- topics: the Hashtag tags of the note (for Announce/Like: of the embedded note, none with a bare IRI).
- event time: the activity's ``published``, else the note's.
- every other activity type (Undo, Delete, Update, Block, Accept, Move, ...) and a Create of anything else
  than a note -> parse_error ``unknown_action``, the candidate's action reading ``activity:<Type>`` (or
  ``activity:Create/<object type>``) so the quarantine detail names it. Undo/Delete are not replayed: a
  retracted like stays counted, as on networks that do not report retractions at all.
- a published that is not an ISO-8601 time -> ``wrong_type``.
Event ids: ``mastodon:<note IRI>:<post|reply>``, ``mastodon:<note IRI>:mention:<user@host>``,
``mastodon:<activity IRI>:<share|like|follow>`` (activity IRIs are stable across redeliveries).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from clout.ingest.adapters.base import (
    account,
    event,
    event_key,
    iso_seconds,
    null,
    parse_json,
    record_candidates,
    topics,
    ts_iso,
    wrong_type,
)

NETWORK = "mastodon"
SYNTH_ACTIONS = {"post": 0.20, "reply": 0.16, "share": 0.14, "like": 0.44, "follow": 0.06}

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_NOTE_TYPES = ("Note", "Question", "Article", "Page")
_ACTIVITY_TYPES = ("Create", "Announce", "Like", "Follow")

# IRI-valued and polymorphic fields are read as text (an embedded object arrives as its JSON text).
RECORD = T.StructType([T.StructField(name, T.StringType()) for name in ("id", "type", "actor", "published", "object", "objectAttributedTo")])
_NOTE = T.StructType(
    [T.StructField(name, T.StringType()) for name in ("id", "type", "attributedTo", "inReplyTo", "inReplyToAttributedTo", "content", "published", "tag")]
)
_TAGS = T.ArrayType(T.StructType([T.StructField(n, T.StringType()) for n in ("type", "name", "href")]))
_ACTOR_IRI = r"^https?://([^/@\s]+)/(?:users/|@)([^/?#@\s]+)/?$"
_ACCT_URI = r"^(?:acct:)?@?([^@\s/:]+)@([^@\s/]+)$"


def _iri(value: Column) -> Column:
    """The IRI of a field that may be an IRI, an embedded object (its id) or a one-element array."""
    text = F.trim(value)
    return (
        F.when(text.startswith("{"), F.get_json_object(text, "$.id"))
        .when(text.startswith("["), F.coalesce(F.get_json_object(text, "$[0].id"), F.get_json_object(text, "$[0]")))
        .otherwise(text)
    )


def acct(iri: Column) -> Column:
    """'alice@mastodon.social' from 'https://mastodon.social/users/alice', '.../@alice' or 'acct:alice@host'."""
    iri_user, iri_host = F.regexp_extract(iri, _ACTOR_IRI, 2), F.regexp_extract(iri, _ACTOR_IRI, 1)
    uri_user, uri_host = F.regexp_extract(iri, _ACCT_URI, 1), F.regexp_extract(iri, _ACCT_URI, 2)
    return F.when(iri_user != "", F.concat(iri_user, F.lit("@"), F.lower(iri_host))).when(uri_user != "", F.concat(uri_user, F.lit("@"), F.lower(uri_host)))


def to_events(raw: DataFrame) -> DataFrame:
    # Parsed parts are materialised as columns one select at a time: a Column expression used in many places
    # would otherwise be evaluated (the JSON parsed, the regex run) once per use.
    parsed = raw.select("raw_payload", "source_file", parse_json(F.col("raw_payload"), RECORD).alias("r"))
    object_text = F.trim(F.col("r.object"))
    parsed = parsed.select("*", F.when(object_text.startswith("{"), F.from_json(object_text, _NOTE)).alias("note"), object_text.alias("object_text"))
    tag_text = F.trim(F.col("note.tag"))
    parsed = parsed.select(
        "*",
        F.coalesce(
            F.from_json(F.when(tag_text.startswith("{"), F.concat(F.lit("["), tag_text, F.lit("]"))).otherwise(tag_text), _TAGS),
            F.array().cast(_TAGS),
        ).alias("tags"),
        acct(F.coalesce(_iri(F.col("r.actor")), _iri(F.col("note.attributedTo")))).alias("actor_acct"),
        ts_iso(F.col("r.published"), padded=True).alias("activity_time"),
        ts_iso(F.col("note.published"), padded=True).alias("note_time"),
        _iri(F.col("note.inReplyTo")).alias("reply_to"),
    )
    kind, note, tags, object_text = F.col("r.type"), F.col("note"), F.col("tags"), F.col("object_text")
    note_topics = topics(F.transform(F.filter(tags, lambda t: t["type"] == "Hashtag"), lambda t: t["name"]))
    object_iri = F.coalesce(note["id"], F.when(~object_text.startswith("{"), _iri(object_text)))
    actor = account(NETWORK, F.col("actor_acct"))
    activity_time, note_time = F.col("activity_time"), F.col("note_time")
    event_time = F.coalesce(activity_time, note_time)

    # Create(Note): post or reply, plus its mentions
    reply_to = F.col("reply_to")
    is_reply = reply_to.isNotNull() & (reply_to != "")
    create_action = F.when(is_reply, F.lit("reply")).otherwise(F.lit("post"))
    replied_acct = F.when(is_reply, acct(_iri(note["inReplyToAttributedTo"])))
    text_chars = F.length(F.regexp_replace(note["content"], "<[^>]*>", ""))
    created = event(
        event_key(NETWORK, note["id"], create_action),
        event_time,
        create_action,
        actor,
        account(NETWORK, replied_acct),
        note["id"],
        F.when(is_reply, reply_to),
        note_topics,
        text_chars,
    )
    mentioned = F.array_distinct(
        F.filter(
            F.transform(F.filter(tags, lambda t: t["type"] == "Mention"), lambda t: acct(_iri(t["href"]))),
            lambda m: m.isNotNull() & ~F.coalesce(m == replied_acct, F.lit(False)),
        )
    )
    mentions = F.transform(
        mentioned,
        lambda m: event(
            event_key(NETWORK, note["id"], F.lit("mention"), m),
            event_time,
            F.lit("mention"),
            actor,
            account(NETWORK, m),
            note["id"],
            note["id"],
            note_topics,
            text_chars,
        ),
    )

    # Announce / Like / Follow: one event aimed at the object's author (or the followed actor)
    reaction_action = F.when(kind == "Announce", F.lit("share")).when(kind == "Like", F.lit("like")).when(kind == "Follow", F.lit("follow"))
    reaction_target = F.when(kind == "Follow", acct(object_iri)).otherwise(acct(F.coalesce(_iri(F.col("r.objectAttributedTo")), _iri(note["attributedTo"]))))
    reaction = event(
        event_key(NETWORK, F.col("r.id"), reaction_action),
        activity_time,
        reaction_action,
        actor,
        account(NETWORK, reaction_target),
        null(),
        F.when(kind != "Follow", object_iri),
        F.when(kind != "Follow", note_topics).otherwise(F.array()),
        null(),
    )

    creates_note = (kind == "Create") & F.coalesce(note["type"].isin(*_NOTE_TYPES), F.lit(False))
    unknown_action = F.when(kind == "Create", F.concat(F.lit("activity:Create/"), F.coalesce(note["type"], F.lit("none")))).otherwise(
        F.concat(F.lit("activity:"), F.coalesce(kind, F.lit("none")))
    )
    unknown = event(null(), event_time, unknown_action, actor, null(), null(), null(), F.array(), null())
    recognised = F.coalesce(creates_note | kind.isin(*_ACTIVITY_TYPES[1:]), F.lit(False))
    events = F.when(creates_note, F.concat(F.array(created), mentions)).when(recognised, F.array(reaction)).otherwise(F.array(unknown))
    return record_candidates(
        parsed,
        NETWORK,
        events,
        (wrong_type(F.col("r.published"), activity_time) | ((kind == "Create") & wrong_type(note["published"], note_time)), "wrong_type"),
        (~recognised, "unknown_action"),
        unknown_keeps_events=True,
    )


def _actor_iri(user_at_host: Column) -> Column:
    """'user123@mastodon.example' -> 'https://mastodon.example/users/user123'."""
    return F.concat(F.lit("https://"), F.substring_index(user_at_host, "@", -1), F.lit("/users/"), F.substring_index(user_at_host, "@", 1))


def _html(text: Column) -> Column:
    escaped = F.coalesce(text, F.lit(""))
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        escaped = F.regexp_replace(escaped, char, entity)
    return escaped


def render(actions: DataFrame) -> DataFrame:
    """Canonical synthetic actions -> ActivityPub Create(Note) / Announce / Like / Follow activities, one JSON line each."""
    a = F.col
    actor_iri, target_iri = _actor_iri(a("actor_native")), _actor_iri(a("target_native"))
    published = iso_seconds(a("event_time"))
    day_seq = F.concat(F.date_format("event_time", "yyyyMMdd"), F.lit("-"), a("seq").cast("string"))
    note_iri = F.concat(actor_iri, F.lit("/statuses/"), F.coalesce(a("content_native"), day_seq))
    target_note_iri = F.concat(target_iri, F.lit("/statuses/"), F.coalesce(a("target_content_native"), day_seq))

    def hashtag_tags(owner_native: Column) -> Column:
        host = F.substring_index(owner_native, "@", -1)
        return F.transform(
            "topics",
            lambda t: F.struct(
                F.lit("Hashtag").alias("type"), F.concat(F.lit("#"), t).alias("name"), F.concat(F.lit("https://"), host, F.lit("/tags/"), t).alias("href")
            ),
        )

    is_reply = a("action") == "reply"
    # a reply mentions the replied-to author, as Mastodon does; to_events does not count that as a mention
    reply_mention = F.struct(F.lit("Mention").alias("type"), F.concat(F.lit("@"), a("target_native")).alias("name"), target_iri.alias("href"))
    tags = F.when(is_reply, F.concat(F.array(reply_mention), hashtag_tags(a("actor_native")))).otherwise(hashtag_tags(a("actor_native")))
    hashtag_links = F.array_join(
        F.transform(
            "topics",
            lambda t: F.concat(
                F.lit('<a href="https://'),
                F.substring_index(a("actor_native"), "@", -1),
                F.lit("/tags/"),
                t,
                F.lit('" class="mention hashtag" rel="tag">#<span>'),
                t,
                F.lit("</span></a>"),
            ),
        ),
        " ",
    )
    mention_link = F.concat(
        F.lit('<span class="h-card"><a href="'), target_iri, F.lit('" class="u-url mention">@<span>'), a("target_handle"), F.lit("</span></a></span> ")
    )
    content = F.concat(F.lit("<p>"), F.when(is_reply, mention_link).otherwise(F.lit("")), F.concat_ws(" ", _html(a("text")), hashtag_links), F.lit("</p>"))
    context = F.lit("https://www.w3.org/ns/activitystreams").alias("@context")
    to_public = F.array(F.lit(PUBLIC)).alias("to")
    create = F.struct(
        context,
        F.concat(note_iri, F.lit("/activity")).alias("id"),
        F.lit("Create").alias("type"),
        actor_iri.alias("actor"),
        published.alias("published"),
        to_public,
        F.struct(
            note_iri.alias("id"),
            F.lit("Note").alias("type"),
            actor_iri.alias("attributedTo"),
            F.when(is_reply, target_note_iri).alias("inReplyTo"),
            F.when(is_reply, target_iri).alias("inReplyToAttributedTo"),
            published.alias("published"),
            to_public,
            content.alias("content"),
            tags.alias("tag"),
        ).alias("object"),
    )
    # the collector's resolved form: the boosted / liked note embedded, with its author and hashtags
    resolved_note = F.struct(
        target_note_iri.alias("id"), F.lit("Note").alias("type"), target_iri.alias("attributedTo"), hashtag_tags(a("target_native")).alias("tag")
    )
    announce = F.struct(
        context,
        F.concat(actor_iri, F.lit("/statuses/"), F.coalesce(a("content_native"), day_seq), F.lit("/activity")).alias("id"),
        F.lit("Announce").alias("type"),
        actor_iri.alias("actor"),
        published.alias("published"),
        to_public,
        resolved_note.alias("object"),
    )
    like = F.struct(
        context,
        F.concat(actor_iri, F.lit("#likes/"), day_seq).alias("id"),
        F.lit("Like").alias("type"),
        actor_iri.alias("actor"),
        published.alias("published"),
        resolved_note.alias("object"),
    )
    follow = F.struct(
        context,
        F.concat(actor_iri, F.lit("#follows/"), day_seq).alias("id"),
        F.lit("Follow").alias("type"),
        actor_iri.alias("actor"),
        published.alias("published"),
        target_iri.alias("object"),
    )
    options = {"ignoreNullFields": "true"}
    value = (
        F.when(a("action").isin("post", "reply"), F.to_json(create, options))
        .when(a("action") == "share", F.to_json(announce, options))
        .when(a("action") == "like", F.to_json(like, options))
        .otherwise(F.to_json(follow, options))
    )
    return actions.select(value.alias("value"))
