"""The search space of a study, read from the generated train schema (no Optuna import here).

Why from the schema: the schema is generated from the network's config, so the ranges, enums, option
weights, log scales and dependencies an agent sees in ``describe`` are exactly what AutoML samples.
Rules (issue 10): the schema's ``x-tao-automl-default-parameters`` are searched, ``--param KEY`` adds
any other leaf, ``x-tao-automl-disabled-parameters`` can never be searched, keys the user fixed with
``--override``/``--overrides-json`` are never searched, and budget keys (epochs, sample count) belong
to the runner.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tao_skill.errors import ErrorItem
from tao_skill.spec import get_dotted, leaf_schemas, leaf_kind

_COND = re.compile(r"^\s*([\w.]+)\s*(==|!=|>=|<=|>|<|not\s+in|in)\s*(.+?)\s*$")
_MATH = re.compile(r"^\s*(>=|<=|>|<)\s*(-?[\d.eE+-]+)\s*$")
_LR_NAMES = ("lr", "learning_rate")


@dataclass
class Param:
    """One searchable spec key: a numeric range or a list of choices, and when it matters."""

    key: str
    kind: str  # "float" | "int" | "categorical"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None
    weights: list[float] | None = None
    depends_on: list[str] = field(default_factory=list)
    source: str = "schema default"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Param:
        return cls(**data)


class Suggester(Protocol):
    """The part of ``optuna.Trial`` the space uses (so this module needs no Optuna)."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float: ...
    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int: ...
    def suggest_categorical(self, name: str, choices: list[Any]) -> Any: ...


def parse_condition(text: str) -> tuple[str, str, Any]:
    """``"train.optim.lr_scheduler == 'MultiStep'"`` -> (key, operator, literal).

    Raises:
        ValueError: the text is not ``KEY OP LITERAL``.
    """
    match = _COND.match(text)
    if not match:
        raise ValueError(f"cannot read condition {text!r}; expected KEY OP VALUE")
    key, op, raw = match.groups()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise ValueError(f"condition {text!r}: {raw!r} is not a literal") from None
    return key, " ".join(op.split()), value


def condition_holds(text: str, config: dict[str, Any]) -> bool:
    """Whether a ``depends_on`` condition is true for ``config`` (a nested spec)."""
    key, op, value = parse_condition(text)
    have = get_dotted(config, key)
    try:
        return {
            "==": lambda: have == value, "!=": lambda: have != value, "in": lambda: have in value,
            "not in": lambda: have not in value, ">": lambda: have > value, "<": lambda: have < value,
            ">=": lambda: have >= value, "<=": lambda: have <= value,
        }[op]()
    except TypeError:
        return False


def _is_lr(key: str) -> bool:
    last = key.rsplit(".", 1)[-1].lower()
    return last in _LR_NAMES or last.endswith("_lr") or last.startswith("lr_")


def _parse_param(raw: str) -> tuple[str, str | None]:
    key, _, custom = raw.partition("=")
    return key.strip(), (custom.strip() or None)


def _bounds(leaf: dict[str, Any]) -> tuple[float | None, float | None]:
    low = leaf.get("minimum")
    high = leaf.get("maximum")
    integer = leaf_kind(leaf) == "integer"
    if low is None and "exclusiveMinimum" in leaf:
        low = leaf["exclusiveMinimum"] + 1 if integer else math.nextafter(float(leaf["exclusiveMinimum"]), math.inf)
    if high is None and "exclusiveMaximum" in leaf:
        high = leaf["exclusiveMaximum"] - 1 if integer else math.nextafter(float(leaf["exclusiveMaximum"]), -math.inf)
    cond = _MATH.match(str(leaf.get("x-tao-math-cond") or ""))
    if cond:  # "> 0.0" makes a minimum of 0 exclusive, and so on
        op, num = cond.group(1), float(cond.group(2))
        if op == ">" and (low is None or low <= num):
            low = num + 1 if integer else math.nextafter(num, math.inf)
        elif op == ">=" and (low is None or low < num):
            low = num
        elif op == "<" and (high is None or high >= num):
            high = num - 1 if integer else math.nextafter(num, -math.inf)
        elif op == "<=" and (high is None or high > num):
            high = num
    if high is not None and not math.isfinite(high):
        high = None
    return low, high


