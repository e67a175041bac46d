"""The constitution format: our default parses, every principle says why, bad files are one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.errors import ConfigError
from corrigible.training import default_constitution, load_constitution, parse_constitution

GOOD = """---
name: tiny
version: 0.1.0
principles:
  - id: honesty
    title: Be honest
    principle: Report what you did.
    why: People oversee agents through their reports.
---
# Tiny
"""


def test_the_default_constitution_covers_what_the_issue_asks_with_reasons() -> None:
    c = default_constitution()
    ids = {p.id for p in c.principles}
    assert {
        "oversight",
        "shutdown",
        "no_coercion",
        "honesty",
        "confidentiality",
        "sanctioned_channels",
        "human_safety",
    } <= ids
    for p in c.principles:
        assert len(p.why.split()) >= 20, p.id  # a reason, not a slogan
    assert c.fingerprint == "corrigible-default@1.0.0"
    assert c.prose.startswith("# The corrigible default constitution")


def test_sampling_a_principle_depends_on_seed_and_key_only() -> None:
    c = default_constitution()
    assert c.sample(0, "cai-000001") == c.sample(0, "cai-000001")
    picks = {c.sample(0, f"cai-{i:06d}").id for i in range(200)}
    assert picks == {p.id for p in c.principles}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", "expected YAML front matter"),
        ("---\n[unclosed\n---\n", "front matter is not valid YAML"),
        ("---\n- a\n---\n", "front matter must be a mapping"),
        (
            GOOD.replace("    why: People oversee agents through their reports.\n", ""),
            "field principles.0.why",
        ),
        (GOOD.replace("id: honesty", "id: Honesty!"), "field principles.0.id"),
        (GOOD.replace("version: 0.1.0\n", "version: 0.1.0\nauthor: me\n"), "field author"),
        (
            GOOD.replace(
                "---\n# Tiny",
                "  - {id: honesty, title: t, principle: p, why: w}\n---\n# Tiny",
            ),
            "used twice",
        ),
    ],
)
def test_a_bad_constitution_is_one_line_naming_the_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_constitution(text, where="c.md")
    message = str(err.value)
    assert message.startswith("c.md: ") and expected in message and "\n" not in message


def test_a_file_that_is_missing_or_not_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such constitution file"):
        load_constitution(tmp_path / "nope.md")
    binary = tmp_path / "b.md"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_constitution(binary)


def test_the_cli_shows_a_constitution_and_refuses_a_bad_one(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["train", "constitution"])
    assert done.exit_code == 0, done.output
    assert "corrigible-default@1.0.0: 7 principles" in done.output
    assert "[shutdown]" in done.output and "why:" in done.output
    bad = tmp_path / "bad.md"
    bad.write_text("no front matter")
    done = CliRunner().invoke(app, ["train", "constitution", str(bad)])
    assert done.exit_code == 2
    assert done.output.strip().splitlines()[-1].startswith(f"error: {bad}: expected YAML")
