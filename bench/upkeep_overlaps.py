"""Duplicates and conflicts (kb/upkeep/overlaps.py, contradictions.py) measured two ways.

1. The bundled sample knowledge base, as `kb/upkeep` finds them: how many duplicates and
   conflicts, and which; then, as a stress test of the contradiction rules alone, every pair of
   FAQ entries in one language family whose questions are near but *below* the same-question
   threshold (cosine 0.90-0.96: mostly different questions on one subject), and which of those
   the rules would call contradicting (their answers may well differ: this counts how often the
   rules fire on real, differently worded policy answers, not errors).
2. Hand-written synthetic pairs (not evaluation data): answers to one question that contradict
   each other in one way (who pays, allowed or not, free or not, days or working days) and
   paraphrases that agree, in Simplified Chinese, the same converted to Traditional (s2twp),
   and English. Reported: how many of each are caught / wrongly flagged.

    python -m bench.upkeep_overlaps --data-dir /tmp/sample-kb

The data dir is reused when it already holds the sample (its embedding cache too).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# (a, b, kind): kind None for pairs that agree.
SYNTHETIC_ZH: list[tuple[str, str, str | None]] = [
    ("非质量问题退货，寄回运费由您承担。", "非质量问题退货，寄回运费由商家承担。", "payer"),
    ("换货产生的运费由我们承担。", "换货产生的运费需要您自行支付。", "payer"),
    ("上门取件的费用由云舟承担，您无需另付。", "上门取件的费用由您承担。", "payer"),
    ("维修期间的往返运费由顾客承担。", "维修期间的往返运费由本公司承担。", "payer"),
    ("发票开具后可以重新开具一次。", "发票开具后不能重新开具。", "permission"),
    ("订单发货后可以修改收货地址。", "订单发货后无法修改收货地址。", "permission"),
    ("支持货到付款。", "不支持货到付款。", "permission"),
    ("退款可以退到余额。", "退款不可以退到余额，只能原路退回。", "permission"),
    ("会员积分可以抵扣运费。", "会员积分不能抵扣运费。", "permission"),
    ("保修期内上门维修免费。", "保修期内上门维修收费。", "charge"),
    ("滤网更换服务免费提供。", "滤网更换服务需另付费用。", "charge"),
    ("开具纸质发票不收费。", "开具纸质发票收费。", "charge"),
    ("退款将在 7 天内到账。", "退款将在 7 个工作日内到账。", "unit"),
    ("无理由退货期为 15 天。", "无理由退货期为 15 个工作日。", "unit"),
    ("审核会在 24 小时内完成。", "审核会在 24 个工作日内完成。", "unit"),
    # agreeing paraphrases
    ("非质量问题退货，寄回运费由您承担。", "如果不是质量问题，退回的运费需要您自己承担。", None),
    ("质量问题换货，来回运费都由我们承担。", "因质量问题换货的，往返运费由本公司承担。", None),
    ("运费由云舟承担，无需您垫付。", "运费由云舟承担，您不用先付。", None),
    ("订单发货后无法修改收货地址。", "发货以后就不能再改地址了，请联系快递。", None),
    ("可以，发票开具后可以重新开具一次。", "可以重新开一次发票，请在订单页申请。", None),
    ("支持货到付款，签收时付款即可。", "我们支持货到付款。", None),
    ("保修期内上门维修免费。", "保修期内免费上门维修，过保后按价目收费。", None),
    ("退款将在 3–5 个工作日内到账。", "一般 3–5 个工作日退款就会原路到账。", None),
    ("无理由退货期为 15 天，从签收当天算起。", "签收后 15 天内都可以无理由退货。", None),
    ("会员积分可以抵扣运费，100 积分抵 1 元。", "100 积分可以抵 1 元运费。", None),
    ("可能需要 2 天才能审核完。", "审核需要 2 天左右。", None),
    ("智能模式可以自动规划路线。", "开启智能模式后，机器会自动规划清扫路线。", None),
    # harder ones, written before running the rules on them
    ("退货运费需自理。", "退货运费由云舟承担。", "payer"),
    ("运费我们包了。", "运费您来出。", "payer"),
    ("已拆封的商品恕不退换。", "已拆封的商品可以退换。", "permission"),
    ("七天无理由退货。", "七个工作日内无理由退货。", "unit"),
    ("除质量问题外，不支持退货。", "质量问题可以退货，其他情况不支持退货。", None),
    ("可以预约上门取件，费用由云舟承担。", "上门取件免费。", None),
    ("拆封后不能无理由退货，但质量问题可以换货。", "拆封后无法无理由退货。", None),
    ("会员可享受免费维修。", "非会员维修需收费。", None),
    # written after the first measurement, before 恕不, 自理 and Chinese numerals were added
    ("定制商品恕不退货。", "定制商品支持退货。", "permission"),
    ("配送时间为三天。", "配送时间为三个工作日。", "unit"),
    ("安装材料费用自理。", "安装材料费用由我们承担。", "payer"),
    ("旧机回收不收费。", "旧机回收要收费。", "charge"),
    ("三天内发货。", "3 天内发货。", None),
    ("一天内回复您。", "二十四小时内回复您。", None),
    ("已使用的商品恕不退换，一个月内未使用的可以退换。",
     "一个月内未使用的可以退换，已使用的不行。", None),
]  # fmt: skip
SYNTHETIC_EN: list[tuple[str, str, str | None]] = [
    ("You pay the return shipping for change-of-mind returns.",
     "We pay the return shipping for change-of-mind returns.", "payer"),
    ("Repairs after the warranty are at your own expense.",
     "Repairs after the warranty are at our expense.", "payer"),
    ("The delivery address can be changed after shipping.",
     "The delivery address cannot be changed after shipping.", "permission"),
    ("Orders can be cancelled before they ship.",
     "Orders can't be cancelled before they ship.", "permission"),
    ("Filter replacement is free of charge.", "Filter replacement costs extra.", "charge"),
    ("Refunds arrive within 7 days.", "Refunds arrive within 7 business days.", "unit"),
    ("You pay the return shipping for change-of-mind returns.",
     "For change-of-mind returns, the customer pays the return shipping.", None),
    ("The delivery address cannot be changed after shipping.",
     "Once an order has shipped, its address can no longer be changed.", None),
    ("Refunds arrive within 3–5 business days.",
     "Expect the refund within 3–5 business days of inspection.", None),
    ("Shipping is free on orders of ¥99 or more.", "Orders of ¥99 or more ship for free.", None),
    ("Feel free to contact us if the robot will not charge.",
     "Contact us if the robot does not charge.", None),
    # harder ones, written before running the rules on them
    ("This item is non-returnable.", "This item can be returned.", "permission"),
    ("You don't pay anything for repairs under warranty.",
     "We cover repairs under warranty.", None),
    ("Members get free repairs.", "Non-members are charged for repairs.", None),
    # written after the first measurement
    ("You cannot return opened items.", "Opened items may be returned.", "permission"),
]  # fmt: skip


def synthetic() -> dict[str, Any]:
    from kb.assist.script import convert
    from kb.upkeep.contradictions import contradiction

    sets = {
        "zh-Hans": SYNTHETIC_ZH,
        "zh-Hant": [(convert(a, "zh-Hant"), convert(b, "zh-Hant"), k) for a, b, k in SYNTHETIC_ZH],
        "en": SYNTHETIC_EN,
    }
    out: dict[str, Any] = {}
    for name, pairs in sets.items():
        caught, wrong, missed, false_alarms = 0, 0, [], []
        for a, b, kind in pairs:
            found = contradiction(a, b)
            if kind is None and found is not None:
                false_alarms.append([a, b, found.kind, found.first, found.second])
            elif kind is not None and found is not None and found.kind == kind:
                caught += 1
            elif kind is not None:
                missed.append([a, b, found.kind if found else None])
                wrong += found is not None
        contradicting = sum(k is not None for *_, k in pairs)
        out[name] = {
            "contradicting": contradicting,
            "caught": caught,
            "caught_as_another_kind": wrong,
            "agreeing": len(pairs) - contradicting,
            "false_alarms": len(false_alarms),
            "missed": missed,
            "false_alarm_pairs": false_alarms,
        }
    return out


def sample(data_dir: Path) -> dict[str, Any]:
    import numpy as np

    from kb.context import KnowledgeBase
    from kb.retrieval.indexing import known_collections
    from kb.settings import Settings
    from kb.upkeep.contradictions import contradiction
    from kb.upkeep.overlaps import SAME_QUESTION, _same_language, find_overlaps

    kb = KnowledgeBase(Settings(data_dir=data_dir, cache_dir=data_dir / "cache"))
    if not known_collections(kb):
        _ingest_sample(kb)
    result: dict[str, Any] = {"collections": {}}
    near: list[dict[str, Any]] = []
    for name in known_collections(kb):
        found = find_overlaps(kb, name)
        result["collections"][name] = {
            kind: [[o.first.question, o.second.question] for o in found if o.kind == kind]
            for kind in ("duplicate", "conflict")
        }
        generation = kb.searchers.get(name).generation  # type: ignore[union-attr]
        rows = [i for i, c in enumerate(generation.chunks) if c.kind == "faq" and c.question]
        chunks = [generation.chunks[i] for i in rows]
        if not rows:
            continue
        vectors = np.asarray(generation.vectors.vectors(np.asarray(rows, dtype=np.int64)))
        sims = vectors @ vectors.T
        for i in range(len(chunks)):
            for j in range(i + 1, len(chunks)):
                if not _same_language(chunks[i].language, chunks[j].language):
                    continue
                if 0.90 <= sims[i, j] < SAME_QUESTION:
                    differs = contradiction(chunks[i].text, chunks[j].text)
                    near.append({
                        "similarity": round(float(sims[i, j]), 3),
                        "questions": [chunks[i].question, chunks[j].question],
                        "contradiction": None if differs is None
                        else [differs.kind, differs.first, differs.second],
                    })  # fmt: skip
    flagged = [n for n in near if n["contradiction"]]
    result["duplicates"] = sum(len(c["duplicate"]) for c in result["collections"].values())
    result["conflicts"] = sum(len(c["conflict"]) for c in result["collections"].values())
    result["near_pairs_below_threshold"] = len(near)
    result["near_pairs_flagged_by_contradiction_rules"] = len(flagged)
    result["near_pairs_flagged"] = sorted(flagged, key=lambda n: -n["similarity"])
    kb.close()
    return result


def _ingest_sample(kb: Any) -> None:
    from kb.documents.ingestion import ingest_items
    from kb.documents.samples import load_sample
    from kb.library.store import import_sample

    loaded = load_sample()
    for collection, items in loaded.collection_items.items():
        ingest_items(kb, items, collection=collection)
    import_sample(kb, loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench/results/upkeep_overlaps.json"))
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    report = {"synthetic": synthetic(), "sample": sample(args.data_dir)}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report["sample"].items() if k != "near_pairs_flagged"},
                     ensure_ascii=False, indent=1))  # fmt: skip
    for name, stats in report["synthetic"].items():
        print(name, {k: v for k, v in stats.items() if not isinstance(v, list)})


if __name__ == "__main__":
    main()