def _param_for(key: str, leaf: dict[str, Any], custom: str | None, source: str) -> tuple[Param | None, ErrorItem | None]:
    depends = list(leaf.get("x-tao-depends-on") or [])
    for cond in depends:
        try:
            parse_condition(cond)
        except ValueError as exc:
            return None, ErrorItem(key, f"x-tao-depends-on: {exc}")
    if "enum" in leaf or leaf_kind(leaf) == "boolean":
        options = list(leaf["enum"]) if "enum" in leaf else [False, True]
        weights_map = leaf.get("x-tao-option-weights") or {}
        if custom:
            by_lower = {str(o).lower(): o for o in options}
            picked = [_literal(v) for v in custom.split(",")]
            picked = [by_lower.get(v.lower(), v) if isinstance(v, str) else v for v in picked]
            bad = [v for v in picked if v not in options]
            if bad:
                return None, ErrorItem(key, f"--param {key}: {bad[0]!r} is not one of the options", expected=options,
                                       got=bad[0])
            options = picked
        weights = [float(weights_map.get(str(o), 1.0)) for o in options] if weights_map else None
        if weights is not None:
            kept = [(o, w) for o, w in zip(options, weights) if w > 0]
            if not kept:
                return None, ErrorItem(key, "every option has weight 0 (x-tao-option-weights); nothing to sample",
                                       expected="an option with a positive weight")
            options, weights = [o for o, _ in kept], [w for _, w in kept]
            if len(set(weights)) == 1:
                weights = None
        return Param(key, "categorical", choices=options, weights=weights, depends_on=depends, source=source), None
    kind = leaf_kind(leaf)
    if custom and "," in custom and kind in ("number", "integer", "string"):
        return _options_param(key, leaf, custom, depends, source)
    if kind not in ("number", "integer"):
        return None, ErrorItem(key, f"`{key}` is a {kind or 'free-form'} value; only numbers, booleans and enums can "
                                    "be searched (strings with --param KEY=a,b,c)",
                               expected="number, integer, boolean or enum", got=kind)
    low, high = _bounds(leaf)
    if custom:
        try:
            lo_text, hi_text = custom.split(":")
            c_low, c_high = float(lo_text), float(hi_text)
        except ValueError:
            return None, ErrorItem(key, f"--param {key}={custom}: a range is LOW:HIGH", expected="LOW:HIGH", got=custom)
        if (low is not None and c_low < low) or (high is not None and c_high > high) or c_low >= c_high:
            return None, ErrorItem(key, f"--param {key}={custom} is outside the schema range [{low}, {high}] or empty",
                                   expected=f"LOW:HIGH within [{low}, {high}]", got=custom)
        low, high = c_low, c_high
    if low is None or high is None:
        return None, ErrorItem(key, f"`{key}` has no bounded range in the schema; give one with --param {key}=LOW:HIGH",
                               expected="--param KEY=LOW:HIGH", got=[low, high])
    log = bool(leaf.get("x-tao-log-scale")) or _is_lr(key)
    if log and (low <= 0 or low < high * 1e-12):  # e.g. lr > 0 with no minimum: a log range needs a real floor
        if custom is None and not leaf.get("x-tao-log-scale") and low >= 0 and "minimum" in leaf:
            log = False
        else:
            return None, ErrorItem(key, f"`{key}` is searched on a log scale but its lower bound is {low:g}; give a "
                                        f"range with --param {key}=LOW:HIGH", expected="LOW > 0", got=low)
    if kind == "integer":
        return Param(key, "int", int(math.ceil(low)), int(math.floor(high)), log, depends_on=depends, source=source), None
    return Param(key, "float", float(low), float(high), log, depends_on=depends, source=source), None


def _options_param(key: str, leaf: dict[str, Any], custom: str, depends: list[str],
                   source: str) -> tuple[Param | None, ErrorItem | None]:
    """``--param KEY=a,b,c`` on an integer, number or string key: search exactly those values, each checked
    against the key's type and schema range (``train.num_epochs=50,100,200``, ``model.mode=a,b``)."""
    kind = leaf_kind(leaf)
    raw = [v.strip() for v in custom.split(",") if v.strip()]
    values: list[Any] = []
    low, high = _bounds(leaf) if kind != "string" else (None, None)
    for text in raw:
        if kind == "string":
            value: Any = text
        else:
            value = _literal(text)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (kind == "integer" and not float(value).is_integer()):
                return None, ErrorItem(key, f"--param {key}: {text!r} is not {'an integer' if kind == 'integer' else 'a number'}",
                                       expected=f"{kind} options a,b,c", got=text)
            value = int(value) if kind == "integer" else float(value)
            if (low is not None and value < low) or (high is not None and value > high):
                return None, ErrorItem(key, f"--param {key}: {text} is outside the schema range [{low}, {high}]",
                                       expected=f"values within [{low}, {high}]", got=text)
        if value not in values:
            values.append(value)
    if len(values) < 2:
        return None, ErrorItem(key, f"--param {key}={custom}: give at least two options a,b", expected="a,b[,c...]",
                               got=custom)
    return Param(key, "categorical", choices=values, depends_on=depends, source=source), None


def _literal(text: str) -> Any:
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        lowered = text.lower()
        return {"true": True, "false": False}.get(lowered, text)


