from pathlib import Path

import numpy as np
import pytest

from search.bm25 import BM25Index, top_positive

DOCS = [
    ["退款", "政策", "退款", "发货"],  # 0
    ["软件", "网络", "连接"],  # 1
    ["退钱", "流程"],  # 2
    ["reset", "password", "settings"],  # 3
    ["退款", "退钱", "说明"],  # 4
    [],  # 5: a chunk with no indexable words
]


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index.build(DOCS)


@pytest.mark.parametrize(
    ("query", "expected_top"),
    [
        (["退款"], [0, 4]),
        (["网络"], [1]),
        (["reset", "password"], [3]),
        (["退钱", "流程"], [2, 4]),
        (["不存在"], []),
        ([], []),
    ],
)
def test_top_k_table(index: BM25Index, query: list[str], expected_top: list[int]) -> None:
    assert [row for row, _ in index.top_k(query, k=10)] == expected_top


def test_scores_cover_every_document(index: BM25Index) -> None:
    scores = index.scores(["退款"])
    assert scores.shape == (len(DOCS),)
    assert scores.dtype == np.float32
    assert scores[0] > scores[4] > 0
    assert scores[[1, 2, 3, 5]].tolist() == [0, 0, 0, 0]


def test_synonym_group_scores_as_its_best_alternative(index: BM25Index) -> None:
    group = (("退款",), ("退钱",))
    grouped = index.scores([group])
    best = np.maximum(index.scores(["退款"]), index.scores(["退钱"]))
    assert np.allclose(grouped, best)
    # doc 4 holds both words but is not counted twice
    assert grouped[4] < index.scores(["退款", "退钱"])[4]


def test_phrase_alternative_needs_all_its_tokens_in_vocabulary(index: BM25Index) -> None:
    assert not index.scores([(("reset", "nowhere"),)]).any()
    both = index.scores([(("reset", "password"),)])
    assert both[3] == pytest.approx(index.scores(["reset", "password"])[3])


def test_mask_restricts_top_k(index: BM25Index) -> None:
    mask = np.array([False, True, True, True, True, True])
    assert [row for row, _ in index.top_k(["退款"], k=10, mask=mask)] == [4]


def test_k1_and_b_change_scores() -> None:
    short, long = ["退款"], ["退款", *[f"词{i}" for i in range(30)]]
    corpus = [short, long, ["其他"]]
    with_length = BM25Index.build(corpus, b=0.75).scores(["退款"])
    without_length = BM25Index.build(corpus, b=0.0).scores(["退款"])
    assert with_length[0] > with_length[1]
    assert without_length[0] == pytest.approx(without_length[1])
    saturating = BM25Index.build([["a", "a", "a", "a"], ["a"], ["b"]], k1=0.01).scores(["a"])
    assert saturating[0] == pytest.approx(saturating[1], rel=0.05)


def test_save_and_load_round_trip(index: BM25Index, tmp_path: Path) -> None:
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert (loaded.k1, loaded.b, loaded.doc_count) == (index.k1, index.b, index.doc_count)
    for query in (["退款"], ["reset", "settings"], [(("退款",), ("退钱",))]):
        assert np.array_equal(loaded.scores(query), index.scores(query))


def test_empty_corpus_is_valid(tmp_path: Path) -> None:
    empty = BM25Index.build([])
    assert empty.scores(["退款"]).shape == (0,)
    assert empty.top_k(["退款"], k=5) == []
    empty.save(tmp_path / "bm25")
    assert BM25Index.load(tmp_path / "bm25").doc_count == 0


@pytest.mark.parametrize(
    ("scores", "k", "mask", "expected"),
    [
        ([0.0, 2.0, 1.0, 2.0], 10, None, [1, 3, 2]),  # ties broken by row
        ([0.0, 2.0, 1.0, 2.0], 2, None, [1, 3]),
        ([0.0, 2.0, 1.0, 2.0], 10, [True, False, True, True], [3, 2]),
        ([0.0, 0.0], 3, None, []),
        ([1.0], 0, None, []),
    ],
)
def test_top_positive(
    scores: list[float], k: int, mask: list[bool] | None, expected: list[int]
) -> None:
    array_mask = None if mask is None else np.array(mask)
    assert [row for row, _ in top_positive(np.array(scores), k, array_mask)] == expected
