"""Text for synthesis: keywords, service sentences around them, and hard negatives.

A generated conversational corpus for a Chinese social-insurance / utility / telecom
service hotline. Sentences come from templates with slots (cities, Han-numeral numbers,
dates, businesses, documents, bills, actions), so each keyword appears in hundreds of
contexts and thousands of keyword-free sentences surround them.

Every item is a list of segments, and the keyword is its own segment so its position in
the audio is exact (segments are synthesized separately and joined). Text is only Han
characters and the punctuation ，。？！ (one Han character = one spoken syllable, which is
the rate model's ground truth).

Held-out split: whole templates (sentence sources) are held out, chosen by a stable hash
(sha1) of the template id, so held-out sentences come from templates never trained on.
The real hotline scripts in shared/seeds are reserved for evaluation and are not used
here; `validate()` checks that none of their clauses is copied.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

FORMS: tuple[str, ...] = tuple(form for forms in KEYWORDS.values() for form in forms)
# Never in keyword-free text (nor in the carrier parts around a keyword): the keywords'
# spoken forms, plus look-alikes that would be the keyword for a listener
# (你好 is a greeting too, 帮你 is 帮您, 稍等 is 请稍等 without 请).
BANNED: tuple[str, ...] = (*FORMS, "你好", "帮你", "稍等")
MIN_CHARS, MAX_CHARS = 6, 30          # Han characters (= syllables) per sentence
_TEXT = re.compile(r"^[\u4e00-\u9fff，。？！]+$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
HELD_OUT_EVERY = 5                    # one template in five is held out

# ---------------------------------------------------------------------------------------
# Slot fillers
_DIGITS = "零一二三四五六七八九"


def han_number(n: int) -> str:
    """0 <= n < 100000 as Han numerals, the way it is said (一百零五, 十二, 三万零二十)."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out, gap, started = "", False, False
    for value, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        q, n = divmod(n, value)
        if q:
            out += ("零" if gap else "") + _DIGITS[q] + unit
            gap, started = False, True
        elif started:
            gap = True
    return out


CITIES = ("北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "长沙",
          "郑州", "济南", "青岛", "苏州", "无锡", "合肥", "福州", "厦门", "昆明", "贵阳", "南宁",
          "沈阳", "大连", "长春", "哈尔滨", "石家庄", "太原", "兰州", "天津", "宁波", "温州", "佛山",
          "东莞", "南昌", "海口", "银川", "西宁", "乌鲁木齐", "拉萨")
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱",
            "胡", "郭", "何", "林", "罗", "高", "梁", "宋", "郑", "唐")
BUSINESSES = ("社保经办机构", "医保经办大厅", "公积金管理中心", "人才服务中心", "街道便民服务中心",
              "供电营业厅", "自来水公司", "燃气公司", "电信营业厅", "移动营业厅", "联通营业厅",
              "快递网点", "邮政网点", "银行柜台", "政务服务中心", "税务大厅", "就业服务中心")
DOCUMENTS = ("身份证", "户口本", "社保卡", "银行卡", "结婚证", "房产证", "购房合同", "劳动合同",
             "离职证明", "退休证", "出生证明", "住院病历", "医疗发票", "缴费单", "营业执照",
             "租房合同", "居住证", "授权委托书", "死亡证明", "工资流水", "户籍证明", "学历证书")
BILLS = ("电费", "水费", "燃气费", "宽带费", "话费", "物业费", "取暖费", "有线电视费")
ACTIONS = ("查询余额", "修改密码", "办理过户", "申请退费", "变更地址", "挂失补卡", "预约上门",
           "开具发票", "办理转移", "更换套餐", "停机保号", "申请报装", "办理销户", "激活新卡",
           "解除绑定", "修改预留手机号", "打印缴费明细", "申请延期", "办理续费", "更改户名")
TOPIC_ITEMS: dict[str, tuple[str, ...]] = {
    "pension": ("养老保险关系转移", "养老金资格认证", "退休待遇核定", "养老保险个人账户",
                "养老保险补缴", "城乡居民养老保险", "退休审批", "养老金调整"),
    "medical": ("医保异地备案", "门诊费用报销", "住院费用结算", "医保卡补办", "新生儿参保",
                "医保个人账户", "大病保险报销", "慢性病门诊认定"),
    "unemployment": ("失业保险金申领", "失业登记", "技能提升补贴", "就业登记", "职业培训补贴",
                     "灵活就业参保"),
    "housing": ("公积金提取", "公积金贷款", "公积金转移", "公积金缴存基数调整", "公积金账户封存",
                "租房提取公积金"),
    "utilities": ("燃气开户", "燃气表更换", "燃气安全检查", "电表读数核对", "阶梯电价", "用电报装",
                  "水表更换", "停水通知", "欠费停气", "供暖报停"),
    "broadband": ("宽带报装", "宽带故障报修", "宽带套餐变更", "光猫更换", "宽带移机", "手机套餐变更"),
    "parcels": ("快递查件", "包裹丢失理赔", "快递改派地址", "上门取件", "包裹破损理赔", "快递退回"),
    "bank": ("银行卡挂失", "银行卡激活", "银行卡密码重置", "转账限额调整", "信用卡账单分期",
             "社保卡金融功能激活"),
}
ITEMS: tuple[str, ...] = tuple(item for items in TOPIC_ITEMS.values() for item in items)


