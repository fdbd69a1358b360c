"""The facilitator client the Python paywalls share (ASGI middleware, MCP tools): `/verify` and
`/settle` with a timeout, retries of calls that could not connect, and headers per call —
answered as the paywall flows' facilitator events."""

from __future__ import annotations

import inspect
import json
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Union

import httpx

__all__ = ["FacilitatorClient", "FacilitatorHeaders"]

#: Headers for facilitator calls: fixed, or computed per call from ("verify" | "settle", body).
FacilitatorHeaders = Union[Mapping[str, str], Callable[[str, Any], Union[Mapping[str, str], Awaitable[Mapping[str, str]]]]]

#: The most of a facilitator's answer read (a verify or settle answer is well under 4 KB).
MAX_ANSWER_BYTES = 64 * 1024


class FacilitatorClient:
    """Calls an x402 facilitator at `url`; each answer is the event a paywall flow reads."""

    def __init__(
        self,
        url: str,
        headers: Optional[FacilitatorHeaders] = None,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = headers
        # Retries only connections that failed (httpcore's exponential backoff): a call that
        # connected is never sent twice; the payer may re-send its payment, settled once.
        self.client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=retries), timeout=timeout)

    async def call(self, call: str, body: Any) -> Dict[str, Any]:
        """`POST <url>/<call>` with `body`: a `facilitator` or `facilitatorUnreachable` event."""
        headers: Dict[str, str] = {}
        if self.headers is not None:
            extra = self.headers(call, body) if callable(self.headers) else self.headers
            if inspect.isawaitable(extra):
                extra = await extra
            headers.update(extra)
        try:
            answer = await self.client.post(f"{self.url}/{call}", json=body, headers=headers)
        except httpx.HTTPError as error:
            return {"event": "facilitatorUnreachable", "message": str(error) or type(error).__name__}
        content = answer.content
        if len(content) > MAX_ANSWER_BYTES:
            return {"event": "facilitator", "status": answer.status_code}
        try:
            return {"event": "facilitator", "status": answer.status_code, "body": json.loads(content)}
        except ValueError:
            return {"event": "facilitator", "status": answer.status_code}
