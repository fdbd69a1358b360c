"""Paid tools over MCP, for the official `mcp` SDK (2.x): sell a tool call, buy one.

```python
from mcp.server.mcpserver import MCPServer
from paywire.mcp import PaidTools

paid = PaidTools({"search": "$0.01"}, facilitator_url="https://facilitator.example.com",
                 accepts=[{"asset": usdc, "payTo": "0x…"}])
server = MCPServer("shop")

@server.tool(meta=paid.meta("search"))
@paid.tool("search")
async def search(q: str) -> str:
    return f"results for {q}"
```

```python
from paywire.mcp import PayingMcpClient

paying = PayingMcpClient(session, policy={"maxPerRequest": "0.05", "dailyLimit": "1"}, signer=signer)
call = await paying.call_tool("search", {"q": "x402"})
call.result.content, call.payment["settlement"]["transaction"]
```

Drivers over the core's MCP flows (`McpPaywall`, `McpClientFlow`), which decide everything —
the 402 results, reading a payment from `_meta` as an object, JSON text or base64, when to
settle, what a failed settlement answers, what to pay, and never paying twice for one call.
A tool that raises or answers `is_error` is not charged; a failed settlement answers a 402
result without the tool's content.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar, Union, cast

try:
    from mcp.server.mcpserver import Context
    from mcp.shared.exceptions import MCPError
    from mcp.types import CallToolResult, TextContent
except ImportError as missing:  # pragma: no cover - the extra is not installed
    raise ImportError("paywire.mcp needs the MCP SDK: pip install 'paywire[mcp]' (mcp>=2.3)") from missing

from ._client import ClientOptions, ConnectionFailed, Seen, client_steps, run_async
from ._core import KeyRing, McpPaywall, McpPaywallFlow
from ._facilitator import FacilitatorClient, FacilitatorHeaders
from .signers import Signer
from .stores import MemoryTokenStore, MemoryTokenUses, MemoryUsageStore, TokenStore, TokenUses, UsageStore
from .types import AssetRegistry, PaymentOption, PaymentRecord, PolicyJson

__all__ = ["PaidCall", "PaidTools", "PayingMcpClient", "PAYMENT_META", "PAYMENT_RESPONSE_META"]

#: The `_meta` key of a call's payment.
PAYMENT_META = "x402/payment"
#: The `_meta` key of a result's settlement.
PAYMENT_RESPONSE_META = "x402/payment-response"
#: JSON-RPC codes of an answer lost rather than refused (a timeout, a closed connection): a
#: paid call is then sent once more as the very same payment.
LOST_ANSWER_CODES = frozenset({-32001, -32000})

F = TypeVar("F", bound=Callable[..., Any])


def _result_json(result: CallToolResult) -> Dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


def _as_result(value: Any) -> CallToolResult:
    """A tool's return value as a `CallToolResult` (the settlement goes into its `_meta`)."""
    if isinstance(value, CallToolResult):
        return value
    if isinstance(value, str):
        return CallToolResult(content=[TextContent(type="text", text=value)])
    if isinstance(value, (dict, list)):
        text = json.dumps(value)
        structured = value if isinstance(value, dict) else None
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)
    return CallToolResult(content=[TextContent(type="text", text=str(value))])


def _request_meta(ctx: Any) -> Optional[Dict[str, Any]]:
    """The call's `params._meta`, as the MCP SDK hands it to a tool's context."""
    try:
        meta = ctx.request_context.meta
    except (AttributeError, ValueError):
        return None
    if meta is None:
        return None
    if isinstance(meta, dict):
        return dict(meta)
    dump = getattr(meta, "model_dump", None)
    return cast(Dict[str, Any], dump(by_alias=True, exclude_none=True)) if dump else None


