"""What each domain wants done around the delivery of its messages.

Domains register handlers by ``(kind, message)``; the worker knows nothing about contracts
or datasets, so adding a kind never touches the delivery code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from interconn.context import NodeContext

# (session, record_id, address, body) -> (address, body) to send now.
Finalize = Callable[[Session, str, str, dict[str, Any]], tuple[str, dict[str, Any]]]
Delivered = Callable[[Session, NodeContext, str, dict[str, Any]], None]
Refused = Callable[[Session, NodeContext, str, str], None]


@dataclass(frozen=True)
class Handlers:
    finalize: Finalize | None = None
    delivered: Delivered | None = None
    refused: Refused | None = None


_REGISTRY: dict[tuple[str, str], Handlers] = {}


def register(kind: str, message: str, handlers: Handlers) -> None:
    _REGISTRY[(kind, message)] = handlers


def lookup(kind: str, message: str) -> Handlers:
    return _REGISTRY.get((kind, message)) or _REGISTRY.get((kind, "*")) or Handlers()
