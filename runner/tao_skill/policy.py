"""The per-run AutoML policy and the route of an action, each with a one-line reason.

The policy comes from ``--automl-policy`` when given, else from the user's own words (``--request``).
Users write in English or Chinese, NVIDIA's skill text writes ``automl_policy: off``, and a phrase is
only a decision when it is one: "Do NOT turn off AutoML" keeps AutoML, "禁用AutoML" turns it off, and
"what is AutoML?" or "evaluate my AutoML job" only mention it. The request is cut into clauses; in each
clause every AutoML term is read with the verb next to it (and a negation before that verb flips it).
The last clause that decides wins, so a request that corrects itself ("use AutoML? no, plain training")
gets what it ends with. Only ``off`` changes the route; a request for AutoML keeps the default ``auto``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.skills import Skill

# Terms that name AutoML / hyper-parameter search (English terms are matched on word boundaries).
_SRC_TERM = (
    r"(?<![a-z])(?:auto[\s_-]?ml|hpo|hyper[\s-]?param(?:eter)?s?[\s-]*(?:search|tuning|optimi[sz]ation|sweeps?)"
    r"|param(?:eter)?\s+(?:search|sweeps?))(?![a-z])"
    r"|自动机器学习|超参数?(?:搜索|优化|调优|寻优)|自动调参|调参",
    re.IGNORECASE,
)
# Phrases that ask for training without a search, with no AutoML term in them.
_SRC_PLAIN = (
    r"\b(?:plain|direct|vanilla|regular|manual|ordinary|normal|simple)\s+training\b|\btrain(?:ing)?\s+directly\b"
    r"|\bfixed\s+hyper[\s-]?param(?:eter)?s\b|直接训练|普通训练|常规训练|手动训练|固定超参数?",
    re.IGNORECASE,
)
# Verbs next to a term, longest first so "不使用" wins over "使用" and "turn off" over "turn".
_OFF_VERBS = ["turn off", "turned off", "switch off", "shut off", "shut down", "disable", "disabled", "disabling",
              "deactivate", "skip", "skipping", "bypass", "avoid", "drop", "stop", "without", "exclude", "forgo",
              "opt out of", "no", "关闭", "关掉", "关了", "禁用", "禁止", "停用", "跳过", "取消", "去掉", "不要",
              "不用", "不使用", "不需要", "无需", "别用", "不开", "不做", "不进行", "不走", "免去", "省略", "不想要",
              "不想用", "不开启", "不启用"]
_ON_VERBS = ["use", "using", "run", "enable", "turn on", "switch on", "activate", "with", "do", "try", "want",
             "need", "keep", "start", "launch", "apply", "via", "through", "go through", "let", "tune",
             "使用", "开启", "启用", "打开", "用", "进行", "做", "走", "需要", "要", "保留", "保持", "跑", "想要"]
_VERBS = sorted(((v, "off") for v in _OFF_VERBS), key=lambda p: -len(p[0])) + \
    sorted(((v, "on") for v in _ON_VERBS), key=lambda p: -len(p[0]))
_SRC_VERB = ("|".join(rf"(?<![a-z]){re.escape(v)}(?![a-z])" if v.isascii() else re.escape(v)
                            for v, _ in sorted(_VERBS, key=lambda p: -len(p[0]))), re.IGNORECASE)
_POLARITY = {v: p for v, p in _VERBS}
# A negation right before the verb flips it ("do not turn off", "不要关闭", "don't use").
_SRC_NEGATION = (r"(?:\b(?:don'?t|do\s+not|never|not|no\s+need\s+to|doesn'?t|won'?t|shouldn'?t|mustn'?t|"
                       r"please\s+don'?t)\b|不要|别|不|请勿|勿|无需|不用|不必)\W{0,3}(?:\w+\s+){0,1}\W{0,2}$", re.IGNORECASE)
# The setting after the term: "AutoML off", "automl: disabled", "AutoML关掉".
_SRC_AFTER = (r"^\s*(?:[:=：]\s*)?(?:(?P<off>off|disabled|false|no|关闭|关掉|禁用|不要|停用)"
                    r"|(?P<on>on|enabled|true|yes|开启|启用|打开))(?![a-z])", re.IGNORECASE)
# A term naming an existing job ("my AutoML run", "the HPO results") is a reference, not a decision.
_SRC_REFERENCE = (r"^\s*(?:job|run|study|trials?|results?|experiments?|report|history|logs?|best|"
                        r"checkpoint|任务|结果|实验|日志)(?![a-z])", re.IGNORECASE)
# Hedges and questions about AutoML decide nothing ("not sure whether to use AutoML", "是否需要调参？").
_SRC_HEDGE = (r"\b(?:whether|not\s+sure|maybe|perhaps|later|next\s+time|what\s+is|what's|how\s+does|"
                    r"explain|tell\s+me\s+about|compare)\b|是否|还没想好|以后|稍后|什么是|介绍|解释|吗", re.IGNORECASE)
# NVIDIA's own wording: `automl_policy: off|on|auto`.
_SRC_EXPLICIT = (r"automl[_\s-]?policy\s*[:=：]?\s*[`'\"]?(on|off|auto)\b", re.IGNORECASE)
_SRC_CLAUSE = (r"[.;!?\n。；！？，,]+|\s+(?:but|then|and then|however)\s+|但是|但|然后|不过", re.IGNORECASE)
_WINDOW = 40  # characters before a term in which its verb must be

@functools.cache
def _rx(name: str) -> re.Pattern[str]:
    """The compiled pattern ``_SRC_<name>``, built on first use: planning without --request never pays
    for compiling the vocabulary."""
    pattern, flags = globals()[f"_SRC_{name}"]
    return re.compile(pattern, flags)


def _verb_before(prefix: str) -> tuple[str, str, int] | None:
    """The verb closest to the end of ``prefix`` (longest on ties): (verb, polarity, start)."""
    best = None
    for m in _rx("VERB").finditer(prefix):
        if best is None or m.end() > best[2] or (m.end() == best[2] and m.start() < best[3]):
            best = (m.group(0), _POLARITY[m.group(0).lower()], m.end(), m.start())
    if best is None:
        return None
    # Only filler words may stand between the verb and the term ("without any", "use the default").
    gap = prefix[best[2]:]
    if len(re.findall(r"[a-z]+", gap, re.IGNORECASE)) > 3 or len(gap) > 24:
        return None
    return best[0], best[1], best[3]


def _clause_decision(clause: str) -> tuple[str, str] | None:
    """("off"|"on", phrase) for the last decisive AutoML phrase in one clause, else None."""
    decision = None
    question = clause.rstrip().endswith(("?", "？")) or bool(_rx("HEDGE").search(clause))
    for m in _rx("TERM").finditer(clause):
        post = clause[m.end():]
        if _rx("REFERENCE").match(post):
            continue
        prefix = clause[max(0, m.start() - _WINDOW):m.start()]
        after = _rx("AFTER").match(post)
        if after:
            polarity, start, end = ("off" if after.group("off") else "on"), m.start(), m.end() + after.end()
            neg_at = prefix
        else:
            verb = _verb_before(prefix)
            if verb is None:
                continue
            polarity = verb[1]
            start, end = m.start() - len(prefix) + verb[2], m.end()
            neg_at = prefix[:verb[2]]
        if _rx("NEGATION").search(neg_at[-20:]):
            polarity = "on" if polarity == "off" else "off"
            start = max(0, start - len(neg_at[-20:]) + _rx("NEGATION").search(neg_at[-20:]).start())
        if question and polarity == "on":
            continue  # "should I use AutoML?" asks; "can you train without AutoML?" still asks for off
        if question and _rx("HEDGE").search(clause):
            continue
        decision = (polarity, clause[start:end].strip())
    plain = _rx("PLAIN").search(clause)
    if plain and not _rx("NEGATION").search(clause[:plain.start()][-20:]) and not _rx("HEDGE").search(clause):
        if decision is None or plain.start() > clause.find(decision[1]):
            decision = ("off", plain.group(0))
    return decision


def policy_from_words(text: str | None) -> tuple[str, str] | None:
    """The policy the user's words ask for, and the phrase that says so; None when they decide nothing."""
    if not text:
        return None
    explicit = None
    for m in _rx("EXPLICIT").finditer(text):
        explicit = (m.group(1).lower(), m.group(0))
    if explicit:
        return explicit
    decision = None
    for clause in _rx("CLAUSE").split(text):
        found = _clause_decision(clause)
        if found:
            decision = found
    if decision is None:
        return None
    return ("off" if decision[0] == "off" else "auto"), decision[1]