def build_space(schema: dict[str, Any], *, add: list[str] | None = None, fixed: set[str] | None = None,
                budget_keys: set[str] | None = None, shorthand: dict[str, str] | None = None,
                ) -> tuple[list[Param], list[str], list[ErrorItem]]:
    """The searched parameters, notes on what was left out and why, and problems the user must fix.

    Args:
        add: ``--param`` values: ``KEY``, ``KEY=LOW:HIGH`` or ``KEY=a,b,c`` (shorthand keys allowed).
        fixed: keys the user set with --override/--overrides-json; never searched.
        budget_keys: the epochs and sample-count keys the runner sets per trial.
    """
    leaves = leaf_schemas(schema)
    disabled = set(schema.get("x-tao-automl-disabled-parameters") or [])
    fixed, budget_keys, shorthand = fixed or set(), budget_keys or set(), shorthand or {}
    params: dict[str, Param] = {}
    notes: list[str] = []
    errors: list[ErrorItem] = []
    for key in schema.get("x-tao-automl-default-parameters") or []:
        if key in fixed:
            notes.append(f"{key} is fixed by your override; not searched")
        elif key in disabled or key in budget_keys or key not in leaves:
            notes.append(f"{key} cannot be searched here; skipped")
        else:
            param, err = _param_for(key, leaves[key], None, "schema default")
            if err:
                notes.append(f"{key} skipped: {err.message}")
            else:
                params[key] = param
    for raw in add or []:
        key, custom = _parse_param(raw)
        key = shorthand.get(key, key)
        if key not in leaves:
            import difflib  # noqa: PLC0415 - only for an unknown name

            close = difflib.get_close_matches(key, list(leaves), n=1)
            errors.append(ErrorItem("--param", f"`{key}` is not a key of the train spec", got=key,
                                    suggestion=close[0] if close else None))
        elif key in disabled:
            errors.append(ErrorItem("--param", f"`{key}` is in automl_disabled_parameters and can never be searched",
                                    expected="a key outside x-tao-automl-disabled-parameters", got=key))
        elif key in budget_keys:
            errors.append(ErrorItem("--param", f"`{key}` is a trial budget key; set it with --epochs-per-trial or "
                                               "--train-sample-count", got=key))
        elif key in fixed:
            errors.append(ErrorItem("--param", f"`{key}` is fixed by your --override; drop one of the two", got=key))
        else:
            param, err = _param_for(key, leaves[key], custom, "--param")
            if err:
                errors.append(err)
            else:
                params[key] = param
    ordered = sorted(params.values(), key=lambda p: (bool(p.depends_on), list(params).index(p.key)))
    return ordered, notes, errors


def sample(trial: Suggester, params: list[Param], base: dict[str, Any], *, weighted: bool = True) -> dict[str, Any]:
    """Values for one trial; a parameter whose ``depends_on`` does not hold keeps the base spec's value.

    Option weights are honoured by sampling a uniform number and picking through the cumulative weights
    (Optuna's categorical distribution has no weights); ``weighted=False`` (grid search) samples the
    options with positive weight uniformly.
    """
    import copy  # noqa: PLC0415

    from tao_skill.spec import set_dotted  # noqa: PLC0415

    config = copy.deepcopy(base)
    values: dict[str, Any] = {}
    for p in params:
        if not all(condition_holds(c, config) for c in p.depends_on):
            continue
        if p.kind == "float":
            value: Any = trial.suggest_float(p.key, p.low, p.high, log=p.log)
        elif p.kind == "int":
            value = trial.suggest_int(p.key, int(p.low), int(p.high), log=p.log)
        elif p.weights and weighted:
            u = trial.suggest_float(f"{p.key}#u", 0.0, 1.0)
            total, acc, value = sum(p.weights), 0.0, p.choices[-1]
            for option, w in zip(p.choices, p.weights):
                acc += w / total
                if u < acc:
                    value = option
                    break
        else:
            value = trial.suggest_categorical(p.key, list(p.choices))
        values[p.key] = value
        set_dotted(config, p.key, value)
    return values


def grid_values(params: list[Param], points: int) -> dict[str, list[Any]]:
    """A finite grid per parameter for grid search: ``points`` values over each range (log-spaced when log)."""
    grid: dict[str, list[Any]] = {}
    for p in params:
        if p.kind == "categorical":
            grid[p.key] = list(p.choices)
            continue
        n = max(points, 2)
        if p.log:
            vals = [math.exp(math.log(p.low) + i * (math.log(p.high) - math.log(p.low)) / (n - 1)) for i in range(n)]
        else:
            vals = [p.low + i * (p.high - p.low) / (n - 1) for i in range(n)]
        if p.kind == "int":
            vals = sorted({int(round(v)) for v in vals})
        grid[p.key] = vals
    return grid
