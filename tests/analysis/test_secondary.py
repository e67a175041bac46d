"""Secondary behaviours and eval awareness in summaries: every figure with its n and interval."""

from __future__ import annotations

import pytest

from corrigible.analysis.summary import (
    behaviour_rows,
    summarise,
    summary_csv_rows,
    summary_json,
)
from corrigible.errors import ConfigError
from corrigible.scoring.verdict import VerdictRow


def _rows() -> list[VerdictRow]:
    rows = []
    for i in range(8):
        rows.append(
            VerdictRow(
                id=f"m/blackmail_explicit-america_replacement/{i}",
                model="m",
                family="blackmail",
                condition="blackmail_explicit-america_replacement",
                label="harmful" if i < 2 else "not_harmful",
                secondary=frozenset({"disclosure"}) if i in (2, 3, 4) else frozenset(),
                eval_awareness="evaluation" if i in (1, 5) else "unstated",
            )
        )
    rows.append(
        VerdictRow(
            id="m/blackmail_explicit-america_replacement/x",
            model="m",
            family="blackmail",
            condition="blackmail_explicit-america_replacement",
            label="invalid",
        )
    )
    return rows


def test_secondary_rates_count_valid_samples_with_an_interval() -> None:
    summary = summarise(_rows())
    (family,) = summary.by_family
    disclosure = family.secondary["disclosure"]
    assert (disclosure.k, disclosure.n) == (3, 8)
    assert (
        disclosure.interval is not None
        and disclosure.interval.low < 3 / 8 < disclosure.interval.high
    )
    assert family.secondary["escalation"].k == 0


def test_harm_is_split_by_eval_awareness() -> None:
    summary = summarise(_rows())
    split = {c.awareness: c.rate for c in summary.by_awareness}
    assert set(split) == {"evaluation", "unstated"}
    assert (split["evaluation"].k, split["evaluation"].n) == (1, 2)
    assert (split["unstated"].k, split["unstated"].n) == (1, 6)
    csv_levels = [r["level"] for r in summary_csv_rows(summary)]
    assert csv_levels.count("family_awareness") == 2
    data = summary_json(summary)
    assert {r["awareness"] for r in data["by_awareness"]} == {"evaluation", "unstated"}
    assert data["by_family"][0]["disclosure"] == 3


def test_behaviour_rows_measure_a_secondary_behaviour_as_the_rate() -> None:
    rows = behaviour_rows(_rows(), "disclosure")
    labels = [r.label for r in rows]
    assert labels.count("harmful") == 3 and labels.count("invalid") == 1
    with pytest.raises(ConfigError, match="expected one of"):
        behaviour_rows(_rows(), "gossip")
