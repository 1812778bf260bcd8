"""Rewrite the README's measured tables from bench/results/*.json (between bench markers)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SETS = [
    ("tara_dingtalk", "tara_dingtalk (zh-Hans)"),
    ("tara_dingtalk_hant", "tara_dingtalk, Traditional queries"),
    ("drcd_zh_hant", "drcd_zh_hant"),
    ("insuranceqa_zh", "insuranceqa_zh"),
    ("insuranceqa_en", "insuranceqa_en"),
    ("crosslang_en_zh", "cross-language: English question, Chinese answer (ours)"),
    ("crosslang_zh_en", "cross-language: Chinese question, English answer (ours)"),
    ("manuals_sample_kb", "sample-KB manuals among FAQs and policies (ours)"),
]


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _machine(m: dict[str, Any]) -> str:
    return (
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"{m['date']}, commit {m['commit']}"
    )


def _fusion_label(r: dict[str, Any]) -> str:
    """The fusion an evaluation ran with: its whole config, or the flat keys of older results."""
    f = r["fusion"]
    if not isinstance(f, dict):
        flat = {k.removeprefix("fusion_"): v for k, v in r.items() if k.startswith("fusion_")}
        f = {"method": f} | flat
    scale = f", BM25 scale `{f['bm25_scale']}`" if "bm25_scale" in f else ""
    if "reach" in f and not f["reach"]:
        scale += ", no reach"
    if f.get("vector_scale") == "width":
        scale += f", vector scale `width` {f['vector_width']}"
    elif "vector_scale" in f:
        scale += f", vector scale `{f['vector_scale']}`"
    return f"fusion `{f['method']}`, α = {f['alpha']}{scale}"


CONVERSATION_SETS = [
    ("conversations_sample_kb", "conversations on the sample KB (ours)"),
    ("conversations_tara", "conversations on tara_dingtalk (ours)"),
]


def conversations() -> list[str]:
    """The conversation sets, scored through suggest: hit@1 / hit@3 / MRR@10 (README Quality)."""
    rows = [
        "\n| conversation set (through suggest) | turns | hit@1 | hit@3 | MRR@10 "
        "| hit@1 zh-Hans / zh-Hant / en | hit@1 over 300 chars | p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, label in CONVERSATION_SETS:
        r = _load(f"eval_{key}")
        if r is None:
            rows.append(f"| {label} | not run yet | | | | | | |")
            continue
        by = r["by_language"]
        langs = " / ".join(
            f"{by[lang]['hit@1']:.3f} ({by[lang]['queries']})" if lang in by else "–"
            for lang in ("zh-Hans", "zh-Hant", "en")
        )
        long = r["over_300_chars"]
        rows.append(
            f"| {label} (commit {r['machine']['commit']}) | {r['queries']} | "
            f"**{r['hit@1']:.3f}** | {r['hit@3']:.3f} | {r['mrr@10']:.3f} | {langs} | "
            f"{long['hit@1']:.3f} ({long['queries']}) | {r['p50_ms']} / {r['p95_ms']} |"
        )
    return rows


def quality() -> str:
    rows = [
        "| set | queries | hybrid MRR@10 | hybrid R@1 / R@5 / R@10 | nDCG@10 "
        "| BM25 MRR@10 / R@10 | vector MRR@10 / R@10 | p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    machine, fusion = None, None
    for key, label in SETS:
        r = _load(f"eval_{key}")
        if r is None:
            rows.append(f"| {label} | not run yet | | | | | | |")
            continue
        machine = machine or r["machine"]
        # A set not re-run with the others says which build it was measured on.
        older = r["machine"]["commit"] != machine["commit"]
        label = f"{label} (commit {r['machine']['commit']})" if older else label
        fusion = fusion or _fusion_label(r)
        b, v = r["baselines"]["bm25"], r["baselines"]["vector"]
        rows.append(
            f"| {label} | {r['queries']} | **{r['mrr@10']:.3f}** | "
            f"{r['recall@1']:.3f} / {r['recall@5']:.3f} / {r['recall@10']:.3f} | "
            f"{r['ndcg@10']:.3f} | {b['mrr@10']:.3f} / {b['recall@10']:.3f} | "
            f"{v['mrr@10']:.3f} / {v['recall@10']:.3f} | "
            f"{r['p50_ms']} / {r['p95_ms']} |"
        )
    rows.extend(conversations())
    if machine:
        rows.append(f"\nMeasured on {_machine(machine)}; {fusion}.")
    kept = [
        f"{label}: {v['hybrid_top_3']} of {v['vector_rank_1']}"
        for key, label in SETS
        if (r := _load(f"eval_{key}")) and (v := r.get("vector_first"))
    ]
    if kept:
        rows.append(
            "\nQueries vector-only answers at rank 1 that hybrid answers in its top 3 — "
            + "; ".join(kept)
            + "."
        )
    return "\n".join(rows)


def speed() -> str:
    out = []
    ingest = _load("ingest")
    if ingest:
        p = ingest["phases_s"]
        out.append(
            f"- **Ingest** (sample KB, {ingest['files']} files → {ingest['chunks']} chunks, cold "
            f"embedding cache): {ingest['cold_ingest_s']} s, "
            f"**{ingest['chunks_per_s']} chunks/s**. "
            f"Where the time goes: embedding {p['embed']} s, parse + clean + chunk "
            f"{p['parse_clean_chunk']} s, SQL + BM25/FAISS build {p['sql_and_index_build']} s."
        )
        out.append(
            f"- **Re-ingest of the unchanged sample KB**: {ingest['reingest_unchanged_s']} s "
            f"in-process; {ingest['reingest_unchanged_cli_wall_s']} s for the whole "
            "`kb ingest --sample` command (Python start-up included)."
        )
    vocab = _load("vocabulary")
    if vocab:
        runs = "; ".join(
            f"{r['save_and_reindex_s']} s for {r['chunks']} chunks ({r['set']})"
            for r in vocab["runs"]
        )
        out.append(
            "- **Saving a vocabulary** (the console waits while every collection is re-indexed "
            f"from cached embeddings): {runs}."
        )
    lat = _load("latency")
    if lat:
        names = {
            "search_tara": "`POST /api/v1/search`, tara corpus",
            "suggest_sample": "`POST /api/v1/suggest`, sample KB",
            "suggest_tara": "`POST /api/v1/suggest`, tara corpus",
        }
        out.append(
            "\n| warm HTTP latency | 1 client p50 / p95 | 8 clients p50 / p95 | 8 clients req/s |"
        )
        out.append("|---|---|---|---|")
        for key, label in names.items():
            if key in lat:
                one, eight = lat[key]["1_client"], lat[key]["8_clients"]
                out.append(
                    f"| {label} | {one['p50_ms']} / {one['p95_ms']} ms | "
                    f"{eight['p50_ms']} / {eight['p95_ms']} ms | {eight['throughput_rps']} |"
                )
        out.append(
            f"\nMeasured on {_machine(lat['machine'])}, client and server on the same 2 cores."
        )
    return "\n".join(out) or "Not measured yet: run `make bench`."


def _ms(p: dict[str, Any]) -> str:
    return f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f}"


def scale() -> str:
    """The 1k-100k tables (bench/scale.py, `make bench-100k`)."""
    run = _load("scale")
    if not run:
        return "Not measured yet: run `make bench-100k`."
    sizes = sorted(run["sizes"].items(), key=lambda item: int(item[0]))
    out = [
        "| chunks (real vectors) | index | E p50 | search, 1 client p50 / p99 | "
        "search, 8 clients | suggest, 1 client p50 / p99 | suggest, 8 clients | "
        "RSS after warm-up (private + mapped) | start-up to first answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in sizes:
        s, built = r["serve"], r["built"]
        row = [f"{int(size):,} ({built['real_vectors']:,})", built["vector_index"]]
        row.append(f"{r['E']['p50_ms']:.1f} ms")
        for name in ("search", "suggest"):
            one, eight = s.get(f"{name}_1"), s.get(f"{name}_8")
            row.append(f"{_ms(one)} ms ({one['p50_E']} / {one['p99_E']} E)" if one else "")
            row.append(f"{eight['rps']} req/s" if eight else "")
        rss = s["rss_after_warmup_mib"]
        row.append(f"{rss['rss']:.0f} MiB ({rss['anon']:.0f} + {rss['file']:.0f})")
        row.append(f"{s['first_answer_seconds']} s")
        out.append("| " + " | ".join(row) + " |")
    out += [
        "",
        "| in-process p50 / p99, ms | embed (E) | tokenise | BM25 | vector search | "
        "FAISS, 1 thread | FAISS, every core | search after the embedding |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, r in sizes:
        st = r.get("stages")
        if st:
            keys = ("embed", "tokenize", "bm25", "vector_search", "faiss_1_thread",
                    "faiss_all_cores", "search_after_embed")  # fmt: skip
            out.append(f"| {int(size):,} ({st['vector_index']}) | "
                       + " | ".join(_ms(st[k]) for k in keys) + " |")  # fmt: skip
    out += [
        "",
        "| exact or HNSW | HNSW recall@10 | flat p50 / p99 | HNSW p50 / p99 | HNSW build "
        "(every core / one thread) | load whole → mapped: seconds, private MiB |",
        "|---|---|---|---|---|---|",
    ]
    for size, r in sizes:
        ann, load = r.get("ann") or {}, r.get("vector_load")
        if not load:
            continue
        whole, mapped = load["whole"], load["mapped"]
        cells = [f"{int(size):,}"]
        if "recall_at_10" in ann:
            build, one = ann.get("hnsw_build_seconds"), ann.get("hnsw_build_seconds_1_thread")
            built = "(the generation's)" if build is None else f"{build} s"
            built += f" / {one} s" if one else ""
            cells += [f"{ann['recall_at_10']:.3f}", f"{_ms(ann['flat'])} ms",
                      f"{_ms(ann['hnsw'])} ms", built]  # fmt: skip
        else:
            cells += ["", "", "", ""]
        cells.append(
            f"{whole['load_seconds']} → {mapped['load_seconds']} s, "
            f"{whole['after_load_mib']['anon']:.0f} → {mapped['after_load_mib']['anon']:.0f} MiB"
        )
        out.append("| " + " | ".join(cells) + " |")
    out.append(f"\nMeasured on {_machine(run['machine'])}, client and server on the same 2 cores.")
    return "\n".join(out)


COMPARED = [
    ("assistkb", "AssistKB (hybrid, as shipped)"),
    ("assistkb_bm25", "AssistKB, BM25 alone"),
    ("bm25s_jieba", "bm25s + jieba (BM25 alone)"),
    ("txtai_hybrid", "txtai 9.14 hybrid, out of the box"),
    ("txtai_hybrid_jieba", "txtai 9.14 hybrid, jieba-tokenised"),
]


def compare() -> str:
    """AssistKB beside BM25 alone and txtai (bench/compare.py, `make bench-compare`)."""
    run = _load("compare")
    if not run:
        return "Not measured yet: run `make bench-compare`."
    out = [
        "| tara_dingtalk, one client | R@1 | R@10 | MRR@10 | p50 / p99 | queries/s | "
        "p50 vs AssistKB | AssistKB's throughput over it |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ours = run["systems"]["assistkb"]
    for key, label in COMPARED:
        r = run["systems"].get(key)
        if r:
            slower = r["p50_ms"] / ours["p50_ms"]
            faster = ours["throughput_qps"] / r["throughput_qps"]
            out.append(
                f"| {label} | {r['recall@1']:.3f} | {r['recall@10']:.3f} | {r['mrr@10']:.3f} | "
                f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms | {r['throughput_qps']} | "
                f"{slower:.2g}× | {faster:.2g}× |"
            )
    e = run["E_p50_ms"]
    out.append(
        f"\n{run['queries']} queries on {run['chunks']:,} chunks, {run['vectors']}; E (one query "
        f"embedding) {e['assistkb_before']} → {e['others']} → {e['assistkb_after']} ms p50 "
        f"across the run. Measured on {_machine(run['machine'])}, shared with 7 other developers."
    )
    return "\n".join(out)


def clients() -> str:
    """1, 8 and 32 concurrent HTTP clients at 1k and 10k (bench/scale.py --label clients)."""
    run = _load("scale_clients")
    if not run:
        return "Not measured yet: run `bench/scale.py --sizes 1000,10000 --label clients`."
    out = [
        "| chunks (real vectors) | E p50 | clients | search p50 / p95 / p99 | search req/s | "
        "suggest p50 / p95 / p99 | suggest req/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, r in sorted(run["sizes"].items(), key=lambda item: int(item[0])):
        s = r["serve"]
        for n in (1, 8, 32):
            chunks = f"{int(size):,} ({r['built']['real_vectors']:,})"
            cells = [chunks, f"{r['E']['p50_ms']:.1f} ms", str(n)]
            for name in ("search", "suggest"):
                p = s.get(f"{name}_{n}")
                cells += (
                    [f"{p['p50_ms']:.0f} / {p['p95_ms']:.0f} / {p['p99_ms']:.0f} ms", str(p["rps"])]
                    if p
                    else ["", ""]
                )
            out.append("| " + " | ".join(cells) + " |")
    out.append(
        f"\nMeasured on {_machine(run['machine'])}, client and server on the same 2 cores; "
        "vectors real where counted, stand-ins elsewhere (latency only)."
    )
    return "\n".join(out)


def ingest_sizes() -> str:
    """One 300-chunk document into knowledge bases of 1k to 30k chunks (bench/incremental.py)."""
    run = _load("incremental")
    if not run:
        return "Not measured yet: run `bench/incremental.py`."
    out = [
        "| base chunks | upload, delta / full rebuild | keyword-findable, delta / rebuild | "
        "meaning-findable, delta / rebuild | delete, delta / rebuild |",
        "|---|---|---|---|---|",
    ]
    for _, r in sorted(run["sizes"].items(), key=lambda item: int(item[0])):
        keys = ("ingest_s", "findable_s", "meaning_findable_s", "delete_s")
        cells = [_pair(r["delta"], r["full_rebuild"], key) for key in keys]
        out.append(f"| {r['base_chunks']:,} | " + " | ".join(cells) + " |")
    out.append(f"\nMeasured on {_machine(run['machine'])}; {run['vectors']}.")
    return "\n".join(out)


def _pair(delta: dict[str, Any], full: dict[str, Any], key: str) -> str:
    return f"{delta[key]:.2f} / {full[key]:.2f} s" if key in delta else ""


def learning() -> str:
    """The learning replay (bench/replay_learning.py): MRR@10 against events per scenario."""
    run = _load("learning_replay")
    if run is None:
        return "No learning replay yet: run `make bench-learning`."
    out = [
        "| scenario | events | feedback | paraphrases MRR@10 | rewrite / script | training "
        "queries | unseen intents MRR@10 (rankings changed) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, sc in run["scenarios"].items():
        base = sc["points"][0]["paraphrases"]["mrr@10"]
        for p in sc["points"]:
            if p["events"] == 0 and out[-1] != "|---|---|---|---|---|---|---|":
                continue  # every scenario starts from the same knowledge base: one row
            kinds = p["paraphrases_by_kind"]
            mrr = p["paraphrases"]["mrr@10"]
            cells = [
                name if p["events"] else "all, before any event",
                f"{p['events']:,}",
                f"{p['feedback']:,}",
                f"**{mrr:.3f}** ({mrr - base:+.3f})",
                f"{kinds['rewrite']['mrr@10']:.3f} / {kinds['script']['mrr@10']:.3f}",
                f"{p['training']['mrr@10']:.3f}",
                f"{p['unseen']['mrr@10']:.3f} ({p['unseen_rankings_changed']})",
            ]
            out.append("| " + " | ".join(cells) + " |")
        if off := sc.get("learning_off_at_end"):
            cells = [name, f"{off['events']:,}, `KB_LEARNING=off`", f"{off['feedback']:,}"]
            cells += [f"{off['paraphrases']['mrr@10']:.3f}", "", f"{off['training']['mrr@10']:.3f}"]
            cells.append(f"{off['unseen']['mrr@10']:.3f} ({off['unseen_rankings_changed']})")
            out.append("| " + " | ".join(cells) + " |")
    cut = {name: sc["cut_for_time"] for name, sc in run["scenarios"].items() if sc["cut_for_time"]}
    intents = run["intents"]
    out.append(
        f"\n{intents['seen']} intents worked on ({intents['training_queries']} training queries, "
        f"{intents['paraphrases']} held-apart paraphrases), {intents['unseen']} never clicked "
        f"({intents['unseen_queries']} queries); seed {run['seed']}. "
        + (
            "Cut by the time budget ({:g} minutes a scenario): {}. ".format(
                run["budget_minutes_per_scenario"],
                "; ".join(f"{n} at {', '.join(f'{e:,}' for e in ev)}" for n, ev in cut.items()),
            )
            if cut
            else ""
        )
        + f"Measured on {_machine(run['machine'])}."
    )
    return "\n".join(out)


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text("utf-8")
    sections = (("quality", quality()), ("speed", speed()), ("scale", scale()),
                ("compare", compare()), ("clients", clients()),
                ("ingest", ingest_sizes()), ("learning", learning()))  # fmt: skip
    for name, body in sections:
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README has no bench:{name} markers")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    readme.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
