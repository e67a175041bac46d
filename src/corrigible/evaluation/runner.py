"""Sweeps: families × conditions × models × samples on Inspect, resumable and crash-safe.

A run directory holds::

    config.yaml       the sweep as resolved (models, conditions, generation settings)
    results.sqlite    one row per planned sample (see ResultsStore)
    logs/             Inspect logs, viewable with ``inspect view --log-dir RUN_DIR/logs``

Each finished sample is committed to the store the moment Inspect finishes it (an Inspect
``on_sample_end`` hook), so a SIGKILL loses at most the samples in flight. Running the same
command again plans the same samples, skips those already ``ok`` and runs the rest — including
samples that ended in an error, which are stored as errors and never counted as behaviour.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import yaml
from inspect_ai import Task, eval_async
from inspect_ai.hooks import Hooks, SampleEnd, hooks
from inspect_ai.log import EvalSample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.util._display import init_display_type

from corrigible import __version__
from corrigible._files import atomic_write_text
from corrigible._secrets import scrub_data, scrub_log_dir
from corrigible.errors import CorrigibleError, RunDirError
from corrigible.evaluation.config import SweepConfig
from corrigible.evaluation.containment import (
    AuditTarget,
    audit_target,
    flush_audit,
    prepare_audit,
)
from corrigible.evaluation.task import ACTIONS_KEY, REPORT_KEY, SENT_KEY, build_task, sample_id
from corrigible.models.make import make_model
from corrigible.models.names import resolve_model_name
from corrigible.results.rundir import CONFIG_FILE, STORE_FILE, RunDirLock
from corrigible.results.store import META_PLANNED, META_VERSION, ResultsStore

log = logging.getLogger(__name__)

LOGS_DIR = "logs"


@dataclass(frozen=True)
class PlannedSample:
    model: str
    condition: str
    family: str
    sample: int

    @property
    def id(self) -> str:
        return f"{self.model}/{sample_id(self.condition, self.sample)}"


def plan_sweep(config: SweepConfig) -> list[PlannedSample]:
    """Every sample the sweep must hold when complete, in a stable order."""
    conditions = config.resolved_conditions()
    return [
        PlannedSample(model=m.name, condition=c.id, family=c.family, sample=n)
        for m in config.models
        for c in conditions
        for n in range(1, config.samples + 1)
    ]


def plan_fingerprint(config: SweepConfig) -> str:
    """What makes two invocations the same sweep: models, conditions, samples and settings."""
    # where decisions are audited does not change them
    payload = config.model_dump(
        mode="json",
        exclude={"max_samples", "log_samples", "workers", "audit", "audit_key"},
    )
    for model in payload["models"]:
        model.pop("max_connections", None)  # changing concurrency does not change the results
    if payload.get("grader") is None:
        payload.pop("grader", None)  # run directories made before the key existed still resume
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class SweepResult:
    run_dir: Path
    planned: int
    skipped: int
    ran: int
    ok: int
    errors: int
    record_failures: int
    seconds: float
    error_messages: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.ok == self.planned


# -- recording each sample as Inspect finishes it -----------------------------------------------


class _Recorder:
    def __init__(
        self, store: ResultsStore, on_record: Callable[[dict[str, Any]], None] | None
    ) -> None:
        self.store = store
        self.on_record = on_record
        self.failures = 0

    def record(self, sample: EvalSample) -> None:
        try:
            record = sample_record(sample)
            self.store.put(record)
        except Exception:  # a record we could not write is re-run next time, and counted now
            self.failures += 1
            log.exception("could not record sample %s", sample.id)
            return
        if self.on_record is not None:
            self.on_record(record)


_ACTIVE: list[_Recorder] = []
_HOOK_REGISTERED = False


def _register_hook() -> None:
    """Register the recorder hook with Inspect, once, on the first sweep.

    Registered lazily (not at import) so that plain ``inspect eval`` runs of our tasks carry no
    hook of ours at all.
    """
    global _HOOK_REGISTERED
    if _HOOK_REGISTERED:
        return

    @hooks(
        name="corrigible_recorder",
        description="commits each finished sample to the run's results store",
    )
    class _RecorderHook(Hooks):
        def enabled(self) -> bool:
            return bool(_ACTIVE)

        async def on_sample_end(self, data: SampleEnd) -> None:
            if _ACTIVE and "sweep_model" in data.sample.metadata:
                _ACTIVE[-1].record(data.sample)

    _HOOK_REGISTERED = True


def check_models(config: SweepConfig) -> None:
    """Make every model of the sweep once, so that a missing API key, an unknown provider or a
    script that does not exist is one line now, not a traceback from inside the run."""
    made = [("model", spec.name, spec.args) for spec in config.models]
    if config.grader:
        made.append(("grader", resolve_model_name(config.grader), {}))
    for role, name, args in made:
        try:
            make_model(name, role=role, **args)
        except CorrigibleError as exc:
            if config.source is None:
                raise
            raise type(exc)(f"{config.source}: {exc}") from None


@contextlib.contextmanager
def _recording(recorder: _Recorder) -> Iterator[None]:
    _register_hook()
    _ACTIVE.append(recorder)
    try:
        yield
    finally:
        _ACTIVE.remove(recorder)


def sample_record(sample: EvalSample) -> dict[str, Any]:
    """The transcript record of one sample: what ``corrigible export`` writes, one per line."""
    from inspect_ai.log import resolve_sample_attachments

    sample = resolve_sample_attachments(sample, "full")
    meta = sample.metadata
    model = meta["sweep_model"]
    error = sample.error.message if sample.error is not None else None
    usage = {
        name: u.model_dump(mode="json", exclude_none=True) for name, u in sample.model_usage.items()
    }
    return scrub_data(
        {
            "id": f"{model}/{sample.id}",
            "family": meta["family"],
            "condition": meta["condition"],
            "model": model,
            "sample": meta["sample"],
            "status": "error" if error else "ok",
            "tool_mode": meta.get("tool_mode", "text"),
            "messages": [m.model_dump(mode="json", exclude_none=True) for m in sample.messages],
            "response": sample.output.completion if sample.output else "",
            "stop_reason": sample.output.stop_reason
            if sample.output and sample.output.choices
            else None,
            "actions": sample.store.get(ACTIONS_KEY, []),
            "sent": sample.store.get(SENT_KEY, []),
            "report": sample.store.get(REPORT_KEY),
            "error": error,
            "timings": {
                "started_at": sample.started_at,
                "completed_at": sample.completed_at,
                "total_seconds": sample.total_time,
                "working_seconds": sample.working_time,
            },
            "usage": usage,
            "family_version": meta.get("family_version"),
        }
    )


# -- the sweep ----------------------------------------------------------------------------------


def prepare_run_dir(config: SweepConfig, run_dir: Path) -> None:
    """Create the run directory, or check that an existing one holds this same sweep."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: is a file, not a run directory; pick another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"{run_dir}: cannot make the run directory ({exc.strerror}); pick another --out"
        ) from None
    path = run_dir / CONFIG_FILE
    fingerprint = plan_fingerprint(config)
    if path.exists():
        try:
            existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RunDirError(
                f"{path}: unreadable ({exc}); move it away or pick another --out"
            ) from None
        if existing.get("fingerprint") != fingerprint:
            raise RunDirError(
                f"{run_dir}: holds a different sweep (models, conditions, samples or settings differ); "
                "use another --out directory"
            )
        return
    body = {"fingerprint": fingerprint, "config": config.model_dump(mode="json")}
    atomic_write_text(path, yaml.safe_dump(body, sort_keys=False))


