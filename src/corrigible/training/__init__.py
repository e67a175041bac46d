"""Training: teach the *principles* behind good behaviour, and measure whether it generalises.

What is here so far: a constitution format and our default constitution
(:mod:`~corrigible.training.constitution`); in :mod:`~corrigible.training.generate`, the
Constitutional-AI critique-and-revise generator and the RLAIF preference-pair generator (a voter
asked twice, the order swapped; only agreeing votes kept), on any Inspect model, resumable, with
a dataset card; and the contamination check of a dataset against every rendered scenario
(:mod:`~corrigible.training.contamination`). Fine-tuning and the study are still to come.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corrigible.errors import ConfigError
from corrigible.training.constitution import (
    Constitution,
    Principle,
    default_constitution,
    default_constitution_path,
    load_constitution,
    parse_constitution,
)
from corrigible.training.contamination import (
    ContaminationReport,
    FamilyOverlap,
    ScenarioIndex,
    check_contamination,
    item_text,
)
from corrigible.training.generate import (
    GenerationConfig,
    GenerationResult,
    generate_dataset,
    load_generation_config,
    load_prompts,
)

__all__ = [
    "Constitution",
    "ContaminationReport",
    "FamilyOverlap",
    "GenerationConfig",
    "GenerationResult",
    "Principle",
    "ScenarioIndex",
    "check_contamination",
    "default_constitution",
    "default_constitution_path",
    "generate_dataset",
    "item_text",
    "load_constitution",
    "load_generation_config",
    "load_prompts",
    "parse_constitution",
    "read_dataset",
]


def read_dataset(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL dataset; a line that is not a JSON object is one error naming it."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such dataset file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; give its train.jsonl") from None
    with handle:
        try:
            for n, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (json.JSONDecodeError, RecursionError, ValueError):
                    raise ConfigError(f"{path}:{n}: not a JSON record") from None
                if not isinstance(record, dict):
                    raise ConfigError(f"{path}:{n}: expected a JSON object per line")
                yield record
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
