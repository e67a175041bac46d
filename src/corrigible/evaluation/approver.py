"""The guard as an Inspect approver: any Inspect agent's real tool calls, decided and audited.

Inspect lets an approval policy stand between an agent and its tools (``react()``,
``basic_agent()``, any solver that calls tools): every call is shown to the approvers named for
that tool, in order, before it runs. ``corrigible/guard`` is one of them, so a team guards and
audits its own agents with its own tools without our simulated world::

    # approval.yaml
    approvers:
      - name: corrigible/guard
        tools: "*"
        policy: my-policy.yaml      # or "default"
        audit: runs/audit.sqlite    # optional: every decision to the tamper-evident log
      - name: human                 # where the guard says require_approval
        tools: "*"

    inspect eval my_task.py --approval approval.yaml

How a decision maps: ``allow`` → approve; ``block`` → reject (the model is told why, by rule
and reason, never the evidence); a protected-control incident or the kill switch → terminate
the sample; ``require_approval`` → escalate to the next approver in the policy (a human), or
reject when there is none. Tool results already in the conversation are observed first, so
provenance rules see what the agent read (tools the policy marks ``sensitive_source`` are
tracked). One guard session per sample, keyed by the sample's first message. If the audit log
cannot take a decision, the call is rejected: an unaudited call must not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai.approval import Approval, Approver, approver
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool
from inspect_ai.tool import ToolCall, ToolCallView

from corrigible.evaluation.containment import AuditTarget, _writer, guard_for, prepare_audit

__all__ = ["guard_approver"]


@approver(name="guard")
def guard_approver(
    policy: str = "default",
    audit: str | None = None,
    audit_key: str | None = None,
    agent: str = "agent",
) -> Approver:
    """Decide every tool call with the corrigible guard (see the module docstring).

    Args:
        policy: a policy file, or ``default``.
        audit: an audit log (a path or ``postgresql://`` URL) that gets every decision.
        audit_key: the Ed25519 key signing the log (default: ``AUDIT.key``, made on first use).
        agent: the agent id the policy's ``when.agent`` conditions and the audit records see.
    """
    from corrigible.containment.audit import AuditEntry
    from corrigible.errors import AuditError

    guard = guard_for(str(Path(policy)) if policy != "default" else policy)
    target = None
    if audit is not None:
        target = AuditTarget(log=audit, key=audit_key or f"{audit}.key")
        prepare_audit(target)
    sessions: dict[str, tuple[Any, int]] = {}

    async def approve(
        message: str, call: ToolCall, view: ToolCallView, history: list[ChatMessage]
    ) -> Approval:
        key = (history[0].id if history else None) or "sample"
        session, seen = sessions.get(key) or (guard.session(agent=agent), 0)
        calls = {
            c.id: c.arguments
            for m in history
            if isinstance(m, ChatMessageAssistant)
            for c in m.tool_calls or ()
        }
        for past in history[seen:]:
            if isinstance(past, ChatMessageTool):
                session.observe_tool_result(
                    past.function or "tool",
                    past.text,
                    arguments=calls.get(past.tool_call_id or ""),
                )
        sessions[key] = (session, len(history))
        decision = guard.decide(session, call.function, call.arguments)
        if target is not None:
            try:
                _writer(target).submit(
                    AuditEntry.for_call(
                        tool=call.function,
                        arguments=call.arguments,
                        decision=decision.audit_decision,
                        rule_id=decision.rule_id,
                        reason=decision.reason,
                        policy_version=decision.policy_version,
                        agent_id=agent,
                        context_version=f"inspect:{key}",
                    )
                )
            except AuditError as exc:
                return Approval(
                    decision="reject",
                    explanation=f"the decision could not be audited, so the call does not run "
                    f"({' '.join(str(exc).split())})",
                )
        why = f"{decision.policy_name} {decision.policy_version}, rule {decision.rule_id}: "
        if decision.effect == "allow":
            return Approval(decision="approve", explanation=why + decision.reason)
        if decision.effect == "require_approval":
            return Approval(
                decision="escalate",
                explanation=why + decision.reason + " (a human must approve this call)",
            )
        terminal = decision.incident or decision.rule_id == "kill-switch"
        return Approval(
            decision="terminate" if terminal else "reject", explanation=why + decision.reason
        )

    return approve
