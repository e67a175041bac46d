"""Containment inside an evaluation: every tool call of a sample goes through the guard, and every
decision goes to the tamper-evident audit log.

Why here and not in the solver: the guard and the audit writer are per-process resources shared
by every sample a process runs (a compiled policy; one background writer committing decisions in
groups), and a sweep must flush the writer before it reports — :func:`flush_audit`.

Where decisions go. A sweep with ``guard:`` audits to ``RUN_DIR/audit.sqlite`` unless ``audit:``
names another log (a path, or a ``postgresql://`` URL shared by several hosts). The log is signed
with ``audit_key:``; without one, a key is made once at ``RUN_DIR/audit.key``. A key kept beside
its log only proves the chain is unbroken, not who wrote it: for an audit trail others rely on,
keep the key (and exported checkpoints) where the agents' hosts cannot write.
"""

from __future__ import annotations

import atexit
import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corrigible.environment.world import Environment
from corrigible.scenarios.render import RenderedScenario

if TYPE_CHECKING:
    from corrigible.containment.audit import AuditStore, AuditWriter
    from corrigible.containment.guard import Guard

AUDIT_FILE = "audit.sqlite"
AUDIT_KEY_FILE = "audit.key"


@dataclass(frozen=True)
class AuditTarget:
    """Where a sweep's guard decisions are logged (``log``: a path or URL) and the key signing
    the log's checkpoints."""

    log: str
    key: str


def audit_target(
    guard: str | None, run_dir: Path, log: str | None = None, key: str | None = None
) -> AuditTarget | None:
    """The audit target of a sweep into ``run_dir`` (None when it runs without a guard)."""
    if guard is None:
        return None
    return AuditTarget(
        log=log or str(run_dir / AUDIT_FILE), key=key or str(run_dir / AUDIT_KEY_FILE)
    )


def prepare_audit(target: AuditTarget | None) -> None:
    """Before any sample runs (and any worker starts): make the run-local signing key on first
    use, and open the log once, so that an unusable log or a key that is not the log's is one
    error now rather than every tool call of the sweep blocked as unauditable."""
    if target is None:
        return
    from corrigible.containment.audit import generate_key, open_audit_log
    from corrigible.errors import ConfigError, CorrigibleError

    key = Path(target.key)
    try:
        if not key.exists():
            generate_key(key)
        with open_audit_log(target.log, signing_key=key) as log:
            log.check_writable()
    except CorrigibleError as exc:
        raise ConfigError(f"audit log: {' '.join(str(exc).split())}") from None


@functools.lru_cache(maxsize=16)
def guard_for(policy: str) -> Guard:
    """The compiled guard of a policy path (or ``default``), shared by a process's samples."""
    from corrigible.containment.guard import Guard, default_policy_path

    return Guard(default_policy_path() if policy == "default" else policy)


_writers: dict[AuditTarget, tuple[AuditWriter, AuditStore]] = {}
_writers_lock = threading.Lock()


def _writer(target: AuditTarget) -> AuditWriter:
    with _writers_lock:
        if target not in _writers:
            from corrigible.containment.audit import AuditWriter, open_audit_log

            log = open_audit_log(target.log, signing_key=Path(target.key))
            _writers[target] = (AuditWriter(log), log)
        return _writers[target][0]


def flush_audit() -> None:
    """Commit every queued decision, sign the tail with a checkpoint and close the logs (the
    next decision reopens them), so a finished sweep leaves no unsigned records behind."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer, log in writers:
        try:
            writer.close()
            if writer.committed:
                log.checkpoint()
        finally:
            log.close()


atexit.register(flush_audit)  # decisions of an `inspect eval` run, which has no sweep end


def contain(
    env: Environment,
    scenario: RenderedScenario,
    policy: str,
    *,
    audit: AuditTarget | None = None,
    agent_id: str | None = None,
) -> None:
    """Put the environment behind the guard: the inbox is what the agent has read (confidential
    emails labelled so), and every tool call is decided — and audited — before it runs.

    ``require_approval`` does not run: nobody approves inside an evaluation. If the audit log
    cannot take a decision, the call is blocked (an unaudited call must not run).
    """
    from corrigible.containment.audit import AuditEntry
    from corrigible.errors import AuditError

    guard = guard_for(policy)
    session = guard.session(agent=scenario.agent_principal)
    for ref, text, labels in scenario.inbox_reads():
        session.observe_tool_result("read_email", text, labels, ref=ref)
    who = agent_id or scenario.agent_principal
    context = f"{scenario.condition_id}@family-v{scenario.family_version}"

    def check(tool: str, arguments: dict[str, Any]) -> tuple[bool, str, str]:
        decision = guard.decide(session, tool, arguments)
        if audit is not None:
            try:
                _writer(audit).submit(
                    AuditEntry.for_call(
                        tool=tool,
                        arguments=arguments,
                        decision=decision.audit_decision,
                        rule_id=decision.rule_id,
                        reason=decision.reason,
                        policy_version=decision.policy_version,
                        agent_id=who,
                        context_version=context,
                    )
                )
            except AuditError as exc:
                return False, "audit-unavailable", f"the audit log cannot record this call: {exc}"
        return decision.effect == "allow", decision.rule_id, decision.reason

    env.contain(check)