def _date(rng: random.Random) -> str:
    return f"{han_number(rng.randint(1, 12))}月{han_number(rng.randint(1, 28))}号"


def _money(rng: random.Random) -> str:
    value = rng.choice((rng.randint(2, 99) * 10, rng.randint(1, 60) * 100, rng.randint(11, 999)))
    return han_number(value) + "元"


SLOTS: dict[str, Callable[[random.Random], str]] = {
    "city": lambda rng: rng.choice(CITIES),
    "surname": lambda rng: rng.choice(SURNAMES),
    "biz": lambda rng: rng.choice(BUSINESSES),
    "doc": lambda rng: rng.choice(DOCUMENTS),
    "bill": lambda rng: rng.choice(BILLS),
    "action": lambda rng: rng.choice(ACTIONS),
    "item": lambda rng: rng.choice(ITEMS),
    "date": _date,
    "money": _money,
    "num": lambda rng: han_number(rng.randint(1, 999)),                      # 工号, 件数
    "days": lambda rng: han_number(rng.choice((3, 5, 7, 10, 15, 20, 30, 45, 60))),
    "years": lambda rng: han_number(rng.randint(1, 35)),
    "digits": lambda rng: "".join(rng.choice(_DIGITS) for _ in range(4)),    # 尾号, 读作数字
    "year": lambda rng: "二零" + rng.choice(("一八", "一九", "二零", "二一", "二二", "二三", "二四", "二五")),
    "age": lambda rng: han_number(rng.randint(18, 75)),
    "city2": lambda rng: rng.choice(CITIES),
    "money2": _money,
    "who": lambda rng: rng.choice(SURNAMES) + rng.choice(("先生", "女士", "阿姨", "师傅", "大爷", "老师")),
}

# ---------------------------------------------------------------------------------------
# Keyword-free sentences. Hand-written ones (each its own template) ...
NEGATIVE_SENTENCES: tuple[str, ...] = (
    "我想问一下养老保险关系怎么转移", "我现在在杭州上班", "我想查一下我的医保余额",
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
    "我知道了，明天去办理", "他已经道歉了", "我们有办法解决",
    "这两件事有关系", "谢师宴在周六", "在家等通知", "稍微等一下就好", "久仰大名",
    "不见不散", "对得起良心", "还有一个问题", "什么时候能办好", "您说的我都明白了",
)

