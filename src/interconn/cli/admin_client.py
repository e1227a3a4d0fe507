"""A small client of the local admin API, used by the CLI and the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from interconn.config import Settings
from interconn.errors import OperatorError

TOKEN_FILE = "admin.token"


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE


class AdminClient:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers={"authorization": f"Bearer {token}"}, timeout=timeout
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> AdminClient:
        token = os.environ.get("INTERCONN_ADMIN_TOKEN")
        if not token:
            try:
                token = token_path(settings).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise OperatorError(
                    f"no admin token: set INTERCONN_ADMIN_TOKEN or keep {token_path(settings)}"
                ) from exc
        url = os.environ.get("INTERCONN_ADMIN_URL") or (
            f"http://{settings.admin_host}:{settings.admin_port}"
        )
        return cls(url, token)

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise OperatorError(
                f"cannot reach the node's admin API at {self._http.base_url}: {exc}. "
                "Is `interconn serve` running?"
            ) from exc
        body = response.json() if response.content else None
        if response.status_code >= 400:
            msg = body.get("msg") if isinstance(body, dict) else response.text
            raise OperatorError(f"{method} {path}: HTTP {response.status_code}: {msg}")
        return body

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {})

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body)
