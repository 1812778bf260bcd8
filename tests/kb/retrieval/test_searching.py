"""The serving path of a search, as the web app's worker threads run it."""

from __future__ import annotations

import threading

import faiss

from kb.context import KnowledgeBase
from kb.retrieval.searching import SearchRequest, search


def test_a_served_search_runs_faiss_on_one_openmp_thread(sample_kb: KnowledgeBase) -> None:
    # On two busy cores FAISS's default (every core) made a flat search at 10k chunks 13x
    # slower than one thread (issue 17); the server answers on several threads already.
    seen: list[int] = []

    def worker() -> None:  # a fresh thread, as the web app's pool runs a request
        faiss.omp_set_num_threads(2)
        hits = search(sample_kb, SearchRequest("扫地机器人电池充不进电", limit=5))
        seen.extend([len(hits), faiss.omp_get_max_threads()])

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [5, 1]
