"""The vocabulary knowledge managers edit: saved, applied to BM25, shared across processes."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from kb.context import KnowledgeBase
from kb.documents.ingestion import DocumentMeta, IngestItem, ingest_items
from kb.documents.samples import load_sample
from kb.library.store import import_sample
from kb.retrieval.schemas import VocabularySaved
from kb.retrieval.searching import SearchRequest, search
from kb.retrieval.vocabulary import (
    Vocabulary,
    VocabularyError,
    cut,
    edited_vocabulary,
    save_vocabulary,
    vocabulary_history,
)
from search.index import VOCABULARY_FILE

FAQ = (
    "问题,答案\n"
    "满多少包邮？,订单满 99 元包邮，不满 99 元收取 8 元运费。\n"
    "退款多久到账？,退款在三到五个工作日内原路退回。\n"
    "怎么开发票？,在订单详情页点击申请发票，电子发票会发到您的邮箱。\n"
)


@pytest.fixture
def kb(make_db_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    kb = make_db_kb()
    item = IngestItem("faq.csv", FAQ.encode(), DocumentMeta(doc_type="faq"))
    [result] = ingest_items(kb, [item], collection="default")
    assert result.status == "ingested", result.reason
    return kb


def _bm25_questions(kb: KnowledgeBase, query: str) -> list[str | None]:
    hits = search(kb, SearchRequest(query, mode="bm25"))
    return [h.chunk.question for h in hits]


def test_a_user_dictionary_word_is_cut_whole_and_found(kb: KnowledgeBase) -> None:
    assert "钱包" in cut(kb, "满多少钱包邮")  # jieba alone: 多少 / 钱包 / 邮
    generation_before = kb.index_store.current_generation("default")

    done = save_vocabulary(kb, Vocabulary(user_dict="包邮 50000"))

    assert done.changed and done.collections == ["default"]
    tokens = cut(kb, "满多少钱包邮")
    assert "包邮" in tokens and "钱包" not in tokens
    assert kb.index_store.current_generation("default") != generation_before
    meta = kb.index_store.current_meta("default")
    assert meta is not None and meta.tokenizer_version == kb.tokenizer.version
    assert _bm25_questions(kb, "满多少钱包邮")[0] == "满多少包邮？"


def test_synonyms_let_a_customer_word_find_the_document_word(kb: KnowledgeBase) -> None:
    assert "退款多久到账？" not in _bm25_questions(kb, "退钱")
    save_vocabulary(kb, Vocabulary(synonyms="退款，退钱、返款"))
    assert _bm25_questions(kb, "退钱")[0] == "退款多久到账？"
    assert edited_vocabulary(kb) == Vocabulary(synonyms="退款，退钱、返款")


@pytest.mark.parametrize(
    ("vocabulary", "field", "message"),
    [
        (Vocabulary(user_dict="包邮\n七天无理由 退货 n 3"), "user_dict", "line 2: a line is one"),
        (Vocabulary(user_dict="# 术语\n包邮 many n"), "user_dict", "line 2: the frequency must"),
        (Vocabulary(user_dict="包邮\n？！"), "user_dict", "line 2: the word has no letters"),
        (Vocabulary(synonyms="退款,退钱\n\n发票"), "synonyms", "line 3: a synonym set needs"),
        (Vocabulary(synonyms="退款,退款\n发票,,"), "synonyms", "line 1: a synonym set needs at "
         "least two different words, separated by commas (，、 also work) (and 1 more)"),
        (Vocabulary(user_dict="词\n" * 100_001), "user_dict", "over the 200000 limit"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named_and_nothing_changes(
    kb: KnowledgeBase, vocabulary: Vocabulary, field: str, message: str
) -> None:
    save_vocabulary(kb, Vocabulary(user_dict="包邮"))
    version = kb.tokenizer.version
    generation = kb.index_store.current_generation("default")

    with pytest.raises(VocabularyError) as raised:
        save_vocabulary(kb, vocabulary)

    assert raised.value.field == field
    assert message in raised.value.message
    assert edited_vocabulary(kb) == Vocabulary(user_dict="包邮")
    assert kb.tokenizer.version == version
    assert kb.index_store.current_generation("default") == generation


def test_saving_the_same_vocabulary_again_rebuilds_nothing(kb: KnowledgeBase) -> None:
    save_vocabulary(kb, Vocabulary(user_dict="包邮\r\n", synonyms="退款,退钱  \n"))
    generation = kb.index_store.current_generation("default")
    again = save_vocabulary(kb, Vocabulary(user_dict="包邮", synonyms="退款,退钱"))
    assert again == VocabularySaved(changed=False, collections=[], seconds=0.0)
    assert kb.index_store.current_generation("default") == generation
    assert [(h.words, h.synonym_sets) for h in vocabulary_history(kb)] == [(1, 1)]


def test_another_process_cuts_queries_as_the_index_was_cut(kb: KnowledgeBase) -> None:
    """A second worker (or the CLI) on the same data: its own tokenizer is stale."""
    other = KnowledgeBase(kb.settings)
    try:
        assert _bm25_questions(other, "退钱")[:1] != ["退款多久到账？"]
        save_vocabulary(kb, Vocabulary(synonyms="退款,退钱"))
        # The new generation carries its vocabulary: the other process's queries use it.
        live = kb.index_store.current_generation("default")
        assert live is not None
        assert (kb.index_store.collection_dir("default") / live / VOCABULARY_FILE).is_file()
        assert _bm25_questions(other, "退钱")[0] == "退款多久到账？"
        # And the next index the other process builds uses the saved vocabulary, not its own.
        item = IngestItem("more.csv", "问题,答案\n能开专票吗？,可以。\n".encode(), DocumentMeta())
        ingest_items(other, [item], collection="default")
        assert other.tokenizer.version == kb.tokenizer.version
        assert _bm25_questions(kb, "退钱")[0] == "退款多久到账？"
    finally:
        other.close()


def test_the_sample_ships_a_vocabulary_that_finds_free_shipping(
    sample_kb: KnowledgeBase,
) -> None:
    """包邮 is cut whole and means 免收运费, the words the shipping policy uses."""
    assert "包邮" in edited_vocabulary(sample_kb).user_dict
    top = search(sample_kb, SearchRequest("满多少钱包邮", mode="bm25"))[0].chunk.text
    assert "满 99 元" in top and ("免运费" in top or "免收运费" in top), top


def test_loading_the_sample_again_keeps_an_edited_vocabulary(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    fresh = make_db_kb()
    import_sample(fresh, load_sample())
    assert "包邮" in edited_vocabulary(fresh).user_dict

    edited = Vocabulary(user_dict="云舟智能 100", synonyms="")
    save_vocabulary(fresh, edited)
    import_sample(fresh, load_sample())
    assert edited_vocabulary(fresh) == edited


def test_history_lists_saved_vocabularies_newest_first(kb: KnowledgeBase) -> None:
    save_vocabulary(kb, Vocabulary(user_dict="包邮 50000", synonyms="退款,退钱"))
    save_vocabulary(kb, Vocabulary(user_dict="包邮 50000\n运费险", synonyms="退款,退钱"))
    assert edited_vocabulary(kb).user_dict == "包邮 50000\n运费险"
    assert [h.words for h in vocabulary_history(kb)] == [2, 1]
    assert _bm25_questions(kb, "退钱")[0] == "退款多久到账？"


def test_with_workers_saving_queues_a_reindex_job_a_worker_runs(
    make_db_kb: Callable[..., KnowledgeBase],
) -> None:
    from kb.documents.jobs import get_job
    from kb.queue.claims import claim, worker_name
    from kb.workers.handlers import run_reindex

    kb = make_db_kb(workers="external")
    item = IngestItem("faq.csv", FAQ.encode(), DocumentMeta(doc_type="faq"))
    ingest_items(kb, [item], collection="default")
    generation_before = kb.index_store.current_generation("default")

    done = save_vocabulary(kb, Vocabulary(user_dict="包邮 50000"), actor="manager@example.com")

    assert (done.changed, done.collections, len(done.jobs)) == (True, ["default"], 1)
    assert kb.index_store.current_generation("default") == generation_before  # not yet
    queued = get_job(kb, done.jobs[0])
    assert (queued.kind, queued.status, queued.collection) == ("reindex", "queued", "default")
    owner = worker_name("test")
    job = claim(kb, owner, ["reindex"])
    assert job is not None and job.id == done.jobs[0]
    assert run_reindex(kb, job, owner, threading.Event()) == "done"
    assert (get_job(kb, job.id).status, get_job(kb, job.id).stage) == ("done", "done")
    meta = kb.index_store.current_meta("default")
    assert meta is not None and meta.generation != generation_before
    assert meta.tokenizer_version == kb.tokenizer.version
    assert _bm25_questions(kb, "满多少钱包邮")[0] == "满多少包邮？"
