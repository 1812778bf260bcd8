"""Redaction of personal data before logging, and the look-alikes it must leave alone."""

from __future__ import annotations

import json

import pytest

from kb.assist.redaction import redact, redact_obj


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # mainland mobiles
        ("我的手机13812345678，麻烦回电", "我的手机[PHONE]，麻烦回电"),
        ("电话：138 1234 5678", "电话：[PHONE]"),
        ("电话：138-1234-5678", "电话：[PHONE]"),
        ("call +86 139 1234 5678 please", "call [PHONE] please"),
        ("+8615012345678", "[PHONE]"),
        ("(+86) 18612345678", "[PHONE]"),
        ("全角号码１３８１２３４５６７８", "全角号码[PHONE]"),
        # landlines
        ("座机010-12345678", "座机[PHONE]"),
        ("公司电话 (0755) 1234567", "公司电话 [PHONE]"),
        ("打 021 6123 4567 转 801 找我", "打 [PHONE] 找我"),
        ("台北 02-2345-6789", "台北 [PHONE]"),
        # Taiwan and Hong Kong mobiles, other international numbers
        ("我的手機是0912-345-678", "我的手機是[PHONE]"),
        ("手機 0912345678", "手機 [PHONE]"),
        ("+886 912 345 678", "[PHONE]"),
        ("香港電話 +852 9123 4567", "香港電話 [PHONE]"),
        ("US: +1 (415) 555-0199", "US: [PHONE]"),
        ("UK +44 20 7946 0958.", "UK [PHONE]."),
        # mainland ID numbers (checksum valid), legacy 15-digit, Taiwan and HK IDs
        ("身份证号110101199003074573", "身份证号[ID]"),
        ("身份证 31011519970101002X 谢谢", "身份证 [ID] 谢谢"),
        ("身份证 31011519970101002x", "身份证 [ID]"),
        ("旧身份证 110101900307457", "旧身份证 [ID]"),
        ("身分證字號 A123456789", "身分證字號 [ID]"),
        ("身分證 a123456789", "身分證 [ID]"),
        ("身份證 A123456(3)", "身份證 [ID]"),
        ("身份證 A123456(7) 唔該", "身份證 [ID] 唔該"),
        ("身份證 A123456（3）", "身份證 [ID]"),
        ("HKID A1234563", "HKID [ID]"),
        # bank cards (Luhn valid)
        ("卡号6222021234567890128", "卡号[CARD]"),
        ("卡号 6222 0212 3456 7890 128 退到这里", "卡号 [CARD] 退到这里"),
        ("card 4111-1111-1111-1111 exp 12/27", "card [CARD] exp 12/27"),
        ("Amex 3782 822463 10005", "Amex [CARD]"),
        ("工行老卡 9558801234567890128", "工行老卡 [CARD]"),
        # e-mail
        ("邮箱 wang.li@example.com.cn 谢谢", "邮箱 [EMAIL] 谢谢"),
        ("mail me at Jane_Doe+cs@mail.example.org.", "mail me at [EMAIL]."),
        ("邮箱ａｂｃ＠ｑｑ．ｃｏｍ", "邮箱[EMAIL]"),
        # several at once
        (
            "王女士 13812345678 / wang@example.com / 6228480012345671",
            "王女士 [PHONE] / [EMAIL] / [CARD]",
        ),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单 A123 还没发货",
        "订单 20241105001 什么时候到？",
        "订单号 202411050012345",
        "订单号4000123412341234",  # passes Luhn, but it follows "订单号"
        "order #4000123412341234",
        "2024110500123455",  # passes Luhn; 2024 is no card issuer
        "运单号 SF1234567890123",
        "客服热线 400-800-1234",
        "请拨打 4008001234 或 800-820-8820",
        "打12315投诉",
        "时间戳 1730793600000",
        "ISBN 9787115428028",
        "ISBN 978-7-115-42802-8",
        "2024-11-05 13:45 下单",
        "金额 ¥1,299.00，共 3 件",
        "型号 A1234567 的滤网",  # HK-ID shape, wrong check digit
        "型号 B123456789",  # Taiwan-ID shape, wrong checksum
        "编号 110101199003074578",  # ID shape, wrong check character
        "编号 110101199013074573",  # month 13
        "4111111111111112",  # fails Luhn
        "7月15日 12 点 3456 号柜",
        "version 1.2.3, build 20241105",
        "IP 192.168.1.1",
        "price $19.99, qty 12",
    ],
)
def test_look_alikes_are_kept(text: str) -> None:
    assert redact(text) == text


def test_redact_obj_walks_json_like_data() -> None:
    record = {
        "conversation": [
            {"role": "customer", "text": "我的电话13812345678"},
            {"role": "agent", "text": "好的，订单 A123 已登记"},
        ],
        "customer": {"id": "c-1", "name": "王女士", "phone": 13812345678, "vip": True},
        "scores": (0.5, 3),
        "email": "wang@example.com",
        "took_ms": 12,
        "note": None,
    }
    assert redact_obj(record) == {
        "conversation": [
            {"role": "customer", "text": "我的电话[PHONE]"},
            {"role": "agent", "text": "好的，订单 A123 已登记"},
        ],
        "customer": {"id": "c-1", "name": "王女士", "phone": "[PHONE]", "vip": True},
        "scores": (0.5, 3),
        "email": "[EMAIL]",
        "took_ms": 12,
        "note": None,
    }
    # The input is not modified, and the output still serialises.
    assert record["email"] == "wang@example.com"
    json.dumps(redact_obj(record), ensure_ascii=False)


def test_nothing_personal_survives_in_a_log_line() -> None:
    line = json.dumps(
        redact_obj({"q": "手机 138 1234 5678 身份证 440306198511201238 卡 6228480012345671"}),
        ensure_ascii=False,
    )
    for secret in ("13812345678", "1234 5678", "440306198511201238", "6228480012345671"):
        assert secret not in line
