"""Event types and their evidence in words: the one table the console's screens read.

Every alert is shown as a plain-language label with the norm it enforces next to it
("Caller waiting without a check-in (N7)"), and its `data` as evidence a supervisor can
read ("waited in silence: 18.2 s", "window: 00:12.0-01:15.3 into the call"). The keys
are those the edge's rules put in `data` (edge/rules/*.py, docs/norms.md, docs/events.md);
a key this table does not know is still shown, by its name and a unit read from its
suffix. Everything here is plain text, never markup, and never raises: `data` comes from
the wire and may hold anything the schema allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Kind:
    label: str
    """Plain words; `{keyword}` is filled from the event's data."""
    norm: str | None
    """The norm row (docs/norms.md) or the family: N1..N15, hearing, device, help button."""
    act: str = ""
    """What a supervisor should do about it (docs/norms.md, "Act on")."""


# Event type -> label, norm, what to do. The only place the console names event types.
KINDS: dict[str, Kind] = {
    "answer_late": Kind("Answered late", "N1", "The call rang too long before the agent answered."),
    "greeting_missing": Kind("No greeting", "N2",
                             "The agent did not open with the greeting (您好，××号为您服务)."),
    "forbidden_phrase": Kind("Taboo phrase: {keyword}", "N4",
                             "A service taboo phrase: listen in or coach the agent."),
    "speech_rate_high": Kind("Speaking too fast", "N5",
                             "Too fast for a caller to follow over a minute of speech: coach the agent."),
    "speech_rate_low": Kind("Speaking too slowly", "N5",
                            "Too slow over a minute of speech: coach the agent."),
    "agent_volume_high": Kind("Agent too loud", "N6",
                              "Check the mic boom position and gain, or coach the agent."),
    "agent_volume_low": Kind("Agent too quiet", "N6",
                             "Check the mic boom position, mute and gain, or coach the agent."),
    "hold_checkin_missed": Kind("Caller waiting without a check-in", "N7",
                                "The caller waited in silence too long: the agent should check in "
                                "(对不起，请再稍等一下) or announce a long lookup."),
    "overtalk": Kind("Interrupted the caller", "N8", "The agent talked over the caller."),
    "dead_air": Kind("Dead air", "N9",
                     "The caller spoke and got silence: the agent may be stuck or not attending."),
    "call_too_long": Kind("Call over the time target", "N10",
                          "A call past the soft target: see whether the agent needs help."),
    "closing_missing": Kind("No closing", "N11",
                            "The agent let the call end without the closing (还有什么能帮到您? 再见)."),
    "agent_hung_up_first": Kind("Agent hung up first", "N12", "The agent hung up on the caller."),
    "agent_tone_strained": Kind("Strained tone", "N13", "The agent sounds impatient or upset."),
    "earpiece_exposure": Kind("Loud earpiece: daily noise dose", "hearing",
                              "Hearing safety: lower the earpiece volume or give the agent a break."),
    "acoustic_shock": Kind("Acoustic shock in the earpiece", "hearing",
                           "A sudden loud sound reached the agent's ear: check on the agent."),
    "assist_requested": Kind("Agent asks for help", "help button",
                             "The agent pressed the help button: go to the seat or listen in."),
    "device_fault": Kind("Device fault", "device",
                         "The seat's headset device is not reporting normally: call a technician."),
    "call_started": Kind("Call started", "N15"),
    "call_ended": Kind("Call ended", "N15"),
}

# Forbidden keyword labels (models/kws.json, policies/*.toml [forbidden]) in English.
KEYWORD_MEANING: dict[str, str] = {
    "不知道": "I don't know",
    "没办法": "nothing I can do",
    "没关系": "not my business",
    "不归我管": "not my job",
}

KEYWORD_CELLS = 20          # a keyword label longer than this is cut in a label


def norm_of(event_type: str) -> str | None:
    kind = KINDS.get(event_type)
    return None if kind is None else kind.norm