# ... and templates with slots, caller and agent turns on every topic, plus sentences built
# around near-misses of the keywords (知道, 办法, 关系, 写写, 谢绝, 再来, 好久, 对得起).
NEGATIVE_TEMPLATES: tuple[str, ...] = (
    # any topic, caller
    "我想咨询一下{item}", "{item}需要准备什么材料", "{item}在哪里办理？", "{item}大概要多长时间",
    "{item}可以在网上办吗？", "我的{item}一直没有结果", "{item}有没有年龄限制", "外地户口能不能办理{item}",
    "我在{city}上班，{item}要回老家办吗", "我{date}提交的{item}，现在到哪一步了",
    "{item}是不是一定要本人去", "我父亲今年{age}岁，能办{item}吗", "我想给家里老人办{item}",
    "{item}办下来以后怎么通知我", "{item}要不要交手续费", "我刚从{city}调过来，{item}怎么弄",
    "{item}的条件是什么", "{item}能不能让别人代办", "办{item}要带{doc}吗", "我的{doc}过期了，还能办{item}吗",
    "我在手机上办{item}，一直提示失败", "上次打电话说{item}{days}天就好，现在还没好",
    # any topic, agent
    "{item}可以在网上服务大厅办理", "{item}一般{days}个工作日办结", "{item}需要本人携带身份证原件",
    "办理{item}要先到单位开具证明", "{item}的进度可以通过短信查询", "您的{item}已经受理",
    "{item}的材料我们收到了", "{item}目前还在审核当中", "您可以带上{doc}到{biz}办理{item}",
    "{item}已经审核通过了，{days}天内到账", "{item}需要您先在{city}办理登记",
    "办理{item}的时候请带上{doc}和{doc2}", "您的{item}材料还缺一份{doc}", "您这个情况要先办{item}",
    "{item}在{biz}的三号窗口办理", "{item}现在可以用手机办了", "您在{date}之前把{doc}补齐就可以",
    "您的工单号尾号是{digits}，请记一下", "我这边已经给您登记了，工单号尾号是{digits}",
    "工作人员会在{days}个工作日内给您回电", "您提交的{item}申请我这里查到了",
    "这个业务需要您本人到{biz}现场办理", "按照{city}的规定，{item}要先预约",
    # pensions
    "我今年{age}岁，养老保险交了{years}年", "我在{city}交了{years}年社保，现在回老家了",
    "养老金每个月{date}左右发放", "您的养老金从{year}年开始领取", "您这个月的养老金是{money}",
    "您的缴费年限一共是{years}年", "退休以后养老金每年都会调整", "我的养老金比同事少了{money}",
    "我想把{city}的养老保险转回老家", "补缴养老保险要提供{doc}",
    # medical insurance
    "我在{city}住院花了{money}，能报多少", "您的医保个人账户余额是{money}", "这次门诊报销了{money}",
    "我母亲在{city}住院，要先办异地备案", "医保卡在{city}的药店能不能用", "住院押金交了{money}",
    "报销需要发票原件和{doc}", "孩子出生后要在三个月内办医保", "您这次住院的起付线是{money}",
    # unemployment
    "我{date}离职的，能领失业金吗", "失业金每个月发{money}，一共领{num}个月",
    "领失业金要先办失业登记", "单位给我交了{years}年失业保险", "您的失业金已经发到社保卡上了",
    "我想报名参加{city}的职业培训", "培训结束以后可以领补贴{money}",
    # housing fund
    "我的公积金账户里有{money}", "我在{city}买房，能用公积金贷款吗", "租房提取公积金每个月最多{money}",
    "公积金提取以后{days}天到账", "我换了单位，公积金要怎么转", "您的公积金账户{year}年就封存了",
    "公积金贷款要提供{doc}和{doc2}", "我离开{city}了，公积金能不能全部取出来",
    # utilities
    "我家这个月的{bill}是{money}，比上个月多了好多", "我家{date}停电了，到现在还没来电",
    "{city}的燃气公司电话打不通", "我想预约燃气安全检查", "燃气表显示余额不足", "我家的水表好像坏了",
    "我刚搬家，水电燃气要过户", "您家的{bill}已经欠了{money}", "欠费超过{days}天会暂停供气",
    "{bill}可以在手机上直接缴纳", "您家的电表读数是{num}度", "阶梯电价第二档每度贵一点",
    "我们小区{date}停水，什么时候恢复", "您的{bill}缴费成功，金额是{money}",
    "我想开一张{bill}的发票", "{bill}为什么扣了两次",
    # broadband / telecom
    "我家的宽带从{date}开始就上不了网", "宽带报修以后师傅多久上门", "光猫的灯一直在闪",
    "我想把宽带移到新家", "您的宽带套餐每月{money}", "我想换一个便宜一点的手机套餐",
    "这个月的话费怎么扣了{money}", "维修师傅{date}上午上门", "您的宽带合约{year}年到期",
    "手机号尾号{digits}是我本人的", "我想给手机号{action}", "网速太慢了，看视频一直卡",
    # parcels
    "我的包裹{date}就发出了，到现在还没收到", "快递单号尾号是{digits}", "包裹显示已签收，可我没拿到",
    "我的快递在{city}转运中心停了{days}天", "我想把收件地址改到{city}", "快递员说{date}送过来",
    "包裹破了，里面的东西摔坏了", "丢件理赔最多能赔{money}", "我想预约明天上门取件",
    "您的包裹已经到{city}的快递网点了", "请您带上{doc}去网点取件",
    # bank cards
    "我的银行卡尾号{digits}被冻结了", "我的银行卡丢了，想马上挂失", "新卡要去银行柜台激活",
    "我想把转账限额调到{money}", "信用卡这期账单是{money}", "我想把这期账单分{num}期还",
    "卡片挂失以后{days}天可以补办新卡", "社保卡的金融功能要去银行激活", "我想{action}，要带什么",
    "您的银行卡尾号是{digits}，对吗", "密码输错三次卡就锁了",
    # near-misses of the keywords, inside sentences
    "我知道了，{date}我去{biz}办理", "这个我知道，上次已经问过了", "我知道您很着急",
    "办法总比困难多", "有办法的话请尽快处理", "办法很多，您可以先试试网上办",
    "这关系到我的{item}", "这跟{item}有关系吗", "工伤认定要先确认劳动关系",
    "没问题，我{date}把{doc}带过去", "没问题，工单已经提交了", "我写写清楚再发给你们",
    "我们谢绝推销电话", "下次再来{biz}办就行", "好久没交{bill}了", "我对得起这份工作",
    "您先别挂，我看一下", "请您耐心等一下结果", "麻烦您再说一遍{doc}上的名字",
    "感谢您的来电，祝您生活愉快", "不好意思，刚才信号不好", "那我明天再打过来",
    "问题已经记下来了", "还有一件事要问", "什么材料都要原件吗", "我没听清，您再说一遍",
    "我们会尽快给您答复", "这个事情不着急", "好的，我明白了", "这个政策我不太清楚",
    "我也说不好，您问问{biz}", "不见不散，{date}见面再谈",
    # more turns with several slots
    "{who}，您的{item}已经办结了", "{who}，您{date}来{biz}取一下{doc}", "{who}，您的{bill}还欠{money}",
    "我是{city}人，在{city2}上班，{item}在哪边办", "我{year}年在{city}参加工作", "我是{year}年退休的",
    "您的{doc}和{doc2}都要复印一份", "复印件上要写上仅供{item}使用", "我{date}去{biz}排了半天队",
    "网上显示{item}办理失败，原因是{doc}不清楚", "您重新上传一下{doc}的照片", "您可以关注{city}人社的公众号",
    "您在手机上搜索{city}政务服务就能找到", "您的来电我们已经录音", "您反映的{bill}问题已经转给{biz}",
    "{biz}的工作时间是早上九点到下午五点", "周末{biz}也有人值班", "您拨打的是{city}的服务热线",
    "这个月{bill}交了{money}，上个月才{money2}", "我家一共{num}口人，用水量不大",
    "我要投诉{biz}的工作人员态度不好", "您的投诉我们记下了，{days}天内给您答复", "您对这次服务满意吗",
    "满意请按一，不满意请按二", "我这边给您发一条短信，里面有{biz}的地址", "短信里有办理{item}的材料清单",
    "您的快递由{city}发往{city2}", "包裹预计{date}送达", "快递员的电话尾号是{digits}",
    "宽带师傅说要换光猫，收{money}", "您的手机号已经停机了，要先交{money}", "我要把{bill}改成自动扣款",
    "自动扣款要绑定本人的银行卡", "您的银行卡余额不足，扣款没有成功", "这笔{money}的退款会原路退回",
    "退款一般{days}个工作日到账", "您的医保报销款{date}打到社保卡上", "我{age}岁了，还能交城乡居民医保吗",
    "我在{city}打工{years}年了，想在这里买房", "您的公积金可以每年提取一次", "失业金领完以后医保怎么交",
)
# A second document slot, distinct words from the first.
SLOTS["doc2"] = SLOTS["doc"]

