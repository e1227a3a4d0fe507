"""Signed, traced calls to partner nodes.

The client takes an ``httpx`` transport, so tests can wire nodes inside one process
(``httpx.ASGITransport``) or inject faults, while production uses the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from interconn.errors import PartnerError
from interconn.node.identity import SYSTEM_NAME, LocalNode
from interconn.observability import current_trace_id
from interconn.security.signing import new_nonce, sign_request


def encode_body(body: Mapping[str, Any] | None) -> bytes:
    if body is None:
        return b""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class PartnerClient:
    def __init__(
        self,
        node: LocalNode,
        *,
        version: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._node = node
        self._version = version
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def __aenter__(self) -> PartnerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def build(
        self,
        method: str,
        address: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        target_node_id: str | None = None,
        token_set: str = "",
        timestamp_ms: int | None = None,
        nonce: str | None = None,
    ) -> httpx.Request:
        """Build and sign a request exactly as it will go on the wire."""
        url = address.rstrip("/") + path
        if query:
            url += "?" + urlencode(query)
        raw = encode_body(body)
        request = self._client.build_request(method, url, content=raw or None)
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        nonce = nonce or new_nonce()
        raw_path = request.url.raw_path.decode("ascii")
        sent_path, _, raw_query = raw_path.partition("?")
        headers = {
            "x-source-node-id": self._node.node_id,
            "x-target-node-id": target_node_id or "",
            "x-timestamp": ts,
            "x-nonce": nonce,
            "x-trace-id": current_trace_id() or new_nonce(),
            "x-system": SYSTEM_NAME,
            "x-version": self._version,
        }
        if token_set:
            headers["x-mprac-token-set"] = token_set
        if method.upper() == "POST":
            headers["content-type"] = "application/json"
            headers["x-csrf-protection"] = "1"
        headers["x-auth-sign"] = sign_request(
            self._node.key,
            method=method,
            path=sent_path,
            raw_query=raw_query,
            source_node_id=self._node.node_id,
            target_node_id=target_node_id or "",
            timestamp=ts,
            nonce=nonce,
            token_set=token_set,
            body=raw,
        )
        request.headers.update(headers)
        return request

    async def send(self, request: httpx.Request) -> tuple[int, dict[str, Any]]:
        """Send a built request; return (http status, parsed envelope) or raise PartnerError."""
        try:
            response = await self._client.send(request)
        except httpx.HTTPError as exc:
            raise PartnerError(
                f"{request.url.host}: {type(exc).__name__}: {exc}",
                code_name="PARTNER_UNREACHABLE",
                retryable=True,
            ) from exc
        try:
            envelope = response.json()
            if not isinstance(envelope, dict):
                raise ValueError("not an object")
        except ValueError:
            raise PartnerError(
                f"HTTP {response.status_code} without a JSON envelope",
                code_name="PARTNER_PROTOCOL",
                retryable=response.status_code >= 500,
                status=response.status_code,
            ) from None
        return response.status_code, envelope

    async def call(
        self,
        method: str,
        address: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        target_node_id: str | None = None,
        token_set: str = "",
    ) -> dict[str, Any]:
        """Call a partner and return ``data`` of a successful envelope."""
        request = self.build(
            method,
            address,
            path,
            query=query,
            body=body,
            target_node_id=target_node_id,
            token_set=token_set,
        )
        status, envelope = await self.send(request)
        return unwrap(status, envelope)


def unwrap(status: int, envelope: Mapping[str, Any]) -> dict[str, Any]:
    code = envelope.get("code")
    # v1.0 peers answer 200 for success; v1.1+ answer 0.
    if 200 <= status < 300 and code in (0, 200, None):
        data = envelope.get("data")
        return data if isinstance(data, dict) else {}
    msg = str(envelope.get("msg") or "")
    retryable = status >= 500 or status == 429
    raise PartnerError(
        f"partner answered HTTP {status} code {code}: {msg}",
        code_name="PARTNER_REFUSED",
        retryable=retryable,
        status=status,
        remote_code=code if isinstance(code, int) else None,
    )
