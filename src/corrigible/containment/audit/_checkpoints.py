"""Signed checkpoints: "record *seq* has hash *h*", signed, to be copied out of the agent's reach."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from corrigible._files import atomic_write_text
from corrigible.containment.audit._keys import _raw, key_id
from corrigible.containment.audit._records import (
    _HEX64,
    _UTC_ISO,
    CHECKPOINT_FORMAT,
    canonical_json,
    utc_now,
)
from corrigible.errors import AuditInputError, describe_validation_error

# --------------------------------------------------------------------------------------------
# checkpoints


class Checkpoint(BaseModel):
    """A signed statement "record *seq* of log *log_id* has hash *hash*".

    It carries its public key so that it can be checked anywhere, but a key inside the thing
    being checked proves nothing against someone who re-signs with a key of their own: pin the
    trusted key (``verify(..., public_key=...)``) to close that door.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["corrigible-audit-checkpoint/1"] = CHECKPOINT_FORMAT
    log_id: str = Field(min_length=1)
    seq: int = Field(ge=1)
    hash: str = Field(pattern=_HEX64)
    timestamp: str = Field(pattern=_UTC_ISO)
    key_id: str = Field(pattern=r"^ed25519:[0-9a-f]{16}$")
    public_key: str
    signature: str

    def signed_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, canonically encoded."""
        return canonical_json(self.model_dump(exclude={"signature"}))

    @classmethod
    def sign(cls, key: Ed25519PrivateKey, *, log_id: str, seq: int, hash: str) -> Checkpoint:
        public = key.public_key()
        unsigned = cls(
            log_id=log_id,
            seq=seq,
            hash=hash,
            timestamp=utc_now(),
            key_id=key_id(public),
            public_key=base64.b64encode(_raw(public)).decode("ascii"),
            signature="",
        )
        signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
        return unsigned.model_copy(update={"signature": signature})

    def problem(self, trusted: Ed25519PublicKey | None = None) -> str | None:
        """Why this checkpoint cannot be trusted, or None when its signature holds.

        With ``trusted`` given, the checkpoint must also be signed by that very key.
        """
        try:
            raw = base64.b64decode(self.public_key, validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
            signature = base64.b64decode(self.signature, validate=True)
        except (ValueError, binascii.Error):
            return "its public key or signature is not valid base64 Ed25519 data"
        if key_id(public) != self.key_id:
            return f"its key id {self.key_id} does not name its public key ({key_id(public)})"
        if trusted is not None and _raw(trusted) != raw:
            return f"it is signed by key {self.key_id}, not by the trusted key {key_id(trusted)}"
        try:
            public.verify(signature, self.signed_bytes())
        except InvalidSignature:
            return f"its signature does not verify with key {self.key_id} (forged or altered)"
        return None

    def write(self, path: Path) -> None:
        """Save as JSON (atomically) — for a copy kept where the log's host cannot write."""
        atomic_write_text(Path(path), self.model_dump_json(indent=2) + "\n")


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint file; an unreadable or malformed one is unusable input (exit 2)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditInputError(f"{path}: cannot read checkpoint ({exc})") from None
    try:
        return Checkpoint.model_validate_json(text)
    except ValidationError as exc:
        raise AuditInputError(
            f"{path}: not a checkpoint file: {describe_validation_error(exc)}"
        ) from None
