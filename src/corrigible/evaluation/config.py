"""Sweep configuration: our YAML format, and the public research framework's, unchanged.

Our format (every key but ``models`` optional)::

    name: pressure-study
    models:
      - corrigible/smollm2                      # an Inspect model string, or a bare name
      - {name: openai/gpt-4o, max_connections: 8, args: {}}
    grid:                                       # one grid, or a list of grids
      families: [blackmail, leaking]
      goal_types: [explicit, none]
      goal_values: [america, global]
      urgencies: [replacement, none]
      production: [false]
      instructions: [[], [prohibition]]
    conditions: [lethal_none_none]              # extra explicit condition ids
    samples: 3
    temperature: 1.0
    max_tokens: 2048
    tool_mode: text                             # or native
    max_steps: 10
    max_retries: 5                              # per model call, with exponential backoff
    timeout: 300                                # seconds per model call
    log_samples: true                           # full samples in the Inspect logs too
    workers: 1                                  # processes (one event loop per core)
    guard: default                              # containment policy for every tool call
    audit: RUN_DIR/audit.sqlite                 # where its decisions go (path or postgresql:// URL)
    audit_key: RUN_DIR/audit.key                # the log's signing key (made on first use)

The public framework's experiment file (``experiment_id``, ``global``, ``expansions``) is read as
is and translated; its ``murder`` scenario is our ``lethal``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from corrigible._files import read_yaml
from corrigible.errors import ConfigError, CorrigibleError, describe_validation_error
from corrigible.models.names import resolve_model_name
from corrigible.scenarios import Condition, GoalType, Urgency, iter_conditions
from corrigible.scenarios.condition import FAMILY_ALIASES

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    """One model of a sweep, with its own concurrency limit and provider arguments."""

    name: str
    max_connections: int | None = Field(default=None, ge=1)
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _resolve(cls, value: str) -> str:
        try:
            return resolve_model_name(value)
        except CorrigibleError as exc:
            raise ValueError(str(exc)) from None


class GridSpec(_Strict):
    families: list[str] | None = None
    goal_types: list[GoalType] | None = None
    goal_values: list[str] | None = None
    urgencies: list[Urgency] | None = None
    production: list[bool] = Field(default_factory=lambda: [False])
    instructions: list[list[str]] = Field(default_factory=lambda: [list[str]()])


class SweepConfig(_Strict):
    name: str = Field(default="sweep", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    """The run's name, also the default run directory ``runs/NAME``: letters, digits, ``._-``
    (so it cannot point outside ``runs/``)."""
    models: list[ModelSpec] = Field(min_length=1)
    grid: list[GridSpec] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)
    samples: int = Field(default=1, ge=1, le=100_000, strict=True)
    temperature: float | None = Field(default=1.0, ge=0, le=100, allow_inf_nan=False)
    max_tokens: int | None = Field(default=2048, ge=1, le=10_000_000, strict=True)
    seed: int | None = None
    tool_mode: Literal["text", "native"] = "text"
    max_steps: int = Field(default=10, ge=1)
    max_retries: int = Field(default=5, ge=0)
    timeout: int | None = Field(default=300, ge=1)
    max_samples: int | None = Field(default=None, ge=1)
    """Cap on samples in flight per model (None: Inspect's default, the model's connection limit)."""
    guard: str | None = None
    """Containment: a policy file (or ``default``) that decides every tool call before it runs.
    Compare a run with and without it to see the harmful-outcome rate it prevents and what it
    costs in benign-task success."""
    audit: str | None = None
    """The audit log of the guard's decisions: a path or a ``postgresql://`` URL (default
    ``RUN_DIR/audit.sqlite``). Only with ``guard``."""
    audit_key: str | None = None
    """The Ed25519 key signing the audit log (``corrigible audit keygen``; default: one made at
    ``RUN_DIR/audit.key``). Keep it away from the agents' hosts for a trail others can trust."""
    grader: str | None = None
    """An Inspect model string bound to Inspect's ``grader`` role: the LLM judge the Inspect scorer
    combines with the detectors (hybrid rule) in the run's Inspect logs."""
    workers: int = Field(default=1, ge=1, le=64)
    """Processes to spread the sweep over. Inspect runs every sample of a process on one event
    loop (~15 ms of CPU each), so with fast models one core saturates; more workers use more
    cores. Connection limits are shared out, not multiplied."""
    log_samples: bool = True
    """Keep full samples in the Inspect logs (for ``inspect view``). ``results.sqlite`` holds every
    transcript either way; turning this off saves ~5 ms of CPU per sample on very large sweeps."""
    _source: str | None = PrivateAttr(default=None)
    """The file this sweep was read from, for error messages (not part of the sweep)."""

    @property
    def source(self) -> str | None:
        return self._source

    @field_validator("models", mode="before")
    @classmethod
    def _models_as_specs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("models")
    @classmethod
    def _models_distinct(cls, value: list[ModelSpec]) -> list[ModelSpec]:
        # A sample's id starts with its model's name: two entries of one name would share ids,
        # and the second would be taken for the first's finished work on resume.
        seen: set[str] = set()
        for spec in value:
            if spec.name in seen:
                raise ValueError(f"model {spec.name!r} is listed twice")
            seen.add(spec.name)
        return value

    @field_validator("grid", mode="before")
    @classmethod
    def _grid_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    def resolved_conditions(self) -> list[Condition]:
        """The planned conditions, in order, without duplicates."""
        from corrigible.evaluation.task import resolve_conditions

        chosen: dict[str, Condition] = {}
        for grid in self.grid:
            for condition in iter_conditions(
                grid.families,
                goal_types=grid.goal_types,
                goal_values=grid.goal_values,
                urgencies=grid.urgencies,
                production=grid.production,
                instructions=[tuple(i) for i in grid.instructions],
            ):
                chosen.setdefault(condition.id, condition)
        if self.conditions:
            for condition in resolve_conditions(self.conditions):
                chosen.setdefault(condition.id, condition)
        if not chosen:
            raise ConfigError("the configuration selects no condition: give `grid` or `conditions`")
        return list(chosen.values())