# Short look-alikes said alone (hard negatives). Not keywords, and not 你好 (a greeting).
CONFUSABLES: tuple[str, ...] = ("知道", "道歉", "办法", "关系", "没有", "再来", "还有", "写写",
                                "对的", "请坐", "稍微", "好久", "什么", "不对", "好的", "再说", "请进",
                                "没问题", "没错", "没有关联", "有关系吗", "关心", "没有结果", "不是", "不用",
                                "知道了", "有办法", "对不对", "请稍后", "等等", "在线", "还有别的",
                                "鞋子", "没空", "没听清", "想办法", "我知道", "办法很多", "关系到",
                                "有关系", "谢绝", "久仰", "请讲", "贵姓", "再说吧", "对得起", "不知不觉",
                                "没关心", "还有吗", "写信", "再会吧", "好多", "见面", "不要紧")

# ---------------------------------------------------------------------------------------
# Carrier phrases: per spoken form, (before, after) templates; "" means the keyword stands at
# an edge. Parts never contain a keyword or a banned look-alike.
CARRIER_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "您好": (
        ("", "，{who}，这边是{biz}"), ("", "，我是{city}的，想问一下{item}"), ("", "，我要反映一下{bill}的问题"), ("{who}，", "，打扰您几分钟"),
        ("", "，{city}社保服务热线，工号{num}为您服务"), ("", "，这里是{biz}客服中心"),
        ("", "，{city}公积金管理中心，请讲"), ("", "，工号{num}很高兴为您服务"), ("喂，", "，能听到我说话吗"),
        ("", "，您是{surname}先生吗"), ("{surname}女士，", "，我是{biz}的回访专员"),
        ("", "，欢迎致电{city}燃气服务热线"), ("", "，我的工号是{num}，您请讲"), ("喂，", "，我想咨询一下{item}"),
        ("", "，我的{doc}丢了怎么办"), ("", "，我要查一下{date}的{bill}"), ("", "，我家的宽带又断了"),
        ("", "，我是来问{item}的"), ("{surname}先生", "，我是{biz}的工作人员"), ("", "，是{surname}先生本人吗"),
        ("", "，刚才电话断了，我们接着说"), ("", "，我是{city}的参保人，想问点事"),
        ("喂喂，", "，听得见吗"), ("", "，我这边是{city}电力客服"), ("", "，我的包裹一直没送到"),
        ("", "，我姓{surname}，上次打过电话"), ("", "，您的来电已接通，请讲"), ("{surname}阿姨，", "，我是社区的"),
    ),
    "请问": (
        ("", "您贵姓，我好登记一下"), ("{who}，", "您的{doc}号码是多少"), ("", "您是在{city}缴的{bill}吗"), ("", "您{date}有空在家吗"), ("", "您的{item}是哪天提交的"),
        ("", "您的身份证号码是多少"), ("", "您在哪个城市参保"), ("", "是本人办理吗"),
        ("", "您是{surname}先生吗"), ("", "您办理的是{item}吗"), ("", "您手边有{doc}吗"),
        ("", "您是哪一年开始缴费的"), ("", "您的宽带账号尾号是多少"), ("", "您最后一次缴费是什么时候"),
        ("好的，", "您现在在{city}工作吗"), ("那", "您的单位是在{city}吗"),
        ("{surname}先生，", "您的手机尾号是{digits}吗"), ("我想", "一下{item}怎么办理"),
        ("", "一下，{item}需要什么材料"), ("", "一下，{biz}在哪里"), ("", "{item}要多长时间"),
        ("", "这个月的{bill}为什么这么高"), ("不好意思，", "您刚才说的是哪个城市"), ("", "您是要{action}吗"),
        ("", "，{date}能办好吗"), ("我还有一个问题想", ""), ("{surname}女士，我有件事想", ""),
        ("", "您的快递单号尾号是多少"), ("", "您家的户号是多少"), ("", "您方便接电话吗"),
    ),
    "帮您": (
        ("{who}，我", "查一下"), ("我", "看看{city}有没有网点"), ("我先", "把{doc}的信息登记上"), ("{who}，我这边", "预约{date}上门"),
        ("工号{num}，有什么可以", ""), ("这里是{biz}，有什么可以", ""), ("我", "查一下"),
        ("我来", "查询一下{item}的进度"), ("我这边", "登记一下"), ("我", "转接到{biz}"),
        ("我现在就", "提交申请"), ("", "查到了，您的{item}已经受理"), ("我", "把{doc}的信息核对一下"),
        ("我马上", "处理"), ("我这就", "预约上门服务"), ("我", "记录下来了，{date}之前会有人联系您"),
        ("我可以", "{action}"), ("", "把工单催办一下"), ("我先", "看一下{bill}的明细"),
        ("我这边", "申请加急处理"), ("需要我", "做些什么吗"), ("我", "改一下收件地址"),
        ("我", "把宽带报修单提交了"), ("请您别着急，我", "想想别的办法"), ("我", "问一下{city}那边"),
        ("我这就", "开一张{bill}的发票"), ("好的，我", "把{money}的退款申请提交上去"), ("我", "算一下能报多少"),
    ),
    "请稍等": (
        ("{who}，", ""), ("我查一下{item}，", ""), ("我看一下您的{doc}信息，", ""), ("您说的是{date}那笔{bill}吧，", ""),
        ("好的，", "，我给您查询一下"), ("", "，马上为您办理"), ("", "，我查一下{item}的进度"),
        ("", "，系统正在查询"), ("", "，我核对一下您的{doc}信息"), ("", "，我给您转接{biz}"),
        ("系统有点慢，", ""), ("我查一下，", ""), ("好的{surname}先生，", ""), ("您的信息我记下了，", ""),
        ("我去问一下同事，", ""), ("麻烦您", "，我看一下{date}的缴费记录"), ("请您不要挂机，", ""),
        ("", "，我看一下您这个月的{bill}"), ("", "，正在为您查询{city}的政策"), ("{surname}女士，您", "，我确认一下"),
        ("", "，不要挂断电话"), ("收到，", "，我调一下您的{item}记录"), ("这个问题需要查一下，", ""),
        ("", "，我查一下快递单号尾号{digits}的物流"), ("您", "，我把{money}这笔扣款查清楚"),
        ("好的，那您", "，我这就去问"),
    ),
    "久等": (
        ("{who}，", "了"), ("让您", "了，{item}的结果出来了"), ("让您", "了，您的{doc}已经寄出了"), ("排了这么久的队，让您", "了，{who}"),
        ("让您", "了，查询结果出来了"), ("真不好意思，让您", "了"), ("抱歉，让您", "了"), ("{surname}先生，让您", "了"),
        ("让您", "了，您的{item}已经办好了"), ("让您", "了，我查到了"), ("实在抱歉，让您", "了"),
        ("让您", "了，系统刚刚恢复"), ("", "了，{surname}女士，您还在线吗"), ("让您", "了，您{date}的{bill}是{money}"),
        ("不好意思，让您", "了，刚才系统有点卡"), ("让您", "了，{city}这边是可以办理的"),
        ("今天来电的人比较多，让您", "了"), ("线路比较繁忙，让您", "了"), ("让您", "了，我们接着说"),
        ("非常抱歉让您", "了，我这就为您处理"), ("您", "了，现在给您答复"), ("这么长时间才接通，让您", "了"),
        ("{surname}女士，让您", "了，结果是这样的"), ("让您", "了，包裹已经到{city}了"),
    ),
    "谢谢": (
        ("{who}，", "您"), ("", "{who}，我{date}就去办"), ("好的，", "，我去{biz}问问{item}"), ("", "，{item}的事终于办好了"), ("", "你们，{bill}已经退回来了"), ("我收到{money}了，", ""),
        ("", "您的耐心等待"), ("", "您的来电"), ("好的，", "您的配合"), ("", "您的理解和支持"),
        ("", "您的配合，{date}之前给您答复"), ("那就先这样，", ""), ("好的，我知道了，", ""), ("", "，我明白了"),
        ("", "你们，问题解决了"), ("", "，我{date}再去{biz}问问"), ("", "您对我们工作的支持"),
        ("{surname}先生，", "您的反馈"), ("", "，麻烦你们了"), ("问题已经解决了，", ""), ("太", "了，终于收到包裹了"),
        ("", "您提醒我，我马上去交{bill}"), ("好的好的，", "啊"), ("", "您这么晚还给我查"), ("非常", "您的耐心"),
        ("我的{doc}找到了，", ""), ("", "，那我{date}带{doc}过去"), ("行，", "，我记下了"),
    ),
    "对不起": (
        ("{who}，", ""), ("", "，{who}，刚才信号不好"), ("", "，您的{item}被退回了"), ("", "，我们把{bill}算错了"), ("", "，您的{doc}我们这边查不到"),
        ("", "，刚才没有听清"), ("", "，给您添麻烦了"), ("真是", "，给您带来不便了"), ("", "，系统正在维护"),
        ("", "，这个业务需要本人到{biz}办理"), ("", "，{city}这边暂时还不能网上办理"),
        ("", "，您的{item}还在审核当中"), ("", "，是我们工作的失误"), ("", "，我刚才说错了"),
        ("实在", "，您的包裹还在{city}转运中心"), ("", "，打扰您了"), ("{surname}女士，", "，账单有误，我们会退还{money}"),
        ("", "，您的{bill}确实多扣了"), ("", "，线路有杂音"), ("非常", "，是我们的问题"),
        ("", "，宽带维修师傅{date}才能上门"), ("我跟您说声", ""), ("这件事是我们处理得不好，", ""),
        ("", "，这个业务不在我们受理范围"), ("{surname}先生，", "，我把您的名字写错了"),
    ),
    "再见": (
        ("{who}，咱们下次", ""), ("好的{who}，{date}见，", ""), ("那您{date}带上{doc}过来，", ""), ("祝您{item}顺利办好，", ""), ("我去{biz}问问看，", ""),
        ("感谢您的来电，", ""), ("好的，那就这样，", ""), ("祝您生活愉快，", ""), ("", "，欢迎再次来电"),
        ("那我先挂了，", ""), ("好的{surname}先生，", ""), ("问题都解决了，", ""), ("没别的事了，", ""),
        ("祝您身体健康，", ""), ("那就不打扰您了，", ""), ("", "，祝您一切顺利"), ("", "，有问题随时来电"),
        ("行，我{date}去{biz}办，", ""), ("好的我记下了，", ""), ("", "，记得{date}之前带上{doc}"),
        ("感谢您对{biz}的支持，", ""), ("{surname}女士，祝您周末愉快，", ""), ("那就{date}见面再说，", ""),
    ),
    "还有什么": (
        ("{who}，", "要问的吗"), ("{item}", "要注意的吗"), ("除了{bill}，", "要交的吗"), ("去{biz}办", "要带的吗"), ("关于{item}，您", "不明白的吗"),
        ("您", "其他问题吗"), ("", "需要咨询的吗"), ("", "可以为您做的吗"), ("您看", "不清楚的地方吗"),
        ("{surname}先生，您", "需要了解的吗"), ("", "要补充的吗"), ("您", "其他业务需要办理吗"),
        ("除了{item}，您", "要问的吗"), ("我", "材料需要准备"), ("办理{item}", "要求"), ("你们", "别的办法"),
        ("除了{doc}，", "要带的吗"), ("", "别的要问的吗"), ("", "问题您可以随时打过来"), ("那您", "不满意的地方"),
        ("关于{bill}，您", "疑问吗"), ("您在{city}", "其他业务吗"), ("宽带套餐", "优惠活动吗"),
        ("好的，", "需要登记的吗"), ("我想知道", "手续没办完"),
    ),
    "不知道": (
        ("{who}，这个我", ""), ("我", "{item}要去哪里办"), ("我也", "{biz}几点下班"), ("", "{date}能不能到账"), ("我真", "{bill}怎么交"), ("我", "自己在{city}交没交社保"),
        ("这个我", ""), ("我也", "怎么办"), ("", "，你自己去问吧"), ("我真的", "这个政策"),
        ("我", "我的{doc}放在哪里了"), ("", "你说的是什么意思"), ("", "{item}怎么办理"), ("我们这边", "{city}的政策"),
        ("", "包裹到哪里了"), ("我", "为什么这个月{bill}这么高"), ("", "，系统上查不到"), ("这种情况我", ""),
        ("", "，你问{biz}去"), ("我也", "什么时候能到账"), ("具体的我", "，你等通知吧"), ("我", "要准备哪些材料"),
        ("", "宽带什么时候能修好"), ("这个事情我们", ""), ("你问我我也", ""), ("", "密码是多少了"),
    ),
    "没办法": (
        ("{who}，这个", ""), ("", "，{item}必须在{city}办"), ("我们", "给你退{money}"), ("{bill}交晚了也", ""), ("", "，{date}之前系统不开放"), ("没有{doc}我们也", ""),
        ("这个我们也", ""), ("", "，系统就是这样"), ("我们", "给你处理"), ("技术上的问题，我们也", ""),
        ("", "，政策就是这么规定的"), ("", "，你只能去{city}办"), ("超过期限了，", "补缴"), ("", "，必须本人带{doc}来"),
        ("我们这边", "给你改"), ("", "，{date}之前办不了"), ("这个月的{bill}", "退"), ("", "，快递已经签收了"),
        ("现在", "给你加急"), ("我们也", "，你自己想想吧"), ("", "，这个要找{biz}"), ("", "，规定就是规定"),
        ("{item}我们", "受理"), ("这个", "查到"), ("我真的", "了"), ("没有{doc}就", "办理"),
    ),
    "没关系": (
        ("{who}，", ""), ("", "，{who}，您说"), ("", "，{item}晚几天办也行"), ("", "，{doc}可以后面再补"), ("", "，{date}再来办也可以"), ("这和{bill}", ""),
        ("这件事与我", ""), ("那跟我们", ""), ("这个和我们部门", ""), ("跟我", "，你找别人"), ("", "，您慢慢说"),
        ("", "，您再找找{doc}"), ("", "，我们{date}再联系"), ("", "，您不用着急"), ("{bill}的事跟我们", ""),
        ("包裹丢了跟我们", ""), ("", "，这个问题很常见"), ("", "，您想好了再打过来"), ("那是{biz}的事，跟我们", ""),
        ("", "，重新办理一下就可以"), ("这和您的{item}", ""), ("", "，不用道歉"), ("", "，听不清我再说一遍"),
        ("其实", "，晚几天交费也可以"), ("这个跟{city}的政策", ""), ("{surname}女士，", "，慢慢来"),
    ),
}

