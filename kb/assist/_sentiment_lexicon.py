"""Word lists behind kb.assist.sentiment: terms are lower-case Simplified Chinese or English."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CueGroup:
    """Terms sharing one explanation, one risk category and one weight (negative = upset)."""

    kind: str
    category: str | None
    weight: float
    terms: tuple[str, ...]
    # Complaint and regulator words are often *asked about* ("投诉渠道在哪里？"); those uses are
    # enquiries, weighed lightly and without the category.
    enquirable: bool = False


# Data tables: kept compact by hand, one wrapped line of terms per row.
# fmt: off
CUE_GROUPS: tuple[CueGroup, ...] = (
    CueGroup(
        "complaint keyword", "complaint",
        -1.0,
        (
            "投诉", "客诉", "差评", "举报", "维权", "complaint", "complain", "complaining",
            "complaints", "bad review", "negative review", "one star", "1 star", "1-star",
            "speak to a manager", "speak to your manager", "talk to a manager",
            "speak to your supervisor", "escalate this",
        ),
        enquirable=True,
    ),
    CueGroup(
        "dissatisfaction", "complaint",
        -0.7,
        (
            "不满意", "不满", "太差", "很差", "真差", "好差", "差劲", "烂透了", "太烂", "很烂",
            "有够烂", "失望", "敷衍", "态度差", "态度恶劣", "什么态度", "踢皮球", "推卸责任",
            "不负责任", "不像话", "太慢了", "不靠谱", "unacceptable", "not acceptable", "terrible",
            "awful", "horrible", "disappointed", "disappointing", "not happy", "not satisfied",
            "unhappy", "dissatisfied", "worst", "waste of money", "waste of time", "poor service",
            "bad service", "not good enough", "useless",
        ),
    ),
    CueGroup(
        "anger", "anger",
        -0.9,
        (
            "太过分了", "过分", "气死", "气死了", "气死我了", "生气", "愤怒", "火大", "恼火",
            "无语", "我崩溃了", "要崩溃了", "快崩溃了", "什么鬼", "搞什么", "凭什么", "受够了",
            "忍无可忍", "退钱", "嬲", "我靠", "靠北", "妈的", "卧槽", "this is ridiculous",
            "ridiculous", "outrageous", "fed up", "sick of", "had enough", "angry", "furious",
            "livid", "pissed", "outraged", "infuriating", "wtf", "what the hell", "are you kidding",
            "enough is enough", "😡", "🤬", "😠", "💢", "😤", "👿", "🖕",
        ),
    ),
    CueGroup(
        "insult", "insult",
        -1.0,
        (
            "骗子", "骗人", "垃圾", "坑人", "坑爹", "无良", "黑心", "奸商", "废物", "弱智", "脑残",
            "智障", "傻逼", "流氓", "呃人", "scammer", "scammers", "liar", "liars", "crooks",
            "thieves", "idiot", "idiots", "incompetent", "pathetic", "garbage", "rubbish",
            "rip-off", "ripoff", "rip off", "what a joke", "this is a joke",
        ),
    ),
    CueGroup(
        "fraud accusation", "insult",
        -1.0,
        (
            "欺骗", "诈骗", "骗钱", "欺诈", "虚假宣传", "scam", "fraud", "fraudulent",
            "false advertising", "cheated", "cheating",
        ),
    ),
    CueGroup(
        "payment dispute", "complaint",
        -0.9,
        ("chargeback", "charge back", "dispute the charge", "拒付", "申请拒付", "冻结付款"),
    ),
    CueGroup(
        "threat of legal action", "legal",
        -1.0,
        (
            "找律师", "请律师", "律师函", "律师", "起诉", "告你们", "提告", "法院", "打官司",
            "法律途径", "法律手段", "法律责任", "仲裁", "我要报警", "我会报警", "去报警",
            "已经报警", "lawyer", "lawyers", "attorney", "sue you", "sue your", "sue them",
            "sue the", "suing", "lawsuit", "legal action", "small claims", "take you to court",
            "see you in court", "report you to the police", "police",
        ),
    ),
    CueGroup(
        "regulator", "regulator",
        -1.0,
        (
            "12315", "打12345", "12345热线", "消协", "消费者协会", "消基会", "消委会", "消保官",
            "消保会", "工商", "工商局", "市场监管", "市场监督管理局", "市监局", "315晚会", "3·15",
            "银保监", "金管会", "工信部", "通管局", "监管部门", "监管局", "bbb",
            "better business bureau", "ftc", "trading standards", "consumer protection",
            "attorney general", "ombudsman", "cfpb", "consumer council",
        ),
        enquirable=True,
    ),
    CueGroup(
        "media exposure threat", "complaint",
        -0.9,
        (
            "曝光你们", "给你们曝光", "网上曝光", "去曝光", "要曝光", "媒体曝光", "曝光出来",
            "找媒体", "联系媒体", "发到媒体", "找记者", "发到网上", "发微博", "发抖音", "发朋友圈",
            "发小红书", "上新闻", "social media", "go to the press", "the press", "the media",
            "post this online", "reporter", "reporters",
        ),
    ),
    CueGroup(
        "churn", "churn",
        -0.8,
        (
            "再也不买", "再也不会买", "再也不来", "再也不会来", "再也不用", "注销账号", "注销账户",
            "销户", "取消会员", "退会员", "换别家", "去别家", "cancel my account",
            "close my account", "delete my account", "cancel my subscription",
            "cancel my membership", "never buy", "never order", "never shop", "never again",
            "take my business elsewhere", "switching to",
        ),
    ),
    CueGroup(
        "urgency", "urgency",
        -0.2,
        (
            "尽快", "赶紧", "立刻", "立即", "马上处理", "马上给我", "着急", "急用", "很急", "紧急",
            "急死", "催了", "没人理", "没人管", "没人回", "一直没人", "冇人理", "asap", "urgent",
            "urgently", "immediately", "right now", "right away",
        ),
    ),
    CueGroup(
        "waiting time", "urgency",
        -0.3,
        (
            "还没发货", "还没收到", "还没到", "还没退", "还没处理", "还没回复", "迟迟",
            "still haven't", "still hasn't", "still have not", "still not", "still waiting",
            "still no", "days now", "weeks now",
        ),
    ),
    CueGroup(
        "unresolved problem",
        None,
        -0.3,
        ("没解决", "还没解决", "没有解决", "still broken", "not fixed", "not resolved"),
    ),
    CueGroup(
        "safety", "safety",
        -0.8,
        (
            "起火", "着火", "冒烟", "烫伤", "触电", "漏电", "爆炸", "炸了", "鼓包", "烧焦",
            "烧坏", "自燃", "火花", "短路", "caught fire", "on fire", "a fire", "fire hazard",
            "flames", "smoke", "smoking", "burn", "burned", "burnt", "burns", "shock",
            "electric shock", "electrocuted", "explode", "exploded", "exploding", "explosion",
            "sparks", "sparking", "short circuit", "melted",
        ),
    ),
    CueGroup(
        "upset emoji",
        None,
        -0.3,
        ("😭", "😢", "😞", "👎"),
    ),
    CueGroup(
        "thanks",
        None,
        0.25,
        ("谢谢", "感谢", "多谢", "辛苦了", "thanks", "thank you", "appreciate it", "🙏"),
    ),
    CueGroup(
        "praise",
        None,
        0.6,
        (
            "满意", "很好", "非常好", "太好了", "太棒了", "好评", "给力", "点赞", "解决了", "不错",
            "棒", "完美", "靠谱", "awesome", "excellent", "helpful", "satisfied", "resolved",
            "works now", "amazing", "wonderful", "love it", "love this", "👍", "😊", "👌",
        ),
    ),
    # Words that are as often politeness ("that would be great") as praise.
    CueGroup("mild praise", None, 0.25, ("great", "perfect", "happy", "good")),
)

# Compounds that contain a cue but are ordinary nouns: a law firm's invoice, a bank, a bin bag,
# camera exposure, a smoke alarm. Masked before cues are matched.
NEUTRAL_TERMS: tuple[str, ...] = (
    "律师事务所", "律所", "工商银行", "工商管理", "工商注册", "工商信息", "工商执照", "工商户",
    "垃圾袋", "垃圾桶", "垃圾箱", "垃圾分类", "垃圾邮件", "垃圾短信", "垃圾清理", "报警器",
    "报警灯", "报警声", "报警音", "防诈骗", "反诈", "防火", "smoke alarm", "smoke detector",
    "fire alarm", "fire tv", "fire stick", "kindle fire", "no smoking", "fire extinguisher",
)

# "3天了", "一个星期了", "好几天都", "waiting two weeks", "for 3 days": how long the customer has
# been waiting.
WAITING_PATTERN = re.compile(
    r"(?:\d+|[一二两三四五六七八九十几好多半]+)\s*(?:天|周|个?星期|个?礼拜|个?月|个?小时)(?:了|都)"
    r"|(?:waiting|waited|for|over)\s+(?:\d+|a|two|three|four|five|six|several|many)"
    r"\s+(?:days|weeks|months|hours|week|month)"
)

# Chinese negators: two-or-more-character ones reach over a few characters ("不是要投诉"), a bare
# "不"/"没" only over one ("不太满意"), so "不发货我就投诉" is not read as negated.
NEGATORS_ZH_LONG: tuple[str, ...] = (
    "不是", "并不", "并没有", "没有", "不会", "不想", "不打算", "没打算", "无意", "从没", "从来没",
    "从未", "并非", "不算", "谈不上", "称不上", "不用",
)
NEGATORS_ZH_SHORT: tuple[str, ...] = ("不", "没", "未")
# A negation does not reach over a new clause: "没有发货我要投诉", "不退款就投诉".
CLAUSE_BREAKERS_ZH: tuple[str, ...] = (
    "就", "才", "否则", "不然", "但", "可是", "而且", "然后", "我要", "我会", "我想", "我得",
)
NEGATORS_EN = frozenset({"not", "no", "never", "cannot", "dont", "isnt", "wasnt", "wont"})
CLAUSE_BREAKERS_EN = frozenset(
    {"and", "but", "so", "because", "if", "then", "or", "otherwise", "unless", "until"}
)

INTENSIFIERS_ZH: tuple[str, ...] = (
    "非常", "真的", "真是", "特别", "超级", "极其", "十分", "实在", "简直", "太", "很", "好", "超",
    "巨", "最", "真",
)
INTENSIFIERS_EN = frozenset(
    {
        "really", "so", "very", "extremely", "totally", "absolutely", "completely", "utterly",
        "too", "such", "fucking", "bloody",
    }
)

ENQUIRY_QUESTION_ZH: tuple[str, ...] = (
    "怎么", "如何", "怎样", "哪里", "在哪", "哪儿", "哪个", "什么", "咋", "是否",
)
ENQUIRY_INTENT_ZH: tuple[str, ...] = (
    "我要", "我会", "要去", "我就", "已经", "准备", "必须", "一定", "我想",
)
ENQUIRY_QUESTION_EN = frozenset({"how", "where", "what", "which", "whom"})
ENQUIRY_INTENT_EN = frozenset(
    {"will", "going", "gonna", "want", "wanna", "already", "would", "intend", "plan"}
)
ENQUIRY_NOUNS_ZH: tuple[str, ...] = (
    "渠道", "管道", "电话", "方式", "入口", "流程", "途径", "邮箱", "部门", "热线", "窗口", "页面",
    "链接", "进度",
)
ENQUIRY_NOUNS_EN = frozenset(
    {
        "process", "procedure", "form", "page", "department", "email", "address", "number",
        "hotline", "channel", "link", "status", "line", "policy",
    }
)
# fmt: on
