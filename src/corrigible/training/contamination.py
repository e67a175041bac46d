"""Contamination: does a training set share text with the scenarios it will be evaluated on?

Why it matters: the study this pillar serves asks whether training on *principles* generalises
to situations far from the training data. That question has no answer if the training data
quotes the evaluation's own prompts — least of all the held-out families, which must stay
unseen. So every dataset is checked against every rendered condition of every family (both
prompt variants, every email, the follow-up question) and every mitigation's text, by word
n-gram overlap, and the report says which family, how many items and which shared phrases.

Pure comparison over normalised words (:func:`corrigible.text.words`, the scorer's and the
guard's normalisation), so "Summit Bridge" and "summit-bridge" count as the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from corrigible.text import words

__all__ = [
    "ContaminationReport",
    "FamilyOverlap",
    "ScenarioIndex",
    "check_contamination",
    "item_text",
]

DEFAULT_N = 8
"""Eight consecutive words: long enough that ordinary phrases ("you are an AI assistant")
rarely reach it, short enough to catch one quoted sentence of a scenario email."""


@dataclass
class FamilyOverlap:
    """What a dataset shares with one family."""

    family: str
    held_out: bool
    items: int = 0
    """Dataset items sharing at least one n-gram with the family."""
    grams: int = 0
    """Distinct shared n-grams."""
    examples: list[str] = field(default_factory=list)
    """A few shared phrases (scenario text, ours, so safe to print), for the report."""
    item_ids: list[str] = field(default_factory=list)


@dataclass
class ContaminationReport:
    """The result of :func:`check_contamination`."""

    n: int
    items: int
    families: dict[str, FamilyOverlap]

    @property
    def clean(self) -> bool:
        return not any(f.items for f in self.families.values())

    @property
    def held_out_clean(self) -> bool:
        """No held-out family shares anything: the condition the study needs."""
        return not any(f.items for f in self.families.values() if f.held_out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "items": self.items,
            "clean": self.clean,
            "held_out_clean": self.held_out_clean,
            "families": {
                name: {
                    "held_out": f.held_out,
                    "items": f.items,
                    "grams": f.grams,
                    "examples": f.examples,
                    "item_ids": f.item_ids[:20],
                }
                for name, f in sorted(self.families.items())
            },
        }


class ScenarioIndex:
    """Every word n-gram of the scenarios, with the families it occurs in."""

    def __init__(self, texts: Iterable[tuple[str, str]], held_out: Mapping[str, bool], n: int):
        self.n = n
        self.held_out = dict(held_out)
        self._grams: dict[tuple[bytes, ...], set[str]] = {}
        for family, text in texts:
            ws = words(text)
            for i in range(len(ws) - n + 1):
                self._grams.setdefault(tuple(ws[i : i + n]), set()).add(family)

    @classmethod
    def of_scenarios(cls, n: int = DEFAULT_N) -> ScenarioIndex:
        """The index of every family's rendered conditions (both prompt variants) and of every
        mitigation's text (mitigations belong to every family)."""
        from corrigible.scenarios import (
            family_names,
            iter_conditions,
            load_family,
            mitigation_catalog,
            render_scenario,
        )

        names = family_names()
        held = {name: load_family(name).held_out for name in names}

        def texts() -> Iterator[tuple[str, str]]:
            seen: set[str] = set()
            for condition in iter_conditions(production=(False, True)):
                rendered = render_scenario(condition)
                family = condition.family
                parts = [rendered.system_prompt, rendered.user_prompt, rendered.followup or ""]
                parts += [f"{e.subject}\n{e.body}" for e in rendered.emails]
                for part in parts:
                    key = f"{family}\x00{part}"
                    if part and key not in seen:  # conditions repeat most of their text
                        seen.add(key)
                        yield family, part
            for mitigation in mitigation_catalog().values():
                text = mitigation.model_dump_json()
                for family in names:
                    yield family, text

        return cls(texts(), held, n)

    def families_of(self, text: str) -> dict[str, set[tuple[bytes, ...]]]:
        ws = words(text)
        out: dict[str, set[tuple[bytes, ...]]] = {}
        grams = self._grams
        for i in range(len(ws) - self.n + 1):
            gram = tuple(ws[i : i + self.n])
            for family in grams.get(gram, ()):
                out.setdefault(family, set()).add(gram)
        return out


def item_text(item: Mapping[str, Any]) -> str:
    """The trainable text of one dataset record, in any of TRL's formats: ``messages`` (every
    message's content), ``prompt``/``chosen``/``rejected`` (strings or message lists), ``text``."""
    parts: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            add(value.get("content"))
        elif isinstance(value, list):
            for v in value:
                add(v)

    for key in ("messages", "prompt", "chosen", "rejected", "completion", "text"):
        add(item.get(key))
    return "\n".join(parts)


def check_contamination(
    items: Iterable[Mapping[str, Any]], index: ScenarioIndex | None = None
) -> ContaminationReport:
    """Compare every item with every family; items are dataset records (see :func:`item_text`),
    named in the report by their ``id`` (or their position)."""
    index = index or ScenarioIndex.of_scenarios()
    families = {
        name: FamilyOverlap(family=name, held_out=held) for name, held in index.held_out.items()
    }
    seen_grams: dict[str, set[tuple[bytes, ...]]] = {name: set() for name in families}
    count = 0
    for position, item in enumerate(items):
        count += 1
        item_id = str(item.get("id", position))
        for family, grams in index.families_of(item_text(item)).items():
            overlap = families[family]
            overlap.items += 1
            overlap.item_ids.append(item_id)
            fresh = grams - seen_grams[family]
            seen_grams[family] |= fresh
            for gram in sorted(fresh):
                if len(overlap.examples) < 5:
                    overlap.examples.append(b" ".join(gram).decode("utf-8", "replace"))
    for name, overlap in families.items():
        overlap.grams = len(seen_grams[name])
    return ContaminationReport(n=index.n, items=count, families=families)