FILLS_PER_TEMPLATE = 40     # fill attempts per negative template
FILLS_PER_CARRIER = 20      # fill attempts per carrier template


@dataclass(frozen=True)
class Utterance:
    segments: tuple[str, ...]       # text pieces, synthesized separately and joined
    keyword_segment: int | None     # index of the keyword segment, if any
    label: str                      # keyword label or FILLER


# ---------------------------------------------------------------------------------------
# Generation and the held-out split
def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def held_out_ids(ids: list[str] | tuple[str, ...]) -> frozenset[str]:
    """One template in HELD_OUT_EVERY, ranked by a stable hash of its id (never hash())."""
    ranked = sorted(set(ids), key=lambda i: (_stable_hash(i), i))
    return frozenset(i for rank, i in enumerate(ranked) if rank % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)


def _fill(template: str, rng: random.Random) -> str:
    names = re.findall(r"\{(\w+)\}", template)
    values = {name: SLOTS[name](rng) for name in names}
    if "doc2" in values:
        values["doc2"] = rng.choice([d for d in DOCUMENTS if d != values.get("doc")])
    return template.format(**values)


def han_chars(text: str) -> int:
    return len(_HAN.findall(text))


def _clean(text: str) -> bool:
    return not any(word in text for word in BANNED)


@dataclass(frozen=True)
class _Source:
    id: str                                  # template id (the split key)
    held_out: bool
    items: tuple[tuple[str, ...], ...]       # negatives: (text,); carriers: (before, after)