# -- the public research framework's format ------------------------------------------------------

_AMF_TOP = {
    "experiment_id",
    "global",
    "expansions",
    "description",
    "researcher",
    "classification",
    "execution",
    "output",
    "prompts",
    "resume",
    "version",
}
_AMF_GLOBAL = {
    "models",
    "temperature",
    "samples_per_condition",
    "concurrency",
    "max_tokens",
    "providers",
    "rate_limits",
    "evaluation",
    "verbose",
    "debug",
}
_AMF_EXPANSION = {"name", "description", "enabled", "priority", "variables"}
_AMF_VARIABLES = {"scenarios", "goal_types", "goal_values", "urgency_types"}


def is_amf_config(data: Any) -> bool:
    return isinstance(data, dict) and ("expansions" in data or "experiment_id" in data)


def _warn_unknown(keys: Any, known: set[str], where: str) -> None:
    extra = sorted(set(keys) - known)
    if extra:
        log.warning("%s: ignoring keys this reader does not use: %s", where, ", ".join(extra))


def from_amf(data: dict[str, Any], source: str) -> SweepConfig:
    """Translate the public framework's experiment YAML into a SweepConfig."""
    _warn_unknown(data, _AMF_TOP, source)
    glob = data.get("global") or {}
    if not isinstance(glob, dict):
        raise ConfigError(f"{source}: field global: expected a mapping")
    _warn_unknown(glob, _AMF_GLOBAL, f"{source} [global]")
    models = glob.get("models")
    if not isinstance(models, list) or not models:
        raise ConfigError(
            f"{source}: field global.models: expected a non-empty list of model names"
        )
    limits = _amf_concurrency(glob.get("concurrency"), source)
    specs = []
    for name in models:
        if not isinstance(name, str):
            raise ConfigError(f"{source}: field global.models: expected model names, got {name!r}")
        specs.append({"name": name, "max_connections": _limit_for(name, limits)})

    grids = []
    expansion_of_grid: list[int] = []  # grid entry -> its expansion's index (disabled skipped)
    expansions = data.get("expansions") or []
    if not isinstance(expansions, list):
        raise ConfigError(f"{source}: field expansions: expected a list")
    for i, expansion in enumerate(expansions):
        where = f"{source}: field expansions[{i}]"
        if not isinstance(expansion, dict):
            raise ConfigError(f"{where}: expected a mapping")
        _warn_unknown(expansion, _AMF_EXPANSION, where)
        if expansion.get("enabled", True) is False:
            continue
        variables = expansion.get("variables")
        if not isinstance(variables, dict):
            raise ConfigError(
                f"{where}.variables: expected a mapping of {', '.join(sorted(_AMF_VARIABLES))}"
            )
        unknown = set(variables) - _AMF_VARIABLES
        if unknown:
            raise ConfigError(
                f"{where}.variables: unknown key {sorted(unknown)[0]!r} (expected {', '.join(sorted(_AMF_VARIABLES))})"
            )
        missing = sorted(_AMF_VARIABLES - set(variables))
        if missing:  # a missing axis would silently mean every value of it
            raise ConfigError(
                f"{where}.variables: missing {', '.join(missing)} (the framework needs all of "
                f"{', '.join(sorted(_AMF_VARIABLES))})"
            )
        expansion_of_grid.append(i)
        values = [v for v in _str_list(variables, "goal_values", where) or [] if v != "none"]
        grids.append(
            {
                "families": [
                    FAMILY_ALIASES.get(s, s) for s in _str_list(variables, "scenarios", where) or []
                ]
                or None,
                "goal_types": _str_list(variables, "goal_types", where),
                "goal_values": values or None,
                "urgencies": _str_list(variables, "urgency_types", where),
            }
        )
    config = {
        "name": str(data.get("experiment_id") or Path(source).stem),
        "models": specs,
        "grid": grids,
        "samples": glob.get("samples_per_condition", 1),
        "temperature": glob.get("temperature", 1.0),
    }
    if "max_tokens" in glob:
        config["max_tokens"] = glob["max_tokens"]
    if isinstance(glob.get("concurrency"), dict) and "max_total" in glob["concurrency"]:
        config["max_samples"] = glob["concurrency"]["max_total"]
    try:
        return SweepConfig.model_validate(config)
    except ValidationError as exc:  # name the user's field, not the one we translated it to
        first = exc.errors()[0]
        raise ConfigError(
            f"{source}: field {_amf_location(first.get('loc', ()), expansion_of_grid)}: "
            f"{str(first.get('msg', exc)).removeprefix('Value error, ')}"
        ) from None