def _tasks_for(
    config: SweepConfig,
    pending: list[PlannedSample],
    *,
    connection_share: int = 1,
    audit: AuditTarget | None = None,
) -> list[Task]:
    """One Inspect task per model over its pending samples. With several worker processes each
    gets ``1/connection_share`` of the model's connection limit, so the total stays as set."""
    by_model: dict[str, set[str]] = defaultdict(set)
    for p in pending:
        by_model[p.model].add(sample_id(p.condition, p.sample))
    conditions = config.resolved_conditions()
    tasks = []
    for spec in config.models:
        wanted = by_model.get(spec.name)
        if not wanted:
            continue
        generate = GenerateConfig(
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            seed=config.seed,
            max_retries=config.max_retries,
            timeout=config.timeout,
            max_connections=(
                math.ceil(spec.max_connections / connection_share) if spec.max_connections else None
            ),
        )
        model = get_model(spec.name, config=generate, memoize=False, **spec.args)
        task = build_task(
            conditions,
            config.samples,
            tool_mode=config.tool_mode,
            max_steps=config.max_steps,
            only=wanted,
            name=f"corrigible_{config.name}",
            guard=config.guard,
            audit=audit.log if audit else None,
            audit_key=audit.key if audit else None,
            model=model,
        )
        for sample in task.dataset:
            sample.metadata = {**(sample.metadata or {}), "sweep_model": spec.name}
        tasks.append(task)
    return tasks