class PaidTools:
    """A paywall over MCP tools: `tool(name)` wraps a tool function so its calls are paid;
    `meta(name)` is what `tools/list` shows of its price."""

    def __init__(
        self,
        tools: Dict[str, Any],
        *,
        facilitator_url: str,
        accepts: Optional[List[PaymentOption]] = None,
        decimals: Optional[int] = None,
        token_keys: Optional[KeyRing] = None,
        token_uses: Optional[TokenUses] = None,
        require_payment_identifier: bool = False,
        facilitator_headers: Optional[FacilitatorHeaders] = None,
        facilitator_timeout: float = 30.0,
        facilitator_retries: int = 2,
        now: Optional[Callable[[], int]] = None,
    ) -> None:
        config: Dict[str, Any] = {"tools": tools, "accepts": accepts or [], "requirePaymentIdentifier": require_payment_identifier}
        if decimals is not None:
            config["decimals"] = decimals
        self.paywall = McpPaywall(config)  # type: ignore[arg-type]
        self.keys = token_keys
        self.token_uses: TokenUses = token_uses or MemoryTokenUses()
        self.facilitator = FacilitatorClient(facilitator_url, facilitator_headers, facilitator_timeout, facilitator_retries)
        self.now = now or (lambda: int(time.time()))

    def meta(self, name: str) -> Optional[Dict[str, Any]]:
        """What `tools/list` shows of tool `name` in its `_meta` (the 402 an unpaid call
        answers), so an agent can plan; None for a free or unpriced tool."""
        return self.paywall.tool_meta(name, self.now())

    def _feed(self, flow: McpPaywallFlow, event: Dict[str, Any]) -> Dict[str, Any]:
        if self.keys is not None:
            return cast(Dict[str, Any], self.paywall.feed_with_keys(flow, event, self.keys))  # type: ignore[arg-type]
        return cast(Dict[str, Any], self.paywall.feed(flow, event))  # type: ignore[arg-type]

    async def call(
        self,
        name: str,
        meta: Optional[Dict[str, Any]],
        run: Callable[[], Awaitable[Any]],
        price: Optional[str] = None,
    ) -> Any:
        """One call of tool `name` with request `_meta`: `run()` runs the tool once the payment
        verified (or at once for a free tool, or one opened by a token). The result to return."""
        flow = McpPaywallFlow()
        event: Dict[str, Any] = {"event": "call", "tool": name, "meta": meta, "now": self.now(), "entropy": os.urandom(16).hex()}
        if price is not None:
            event["price"] = price
        action = self._feed(flow, event)
        held: Optional[CallToolResult] = None
        while True:
            kind = action["action"]
            if kind == "pass":
                return await run()
            if kind == "countTokenUse":
                before = self.token_uses.use(action["id"], action["expiresAt"])
                if inspect.isawaitable(before):
                    before = await before
                action = self._feed(flow, {"event": "tokenUses", "before": before})
            elif kind == "respond":
                return CallToolResult.model_validate(action["result"])
            elif kind in ("verify", "settle"):
                action = self._feed(flow, await self.facilitator.call(kind, action["body"]))
            elif kind == "runTool":
                try:
                    held = _as_result(await run())
                except BaseException:
                    # Not charged: nothing is settled, and the tool's error stands.
                    self._feed(flow, {"event": "toolResult", "isError": True})
                    raise
                action = self._feed(flow, {"event": "toolResult", "isError": bool(held.is_error)})
            else:  # deliver
                assert held is not None, "deliver follows the tool's run"
                if not action["meta"]:
                    return held
                merged = dict(held.meta or {})
                merged.update(action["meta"])
                return held.model_copy(update={"meta": merged})

    def tool(self, name: Optional[str] = None, *, price: Optional[Callable[..., Union[str, Awaitable[str]]]] = None) -> Callable[[F], F]:
        """Wraps a tool function (sync or async) so that its calls are paid; put it under the
        server's `@server.tool(...)`. `price(**arguments)` prices a call by its arguments
        (`"$0.01"` or atomic units) instead of the tool's configured price.

        The wrapper takes the request's context as an extra keyword parameter `paywire_ctx`
        (the MCP SDK fills it in; it is not part of the tool's input schema)."""

        def decorate(fn: F) -> F:
            tool_name = name or fn.__name__
            is_async = inspect.iscoroutinefunction(fn)

            @functools.wraps(fn)
            async def wrapped(*args: Any, paywire_ctx: Optional[Context] = None, **kwargs: Any) -> CallToolResult:
                async def run() -> Any:
                    if is_async:
                        return await fn(*args, **kwargs)
                    return await asyncio.to_thread(fn, *args, **kwargs)

                call_price: Optional[str] = None
                if price is not None:
                    chosen = price(**kwargs)
                    call_price = await chosen if inspect.isawaitable(chosen) else chosen
                result = await self.call(tool_name, _request_meta(paywire_ctx), run, call_price)
                return _as_result(result)

            # The SDK reads the tool's parameters (its input schema) and finds the context
            # parameter by its annotation: show it the tool's own, plus `paywire_ctx`.
            signature = inspect.signature(fn)
            context = inspect.Parameter("paywire_ctx", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Context)
            wrapped.__signature__ = signature.replace(  # type: ignore[attr-defined]
                parameters=[*signature.parameters.values(), context], return_annotation=CallToolResult
            )
            wrapped.__annotations__ = {**getattr(fn, "__annotations__", {}), "paywire_ctx": Context, "return": CallToolResult}
            del wrapped.__wrapped__  # the signature above is the one to read
            return cast(F, wrapped)

        return decorate


