"""What a run leaves behind: the run directory, its results store, and transcripts read from it.

Below scoring and analysis (which read runs) and evaluation (which writes them), so that each of
them opens a run directory the same way.
"""

from corrigible.results.rundir import (
    CONFIG_FILE,
    LOGS_DIR,
    STORE_FILE,
    check_run_dir,
    is_run_dir,
    open_store,
)
from corrigible.results.store import ResultsStore
from corrigible.results.transcripts import (
    TRANSCRIPT_KEYS,
    export_run,
    iter_trace,
    iter_transcripts,
    transcript_trace,
    write_jsonl,
)

__all__ = [
    "CONFIG_FILE",
    "LOGS_DIR",
    "STORE_FILE",
    "TRANSCRIPT_KEYS",
    "ResultsStore",
    "check_run_dir",
    "export_run",
    "is_run_dir",
    "iter_trace",
    "iter_transcripts",
    "open_store",
    "transcript_trace",
    "write_jsonl",
]
