"""Shared fixtures for the containment tests: a real, throwaway PostgreSQL server.

One server for the whole test session (started on first use, ~1 s), from Debian's binaries via
:func:`corrigible.testing.postgres.throwaway_postgres`. Missing binaries are a test *failure*
that says how to install them, never a silent skip: the PostgreSQL audit log would otherwise go
untested without anyone noticing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from corrigible.testing.postgres import PostgresUnavailable, throwaway_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the session's PostgreSQL server (database ``postgres``, user ``postgres``, trust)."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:  # raised while starting, never after the yield
        pytest.fail(f"PostgreSQL tests need a server: {exc}", pytrace=False)
