"""Inspect's entry point into corrigible (``[project.entry-points.inspect_ai]``).

Inspect imports this module when it looks for a model API, task or solver it does not know,
so everything corrigible registers with Inspect must be imported from here.
"""

from __future__ import annotations

import importlib.util

from corrigible.models import providers as _providers  # noqa: F401  (registers corrigible/*)

# The evaluation task module is written separately and may not exist yet in a given checkout;
# check for it explicitly instead of catching ImportError, so a real import error inside it
# still surfaces.
if (
    importlib.util.find_spec("corrigible.evaluation") is not None
    and importlib.util.find_spec("corrigible.evaluation.task") is not None
):
    from corrigible.evaluation import approver as _approver  # noqa: F401  (registers corrigible/guard)
    from corrigible.evaluation import task as _task  # noqa: F401  (registers the @task)
