"""Creating and loading this node's identity (ids, names, signing key, admin token)."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from interconn.errors import OperatorError
from interconn.node.models import AdminToken, NodeIdentity
from interconn.security.signing import AuthType, SigningKey

SYSTEM_NAME = "interconn"


@dataclass(frozen=True)
class LocalNode:
    """What this node is, as loaded at start-up: identity row plus the loaded signing key."""

    node_id: str
    inst_id: str
    name: str
    institution: str
    description: str
    address: str
    key: SigningKey

    @property
    def auth_type(self) -> str:
        return self.key.auth_type.value

    @cached_property
    def credential(self) -> str:
        # Serialised once: it is part of several answers on the hot path.
        return self.key.credential_pem()

    def info(self, *, system_version: str) -> dict[str, str]:
        """Our node info in the v1.2 flat form."""
        return {
            "node_id": self.node_id,
            "inst_id": self.inst_id,
            "name": self.name,
            "institution": self.institution,
            "address": self.address,
            "system": SYSTEM_NAME,
            "system_version": system_version,
            "auth_type": self.auth_type,
            "auth_credential": self.credential,
            "description": self.description,
        }


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_identity(
    session: Session,
    *,
    data_dir: Path,
    node_id: str,
    inst_id: str,
    name: str,
    institution: str,
    description: str = "",
    auth_type: AuthType = AuthType.SHA256_ECDSA,
) -> str:
    """Create the identity row, key files and a first admin token; return the token."""
    if session.scalar(select(NodeIdentity)) is not None:
        raise OperatorError("this node is already initialised")
    key = SigningKey.generate(auth_type, common_name=node_id)
    key_file = data_dir / "keys" / "signing-key.pem"
    _write_private(key_file, key.private_pem())
    cert_file: Path | None = None
    cert = key.certificate_pem()
    if cert is not None:
        cert_file = data_dir / "keys" / "certificate.pem"
        _write_private(cert_file, cert)
    session.add(
        NodeIdentity(
            id=1,
            node_id=node_id,
            inst_id=inst_id,
            name=name,
            institution=institution,
            description=description,
            auth_type=auth_type.value,
            key_file=str(key_file.resolve()),
            cert_file=str(cert_file.resolve()) if cert_file else None,
        )
    )
    return issue_admin_token(session, label="init")


def issue_admin_token(session: Session, *, label: str) -> str:
    token = "ict_" + secrets.token_urlsafe(32)
    session.add(AdminToken(token_sha256=hash_token(token), label=label))
    return token


def admin_token_valid(session: Session, token: str) -> bool:
    digest = hash_token(token)
    found = session.scalar(select(AdminToken.id).where(AdminToken.token_sha256 == digest))
    return found is not None


def load_identity(session: Session, *, address: str) -> LocalNode:
    row = session.scalar(select(NodeIdentity))
    if row is None:
        raise OperatorError("this node has no identity yet: run `interconn init` first")
    try:
        private = Path(row.key_file).read_bytes()
        cert = Path(row.cert_file).read_bytes() if row.cert_file else None
    except OSError as exc:
        raise OperatorError(f"cannot read the node's key file: {exc}") from exc
    key = SigningKey.from_pem(AuthType(row.auth_type), private, cert)
    return LocalNode(
        node_id=row.node_id,
        inst_id=row.inst_id,
        name=row.name,
        institution=row.institution,
        description=row.description,
        address=address,
        key=key,
    )


def update_identity(
    session: Session,
    *,
    name: str | None = None,
    institution: str | None = None,
    description: str | None = None,
) -> NodeIdentity:
    row: NodeIdentity | None = session.scalar(select(NodeIdentity))
    if row is None:
        raise OperatorError("this node has no identity yet: run `interconn init` first")
    if name is not None:
        row.name = name
    if institution is not None:
        row.institution = institution
    if description is not None:
        row.description = description
    return row
