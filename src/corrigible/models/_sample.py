"""The Inspect sample a model provider is generating for (its metadata: family, condition...).

Shared by the scripted model (entries match on it) and the embedded one (the progress display
names the sample being generated).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["active_sample_metadata"]

logger = logging.getLogger(__name__)


def active_sample_metadata() -> dict[str, Any] | None:
    """Metadata of the Inspect sample running in this context, or ``None`` outside a sample.

    Inspect has no public accessor for the running sample from inside a model provider. Its
    solver machinery keeps the sample's ``TaskState`` in a context variable, read by the private
    ``inspect_ai.solver._task_state.sample_state()`` (present in inspect-ai 0.3.x); the context
    variable follows the sample's task into ``Model.generate``. Kept in this one function so an
    Inspect upgrade that moves it breaks one place, and degrades to "no sample" if it is gone.
    """
    try:
        from inspect_ai.solver._task_state import sample_state
    except ImportError:  # pragma: no cover - only if Inspect moves the private helper
        logger.warning("inspect_ai.solver._task_state.sample_state is gone; match ignores samples")
        return None
    state = sample_state()
    return dict(state.metadata) if state is not None else None
