"""Evaluation on Inspect AI: tasks and the scenario solver, sweep configs, resumable runs, export.

Entry points: :func:`run_sweep` (what ``corrigible run`` calls), :func:`build_task` (an Inspect
Task for any conditions) and :func:`export_run` (the transcript JSONL).
"""

from corrigible.evaluation.config import (
    GridSpec,
    ModelSpec,
    SweepConfig,
    load_config,
    with_containment,
)
from corrigible.evaluation.demo import DEMO_CONDITIONS, demo_config
from corrigible.evaluation.runner import (
    PlannedSample,
    SweepResult,
    plan_sweep,
    run_sweep,
    run_sweep_async,
)
from corrigible.evaluation.summary import ConditionActivity, summarise_activity
from corrigible.evaluation.task import build_task, resolve_conditions, scenario_agent
from corrigible.results.store import ResultsStore
from corrigible.results.transcripts import export_run, iter_transcripts

__all__ = [
    "DEMO_CONDITIONS",
    "ConditionActivity",
    "GridSpec",
    "ModelSpec",
    "PlannedSample",
    "ResultsStore",
    "SweepConfig",
    "SweepResult",
    "build_task",
    "demo_config",
    "export_run",
    "iter_transcripts",
    "load_config",
    "with_containment",
    "plan_sweep",
    "resolve_conditions",
    "run_sweep",
    "run_sweep_async",
    "scenario_agent",
    "summarise_activity",
]
