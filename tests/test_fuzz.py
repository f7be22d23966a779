"""Fuzzed input through the ingest stage: every adapter gets mutations of its golden samples.

Property, for any batch of mutated lines: the ingest does not crash, every non-blank line is one record, every
candidate is accepted or quarantined with a reason, and the per-file counts reconcile. Hypothesis draws the
batches (derandomized, so CI runs the same cases every time); one example is one ingest of a file per network,
so a few examples cover a few thousand mutated lines. The number of lines run is printed (``-s``).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from clout.ingest.stage import ingest
from clout.tables import EVENTS, QUARANTINE, TableStore
from conftest import SAMPLES, settings_for

JSON_NETWORKS = ("discourse", "facebook", "foursquare", "instagram", "linkedin", "mastodon", "reddit", "twitter", "youtube")
SAMPLE_NAME = {"twitter": "twitter_v2"}  # the golden Twitter sample is in the v2 API format
SE_FILES = ("Posts.xml", "Comments.xml", "Votes.xml")
LINES_PER_FILE = 40
EXAMPLES = 3
TEN_MB = 10 * 1024 * 1024  # one line per example carries a 10 MB field; random huge fields stay at 1 MB or less
HUGE = [25_000, 1_000_000]
DEEP = "\u0000deep\u0000"  # placeholder replaced by nesting as text: Python's json cannot build 3000 levels
# files are named by example number: the earliest file wins a duplicated id, so names fix which copy is kept
EXAMPLE_NUMBER = itertools.count(1)
RAN = {"examples": 0, "lines": 0, "accepted": 0, "quarantined": 0, "reasons": Counter()}
pytestmark = pytest.mark.e2e

# timestamps in every format, and none
TIMESTAMPS = [
    "2026-11-20T08:00:00Z", "2026-11-20T08:00:00.123+02:00", "2026-11-20 08:00:00", "2026-11-20", "20261120T080000Z",
    "Fri Nov 20 08:00:00 +0000 2026", "Fri, 20 Nov 2026 08:00:00 GMT", "1795161600", "1795161600000", "1795161600.5", "-1",
    "1e20", "0", "2026-13-45T99:99:99Z", "yesterday", "", "null", "NaN", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
]  # fmt: skip
TIME_KEY = re.compile(r"(?i)(time|date|created|_utc|_at$|At$|timestamp)")
OTHER_VALUES = [None, True, 0, -1, 1.5e308, "", "x", [], {}, [1, "a", None], {"nested": {"deeper": []}}]


def _golden(network: str) -> list[str]:
    name = "higgs_sample.txt" if network == "higgs" else f"{SAMPLE_NAME.get(network, network)}.jsonl"
    return [line for line in (SAMPLES / name).read_text().splitlines() if line.strip()]


def _paths(value, prefix=()):
    """Every (path, leaf) in a JSON value: keys of objects, indexes of lists."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))
    yield prefix, value


def _parent(doc, path):
    """The object or list that holds the value at ``path`` (not empty)."""
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _set(doc, path, new):
    if not path:
        return new
    _parent(doc, path)[path[-1]] = new
    return doc


def _delete(doc, path):
    if path:
        del _parent(doc, path)[path[-1]]
    return doc


@st.composite
def json_mutation(draw, golden: list[str]) -> bytes:
    doc = json.loads(draw(st.sampled_from(golden)))
    paths = [p for p, _ in _paths(doc) if p]
    kind = draw(st.sampled_from(["wrong_type", "missing_key", "duplicated_key", "deep", "timestamp", "huge", "none"]))
    path = draw(st.sampled_from(paths)) if paths else ()
    if kind == "wrong_type":
        doc = _set(doc, path, draw(st.sampled_from(OTHER_VALUES)))
    elif kind == "missing_key":
        doc = _delete(doc, path)
    elif kind == "deep":
        depth = draw(st.integers(50, 3000))
        doc = _set(doc, path, DEEP)
    elif kind == "timestamp":
        keys = [p for p, v in _paths(doc) if p and isinstance(p[-1], str) and TIME_KEY.search(p[-1]) and not isinstance(v, dict | list)]
        stamp = draw(st.sampled_from(TIMESTAMPS))
        as_number = draw(st.booleans()) and re.fullmatch(r"-?[\d.e]+", stamp)
        for p in keys or [path]:
            doc = _set(doc, p, float(stamp) if as_number else stamp)
    elif kind == "huge":
        doc = _set(doc, path, "x" * draw(st.sampled_from(HUGE)))
    text = json.dumps(doc, separators=(",", ":"))
    if kind == "deep":
        text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth)
    if kind == "duplicated_key" and text.startswith("{") and paths:
        key = json.dumps(str(path[0]))
        text = "{" + key + ":" + json.dumps(draw(st.sampled_from(OTHER_VALUES))) + "," + text[1:]
    return text.encode()


