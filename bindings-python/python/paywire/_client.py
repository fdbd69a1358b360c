"""The agent's side of a paid request, driven once for every Python host: `client_steps` feeds
the core's `ClientFlow` and yields the I/O it needs as small operations; `run_sync` and
`run_async` carry them out with the host's transport, stores, approver and signer. The flow
decides everything (which token to present, what to pay, when to re-send the very same payment,
when spending counts); this module only moves values between the flow and the host."""

from __future__ import annotations

import inspect
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

from ._core import ClientFlow, McpClientFlow, raise_refusal
from .signers import Signer
from .stores import MemoryTokenStore, MemoryUsageStore, TokenStore, UsageStore
from .types import AssetRegistry, ClientAction, PaymentRecord, PolicyJson

#: The most of a 402's body read (a v1 402 carries its options there; they are small).
MAX_402_BODY_BYTES = 64 * 1024


@dataclass
class Seen:
    """An answer as the flow reads it, with the host's own answer object: an HTTP response
    (status, headers, body), or — for an MCP tool call — the flow `event` it stands for."""

    status: int
    headers: Dict[str, str]
    body: Optional[str]
    response: Any
    event: Optional[Dict[str, Any]] = None


class ConnectionFailed(Exception):
    """Raised by a host's send when no answer arrived; carries the transport's error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class ClientOptions:
    """What a paying client is configured with (the transports' keyword arguments)."""

    policy: PolicyJson
    signer: Signer
    usage_store: UsageStore = field(default_factory=MemoryUsageStore)
    token_store: TokenStore = field(default_factory=MemoryTokenStore)
    approver: Optional[Callable[[Dict[str, Any]], Any]] = None
    on_payment: Optional[Callable[[PaymentRecord], Any]] = None
    now: Callable[[], int] = field(default_factory=lambda: lambda: int(time.time()))
    random_bytes: Callable[[int], bytes] = os.urandom
    # The assets the policy judges amounts in; the built-in table when None (a given table
    # replaces it: list every asset the client may pay in).
    assets: Optional[AssetRegistry] = None


Op = Tuple[Any, ...]


def client_steps(options: ClientOptions, method: str, url: str, tool: Optional[str] = None) -> Generator[Op, Any, Tuple[Any, Optional[PaymentRecord]]]:
    """Drives one request's flow (one call of MCP `tool`, when given); yields operations,
    receives their results, and returns the answer to deliver and the payment made (if any).
    Refusals raise `PaywireError`s. An HTTP request's `send` op carries the headers to set and
    remove; a tool call's, the `_meta` entries."""
    config: Dict[str, Any] = {"policy": options.policy, "payer": options.signer.identity()}
    if options.assets is not None:
        config["assets"] = options.assets
    flow: Any = McpClientFlow(config, tool) if tool is not None else ClientFlow(config, method, url)  # type: ignore[arg-type]
    tokens = yield ("tokens_list",)
    action: ClientAction = flow.feed({"event": "start", "tokens": tokens, "now": options.now()})
    last: Optional[Seen] = None
    while True:
        kind = action["action"]
        if kind in ("send", "call"):
            for token in action["forgetTokens"]:  # type: ignore[typeddict-item]
                yield ("tokens_forget", token)
            if kind == "send":
                seen = yield ("send", action["setHeaders"], action["removeHeaders"])  # type: ignore[typeddict-item]
            else:
                seen = yield ("send", action["setMeta"], action["removeMeta"])  # type: ignore[typeddict-item]
            if seen is None:
                action = flow.feed({"event": "connectionFailed"})
                continue
            last = seen
            event: Dict[str, Any]
            if seen.event is not None:
                event = seen.event
            else:
                event = {"event": "response", "status": seen.status, "headers": seen.headers}
                if seen.body is not None:
                    event["body"] = seen.body
            action = flow.feed(event)
        elif kind == "paymentRequired":
            for token in action["forgetTokens"]:  # type: ignore[typeddict-item]
                yield ("tokens_forget", token)
            # Payments of one client are decided one at a time, so two 402s cannot both pass
            # a limit only one fits (the settlement server checks again, atomically).
            yield ("lock",)
            usage = yield ("usage_load",)
            action = flow.feed({
                "event": "pay",
                "usage": usage or {},
                "now": options.now(),
                "nonce": options.random_bytes(32).hex(),
                "paymentId": options.random_bytes(16).hex(),
            })
        elif kind == "askApproval":
            approved = yield ("approve", dict(action))
            action = flow.feed({"event": "approval", "approved": bool(approved)})
        elif kind == "sign":
            signature = yield ("sign", action["request"])  # type: ignore[typeddict-item]
            action = flow.feed({"event": "signed", "signature": signature})
        elif kind == "deliver":
            usage = action.get("usage")
            if usage:
                yield ("usage_save", usage)
            yield ("unlock",)
            token = action.get("token")
            if token:
                yield ("tokens_add", token)
            payment = action.get("payment")
            if payment is not None and options.on_payment is not None:
                options.on_payment(payment)  # type: ignore[arg-type]
            assert last is not None, "deliver follows an answer"
            return last.response, payment  # type: ignore[return-value]
        elif kind == "refuse":
            raise_refusal(action["code"], action["message"], action.get("details"))  # type: ignore[typeddict-item]
        else:  # giveUp: only ever the answer to a failed send, whose error the runner re-raises
            yield ("give_up",)


def run_sync(steps: Generator[Op, Any, Any], options: ClientOptions, send: Callable[[Dict[str, str], List[str]], Seen], lock: Any) -> Any:
    """Carries out `steps` synchronously; `send(set_headers, remove_headers)` sends the request
    (raising `ConnectionFailed` when no answer arrived)."""
    held = False
    failure: Optional[BaseException] = None
    try:
        result: Any = None
        while True:
            op = steps.send(result)
            kind = op[0]
            result = None
            if kind == "send":
                try:
                    result = send(op[1], op[2])
                except ConnectionFailed as failed:
                    failure = failed.error
            elif kind == "give_up":
                assert failure is not None
                raise failure
            elif kind == "lock":
                lock.acquire()
                held = True
            elif kind == "unlock":
                if held:
                    lock.release()
                    held = False
            else:
                result = _store_op(op, options)
                if inspect.isawaitable(result):
                    raise TypeError(f"a synchronous client got an awaitable from {kind}: use the async transport")
    except StopIteration as done:
        return done.value
    finally:
        if held:
            lock.release()


async def run_async(steps: Generator[Op, Any, Any], options: ClientOptions, send: Callable[[Dict[str, str], List[str]], Any], lock: Any) -> Any:
    """The same, for asyncio hosts; stores, approver and signer may be sync or async."""
    held = False
    failure: Optional[BaseException] = None
    try:
        result: Any = None
        while True:
            op = steps.send(result)
            kind = op[0]
            result = None
            if kind == "send":
                try:
                    result = await send(op[1], op[2])
                except ConnectionFailed as failed:
                    failure = failed.error
            elif kind == "give_up":
                assert failure is not None
                raise failure
            elif kind == "lock":
                await lock.acquire()
                held = True
            elif kind == "unlock":
                if held:
                    lock.release()
                    held = False
            else:
                result = _store_op(op, options)
                if inspect.isawaitable(result):
                    result = await result
    except StopIteration as done:
        return done.value
    finally:
        if held:
            lock.release()


def _store_op(op: Op, options: ClientOptions) -> Any:
    kind = op[0]
    if kind == "tokens_list":
        return options.token_store.list()
    if kind == "tokens_forget":
        return options.token_store.forget(op[1])
    if kind == "tokens_add":
        return options.token_store.add(op[1])
    if kind == "usage_load":
        return options.usage_store.load()
    if kind == "usage_save":
        return options.usage_store.save(op[1])
    if kind == "approve":
        # No approver means "denied": the policy asked for one.
        return False if options.approver is None else options.approver(op[1])
    if kind == "sign":
        return options.signer.sign(op[1])
    raise AssertionError(f"unknown operation {kind}")
