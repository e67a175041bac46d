"""A throwaway PostgreSQL server for tests and benchmarks: ``with throwaway_postgres() as url``.

Why a real server: the PostgreSQL audit log's whole point is several processes writing one chain
under PostgreSQL's own locking and snapshots, which no in-process fake reproduces. So tests and
``benchmarks/audit_throughput.py`` start Debian's ``postgres`` binaries for the duration:

* ``initdb`` into a fresh temporary directory (trust authentication, user ``postgres``, UTF-8,
  C locale), then the ``postgres`` server itself as a child process, listening on 127.0.0.1 at
  a free port and on a unix socket inside that directory — never on another interface;
* a URL ``postgresql://postgres@127.0.0.1:PORT/postgres`` comes back once a connection succeeds;
* on exit the server gets a fast shutdown (SIGINT; SIGQUIT then SIGKILL if it lingers) and the
  directory is removed. Every wait has a deadline, so a broken installation fails, never hangs.

PostgreSQL refuses to run as root; when this process is root, ``initdb`` and the server run as
the ``postgres`` system user (the Debian package creates it) and the directory is made theirs.
The binaries are looked up on ``PATH``, then under ``/usr/lib/postgresql/*/bin`` (Debian keeps
them off ``PATH``); when absent, :class:`PostgresUnavailable` says to install them.

``fsync=False`` (the default) starts the server with ``fsync=off``: a crash could corrupt it,
which costs nothing for a database that dies with the test, and it makes commits cheap. Pass
``fsync=True`` for figures that include the disk, as a production server would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from corrigible.errors import PostgresUnavailable

__all__ = ["PostgresUnavailable", "find_postgres_bin", "throwaway_postgres"]

INSTALL_HINT = "apt-get install postgresql"


def find_postgres_bin() -> Path:
    """The directory holding ``initdb`` and ``postgres``: from ``PATH``, else the newest Debian one."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        # /usr/local/bin/initdb may be a link into /usr/lib/postgresql/N/bin: resolve it so the
        # server binary is taken from the same installation
        directory = Path(initdb).resolve().parent
        if (directory / "postgres").exists():
            return directory
    candidates = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda d: _version_key(d.parent.name),
    )
    for directory in reversed(candidates):
        if (directory / "postgres").exists():
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, postgres) not found on PATH or under "
        f"/usr/lib/postgresql/*/bin: {INSTALL_HINT} (install.sh --test does it)"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, PostgreSQL needs an unprivileged 'postgres' user to run as, and "
            f"there is none: {INSTALL_HINT} creates it"
        ) from None


def _base_dir(user: pwd.struct_passwd | None) -> str | None:
    """Where to make the temporary directory: the default, unless the server user cannot reach it."""
    if user is None:
        return None
    base = Path(tempfile.gettempdir()).resolve()
    for directory in (base, *base.parents):
        if not os.stat(directory).st_mode & 0o001:  # not traversable by others
            return "/tmp"
    return str(base)


@contextlib.contextmanager
def throwaway_postgres(*, fsync: bool = False, timeout: float = 30.0) -> Iterator[str]:
    """Start a private PostgreSQL server; yield its URL; stop it and delete it on exit.

    ``timeout`` bounds ``initdb`` and the start-up each (seconds). Raises
    :class:`PostgresUnavailable` with the server's own last log lines when it cannot start.
    """
    bin_dir = find_postgres_bin()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="corrigible-pg-", dir=_base_dir(user)))
    # None: run as ourselves; otherwise drop to the postgres user (and only its own group)
    uid = gid = None
    groups: list[int] | None = None
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
        uid, gid, groups = user.pw_uid, user.pw_gid, []
    data, log = root / "data", root / "server.log"
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    if user is not None:
        env["HOME"] = user.pw_dir
    server: subprocess.Popen[bytes] | None = None
    try:
        try:
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "--pgdata",
                    str(data),
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ],
                cwd=root,
                env=env,
                capture_output=True,
                timeout=timeout,
                check=True,
                user=uid,
                group=gid,
                extra_groups=groups,
            )
        except subprocess.CalledProcessError as exc:
            tail = " ".join(exc.stderr.decode(errors="replace").split())[-400:]
            raise PostgresUnavailable(f"initdb failed (exit {exc.returncode}): {tail}") from None
        except subprocess.TimeoutExpired:
            raise PostgresUnavailable(f"initdb did not finish within {timeout:g} s") from None
        for attempt in range(3):
            port = _free_port()
            settings = {
                "listen_addresses": "127.0.0.1",
                "port": str(port),
                "unix_socket_directories": str(root),
                "fsync": "on" if fsync else "off",
                "full_page_writes": "on" if fsync else "off",
                "max_connections": "100",
                "logging_collector": "off",
            }
            args = [str(bin_dir / "postgres"), "-D", str(data)]
            for name, value in settings.items():
                args += ["-c", f"{name}={value}"]
            with open(log, "ab") as log_file:
                server = subprocess.Popen(
                    args,
                    cwd=root,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a Ctrl-C in the terminal reaches us, not it
                    user=uid,
                    group=gid,
                    extra_groups=groups,
                )
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            if _wait_ready(server, url, timeout):
                break
            _stop(server)
            server = None
            address_taken = "could not bind" in _log_tail(log) or "in use" in _log_tail(log)
            if not address_taken or attempt == 2:
                raise PostgresUnavailable(
                    f"the throwaway PostgreSQL server did not start: {_log_tail(log)}"
                )
        yield url
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    """Poll until a connection succeeds (True), the server exits or the deadline passes (False)."""
    import psycopg  # here, so that importing this module never needs the driver

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    return False


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Fast shutdown, escalating to immediate shutdown and then SIGKILL; never waits forever."""
    for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if server.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            server.send_signal(sig)
        try:
            server.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _log_tail(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return " ".join(text.split())[-400:] or "(empty server log)"