@contextlib.contextmanager
def _flushing_audit() -> Iterator[None]:
    try:
        yield
    finally:
        flush_audit()


async def evaluate_pending(
    config: SweepConfig,
    run_dir: Path,
    pending: list[PlannedSample],
    recorder: _Recorder,
    *,
    connection_share: int = 1,
) -> None:
    """Run ``pending`` through Inspect in this process; each finished sample is recorded, and
    the guard's decisions (sweeps with ``guard``) are committed to the audit log before return."""
    audit = audit_target(config.guard, run_dir, config.audit, config.audit_key)
    tasks = _tasks_for(config, pending, connection_share=connection_share, audit=audit)
    # eval_async has no display argument; Inspect reads the type set here. Our own progress
    # (read from the store) replaces Inspect's.
    init_display_type("none")
    with _recording(recorder), _flushing_audit():
        await eval_async(
            tasks,
            log_dir=str(run_dir / LOGS_DIR),
            fail_on_error=False,
            max_tasks=len(tasks),
            max_samples=config.max_samples,
            # Inspect's live-view buffer only serves watching samples in flight; our store is
            # the crash-safe record, and the buffer costs 2-5 ms of CPU per sample.
            log_realtime=False,
            log_samples=config.log_samples,
            log_level="warning",
            model_roles={"grader": resolve_model_name(config.grader)} if config.grader else None,
        )