@st.composite
def byte_mutation(draw, golden: list[str]) -> bytes:
    line = draw(st.sampled_from(golden)).encode()
    kind = draw(st.sampled_from(["truncate", "flip", "invalid_utf8", "garbage", "extra"]))
    if kind == "truncate":
        return line[: draw(st.integers(1, max(1, len(line) - 1)))]
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(line) - 1))
            line = line[:i] + bytes([line[i] ^ (1 << draw(st.integers(0, 7)))]) + line[i + 1 :]
        return line
    if kind == "invalid_utf8":
        i = draw(st.integers(0, len(line)))
        return line[:i] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80"])) + line[i:]
    if kind == "garbage":
        return draw(st.binary(min_size=1, max_size=200))
    return line + b" " + draw(st.sampled_from([b"extra", b"1 2 3", b"\t\t", b'{"a":1}']))


def _ten_mb_field(golden: list[str]) -> bytes:
    doc = json.loads(golden[0])
    # the first scalar field of the record (or a new "text" field when it has none) holds 10 MB
    key = next((k for k, v in doc.items() if not isinstance(v, dict | list)), "text")
    return json.dumps({**doc, key: "x" * TEN_MB}, separators=(",", ":")).encode()


def _clean(line: bytes) -> bytes:
    # line breaks would make one mutation several records: replaced, so the expected record count is exact
    return line.replace(b"\r", b" ").replace(b"\n", b" ")


def _batch(network: str, golden: list[str], json_lines: bool):
    strategy = st.one_of(json_mutation(golden), byte_mutation(golden)) if json_lines else byte_mutation(golden)
    return st.lists(strategy.map(_clean).filter(lambda b: b.strip(b" ")), min_size=LINES_PER_FILE, max_size=LINES_PER_FILE)


# Stack Exchange rows: mutations of the golden rows of each event file, between the XML wrapper lines
_SE_WRAPPER = re.compile(rb"^\s*(<\?xml.*\?>|</?[A-Za-z]+>)\s*$")


def _se_rows(name: str) -> list[str]:
    return [line.strip() for line in (SAMPLES / "stackexchange" / name).read_text().splitlines() if line.strip().startswith("<row")]


def _se_batch(name: str):
    return st.lists(byte_mutation(_se_rows(name)).map(_clean).filter(lambda b: b.strip(b" ") and not _SE_WRAPPER.match(b)), min_size=20, max_size=20)


@pytest.fixture(scope="module")
def fuzz_lake(test_root):
    return settings_for(test_root, "fuzz")


def _write(path, lines: list[bytes], wrapper: tuple[bytes, bytes] | None = None) -> int:
    body = list(lines)
    if wrapper:
        body = [b'<?xml version="1.0" encoding="utf-8"?>', wrapper[0], *body, wrapper[1]]
    path.write_bytes(b"\n".join(body) + b"\n")
    return len(lines)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # one example is a whole ingest (about a minute): a failure is reported as drawn, not shrunk for many minutes
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_mutated_lines_are_accepted_or_quarantined_and_reconcile(spark, fuzz_lake, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    n = next(EXAMPLE_NUMBER)
    expected, paths = {}, {}
    ten_mb_network = data.draw(st.sampled_from(JSON_NETWORKS), label="10 MB field in")
    for network in (*JSON_NETWORKS, "higgs"):
        golden = _golden(network)
        lines = data.draw(_batch(network, golden, json_lines=network != "higgs"), label=network)
        if network == ten_mb_network:
            lines[data.draw(st.integers(0, len(lines) - 1), label="10 MB line")] = _ten_mb_field(golden)
        path = folder / f"{n:02d}-{network}.{'txt' if network == 'higgs' else 'jsonl'}"
        expected[str(path)] = _write(path, lines)
        paths[network] = [str(path)]
    dump = folder / f"{n:02d}-stackexchange"
    dump.mkdir()
    for name in SE_FILES:
        root = name.removesuffix(".xml").lower().encode()
        expected[str(dump / name)] = _write(dump / name, data.draw(_se_batch(name), label=name), (b"<" + root + b">", b"</" + root + b">"))
    paths["stackexchange"] = [str(dump)]

    report = ingest(spark, fuzz_lake, None, paths=paths)

    assert report.reconciled, report.unreconciled
    records = {f["source_file"].removeprefix("file:"): f["records"] for f in report.files}
    assert records == expected  # every non-blank line is one record: nothing silently dropped
    store = TableStore(spark, fuzz_lake)
    this_run = F.col("run_id") == F.lit(report.run_id)
    quarantined = store.read(QUARANTINE).where(this_run)
    assert quarantined.where(F.col("reason").isNull() | (F.col("reason") == "")).count() == 0
    assert quarantined.count() == report.total("quarantined")
    assert store.read(EVENTS).where(this_run).count() == report.total("accepted")
    RAN["examples"] += 1
    RAN["lines"] += sum(expected.values())
    RAN["accepted"] += report.total("accepted")
    RAN["quarantined"] += report.total("quarantined")
    RAN["reasons"].update(report.reasons)


def test_report_how_many_fuzz_cases_ran():
    # runs after the property test in file order; a run that drew nothing would be a test that cannot fail
    counts = f"{RAN['examples']} ingests, {RAN['lines']:,} mutated lines, {RAN['accepted']:,} events accepted, {RAN['quarantined']:,} quarantined"
    print(f"fuzz: {counts}; by reason {dict(RAN['reasons'].most_common())}")
    assert RAN["examples"] == EXAMPLES and RAN["lines"] >= EXAMPLES * (10 * LINES_PER_FILE + 3 * 20)