def words(event_type: str, data: Any = None, meaning: bool = True) -> str:
    """The label without its norm: "Taboo phrase: 不知道 “I don't know”" (`meaning`: with
    the keyword's English meaning)."""
    kind = KINDS.get(event_type)
    if kind is None:
        return event_type.replace("_", " ").capitalize() or "?"
    if "{keyword}" not in kind.label:
        return kind.label
    keyword = data.get("keyword") if isinstance(data, dict) else None
    if not isinstance(keyword, str) or not keyword.strip():
        return kind.label.replace(": {keyword}", "").replace("{keyword}", "")
    shown = keyword if len(keyword) <= KEYWORD_CELLS else keyword[:KEYWORD_CELLS - 1] + "…"
    english = KEYWORD_MEANING.get(keyword) if meaning else None
    if english:
        shown += f" “{english}”"
    return kind.label.replace("{keyword}", shown)


def label(event_type: str, data: Any = None) -> str:
    """The alert as a supervisor reads it: "Caller waiting without a check-in (N7)"."""
    norm = norm_of(event_type)
    text = words(event_type, data)
    return text if norm is None else f"{text} ({norm})"


def fit(event_type: str, data: Any, width: int, extra: str = "") -> str:
    """`label` in at most `width` cells (wide CJK characters count two), cutting the words,
    never the norm or `extra` (a "+2" of other alerts)."""
    keyword = data.get("keyword") if isinstance(data, dict) else None
    return _fit(event_type, keyword if isinstance(keyword, str) else None, width, extra)


@lru_cache(maxsize=4096)
def _fit(event_type: str, keyword: str | None, width: int, extra: str) -> str:
    """Cached: every seat row and feed row is built again on every redraw."""
    from rich.cells import cell_len

    data = None if keyword is None else {"keyword": keyword}
    norm = norm_of(event_type)
    tail = (f" ({norm})" if norm else "") + extra
    for shown in (words(event_type, data), words(event_type, data, meaning=False),
                  words(event_type, None)):
        if cell_len(shown + tail) <= width:
            return shown + tail
    room = max(1, width - cell_len(tail) - 1)
    while shown and cell_len(shown) > room:
        shown = shown[:-1]
    return shown.rstrip() + "…" + tail


# --- evidence ---------------------------------------------------------------------------