def _expand(template_id: str, parts: tuple[str, ...], attempts: int) -> list[tuple[str, ...]]:
    rng = random.Random(_stable_hash(template_id))
    seen: dict[tuple[str, ...], None] = {}
    for _ in range(attempts if "{" in "".join(parts) else 1):
        seen[tuple(_fill(part, rng) for part in parts)] = None
    return list(seen)


@functools.lru_cache(maxsize=1)
def _negative_sources() -> tuple[_Source, ...]:
    ids = [f"neg:{s}" for s in NEGATIVE_SENTENCES] + [f"tpl:{t}" for t in NEGATIVE_TEMPLATES]
    held = held_out_ids(ids)
    out = []
    for template_id in ids:
        template = template_id.split(":", 1)[1]
        filled = _expand(template_id, (template,), FILLS_PER_TEMPLATE)
        items = tuple((t,) for (t,) in filled if _clean(t) and MIN_CHARS <= han_chars(t) <= MAX_CHARS)
        out.append(_Source(template_id, template_id in held, items))
    return tuple(out)


def _sentence_ok(form: str, before: str, after: str) -> bool:
    text = before + form + after
    occurrences = sum(text.count(f) for f in FORMS)
    return (_clean(before) and _clean(after) and occurrences == 1
            and MIN_CHARS <= han_chars(text) <= MAX_CHARS)


