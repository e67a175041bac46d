"""Ed25519 signing keys for checkpoints: make, load, and name them by key id."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from corrigible._files import atomic_write_text, prepare_output
from corrigible.errors import AuditError, AuditInputError

# --------------------------------------------------------------------------------------------
# keys


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    return "ed25519:" + hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_path(private_key_path: Path) -> Path:
    """Where :func:`generate_key` puts the public half: the private key's name plus ``.pub``."""
    return private_key_path.with_name(private_key_path.name + ".pub")


def generate_key(path: Path) -> Path:
    """Write a new Ed25519 signing key (PKCS#8 PEM, mode 0600) and its public key beside it.

    Refuses to overwrite an existing key: replacing the signing key of a log in use would make
    every later checkpoint fail against a pinned public key. Returns the public key's path
    (``<path>.pub``, PEM), which is what verifiers need and may be shared freely.
    """
    path = Path(path)
    prepare_output(path)
    if path.exists():
        raise AuditError(f"{path}: a key file already exists; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # not atomic_write_text: that leaves files 0644, and a private key must never be readable
    # by others, not even for an instant. mkstemp creates the file 0600.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub_path = public_key_path(path)
    atomic_write_text(pub_path, public.decode("ascii"))
    return pub_path


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """Read a private key written by :func:`generate_key`; refuse one others can read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"{path}: cannot read signing key ({exc.strerror})") from None
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise AuditError(f"{path}: is a public key; signing needs the private key beside it")
    if os.name == "posix" and mode & 0o077:
        raise AuditError(
            f"{path}: signing key is readable by others (mode {mode & 0o777:04o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"{path}: not an Ed25519 key ({type(key).__name__})")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a trusted public key: PEM (as :func:`generate_key` writes) or base64 raw bytes.

    The base64 form is the ``public_key`` field of a checkpoint, so a key can be pinned by
    pasting it from one checkpoint the verifier already trusts.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditInputError(f"{path}: cannot read public key ({exc.strerror})") from None
    try:
        if b"-----BEGIN" in data:
            key: Any = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise AuditInputError(f"{path}: not a public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditInputError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


def as_signing_key(key: Ed25519PrivateKey | Path | str) -> Ed25519PrivateKey:
    return key if isinstance(key, Ed25519PrivateKey) else load_signing_key(Path(key))


def as_public_key(key: Ed25519PublicKey | Path | str) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else load_public_key(Path(key))
