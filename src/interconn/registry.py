"""Registers every domain with the kind-agnostic outbox and reconciler (once)."""

from __future__ import annotations

_done = False


def register_domains() -> None:
    global _done
    if _done:
        return
    from interconn.contracts import register as contracts
    from interconn.datasets import register as datasets

    contracts.register()
    datasets.register()
    _done = True