@functools.lru_cache(maxsize=1)
def _carrier_sources() -> dict[str, tuple[_Source, ...]]:
    """Spoken form -> carrier sources; the split is made per form."""
    out = {}
    for form, templates in CARRIER_TEMPLATES.items():
        ids = [f"{form}:{before}|{after}" for before, after in templates]
        held = held_out_ids(ids)
        sources = []
        for template_id, (before, after) in zip(ids, templates, strict=True):
            filled = _expand(template_id, (before, after), FILLS_PER_CARRIER)
            items = tuple(pair for pair in filled if _sentence_ok(form, *pair))
            sources.append(_Source(template_id, template_id in held, items))
        out[form] = tuple(sources)
    return out


def _confusables(held_out: bool) -> list[str]:
    held = held_out_ids(CONFUSABLES)
    return [c for c in CONFUSABLES if (c in held) == held_out]


def _split_sources(sources: tuple[_Source, ...], held_out: bool) -> list[_Source]:
    return [s for s in sources if s.held_out == held_out and s.items]


# Concrete carriers per keyword label (all forms of the label), for counting and reference.
CARRIERS: dict[str, list[tuple[str, ...]]] = {
    label: [pair for form in forms for source in _carrier_sources()[form] for pair in source.items]
    for label, forms in KEYWORDS.items()
}


def service_sentences() -> tuple[str, ...]:
    """Every generated keyword-free sentence (train and held-out templates)."""
    hand = set(NEGATIVE_SENTENCES)
    return tuple(dict.fromkeys(text for source in _negative_sources() for (text,) in source.items
                               if text not in hand))


def keyword_utterances(rng: random.Random, per_keyword: int, *, held_out: bool = False) -> list[Utterance]:
    out = []
    for label, forms in KEYWORDS.items():
        for i in range(per_keyword):
            form = forms[i % len(forms)]
            if i % 4 == 0:  # alone
                out.append(Utterance((form,), 0, label))
                continue
            source = rng.choice(_split_sources(_carrier_sources()[form], held_out))
            before, after = rng.choice(source.items)
            segments = tuple(s for s in (before, form, after) if s)
            out.append(Utterance(segments, 1 if before else 0, label))
    return out


