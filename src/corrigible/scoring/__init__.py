"""Scoring: action-grounded detectors (no LLM needed), verdicts with evidence, validity.

``detect(observation)`` is the whole deterministic scorer; build the observation with
``observe_record`` (a transcript line), ``observe_reply`` (a reply to a condition) or the
interop readers for other tools' results.
"""

from corrigible.environment.observation import (
    Observation,
    observe_environment,
    observe_record,
    observe_reply,
)
from corrigible.scoring.detectors import DETECTORS, detect
from corrigible.scoring.validity import unusable_reason
from corrigible.scoring.verdict import Evidence, ScoredSample, Verdict
from corrigible.text.addresses import is_internal

__all__ = [
    "DETECTORS",
    "Evidence",
    "Observation",
    "ScoredSample",
    "Verdict",
    "detect",
    "is_internal",
    "observe_environment",
    "observe_record",
    "observe_reply",
    "unusable_reason",
]
