"""Text for synthesis: keywords, service sentences around them, and hard negatives.

Sentences are built from carrier phrases so each keyword appears in many contexts;
every item is a list of segments, and the keyword is its own segment so its position
in the audio is exact (segments are synthesized separately and joined).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Keyword classes (label -> spoken forms). 请问 and 帮您 are one class (the N2 greeting).
KEYWORDS: dict[str, tuple[str, ...]] = {
    "您好": ("您好",),
    "请问": ("请问", "帮您"),
    "请稍等": ("请稍等",),
    "久等": ("久等",),
    "谢谢": ("谢谢",),
    "对不起": ("对不起",),
    "再见": ("再见",),
    "还有什么": ("还有什么",),
    "不知道": ("不知道",),
    "没办法": ("没办法",),
    "没关系": ("没关系",),
}
FILLER, SILENCE = "_filler", "_silence"
LABELS: tuple[str, ...] = (*KEYWORDS, FILLER, SILENCE)

# Carrier phrases: (before, after) the keyword; "" means the keyword stands at an edge.
CARRIERS: dict[str, list[tuple[str, str]]] = {
    "您好": [("", "，三十六号为您服务"), ("", "，请讲"), ("", "，这里是人社服务热线"),
           ("", "，十二号很高兴为您服务"), ("喂，", "，请问您是哪位"), ("", "，请问是王先生吗")],
    "请问": [("", "有什么可以帮您"), ("", "您贵姓"), ("", "您的身份证号码是多少"), ("我来", "查一下"),
           ("", "您在哪个城市参保"), ("我帮您转接专家", ""), ("", "是本人办理吗")],
    "请稍等": [("好的，", "，我帮您查询"), ("", "，马上为您办理"), ("麻烦您", "片刻"), ("", "一下"),
            ("系统有点慢，", ""), ("我查一下，", "")],
    "久等": [("让您", "了"), ("不好意思让您", "了"), ("抱歉，让您", "了，结果出来了"), ("让您", "了，我查到了")],
    "谢谢": [("", "您的耐心"), ("", "您的电话，再见"), ("好的，", "您"), ("", "您的理解"), ("", "配合")],
    "对不起": [("", "，麻烦您稍等片刻"), ("", "，让您久等了"), ("", "，刚才没有听清楚"), ("真是", "，给您添麻烦了")],
    "再见": [("谢谢您的电话，", ""), ("好的，", ""), ("祝您生活愉快，", ""), ("", "，欢迎再次来电")],
    "还有什么": [("请问", "能帮到您"), ("请问您", "问题吗"), ("", "需要咨询的吗"), ("您", "其他问题")],
    "不知道": [("这个我", ""), ("我也", "怎么办"), ("", "，你自己去问吧"), ("我真的", "这个政策")],
    "没办法": [("这个我们也", ""), ("", "，系统就是这样"), ("我们", "帮你处理"), ("这是技术部门的事，我们也", "")],
    "没关系": [("这件事与我", ""), ("那跟我们", ""), ("这个和我们部门", ""), ("跟我", "，你找别人")],
}

# Speech without any keyword: general service talk and look-alikes of the keywords.
NEGATIVE_SENTENCES: tuple[str, ...] = (
    "你好，我想问一下养老保险关系怎么转移", "我现在在杭州上班", "我想查一下我的医保余额",
    "您可以登录医保服务平台查询", "灵活就业人员可以到社保经办机构办理参保登记",
    "需要携带本人身份证和户口本", "缴费基数在社会平均工资的百分之六十到三百之间",
    "我上个月办的退休手续", "退休审批需要一个月左右的时间", "我想了解一下生育津贴怎么申请",
    "生育津贴由单位统一申报", "您把出生证明交给单位的人事部门", "工伤认定需要劳动关系证明",
    "失业金每个月十号左右发放", "我的公积金提取进度怎么样了", "您的申请已经审核通过",
    "三个工作日内到账", "这个问题比较特殊", "缴费年限可以合并计算", "转移一般在四十五个工作日之内办结",
    "个人账户养老金等于储存额除以计发月数", "五十五岁退休的计发月数是一百七十", "特殊工种需要工种证明",
    "断缴期间不计算缴费年限", "我在国外工作了几年", "医保卡丢了怎么补办", "可以到银行网点补办",
    "补办大概需要七个工作日", "新生儿参保要在出生后三个月内办理", "异地就医需要先备案",
    "备案以后可以直接结算", "门诊费用报销比例是百分之五十", "住院费用有起付线",
    "您的社保卡已经制作完成", "请带上回执单去领取", "我的工资条上扣了养老保险",
    "单位应该为职工缴纳五险", "劳动合同到期单位不续签", "可以申请劳动仲裁",
    "仲裁申请时效是一年", "最低工资标准每年调整一次", "今年的调整方案还没有公布",
    "你好啊，今天天气不错", "我知道了，明天去办理", "他已经道歉了", "我们有办法解决",
    "这两件事有关系", "谢师宴在周六", "在家等通知", "稍微等一下就好", "久仰大名",
    "不见不散", "对得起良心", "还有一个问题", "什么时候能办好", "您说的我都明白了",
)

# Service talk generated from topics and phrasings (caller questions, agent answers):
# 16 x 16 keyword-free sentences on top of the hand-written ones above.
TOPICS: tuple[str, ...] = (
    "养老保险关系转移", "失业保险金申领", "住房公积金提取", "医保异地备案", "工伤认定", "社保卡补办",
    "生育津贴申领", "退休审批", "灵活就业参保", "新生儿参保", "门诊费用报销", "劳动仲裁申请",
    "职业技能补贴", "就业登记", "人事档案转递", "养老金资格认证")
PHRASINGS: tuple[str, ...] = (
    "我想咨询一下{}", "{}需要准备什么材料", "{}在哪里办理", "{}大概要多长时间", "{}可以在网上办吗",
    "我的{}一直没有结果", "{}有没有年龄限制", "外地户口能不能办理{}",
    "{}可以在网上服务大厅办理", "{}一般二十个工作日办结", "{}需要本人携带身份证原件",
    "办理{}要先到单位开具证明", "{}的进度可以通过短信查询", "您的{}已经受理", "{}的材料我们收到了",
    "{}目前还在审核当中")


def service_sentences() -> tuple[str, ...]:
    sentences = (phrasing.format(topic) for topic in TOPICS for phrasing in PHRASINGS)
    return tuple(s for s in sentences if not any(form in s for forms in KEYWORDS.values() for form in forms))


# Short look-alikes said alone (hard negatives).
CONFUSABLES: tuple[str, ...] = ("你好", "知道", "道歉", "办法", "关系", "没有", "再来", "还有", "写写",
                                "对的", "请坐", "稍微", "好久", "什么", "不对", "好的", "再说", "请进",
                                "没问题", "没错", "没有关联", "有关系吗", "关心", "没有结果", "不是", "不用",
                                "知道了", "有办法", "对不对", "请稍后", "等等", "在线", "还有别的", "你好吗",
                                "鞋子", "没空", "没听清", "想办法")


@dataclass(frozen=True)
class Utterance:
    segments: tuple[str, ...]       # text pieces, synthesized separately and joined
    keyword_segment: int | None     # index of the keyword segment, if any
    label: str                      # keyword label or FILLER


def _carriers(label: str, held_out: bool) -> list[tuple[str, str]]:
    """The last carrier of each keyword is held out for evaluation."""
    carriers = CARRIERS[label]
    return carriers[-1:] if held_out else carriers[:-1]


def _split(items: tuple[str, ...], held_out: bool) -> list[str]:
    """Every fifth item is held out for evaluation."""
    return [item for i, item in enumerate(items) if (i % 5 == 4) == held_out]


def keyword_utterances(rng: random.Random, per_keyword: int, *, held_out: bool = False) -> list[Utterance]:
    out = []
    for label, forms in KEYWORDS.items():
        for i in range(per_keyword):
            form = forms[i % len(forms)]
            if i % 4 == 0:  # alone
                out.append(Utterance((form,), 0, label))
                continue
            before, after = rng.choice(_carriers(label, held_out))
            segments = tuple(s for s in (before, form, after) if s)
            out.append(Utterance(segments, segments.index(form), label))
    return out


def negative_utterances(rng: random.Random, count: int, *, held_out: bool = False) -> list[Utterance]:
    out = []
    confusables = _split(CONFUSABLES, held_out)
    sentences = _split(NEGATIVE_SENTENCES + service_sentences(), held_out)
    for i in range(count):
        if i % 3 == 0:
            text = rng.choice(confusables)
        else:
            text = rng.choice(sentences)
        out.append(Utterance((text,), None, FILLER))
    return out


def rate_sentences(*, held_out: bool = False) -> list[str]:
    """Whole sentences for the rate model (keywords included: agents say them)."""
    return _split(tuple(all_sentences()), held_out)


def all_sentences() -> list[str]:
    """Every full sentence the corpus can say (for counting and the model card)."""
    sentences = [before + form + after for label, forms in KEYWORDS.items()
                 for form in forms for before, after in CARRIERS[label]]
    return sentences + list(NEGATIVE_SENTENCES) + list(service_sentences())


def fingerprint() -> str:
    """Changes whenever the text changes, so cached data sets are rebuilt."""
    import hashlib

    text = "\n".join([*all_sentences(), *CONFUSABLES, *LABELS])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