async def run_sweep_async(
    config: SweepConfig,
    run_dir: str | Path,
    *,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep into ``run_dir``.

    ``on_plan(planned, already_done)`` is called first; ``on_progress(ok, errors)`` about twice a
    second with the store's counts (all worker processes included); ``on_record(record)`` for
    each sample this process finishes.
    """
    started = time.monotonic()
    run_dir = Path(run_dir)
    check_models(config)  # before the run directory exists: a typo must not pin the sweep
    prepare_run_dir(config, run_dir)
    with RunDirLock(run_dir):
        return await _run_locked(config, run_dir, started, on_record, on_plan, on_progress)


async def _run_locked(
    config: SweepConfig,
    run_dir: Path,
    started: float,
    on_record: Callable[[dict[str, Any]], None] | None,
    on_plan: Callable[[int, int], None] | None,
    on_progress: Callable[[int, int], None] | None,
) -> SweepResult:
    """The body of :func:`run_sweep_async`, run while this process holds the directory's lock."""
    prepare_audit(audit_target(config.guard, run_dir, config.audit, config.audit_key))
    plan = plan_sweep(config)
    planned_ids = {p.id for p in plan}
    with ResultsStore(run_dir / STORE_FILE) as store:
        # what readers below this layer (reports, `corrigible runs`) cannot work out themselves
        store.set_meta(META_PLANNED, str(len(plan)))
        store.set_meta(META_VERSION, __version__)
        statuses = store.statuses()
        pending = [p for p in plan if statuses.get(p.id) != "ok"]
        done = len(plan) - len(pending)
        if on_plan is not None:
            on_plan(len(plan), done)
        recorder = _Recorder(store, on_record)
        worker_errors: list[str] = []
        if pending:
            async with anyio.create_task_group() as tg:
                if on_progress is not None:
                    tg.start_soon(_poll_progress, store, planned_ids, on_progress)
                shards = _shards(pending, config.workers)
                workers = {
                    index: spawn_worker(run_dir, index, shard)
                    for index, shard in enumerate(shards[1:], start=1)
                }
                try:
                    await evaluate_pending(
                        config, run_dir, shards[0], recorder, connection_share=len(shards)
                    )
                    for index, worker in workers.items():
                        code = await anyio.to_thread.run_sync(worker.wait)
                        if code != 0:
                            worker_errors.append(f"worker {index} exited with code {code}")
                finally:
                    for worker in workers.values():
                        if worker.poll() is None:
                            worker.kill()
                    tg.cancel_scope.cancel()
                    # Every process that writes logs has ended: Inspect's own logs hold the
                    # samples' error text verbatim, so an echoed key is removed there too.
                    scrub_log_dir(run_dir / LOGS_DIR)
        if on_progress is not None:
            counts = _planned_counts(store, planned_ids)
            on_progress(counts["ok"], counts["error"])
        final = {k: v for k, v in store.statuses().items() if k in planned_ids}
        errors = [
            f"{r['id']}: {r['error']}"
            for r in store.records()
            if r["id"] in planned_ids and r["status"] == "error"
        ]
    ok = sum(1 for s in final.values() if s == "ok")
    return SweepResult(
        run_dir=run_dir,
        planned=len(plan),
        skipped=done,
        ran=len(pending),
        ok=ok,
        errors=sum(1 for s in final.values() if s == "error"),
        record_failures=recorder.failures,
        seconds=time.monotonic() - started,
        error_messages=worker_errors + errors,
    )


def _shards(pending: list[PlannedSample], workers: int) -> list[list[PlannedSample]]:
    """Deal pending samples round-robin, so each process gets every condition and model."""
    n = max(1, min(workers, len(pending)))
    return [pending[i::n] for i in range(n)]


def _planned_counts(store: ResultsStore, planned_ids: set[str]) -> dict[str, int]:
    statuses = store.statuses()
    return {
        "ok": sum(1 for k, v in statuses.items() if v == "ok" and k in planned_ids),
        "error": sum(1 for k, v in statuses.items() if v == "error" and k in planned_ids),
    }


async def _poll_progress(
    store: ResultsStore, planned_ids: set[str], on_progress: Callable[[int, int], None]
) -> None:
    while True:
        counts = _planned_counts(store, planned_ids)
        on_progress(counts["ok"], counts["error"])
        await anyio.sleep(0.5)


SHARDS_DIR = "shards"


def spawn_worker(run_dir: Path, index: int, shard: list[PlannedSample]) -> subprocess.Popen[bytes]:
    """Start one worker process on a shard; the shard's sample ids are written down first, so
    what a worker runs does not depend on when it starts."""
    path = run_dir / SHARDS_DIR / f"shard_{index}.json"
    atomic_write_text(path, json.dumps([p.id for p in shard]))
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER_BOOT, str(os.getpid()), str(run_dir), str(path)],
        stdin=subprocess.DEVNULL,
    )


_WORKER_BOOT = """\
import contextlib, ctypes, os, signal, sys
parent = int(sys.argv[1])
# Die with the parent from the first instruction, before any heavy import. Off Linux there is no
# prctl, and the parent kills its workers when it exits normally.
with contextlib.suppress(OSError, AttributeError):
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != parent:  # the parent died before prctl took effect: run nothing
    os._exit(1)
from corrigible.evaluation.worker import main
sys.exit(main(sys.argv[2:], parent=parent))
"""
"""The worker's first instructions (``python -c``): arm the parent-death signal and check the
parent is still there, *then* import Inspect and the rest. A sweep killed while a worker is
still importing used to leave an orphan that ran its whole shard."""


def run_sweep(config: SweepConfig, run_dir: str | Path, **kwargs: Any) -> SweepResult:
    """Synchronous wrapper around :func:`run_sweep_async`."""
    return anyio.run(lambda: run_sweep_async(config, run_dir, **kwargs))