def real(value: Any) -> float:
    """A finite number, or TypeError (a bool, a string, NaN are no reading)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def number(value: Any, digits: int = 1) -> str:
    """8.0 -> "8", 0.75 -> "0.8" (digits=1), never "1e+06"."""
    rounded = round(real(value), digits)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.{digits}f}"


def seconds(value: Any) -> str:
    return f"{number(value)} s"


def in_call(value: Any) -> str:
    """Seconds from off-hook as a position in the call: 75.3 -> "01:15.3"."""
    at = max(0.0, real(value))
    return f"{int(at) // 60:02d}:{at % 60:04.1f}"


def unit(suffix: str, digits: int = 1) -> Callable[[Any], str]:
    return lambda value: f"{number(value, digits)} {suffix}"


def dbfs(value: Any) -> str:
    return f"{real(value):.1f} dBFS"


def text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise TypeError(f"not a scalar: {value!r}")
    return plain(value)


def choice(**names: str) -> Callable[[Any], str]:
    return lambda value: names.get(text(value)) or text(value).replace("_", " ")


def yes_no(yes: str, no: str) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if not isinstance(value, bool):
            raise TypeError(f"not a bool: {value!r}")
        return yes if value else no
    return read


Format = Callable[[Any], str]

# Evidence key -> (what it is, how its value reads). `None` as the name hides the key
# (it is shown with another: the end of a window beside its start).
KEYS: dict[str, tuple[str | None, Format]] = {
    # N6 volume
    "dbfs": ("active speech level", dbfs),
    "limit_dbfs": ("limit", dbfs),
    "hysteresis_db": ("hysteresis", unit("dB")),
    "speech_s": ("agent speech judged", seconds),
    "headset": ("headset", text),
    # N5 rate
    "cpm": ("speaking rate", unit("characters/min")),
    "limit_cpm": ("limit", unit("cpm")),
    "tolerance_cpm": ("tolerance", lambda v: f"± {number(v)} cpm"),
    # windows (seconds from off-hook)
    "window_from_s": ("window", in_call),
    "window_to_s": (None, in_call),
    # N7 holds
    "reason": ("reason", choice(no_checkin="no check-in while the caller waited",
                                not_announced="long hold without a progress notice")),
    "silent_s": ("waited in silence", seconds),
    "interval_s": ("check-in due every", seconds),
    "tolerance_s": ("tolerance", lambda v: f"+{seconds(v)}"),
    "announced": ("hold", yes_no("announced by the agent (请稍等)",
                                 "not announced: found from the line")),
    "hold_s": ("on hold for", seconds),
    "wait_from_s": ("waiting since", in_call),
    "caller_speech_s": ("caller spoke meanwhile", seconds),
    "notice_by_s": ("notice due by", seconds),
    "hold_from_s": ("hold since", in_call),
    # N8 overtalk
    "overlap_s": ("both talking", seconds),
    "started_by": ("started by", choice(agent="the agent", caller="the caller")),
    "caller_turn_s": ("caller had been speaking", seconds),
    "cut_in_s": ("cut in at", in_call),
    # N9 dead air, N10 call length
    "silence_s": ("silence", seconds),
    "from_s": ("silent since", in_call),
    "duration_s": ("call length", seconds),
    "limit_s": ("limit", seconds),
    # N2 greeting, N11 closing
    "within_s": ("greeting due within", seconds),
    "keywords": ("listened for", text),
    "caller_first": ("who spoke first", yes_no("the caller", "the agent (or nobody)")),
    "first_turn_s": ("agent's first turn at", in_call),
    "deadline_s": ("deadline", in_call),
    "end": ("call ended by", choice(caller_hung_up="the caller hanging up",
                                    on_hook="the agent's on-hook")),
    "end_s": ("ended at", in_call),
    "last_turns": ("judged on the agent's last turns", text),
    "window_s": ("or the last", seconds),
    "agent_turns": ("agent turns in the call", text),
    # N1, N4, N12
    "rings": ("rang", lambda v: f"{number(v, 0)} times"),
    "max_rings": ("limit", lambda v: f"{number(v, 0)} rings"),
    "keyword": ("keyword", text),
    "score": ("score", lambda v: number(v, 2)),
    "signal": ("caller's side", choice(
        none_before_on_hook="no hang-up signal or busy tone before the agent's on-hook")),
    # hearing
    "mark": ("crossed", choice(dose_50pct="50 % of the daily noise dose",
                               dose_100pct="100 % of the daily noise dose",
                               lower_action_value="the EU lower action value (80 dB(A))",
                               upper_action_value="the EU upper action value (85 dB(A))")),
    "dose_pct": ("dose today", unit("%")),
    "lex_8h_dba": ("8-hour level", unit("dB(A)")),
    "standard": ("standard", choice(niosh="NIOSH", eu="EU 2003/10/EC")),
    "agent": ("agent", text),
    "peak_db_spl": ("peak", unit("dB SPL")),
    "limit_db_spl": ("limit", unit("dB SPL")),
    # device
    "kind": ("fault", choice(audio_lost="audio lost",
                             device_missing="device not connected or not answering")),
    "lost_s": ("audio lost for", seconds),
}

# The same key read differently by one event type.
TYPE_KEYS: dict[tuple[str, str], tuple[str | None, Format]] = {
    ("dead_air", "limit_s"): ("raised after", seconds),
    ("overtalk", "limit_s"): ("raised after", seconds),
    ("call_too_long", "limit_s"): ("target", seconds),
    ("speech_rate_high", "speech_s"): ("agent speech judged", seconds),
    ("speech_rate_low", "speech_s"): ("agent speech judged", seconds),
    ("device_fault", "reason"): ("reason", text),
    ("forbidden_phrase", "score"): ("keyword confidence", lambda v: number(v, 2)),
    ("hold_checkin_missed", "hold_s"): ("on hold for", seconds),
}

# By suffix, for keys the tables do not know: (suffix, unit).
SUFFIXES = (("_db_spl", "dB SPL"), ("_dbfs", "dBFS"), ("_dba", "dB(A)"), ("_db", "dB"),
            ("_cpm", "cpm"), ("_pct", "%"), ("_ms", "ms"), ("_hz", "Hz"), ("_s", "s"))
TEXT_CELLS = 60             # a string value is cut here
PAIRS = {"window_from_s": "window_to_s"}


def closing_window(data: dict[str, Any]) -> str | None:
    turns, window = data.get("last_turns"), data.get("window_s")
    try:
        parts = [f"the agent's last {number(turns, 0)} turns" if turns is not None else "",
                 f"the last {seconds(window)}" if window else ""]
    except TypeError:
        return None
    return " or ".join(part for part in parts if part) or None


# Keys read together as one line: (event type, keys) -> (what, reader of the whole data).
JOINED: dict[str, tuple[tuple[str, ...], str, Callable[[dict[str, Any]], str | None]]] = {
    "closing_missing": (("window_s", "last_turns"), "judged on", closing_window),
}


def plain(value: Any, depth: int = 0) -> str:
    """Any JSON value, briefly."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value, 2) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= TEXT_CELLS else value[:TEXT_CELLS - 1] + "…"
    if isinstance(value, list):
        return ", ".join(plain(v, depth + 1) for v in value[:8]) + (", …" if len(value) > 8 else "")
    if isinstance(value, dict):
        if depth >= 2:
            return "…"
        return ", ".join(f"{k} {plain(v, depth + 1)}" for k, v in list(value.items())[:6])
    return str(value)[:TEXT_CELLS]