@dataclass(frozen=True)
class Decision:
    automl_policy: str
    policy_reason: str
    route: str
    route_reason: str
    automl_runnable: bool
    notice: str | None = None


def resolve_policy(explicit: str | None, request: str | None) -> tuple[str, str]:
    """(policy, reason): the flag wins, then the request's words, else auto."""
    if explicit:
        if explicit not in ("on", "off", "auto"):
            raise RunnerError(ErrorItem("--automl-policy", "must be on, off or auto", ["on", "off", "auto"], explicit))
        return explicit, f"--automl-policy {explicit} given explicitly"
    found = policy_from_words(request)
    if found is not None:
        policy, phrase = found
        if policy == "off":
            return "off", f'the request says "{phrase}", which turns AutoML off for this run'
        if policy == "on":
            return "on", f'the request says "{phrase}": AutoML must run (on)'
        return "auto", f'the request says "{phrase}", which keeps AutoML; default auto'
    if request:
        return "auto", "the request does not ask to turn AutoML off; default auto"
    return "auto", "no --automl-policy and no request text; default auto"


def decide(skill: Skill, action: str, explicit: str | None, request: str | None) -> Decision:
    policy, reason = resolve_policy(explicit, request)
    problem = skill.automl_problem
    runnable = problem is None
    if action != "train":
        return Decision(policy, reason, "direct", f"`{action}` never routes to AutoML", runnable)
    if policy == "off":
        return Decision(policy, reason, "direct", "AutoML is off for this run", runnable)
    if runnable:
        return Decision(policy, reason, "automl", f"policy {policy}, AutoML enabled and the train schema/template parse",
                        runnable)
    if policy == "on":
        raise RunnerError(ErrorItem("--automl-policy", f"AutoML was requested (on) but cannot run: {problem}",
                                    expected="a runnable AutoML", got="on"))
    enabled = skill.info.get("automl_enabled", False)
    return Decision(policy, reason, "direct", problem, runnable, notice=problem if enabled else None)
