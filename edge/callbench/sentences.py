"""What the benchmark's agents and callers say: text the models never trained on.

Two sources, both kept apart from the training sentences:

- the real hotline scripts in `shared/seeds/000_77c60d4c460aea64.txt` (reserved for
  evaluation: the corpus validator checks no training sentence copies them). Their quoted
  service phrases ("您好，请问有什么可以帮到您?", "对不起，请再稍等一下", ...) are read at
  generation time, placeholders (XX先生, ××号) filled and alternatives (先生/女士) chosen;
- the corpus's held-out templates (seatwatch.models.synth.corpus, `held_out`): keyword-free service
  sentences, and carrier sentences around each keyword.

Without the seed file (a checkout outside the project tree) the pools fall back to the
held-out corpus alone; `Pools.seed_lines` says which it was. A few short caller replies
(好的。嗯。没有了。) are written here: no model judges the caller's words.
"""

from __future__ import annotations

import functools
import importlib
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The training corpus, imported by name: `mypy edge` then leaves the training code's own
# typing to the models package instead of following it from here.
corpus: Any = importlib.import_module("seatwatch.models.synth.corpus")

SEED_SCRIPTS = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_77c60d4c460aea64.txt"

FORBIDDEN_FORMS = ("不知道", "没办法", "没关系")
# Spoken variants of a taboo phrase that the reserved scripts quote as taboo themselves
# (N4: 不能说“这是技术部门的事，我们也没有办法”): a line with one is a forbidden_phrase,
# never a neutral service line (与我没关系 holds 没关系 already).
TABOO_VARIANTS = {"没办法": ("没有办法",)}
TABOO_FORMS = FORBIDDEN_FORMS + tuple(v for forms in TABOO_VARIANTS.values() for v in forms)
CLOSING_FORMS = ("还有什么", "谢谢", "再见")
HOLD_FORMS = ("请稍等", "久等")
GREETING_FORM = "您好"
_KEEP = re.compile(r"[^\u4e00-\u9fff，。？！]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_QUOTE = re.compile(r"[“\"]([^”\"\n]{2,80})[”\"]")

# Short caller turns (the caller's words are heard by nobody but the VAD).
CALLER_ACKS = ("好的。", "嗯，好的。", "行，明白了。", "好，我记下了。", "嗯。", "对，是的。", "哦，这样啊。")
CALLER_BACKCHANNELS = ("嗯。", "对。", "好。", "是的。")
CALLER_DONE = ("没有了，谢谢。", "没有了。", "没别的了，谢谢啊。", "就这些，谢谢。")
CALLER_BYE = ("好的，谢谢，再见。", "好，再见。", "行，那我先挂了。")
CALLER_HELLO = ("喂，你好？", "喂，喂？", "你好，是热线吗？", "喂，你好，能听到吗？")
TRANSFERS = ("这个业务要由{biz}办理，我给您转过去，请稍等。", "好的，我把电话给您转到{biz}，请稍等。")
CALLER_TRANSFERRED = ("喂，刚才那边把我转过来的，", "你好，他们说这个问题要转到你这里，")


def han_chars(text: str) -> int:
    return len(_HAN.findall(text))


def has_any(text: str, forms: tuple[str, ...]) -> bool:
    return any(form in text for form in forms)


def keyword_free(text: str) -> bool:
    """No keyword's spoken form, no look-alike of one (corpus.BANNED), no taboo variant."""
    return not has_any(text, corpus.BANNED) and not has_any(text, TABOO_FORMS)


def _fill_placeholders(text: str, rng: random.Random) -> str:
    surname = rng.choice(corpus.SURNAMES)
    text = re.sub(r"[XＸ×x*]+先生/(女士|小姐)", lambda m: surname + rng.choice(("先生", m.group(1))), text)
    text = re.sub(r"[XＸ×x*]+先生", surname + "先生", text)
    text = re.sub(r"[XＸ×x*]+(服务热线|客服中心|中燃)",
                  lambda m: rng.choice(corpus.CITIES) + m.group(1).replace("中燃", "燃气"), text)
    text = re.sub(r"[XＸ×x*]+部门", rng.choice(corpus.BUSINESSES), text)
    text = re.sub(r"[XＸ×x*]+号", corpus.han_number(rng.randint(1, 99)) + "号", text)
    text = re.sub(r"[XＸ×x*]+", rng.choice(corpus.SURNAMES) + "女士", text)
    text = text.replace("中燃", "燃气")
    text = re.sub(r"\([^)]*\)|（[^）]*）", "", text)          # (询问), (编): one reading
    text = re.sub(r"/[\u4e00-\u9fff]{1,2}", "", text)          # 先生/小姐 -> 先生
    text = text.replace("?", "？").replace("!", "！").replace(",", "，").replace(".", "。")
    text = text.replace("…", "").replace("、", "，").replace(" ", "")
    text = _KEEP.sub("", text)
    text = re.sub(r"([？！])。", r"\1", text.strip("，"))
    return re.sub(r"，+$", "。", text)


@functools.lru_cache(maxsize=4)
def seed_lines(path: Path = SEED_SCRIPTS) -> tuple[str, ...]:
    """The quoted service phrases of the reserved scripts, placeholders filled (stable)."""
    if not path.exists():
        return ()
    rng = random.Random("seed-lines")
    out: dict[str, None] = {}
    for quoted in _QUOTE.findall(path.read_text(encoding="utf-8")):
        if re.search(r"…+[^…。，!！?？\s]", quoted):
            continue            # "您是想了解……的信息": a template with a gap, not a line
        for raw in re.split(r"[“”\"]?或者[“”\"]?", quoted):      # "A"或者"B": two lines
            text = _fill_placeholders(raw, rng)
            # slogans and word lists (您好、请、谢谢) are not lines anybody says on a call
            if han_chars(text) >= 4 and has_any(text, ("您", "我", "请", "对不起", *TABOO_FORMS)) \
                    and "，请，" not in text:
                out[text] = None
    return tuple(out)


def _held_out_negatives() -> list[str]:
    return [text for source in corpus._negative_sources() if source.held_out for (text,) in source.items]


def _held_out_carriers(form: str) -> list[str]:
    return [before + form + after for source in corpus._carrier_sources()[form] if source.held_out
            for before, after in source.items]


def _stop(text: str) -> str:
    return text if text[-1] in "。？！" else text + ("？" if text.endswith(("吗", "呢")) else "。")


@dataclass(frozen=True)
class Pools:
    greetings: tuple[str, ...]          # agent first turn with 您好
    greetings_bare: tuple[str, ...]     # ... the same service opening without 您好 (a violation)
    agent: tuple[str, ...]              # agent service sentences, keyword-free
    agent_polite: tuple[str, ...]       # agent service sentences with a polite word (谢谢, 对不起, 请问)
    caller: tuple[str, ...]             # caller questions and statements
    caller_hello: tuple[str, ...]       # a caller who speaks first
    hold_start: tuple[str, ...]         # announcing a wait: contains 请稍等
    checkin: tuple[str, ...]            # during a wait: 对不起 / 久等 / 请稍等
    resume: tuple[str, ...]             # back from a wait, with 久等
    unannounced: tuple[str, ...]        # going quiet to look something up, no hold keyword
    closing_ask: tuple[str, ...]        # 还有什么
    closing_bye: tuple[str, ...]        # 再见 (and mostly 谢谢)
    transfer: tuple[str, ...]           # handing the caller to another desk
    forbidden: tuple[str, ...]          # 不知道 / 没办法 / 没关系
    babble: tuple[str, ...]             # colleagues on the floor, keyword-free
    seed_lines: int                     # lines taken from the reserved scripts (0: fallback)


@functools.lru_cache(maxsize=4)
def pools(seed_path: Path = SEED_SCRIPTS) -> Pools:
    lines = [_stop(t) for t in seed_lines(seed_path)]
    negatives = [_stop(t) for t in _held_out_negatives()]
    agent_neg = [t for t in negatives if "您" in t and not t.startswith("我")]
    caller_neg = [t for t in negatives if t.startswith("我") or ("我" in t and "您" not in t)]
    carriers = {form: [_stop(t) for t in _held_out_carriers(form)] for form in corpus.FORMS}

    greet_seed = [t for t in lines if GREETING_FORM in t and has_any(t, ("请问", "为您服务", "请讲", "热线"))]
    greet_corpus = [t for t in carriers["您好"] if has_any(t, ("热线", "为您服务", "工号", "请讲", "客服"))]
    greetings = greet_seed + greet_corpus
    if len(greetings) < 4:     # the fallback: the held-out 您好 carriers spoken by an agent
        greetings += [t for t in carriers["您好"] if "您" in t.replace("您好", "", 1)][:20]
    bare = [g.replace("您好，", "").replace("您好！", "").replace("您好", "") for g in greetings]
    bare = [b for b in bare if han_chars(b) >= 5 and GREETING_FORM not in b]

    service_seed = [t for t in lines if keyword_free(t) and han_chars(t) >= 6]
    agent = service_seed + agent_neg
    polite_seed = [t for t in lines if not has_any(t, (*TABOO_FORMS, *HOLD_FORMS, GREETING_FORM,
                                                         "还有什么", "再见"))
                   and has_any(t, ("谢谢", "对不起", "请问", "帮您"))]
    polite_corpus = [t for form in ("对不起", "请问", "帮您") for t in carriers[form] if "您" in t]
    hold_start = [t for t in lines if "请稍等" in t and "转" not in t] + carriers["请稍等"]
    checkin_seed = [t for t in lines if has_any(t, ("久等", "再稍等", "请稍等")) and "转" not in t]
    checkin = [t for t in checkin_seed + carriers["久等"] + [t for t in hold_start if t.startswith("我正在")]
               if not has_any(t, ("结果", "答复", "接着说"))]     # still waiting, not back
    resume = [t for t in checkin_seed if "久等" in t] + carriers["久等"]
    closing_ask = [t for t in lines if "还有什么" in t] + [
        t for t in carriers["还有什么"] if has_any(t, ("要问的吗", "您还有什么", "还有什么别的"))]
    closing_bye = [t for t in lines if "再见" in t] + [
        t for t in carriers["再见"] if not t.startswith(("行，我", "我"))]
    # handing over: the scripts' own line, else held-out 请稍等 carriers that transfer
    transfer = [t for t in lines if "转" in t and "请稍等" in t] + \
        [t for t in carriers["请稍等"] if "转接" in t] + [t.format(biz=biz) for biz in corpus.BUSINESSES
                                                      for t in TRANSFERS]
    forbidden = [t for t in lines if has_any(t, TABOO_FORMS)] + \
        [t for form in FORBIDDEN_FORMS for t in carriers[form]]
    unannounced = ("我查一下。", "我看一下系统。", "我这边查询一下。", "我翻一下记录。")
    babble = [t for t in negatives if keyword_free(t)]
    return Pools(
        greetings=tuple(dict.fromkeys(greetings)), greetings_bare=tuple(dict.fromkeys(bare)),
        agent=tuple(dict.fromkeys(agent)), agent_polite=tuple(dict.fromkeys(polite_seed + polite_corpus)),
        caller=tuple(dict.fromkeys(caller_neg)), caller_hello=CALLER_HELLO + tuple(
            t for t in carriers["您好"] if t.startswith("您好，我") and "工号" not in t),
        hold_start=tuple(dict.fromkeys(hold_start)), checkin=tuple(dict.fromkeys(checkin)),
        resume=tuple(dict.fromkeys(resume)), unannounced=unannounced,
        closing_ask=tuple(dict.fromkeys(closing_ask)), closing_bye=tuple(dict.fromkeys(closing_bye)),
        transfer=tuple(dict.fromkeys(transfer)), forbidden=tuple(dict.fromkeys(forbidden)),
        babble=tuple(dict.fromkeys(babble)), seed_lines=len(lines))