@dataclass
class PaidCall:
    """A tool call's result, and the payment made for it (None when nothing was paid)."""

    result: CallToolResult
    payment: Optional[PaymentRecord]


class PayingMcpClient:
    """Wraps an MCP `ClientSession` (anything with `call_tool(name, arguments, ..., meta=)`) so
    that its tool calls pay 402 results within a spending policy — at most once per call, and
    never on its own after a 402 that reports a failed settlement. Refusals raise the
    `PaywireError` of their code (`policy_*`, `payment_rejected`)."""

    def __init__(
        self,
        session: Any,
        *,
        policy: PolicyJson,
        signer: Signer,
        usage_store: Optional[UsageStore] = None,
        token_store: Optional[TokenStore] = None,
        approver: Optional[Callable[[Dict[str, Any]], Any]] = None,
        on_payment: Optional[Callable[[PaymentRecord], Any]] = None,
        now: Optional[Callable[[], int]] = None,
        random_bytes: Callable[[int], bytes] = os.urandom,
        assets: Optional[AssetRegistry] = None,
    ) -> None:
        self.session = session
        self.options = ClientOptions(
            policy=policy,
            signer=signer,
            usage_store=usage_store or MemoryUsageStore(),
            token_store=token_store or MemoryTokenStore(),
            approver=approver,
            on_payment=on_payment,
            now=now or (lambda: int(time.time())),
            random_bytes=random_bytes,
            assets=assets,
        )
        self._lock = asyncio.Lock()

    async def call_tool(self, name: str, arguments: Optional[Dict[str, Any]] = None, **kwargs: Any) -> PaidCall:
        """Calls tool `name`, paying a 402 result within the policy."""
        base_meta: Dict[str, Any] = dict(kwargs.pop("meta", None) or {})
        meta = dict(base_meta)

        async def send(set_meta: Dict[str, Any], remove_meta: List[str]) -> Seen:
            for key in remove_meta:
                meta.pop(key, None)
            meta.update(set_meta)
            try:
                result = await self.session.call_tool(name, arguments, meta=dict(meta) or None, **kwargs)
            except MCPError as error:
                if error.code in LOST_ANSWER_CODES:
                    raise ConnectionFailed(error) from error
                event: Dict[str, Any] = {"event": "rpcError", "code": error.code, "message": error.message}
                if error.data is not None:
                    event["data"] = error.data
                return Seen(status=0, headers={}, body=None, response=error, event=event)
            except (OSError, asyncio.TimeoutError) as error:
                raise ConnectionFailed(error) from error
            return Seen(status=0, headers={}, body=None, response=result, event={"event": "result", "result": _result_json(result)})

        steps = client_steps(self.options, "POST", f"mcp://tool/{name}", tool=name)
        answer, payment = await run_async(steps, self.options, send, self._lock)
        if isinstance(answer, BaseException):
            raise answer
        return PaidCall(result=answer, payment=payment)