_AMF_FIELDS = {
    "name": "experiment_id",
    "models": "global.models",
    "samples": "global.samples_per_condition",
    "temperature": "global.temperature",
    "max_tokens": "global.max_tokens",
    "max_samples": "global.concurrency.max_total",
}
_AMF_AXES = {
    "families": "scenarios",
    "goal_types": "goal_types",
    "goal_values": "goal_values",
    "urgencies": "urgency_types",
}


def _amf_location(loc: Sequence[Any], expansion_of_grid: list[int]) -> str:
    """A SweepConfig error location in the framework's own terms."""
    parts = [str(p) for p in loc]
    if not parts:
        return "(top level)"
    if parts[0] == "grid" and len(parts) >= 3 and parts[1].isdigit():
        index = expansion_of_grid[int(parts[1])] if int(parts[1]) < len(expansion_of_grid) else 0
        axis = _AMF_AXES.get(parts[2], parts[2])
        return ".".join([f"expansions[{index}].variables.{axis}", *parts[3:]])
    return ".".join([_AMF_FIELDS.get(parts[0], parts[0]), *parts[1:]])


def _str_list(variables: dict[str, Any], key: str, where: str) -> list[str] | None:
    value = variables.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.variables.{key}: expected a list of names")
    return value


def _amf_concurrency(value: Any, source: str) -> dict[str, int]:
    """Flatten the framework's concurrency block into {provider-or-model-prefix: limit}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: field global.concurrency: expected a mapping")
    flat: dict[str, int] = {}
    for key, limit in value.items():
        if key == "max_total":
            continue
        if isinstance(limit, dict):
            for sub, n in limit.items():
                if not isinstance(n, int) or n < 1:
                    raise ConfigError(
                        f"{source}: field global.concurrency.{key}.{sub}: expected a positive integer"
                    )
                flat[str(sub)] = n
        elif isinstance(limit, int) and limit >= 1:
            flat[str(key)] = limit
        else:
            raise ConfigError(
                f"{source}: field global.concurrency.{key}: expected a positive integer"
            )
    return flat


def _limit_for(model: str, limits: dict[str, int]) -> int | None:
    """Most specific match: the exact model, then the resolved provider, then a name prefix."""
    if model in limits:
        return limits[model]
    resolved = resolve_model_name(model)
    provider = resolved.split("/", 1)[0]
    if provider in limits:
        return limits[provider]
    prefixes = [k for k in limits if model.startswith(k)]
    return limits[max(prefixes, key=len)] if prefixes else None


def _validate(data: Any, source: str) -> SweepConfig:
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None


def load_config(path: str | Path) -> SweepConfig:
    """Read our YAML or the public framework's; any problem is one ConfigError line."""
    path = Path(path)
    data = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    config = from_amf(data, str(path)) if is_amf_config(data) else _validate(data, str(path))
    config._source = str(path)
    try:
        config.resolved_conditions()
        _check_containment(config)
    except CorrigibleError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config


def _check_containment(config: SweepConfig) -> None:
    if (config.audit or config.audit_key) and config.guard is None:
        raise ConfigError("audit and audit_key record guard decisions: set guard too")
    if config.audit_key and not Path(config.audit_key).is_file():
        raise ConfigError(
            f"audit_key {config.audit_key}: no such key file "
            "(make one with `corrigible audit keygen KEY`)"
        )
    if config.guard not in (None, "default"):
        from corrigible.containment.guard import load_policy

        load_policy(Path(config.guard))


def with_containment(
    config: SweepConfig,
    guard: str | None = None,
    audit: str | None = None,
    audit_key: str | None = None,
) -> SweepConfig:
    """The sweep with its containment settings overridden (``corrigible run --guard …``), checked
    as a config file's would be. ``None`` keeps what the config says."""
    update = {
        key: value
        for key, value in (("guard", guard), ("audit", audit), ("audit_key", audit_key))
        if value is not None
    }
    if not update:
        return config
    changed = config.model_copy(update=update)
    _check_containment(changed)
    return changed
