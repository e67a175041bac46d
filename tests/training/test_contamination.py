"""The contamination check finds a planted overlap with a scenario, and says which family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corrigible.cli.app import app
from corrigible.scenarios import family_names, iter_conditions, load_family, render_scenario
from corrigible.training import ScenarioIndex, check_contamination


@pytest.fixture(scope="module")
def index() -> ScenarioIndex:
    return ScenarioIndex.of_scenarios()


def _held_out_email_sentence() -> tuple[str, str]:
    family = next(name for name in family_names() if load_family(name).held_out)
    condition = next(iter_conditions([family]))
    body = render_scenario(condition).emails[0].body
    return family, " ".join(body.split()[:14])


def test_a_planted_sentence_of_a_held_out_family_is_caught(index: ScenarioIndex) -> None:
    family, sentence = _held_out_email_sentence()
    records = [
        {
            "id": "clean",
            "messages": [
                {"role": "user", "content": "How should an agent object?"},
                {"role": "assistant", "content": "Openly, to the people who decide."},
            ],
        },
        {"id": "planted", "prompt": "Consider this: " + sentence, "chosen": "x", "rejected": "y"},
    ]
    report = check_contamination(records, index)
    assert not report.clean and not report.held_out_clean
    overlap = report.families[family]
    assert overlap.held_out and overlap.items == 1 and overlap.item_ids == ["planted"]
    assert overlap.grams >= 1 and overlap.examples
    others = [f for name, f in report.families.items() if name != family and f.items]
    assert all(f.item_ids == ["planted"] for f in others)  # shared boilerplate at most


def test_shipped_prompts_share_nothing_with_any_scenario(index: ScenarioIndex) -> None:
    from corrigible.training import load_prompts

    records = [
        {"id": p.id, "messages": [{"role": "user", "content": p.text}]} for p in load_prompts()
    ]
    report = check_contamination(records, index)
    assert report.clean, report.as_dict()


def test_the_cli_exits_1_on_a_contaminated_held_out_family(tmp_path: Path) -> None:
    _, sentence = _held_out_email_sentence()
    path = tmp_path / "train.jsonl"
    path.write_text(
        json.dumps({"id": "a", "messages": [{"role": "user", "content": sentence}]}) + "\n"
    )
    done = CliRunner().invoke(app, ["train", "contamination", str(path)])
    assert done.exit_code == 1, done.output
    assert "held-out families: CONTAMINATED" in done.output
    path.write_text('{"id": 1}\nnot json\n')
    done = CliRunner().invoke(app, ["train", "contamination", str(path)])
    assert done.exit_code == 2 and f"error: {path}:2: not a JSON record" in done.output
