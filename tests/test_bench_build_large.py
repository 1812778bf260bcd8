"""The 100k bench's knowledge bases: built by the product, stand-in vectors labelled and kept
out of the warm cache they were copied from."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bench.build_large import CORPORA, StandInPassages, build, record_pool
from search.cache import EmbeddingCache
from search.normalize import normalize

TEXTS = {
    "tara_dingtalk": ["您好，管理员可以在电脑端设置考勤规则。", "钉钉群里的家校通知怎么发送？"],
    "drcd_zh_hant": ["梵語的學術研究，由德國學者開創。", "臺灣的軟體產業發展迅速。"],
    "insuranceqa_zh": ["汽车保险跟着车走，而不是跟着人。", "退保后保费多久退回？"],
    "insuranceqa_en": ["Coverage follows the car, not the driver.", "Term life has no cash value."],
}


@pytest.fixture
def corpora(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name in CORPORA:
        (data / name).mkdir(parents=True)
        lines = [
            json.dumps({"id": f"{name}-{i}", "title": "", "text": text}, ensure_ascii=False)
            for i, text in enumerate(TEXTS[name])
        ]
        (data / name / "corpus.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return data


@pytest.fixture
def warm(tmp_path: Path) -> Path:
    path = tmp_path / "warm" / "embeddings.sqlite3"
    cache = EmbeddingCache(path)
    rows = np.random.default_rng(3).standard_normal((5, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    cache.put_many({("multilingual-e5-small@test", f"h{i}"): row for i, row in enumerate(rows)})
    cache.put_many({("multilingual-e5-small@test#query", "q"): rows[0]})
    cache.close()
    return path


def test_the_pool_nests_the_sizes_and_holds_the_script_twins(corpora: Path) -> None:
    pool = record_pool(corpora)
    assert pool == record_pool(corpora)  # shuffled once, the same every run
    texts = {record["text"] for _, record in pool}
    assert "臺灣的軟體產業發展迅速。" in texts and "台湾的软件产业发展迅速。" in texts
    assert "钉钉群里的家校通知怎么发送？" in texts and "釘釘群裡的家校通知怎麼傳送？" in texts
    assert len(pool) == 8 + 6 + 2  # originals, three twins, the English archive copy


def test_stand_ins_are_deterministic_unit_vectors_and_never_answer_a_query() -> None:
    real = np.eye(4, dtype=np.float32)
    embedder = StandInPassages("multilingual-e5-small", "test", real)
    first = embedder.embed_passages(["退款", "refund"])
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, embedder.embed_passages(["退款", "refund"]))
    assert not np.allclose(first[0], first[1])
    with pytest.raises(RuntimeError, match="queries must be embedded by the real model"):
        embedder.embed_queries(["退款"])


def test_a_size_is_built_by_the_product_and_the_warm_cache_is_left_alone(
    corpora: Path, warm: Path, tmp_path: Path
) -> None:
    before = hashlib.sha256(warm.read_bytes()).hexdigest()
    pool = record_pool(corpora)
    described = build(tmp_path / "large", 10, pool, warm)
    assert hashlib.sha256(warm.read_bytes()).hexdigest() == before
    assert described["chunks"] == 10
    assert (described["real_vectors"], described["standin_vectors"]) == (0, 10)
    assert described["embedder"] == "multilingual-e5-small@test"
    note = json.loads((tmp_path / "large" / "kb-10" / "STANDIN-VECTORS.json").read_text("utf-8"))
    assert note == described
    # The data dir's own copy of the cache holds the stand-ins, so a server's start-up finds
    # them: one per distinct normalised text (a script twin folds to its original, and the
    # archive copy repeats English ones).
    copy = EmbeddingCache(tmp_path / "large" / "kb-10" / "cache" / "embeddings.sqlite3")
    assert copy.count() == 6 + len({normalize(record["text"]) for _, record in pool[:10]})
    copy.close()
