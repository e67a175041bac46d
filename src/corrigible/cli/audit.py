"""``corrigible audit``: check the tamper-evident audit log, and the keys and checkpoints behind it.

``verify`` is what an auditor runs: one line per finding, a summary, and an exit code a script
can act on — 0 intact, 1 tampering found, 2 input unusable (missing file, not an audit log,
unreachable database, unreadable checkpoint or key). ``keygen`` and ``checkpoint`` are the
operator's side: make the signing key, and export a signed checkpoint to keep where the log's
host cannot write.

LOG is a SQLite file path or a ``postgresql://`` URL (the shared log of several processes or
hosts); messages show such a URL with its password masked.

Errors are handled in the commands themselves (one line on stderr, the error's exit code), so
the sub-app behaves the same wherever it is registered.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="audit",
    help="Verify the tamper-evident audit log; make signing keys and checkpoints.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register(root: typer.Typer) -> None:
    """Attach ``audit`` to the root app (the root's owner calls this)."""
    root.add_typer(app, name="audit")


@app.command("verify")
def verify_command(
    log: str = typer.Argument(
        ...,
        metavar="LOG",
        help="The audit log to check: a SQLite file or a postgresql:// URL.",
    ),
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="A checkpoint file kept elsewhere: also detects truncation and a full rewrite.",
    ),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="The trusted public key (PEM or base64): every checkpoint must be signed by it.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the verification report as JSON (same exit code)."
    ),
) -> None:
    """Check every record, link and checkpoint; exit 0 intact, 1 tampered, 2 unusable input."""
    from corrigible.containment.audit import verify_audit_log

    report = verify_audit_log(log, checkpoint=checkpoint, public_key=public_key)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        if not report.ok:
            raise typer.Exit(1)
        return
    for finding in report.findings:
        typer.echo(f"TAMPERED {finding.line()}")
    if report.findings_omitted:
        typer.echo(f"TAMPERED … and {report.findings_omitted} more findings not listed")
    for note in report.notes:
        typer.echo(f"note: {note}")
    signed = (
        f"signed through seq {report.signed_through} "
        f"({report.checkpoints_verified} valid checkpoint(s))"
        if report.signed_through
        else "no valid checkpoint"
    )
    timing = f"{report.elapsed_s:.2f} s"
    if report.ok:
        typer.echo(f"intact: {report.records} records verified, chain unbroken, {signed}; {timing}")
        return
    total = len(report.findings) + report.findings_omitted
    first = report.findings[0]
    where = f"seq {first.seq}" if first.seq is not None else "the log"
    typer.echo(
        f"tampered: {total} finding(s), first at {where}; "
        f"{report.records} records scanned, {signed}; {timing}"
    )
    raise typer.Exit(1)


@app.command("keygen")
def keygen_command(
    key: Path = typer.Argument(..., help="Where to write the private signing key (PEM, 0600)."),
) -> None:
    """Make an Ed25519 signing key; its public half goes beside it as ``KEY.pub``."""
    from corrigible.containment.audit import generate_key

    public = generate_key(key)
    typer.echo(f"wrote {key} (private, mode 0600) and {public} (public: give it to verifiers)")


@app.command("checkpoint")
def checkpoint_command(
    log: str = typer.Argument(
        ...,
        metavar="LOG",
        help="The audit log to checkpoint: a SQLite file or a postgresql:// URL.",
    ),
    key: Path = typer.Option(..., "--key", help="The log's private signing key."),
    out: Path = typer.Option(..., "--out", help="Where to write the checkpoint (JSON)."),
) -> None:
    """Sign the log's current tail and write the checkpoint, to keep somewhere else."""
    from corrigible.containment.audit import open_audit_log

    # create=False: checkpointing a log that is not there must not create an empty one
    with open_audit_log(log, signing_key=key, create=False) as audit:
        cp = audit.export_checkpoint(out)
    typer.echo(f"wrote {out}: seq {cp.seq}, hash {cp.hash[:16]}…, key {cp.key_id}")