def negative_utterances(rng: random.Random, count: int, *, held_out: bool = False) -> list[Utterance]:
    out = []
    confusables = _confusables(held_out)
    sources = _split_sources(_negative_sources(), held_out)
    for _ in range(count):
        # a third short look-alikes; drawn per item so that count=1 (the false-alarm stream)
        # also gets whole sentences
        if rng.random() < 1 / 3:
            text = rng.choice(confusables)
        else:
            text = rng.choice(rng.choice(sources).items)[0]
        out.append(Utterance((text,), None, FILLER))
    return out


def _sentences(held_out: bool | None) -> list[str]:
    out = [before + form + after for form, sources in _carrier_sources().items() for source in sources
           if held_out is None or source.held_out == held_out for before, after in source.items]
    out += [text for source in _negative_sources() if held_out is None or source.held_out == held_out
            for (text,) in source.items]
    return list(dict.fromkeys(out))


def rate_sentences(*, held_out: bool = False) -> list[str]:
    """Whole sentences for the rate model (keywords included: agents say them), from the
    train or the held-out templates."""
    return _sentences(held_out)


def all_sentences() -> list[str]:
    """Every full sentence the corpus can say (for counting and the model card)."""
    return _sentences(None)


def fingerprint() -> str:
    """Changes whenever the text changes, so cached data sets are rebuilt."""
    parts = [*LABELS, *CONFUSABLES]
    for held_out in (False, True):
        parts += [f"split={held_out}", *rate_sentences(held_out=held_out), *_confusables(held_out)]
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------------------
# Validator
SEED_SCRIPTS = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_77c60d4c460aea64.txt"
SEED_CLAUSE_CHARS = 6     # a corpus clause this long found verbatim in the seed scripts is a copy


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[^\u4e00-\u9fff]+", text) if c]


def seed_copies(seed_text: str, sentences: list[str] | None = None) -> list[str]:
    """Corpus sentences with a clause of SEED_CLAUSE_CHARS+ Han characters copied from the
    reserved hotline scripts."""
    seed = "".join(_HAN.findall(seed_text))
    sentences = all_sentences() if sentences is None else sentences
    return [s for s in sentences
            if any(len(c) >= SEED_CLAUSE_CHARS and c in seed for c in _clauses(s))]


def validate(seed_path: Path | None = SEED_SCRIPTS) -> list[str]:
    """Problems with the corpus (empty when it is sound)."""
    problems = []
    negatives = [*CONFUSABLES, *(t for s in _negative_sources() for (t,) in s.items)]
    problems += [f"keyword-free text contains a keyword or look-alike: {t}" for t in negatives if not _clean(t)]
    sentences = all_sentences()
    problems += [f"not only Han characters and ，。？！: {t}" for t in [*sentences, *CONFUSABLES]
                 if not _TEXT.match(t)]
    problems += [f"length outside {MIN_CHARS}-{MAX_CHARS}: {t}" for t in sentences
                 if not MIN_CHARS <= han_chars(t) <= MAX_CHARS]
    for form, sources in _carrier_sources().items():
        for source in sources:
            if not source.items:
                problems.append(f"carrier template yields nothing: {source.id}")
            for before, after in source.items:
                if not _sentence_ok(form, before, after):
                    problems.append(f"bad carrier for {form}: {before}|{after}")
        for held_out in (False, True):
            if not _split_sources(sources, held_out):
                problems.append(f"{form}: no {'held-out' if held_out else 'train'} carrier templates")
    for held_out in (False, True):
        utts = keyword_utterances(random.Random(0), 40, held_out=held_out)
        for u in utts:
            if u.keyword_segment is None or u.segments[u.keyword_segment] not in KEYWORDS[u.label]:
                problems.append(f"keyword segment is not a spoken form of {u.label}: {u.segments}")
            elif sum("".join(u.segments).count(f) for f in FORMS) != 1:
                problems.append(f"more than one keyword in {u.segments}")
        for u in negative_utterances(random.Random(0), 60, held_out=held_out):
            if not _clean("".join(u.segments)) or u.keyword_segment is not None:
                problems.append(f"bad negative utterance {u.segments}")
    groups = [_negative_sources(), *_carrier_sources().values()]
    for sources in groups:
        train = {s.id for s in sources if not s.held_out}
        held = {s.id for s in sources if s.held_out}
        if train & held or not train or not held:
            problems.append(f"train/held-out templates overlap or one side is empty: {sorted(train & held)}")
    leaked = set(rate_sentences(held_out=False)) & set(rate_sentences(held_out=True))
    problems += [f"sentence in both train and held-out: {t}" for t in sorted(leaked)]
    if set(_confusables(False)) & set(_confusables(True)):
        problems.append("confusables overlap between train and held-out")
    if seed_path is not None and seed_path.exists():
        problems += [f"copied from the reserved seed scripts: {s}"
                     for s in seed_copies(seed_path.read_text(encoding="utf-8"), sentences)]
    return problems
