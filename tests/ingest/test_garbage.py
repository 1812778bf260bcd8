"""Garbled runs: found by how often the character class changes, real tokens left alone."""

from __future__ import annotations

import pytest

from ingest.garbage import garbage_evidence, garbage_runs, remove_never_text, strip_garbage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kD8#xQ2@mP4&wZ7", ""),
        ("客服mV3q9Zt中心", "客服中心"),
        ("Hk2Wp客服K8bs中心績效", "客服中心績效"),  # the visible CJK between the noise stays
        ("ㄅ7xQ客訴ㄆk2Lm處理", "客訴處理"),  # bopomofo mixed in
        ("整机保修 1 年，㑇㇆qR7w⾊电机", "整机保修 1 年，电机"),  # Extension A, strokes, radicals
        ("6Z3U2R0C5D6O1A", ""),  # long capital/digit alternation
        ("5LL0BYJHlaCbJvmE2TtmSm", ""),  # a long random token: capitals in runs
    ],
)
def test_certain_garbage_removed(text: str, expected: str) -> None:
    assert strip_garbage(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "iPhone15手機",
        "3月5日iOS更新",
        "WeChat、IPv6、LaTeX、McDonald、YouTube、JavaScript",
        "0.1mA到1mA",
        "按键0~9由keyCode=7~16表示",
        "md5=77c6c86fc89ba94cc0a9271b77ae77d2降级",  # a lower-case hash
        "A+B+C+D=35分钟",
        "B2B2C平台、O2O、4G/5G、A4纸",
        "訂單號A20250301123",
        "请发邮件到 support@example.com 或访问 https://example.com/a?b=1&Kq=2Zx",
        "COVID-19 期间 user_id 字段",
        "$500k while the kids are young",
        "corpId=ding7a8sBg0XkP2Lm",  # an id in an expression
        "1MBytes*150*8=1200Mbit，即1200Mbps以上",
        "JavaScriptObjectNotation、McDonaldsHQ2024Report",
    ],
)
def test_real_tokens_kept(text: str) -> None:
    assert strip_garbage(text, weak=True) == text


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("x7Kq", 1),  # could be a token: removed only beside certain garbage
        ("kW2j", 2),
        ("IPv6", 0),
    ],
)
def test_run_strength(text: str, strength: int) -> None:
    assert max((r.strength for r in garbage_runs(text)), default=0) == strength


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["計算方式為x7Kq門檻", "正文。"], False),  # one probable run: maybe a token
        (["計算方式為x7Kq門檻", "客服mV3q9Zt中心"], True),
        (["c3Lk会员", "d9Qx服务", "W7pz标准"], True),  # three probable runs
        (["iPhone15 與 IPv6 的說明。"], False),
    ],
)
def test_garbage_evidence(texts: list[str], expected: bool) -> None:
    assert garbage_evidence(texts) is expected


def test_probable_garbage_removed_only_when_weak() -> None:
    assert strip_garbage("計算方式為：x7Kq門檻") == "計算方式為：x7Kq門檻"
    assert strip_garbage("計算方式為：x7Kq門檻", weak=True) == "計算方式為：門檻"


def test_never_text_removed() -> None:
    assert remove_never_text("客\ue0a3服\ufffd中\x07心") == "客服中心"
