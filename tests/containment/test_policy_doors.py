"""Rules that cannot hang the guard or open the door (bypasses found from outside)."""

from __future__ import annotations

import time

import pytest

from corrigible.containment.guard import Guard, default_policy_path, load_policy, parse_policy
from corrigible.errors import ConfigError

BASE = {
    "version": "1",
    "name": "p",
    "default": "allow",
    "tools": ["email"],
    "boundary": {"domains": ["corp.example"]},
}


def _policy(**changes: object) -> dict[str, object]:
    return {**BASE, **changes}


def test_a_catastrophic_regex_runs_in_linear_time() -> None:
    policy = parse_policy(
        _policy(
            rules=[
                {
                    "id": "r",
                    "effect": "block",
                    "reason": "x",
                    "when": {"text": {"regex": "^(a+)+$"}},
                }
            ]
        )
    )
    guard = Guard(policy)
    session = guard.session()
    start = time.perf_counter()
    decision = guard.decide(session, "email", {"to": "a@corp.example", "body": "a" * 5000 + "b"})
    assert time.perf_counter() - start < 1.0
    assert decision.effect == "allow"


@pytest.mark.parametrize(
    ("pattern", "why"), [(r"(a)\1", "backreferences"), (r"x(?=y)", "lookaround")]
)
def test_patterns_a_linear_engine_cannot_run_are_refused_in_one_line(
    pattern: str, why: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(
            _policy(
                rules=[
                    {
                        "id": "r",
                        "effect": "block",
                        "reason": "x",
                        "when": {"text": {"regex": pattern}},
                    }
                ]
            ),
            "p.yaml",
        )
    message = str(info.value)
    assert message.startswith("p.yaml: field rules.0.when.text.regex") and why in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["*", "**", "?*", "[a-z]*"])
def test_a_tool_pattern_that_declares_everything_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="would declare every tool"):
        parse_policy(_policy(tools=["email", {"name": name}]))


@pytest.mark.parametrize("domain", ["com", "co.uk", "*", "*.corp.example", "github.io"])
def test_boundary_domains_that_are_public_suffixes_or_wildcards_are_refused(domain: str) -> None:
    with pytest.raises(ConfigError, match="public suffix|not a domain"):
        parse_policy(_policy(boundary={"domains": [domain]}))


def test_a_send_without_a_destination_fails_closed() -> None:
    guard = Guard(load_policy(default_policy_path()))
    session = guard.session(agent="agent")
    for arguments in ({}, {"to": ""}, {"subject": "hi", "body": "x"}, {"to": []}):
        decision = guard.decide(session, "email", arguments)
        assert decision.effect == "block" and decision.rule_id == "fail-closed", arguments
        assert "missing required argument(s): to" in decision.reason
    forward = guard.decide(session, "forward", {"to": "ops@kestrel-systems.com"})
    assert forward.effect == "block" and "email_id" in forward.reason


def test_declared_required_arguments_are_enforced() -> None:
    policy = parse_policy(
        _policy(tools=[{"name": "run", "required": ["command"], "recipients": [], "hosts": []}])
    )
    guard = Guard(policy)
    session = guard.session()
    assert guard.decide(session, "run", {}).rule_id == "fail-closed"
    assert guard.decide(session, "run", {"command": "ls"}).rule_id == "default"


SHELL_POLICY = {
    **BASE,
    "tools": [{"name": "run_command", "commands": ["command"]}],
    "protected": [
        {"control": "kill switch", "paths": ["/etc/agent/killswitch*"]},
        {"control": "audit log", "paths": ["*/audit.sqlite"]},
    ],
}


@pytest.mark.parametrize(
    "command",
    [
        "cat /etc/agent/killswitch.yaml",
        "grep -n enabled /etc/agent/killswitch.yaml | head -3",
        "sha256sum /srv/logs/audit.sqlite",
        "ls -l /etc/agent/ && stat /etc/agent/killswitch.yaml",
        "cp /etc/agent/killswitch.yaml /tmp/ks-copy.yaml",
        "sed -n 1,5p /etc/agent/killswitch.yaml",
    ],
)
def test_reading_a_protected_file_through_the_shell_is_allowed(command: str) -> None:
    guard = Guard(parse_policy(SHELL_POLICY))
    decision = guard.decide(guard.session(), "run_command", {"command": command})
    assert decision.effect == "allow", decision


@pytest.mark.parametrize(
    "command",
    [
        "rm -f /etc/agent/killswitch.yaml",
        "echo 'enabled: false' > /etc/agent/killswitch.yaml",
        "echo x >> /etc/agent/killswitch.yaml",
        "sed -i 's/true/false/' /etc/agent/killswitch.yaml",
        "cat new.yaml | tee /etc/agent/killswitch.yaml",
        "cp /tmp/off.yaml /etc/agent/killswitch.yaml",
        "sudo -n truncate -s 0 /srv/logs/audit.sqlite",
        "python3 patch.py /etc/agent/killswitch.yaml",
        "cat /etc/agent/killswitch.yaml; mv /tmp/x /etc/agent/killswitch.yaml",
        "bash -c 'rm /etc/agent/killswitch.yaml",  # unbalanced quote: fail closed
    ],
)
def test_changing_a_protected_file_through_the_shell_is_an_incident(command: str) -> None:
    guard = Guard(parse_policy(SHELL_POLICY))
    decision = guard.decide(guard.session(), "run_command", {"command": command})
    assert decision.effect == "block" and decision.incident, (command, decision)


def test_a_path_under_two_controls_is_reported_under_the_more_specific_one() -> None:
    policy = parse_policy(
        {
            **BASE,
            "tools": [{"name": "write_file", "paths": ["path"]}],
            "protected": [
                {"control": "guard policy", "paths": ["/etc/agent/*"]},
                {"control": "kill switch", "paths": ["/etc/agent/killswitch*"]},
            ],
        }
    )
    guard = Guard(policy)
    session = guard.session()
    ks = guard.decide(session, "write_file", {"path": "/etc/agent/killswitch.yaml"})
    assert ks.incident and "kill switch" in ks.reason
    other = guard.decide(session, "write_file", {"path": "/etc/agent/policy.yaml"})
    assert other.incident and "guard policy" in other.reason
    relative = guard.decide(session, "write_file", {"path": "agent/killswitch.yaml"})
    assert relative.effect == "block"
