"""Weighted PageRank (clout.graph.pagerank) against a dense NumPy power iteration of the same definition."""

from __future__ import annotations

import numpy as np
import pytest

from clout.graph.pagerank import PageRankResult, weighted_pagerank

D = 0.85
ISOLATED = "person:iso"
DANGLING = "person:p6"

VERTICES = ["person:p1", "person:p2", "person:p3", "person:p4", "person:p5", "person:p6", "person:p7", ISOLATED]
EDGES = [
    ("person:p1", "person:p2", 3.0),
    ("person:p1", "person:p3", 1.0),
    ("person:p1", "person:p4", 0.5),
    ("person:p2", "person:p3", 2.0),
    ("person:p2", "person:p3", 1.0),  # duplicate pair: summed to 3.0
    ("person:p2", "person:p1", 1.0),
    ("person:p3", "person:p1", 1.0),
    ("person:p3", "person:p3", 5.0),  # self-loop: ignored
    ("person:p4", "person:p5", 1.0),
    ("person:p4", "person:p2", 2.0),
    ("person:p4", "person:p6", 0.0),  # zero weight: dropped
    ("person:p5", DANGLING, 1.0),
    ("person:p5", "person:p7", -1.0),  # negative weight: dropped
    ("person:p7", "person:p1", 1.0),
    ("person:p7", "twitter:100000042", 4.0),  # endpoint missing from VERTICES: still a (dangling) vertex
]


def reference_pagerank(vertices, edges, damping=D, tol=1e-14, max_iter=10_000):
    """Dense power iteration of the module's definition: (ranks by id, dangling ids, iterations, last L1 change)."""
    ids = sorted(set(vertices) | {s for s, _, _ in edges} | {t for _, t, _ in edges})
    index = {v: i for i, v in enumerate(ids)}
    n = len(ids)
    weights = np.zeros((n, n))
    for src, dst, w in edges:
        if src != dst and w > 0:
            weights[index[src], index[dst]] += w
    out = weights.sum(axis=1)
    dangling = out == 0
    shares = np.divide(weights, out[:, None], out=np.zeros_like(weights), where=~dangling[:, None])
    rank = np.full(n, 1.0 / n)
    for iteration in range(1, max_iter + 1):  # noqa: B007 (returned after the loop)
        new = (1 - damping) / n + damping * (shares.T @ rank + rank[dangling].sum() / n)
        change = np.abs(new - rank).sum()
        rank = new
        if change < tol:
            break
    return dict(zip(ids, rank, strict=True)), {v for v in ids if dangling[index[v]]}, iteration, change


def run(spark, vertices=VERTICES, edges=EDGES, **kwargs) -> tuple[PageRankResult, dict[str, float]]:
    v = spark.createDataFrame([(x,) for x in vertices], "id string")
    e = spark.createDataFrame(edges, "src string, dst string, weight double")
    result = weighted_pagerank(v, e, damping=D, **kwargs)
    ranks = {row["id"]: row["rank"] for row in result.ranks.collect()}  # a test-sized graph
    result.ranks.unpersist()
    return result, ranks


@pytest.fixture(scope="module")
def converged(spark):
    return run(spark, tol=1e-12, max_iter=200)


def test_matches_numpy_reference(converged):
    result, ranks = converged
    expected, _, _, _ = reference_pagerank(VERTICES, EDGES)
    assert set(ranks) == set(expected)  # includes the isolated vertex and the edge-only twitter vertex
    assert len(ranks) == 9
    for vertex, rank in expected.items():
        assert ranks[vertex] == pytest.approx(rank, abs=1e-6), vertex
    assert sum(ranks.values()) == pytest.approx(1.0, abs=1e-9)
    assert result.converged and result.l1_change < 1e-12 and result.iterations < 200


def test_isolated_vertex_gets_base_rank(converged):
    _, ranks = converged
    expected, dangling, _, _ = reference_pagerank(VERTICES, EDGES)
    n = len(expected)
    dangling_mass = sum(expected[v] for v in dangling)
    assert dangling == {ISOLATED, DANGLING, "twitter:100000042"}
    assert ranks[ISOLATED] == pytest.approx((1 - D) / n + D * dangling_mass / n, abs=1e-9)
    assert ranks[DANGLING] > ranks[ISOLATED]  # receives edges, unlike the isolated one


def test_stops_early_when_change_is_below_tol(spark):
    result, ranks = run(spark, tol=1e-3, max_iter=30)
    _, _, ref_iterations, _ = reference_pagerank(VERTICES, EDGES, tol=1e-3)
    assert result.converged
    assert result.l1_change < 1e-3
    assert result.iterations == ref_iterations < 30
    assert sum(ranks.values()) == pytest.approx(1.0, abs=1e-9)