def generic(key: str, value: Any) -> tuple[str, str]:
    name = str(key).replace("_", " ")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        for suffix, shown in SUFFIXES:
            if str(key).endswith(suffix):
                return name[:-len(suffix)].strip() or name, f"{number(value, 2)} {shown}"
    return name, plain(value)


def _read(fmt: Format, value: Any) -> str | None:
    """The value through its format; None when it is not of the kind the format reads."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, list):
        value = ", ".join(plain(v) for v in value[:8])
    try:
        return fmt(value)
    except (TypeError, ValueError, OverflowError):
        return None


def evidence(event_type: str, data: Any) -> list[tuple[str, str]]:
    """(what, value) pairs in words, in the order the rule put them in `data`."""
    if not isinstance(data, dict):
        return []
    out: list[tuple[str, str]] = []
    joined_keys, joined_name, joined = JOINED.get(event_type, ((), "", lambda _: None))
    together = joined(data) if joined_keys else None
    for key, value in data.items():
        if event_type == "call_ended" and key == "scorecard":
            continue                               # shown as the scorecard, not as evidence
        if together is not None and key in joined_keys:
            if key == next(k for k in data if k in joined_keys):
                out.append((joined_name, together))
            continue
        name, fmt = TYPE_KEYS.get((event_type, key)) or KEYS.get(key) or (None, None)
        if fmt is None:
            out.append(generic(key, value))
            continue
        if name is None:
            continue                               # shown beside its pair
        shown = _read(fmt, value)
        if shown is None:
            if key == "first_turn_s" and value is None:
                out.append((name.removesuffix(" at"), "none: the agent never spoke"))
            else:
                out.append((name, plain(value)))
            continue
        end_key = PAIRS.get(key)
        if end_key is not None:
            end = _read(fmt, data.get(end_key))
            if end is not None:
                shown = f"{shown}-{end} into the call"
        elif fmt is in_call:
            shown += " into the call"
        out.append((name, shown))
    for start, end_key in PAIRS.items():            # an end without its start
        if end_key in data and start not in data:
            out.append(generic(end_key, data[end_key]))
    return out


def evidence_line(event_type: str, data: Any, limit: int = 120) -> str:
    """The evidence on one line: "waited in silence: 18.2 s · check-in due every: 15 s · ..."."""
    line = " · ".join(f"{name}: {value}" for name, value in evidence(event_type, data))
    return line if len(line) <= limit else line[:limit - 1] + "…"
