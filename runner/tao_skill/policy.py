"""The per-run AutoML policy and the route of an action, each with a one-line reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.skills import Skill

_AUTOML = r"(?:auto[\s-]?ml|hpo|hyper[\s-]?parameter\s+(?:search|tuning|optimi[sz]ation))"
OFF_PATTERNS = [
    rf"\b(?:turn|switch|shut|toggle)\s+off\s+(?:the\s+)?{_AUTOML}",
    rf"\b(?:turn|switch|shut)\s+(?:the\s+)?{_AUTOML}\s+off\b",
    rf"\b{_AUTOML}\s*(?:=|:)?\s*(?:off|disabled|false)\b",
    rf"\b(?:disable|disabling|skip|skipping|without|no|avoid|bypass)\s+(?:any\s+|the\s+)?{_AUTOML}",
    rf"\b(?:don'?t|do\s+not|never)\s+(?:use|run|do)\s+(?:any\s+)?{_AUTOML}",
    r"\bplain\s+training\b",
    r"\b(?:direct|vanilla|regular|manual)\s+training\b",
]
_OFF = [re.compile(p, re.IGNORECASE) for p in OFF_PATTERNS]


@dataclass(frozen=True)
class Decision:
    automl_policy: str
    policy_reason: str
    route: str
    route_reason: str
    automl_runnable: bool
    notice: str | None = None


def resolve_policy(explicit: str | None, request: str | None) -> tuple[str, str]:
    """(policy, reason): the flag wins, then phrases in the request, else auto."""
    if explicit:
        if explicit not in ("on", "off", "auto"):
            raise RunnerError(ErrorItem("--automl-policy", "must be on, off or auto", ["on", "off", "auto"], explicit))
        return explicit, f"--automl-policy {explicit} given explicitly"
    for pattern in _OFF:
        match = pattern.search(request or "")
        if match:
            return "off", f'the request says "{match.group(0)}", which turns AutoML off for this run'
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