def test_reports_unconverged_after_max_iter(spark):
    result, ranks = run(spark, tol=0.0, max_iter=2)
    expected, _, _, change = reference_pagerank(VERTICES, EDGES, tol=0.0, max_iter=2)
    assert result.iterations == 2
    assert not result.converged
    assert result.l1_change == pytest.approx(change, rel=1e-9) and change > 0
    for vertex, rank in expected.items():
        assert ranks[vertex] == pytest.approx(rank, abs=1e-12), vertex


def lineage(df) -> str:
    return df._jdf.queryExecution().toRdd().toDebugString()


def plan_size(df) -> int:
    return len(df._jdf.queryExecution().executedPlan().toString())


def test_checkpointing_gives_the_same_ranks_and_bounds_lineage(spark, monkeypatch):
    steps = 8
    expected, _, _, _ = reference_pagerank(VERTICES, EDGES, tol=0.0, max_iter=steps)
    never, never_ranks = run(spark, tol=0.0, max_iter=steps, checkpoint_interval=1000)
    short, _ = run(spark, tol=0.0, max_iter=2, checkpoint_interval=1000)
    every, every_ranks = run(spark, tol=0.0, max_iter=steps, checkpoint_interval=1)
    monkeypatch.setattr(spark.sparkContext, "getCheckpointDir", lambda: None)  # forces localCheckpoint
    local, local_ranks = run(spark, tol=0.0, max_iter=steps, checkpoint_interval=1)
    assert never.iterations == every.iterations == local.iterations == steps
    for vertex, rank in never_ranks.items():
        assert rank == pytest.approx(expected[vertex], abs=1e-12), vertex
        assert every_ranks[vertex] == pytest.approx(rank, abs=1e-9), vertex
        assert local_ranks[vertex] == pytest.approx(rank, abs=1e-9), vertex
    # Checkpoints cut the RDD lineage, which otherwise grows with every iteration.
    assert "ReliableCheckpointRDD" in lineage(every.ranks)
    assert "LocalCheckpointRDD" in lineage(local.ranks)
    assert "CheckpointRDD" not in lineage(never.ranks)
    assert len(lineage(never.ranks).splitlines()) > 2 * len(lineage(every.ranks).splitlines())
    assert len(lineage(never.ranks).splitlines()) > len(lineage(short.ranks).splitlines()) + steps
    # The query plan does not grow at all, checkpoint or not (it used to double with every iteration).
    assert plan_size(never.ranks) == pytest.approx(plan_size(short.ranks), rel=0.1)


def _persisted_rdd_ids(spark) -> set[int]:
    return {int(k) for k in spark.sparkContext._jsc.getPersistentRDDs().keySet()}


def test_releases_what_it_persisted(spark):
    # compared as sets: an RDD another test left cached may be cleaned up meanwhile, so counts can go down
    persisted_before = _persisted_rdd_ids(spark)
    v = spark.createDataFrame([(x,) for x in VERTICES], "id string")
    e = spark.createDataFrame(EDGES, "src string, dst string, weight double")
    result = weighted_pagerank(v, e, tol=0.0, max_iter=7, checkpoint_interval=3)
    assert result.ranks.is_cached
    result.ranks.unpersist()
    assert _persisted_rdd_ids(spark) - persisted_before == set()


def test_selectivity(spark):
    # Both reactors have no in-edges, so they hold the same rank; one gives all of it to its target, the other a tenth.
    spread = [(f"person:x{i}", 1.0) for i in range(9)]
    edges = [("person:a", "person:ta", 1.0), ("person:b", "person:tb", 1.0)] + [("person:b", x, w) for x, w in spread]
    _, ranks = run(spark, vertices=["person:a", "person:b", ISOLATED], edges=edges, tol=1e-12, max_iter=200)
    assert ranks["person:a"] == pytest.approx(ranks["person:b"], abs=1e-12)
    assert ranks["person:ta"] > ranks["person:tb"]
    base = ranks[ISOLATED]
    assert ranks["person:ta"] - base == pytest.approx(10 * (ranks["person:tb"] - base), rel=1e-6)
    expected, _, _, _ = reference_pagerank(["person:a", "person:b", ISOLATED], edges)
    for vertex, rank in expected.items():
        assert ranks[vertex] == pytest.approx(rank, abs=1e-6), vertex


def test_empty_graph(spark):
    v = spark.createDataFrame([], "id string")
    e = spark.createDataFrame([], "src string, dst string, weight double")
    result = weighted_pagerank(v, e)
    assert result.ranks.count() == 0 and result.iterations == 0 and result.converged
    assert result.ranks.columns == ["id", "rank"]
