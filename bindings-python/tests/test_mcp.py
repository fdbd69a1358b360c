"""Paid MCP tools in Python: `paywire.mcp.PaidTools` inside the official SDK's MCPServer, served
over Streamable HTTP by uvicorn, paid by `PayingMcpClient` around the official SDK's Client (and
called raw, as a naive or hostile client would), settled by a real paywire-server on its ledger
and its devnet EVM network."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any, Dict, List, Optional

import pytest
from eth_account import Account
from mcp import Client
from mcp.server.mcpserver import MCPServer

import paywire as pw
from paywire.mcp import PaidTools, PayingMcpClient

from conftest import EVM_BALANCE_KEY, LEDGER_USD, USDC_BASE_SEPOLIA, Facilitator

USDC = {"network": "eip155:84532", "address": USDC_BASE_SEPOLIA, "symbol": "USDC", "decimals": 6, "extra": {"name": "USDC", "version": "2"}}
POLICY = {"maxPerRequest": "0.10", "dailyLimit": "1.00"}


class Shop:
    """An MCP server selling `search` (1 cent, async), `lookup` (1 cent, sync), `report` (5
    cents, a bundle of 3 more calls), `flaky` (1 cent, raises) and a free `echo`."""

    def __init__(self, facilitator: Facilitator, serve: Any, *, evm: bool = False, keys: Optional[pw.KeyRing] = None,
                 facilitator_url: Optional[str] = None) -> None:
        self.pay_to = pw.evm_address("0x" + os.urandom(32).hex())
        self.wallet = facilitator.provider(self.pay_to)["walletId"]
        self.runs: Dict[str, int] = {"search": 0, "lookup": 0, "report": 0, "flaky": 0, "echo": 0}
        accepts = [{"asset": USDC, "payTo": self.pay_to}] if evm else [{"asset": LEDGER_USD, "payTo": self.wallet}]
        paid = PaidTools(
            {"search": "$0.01", "lookup": "$0.01", "report": {"price": "$0.05", "bundle": {"maxUses": 3, "seconds": 3600}},
             "flaky": "$0.01", "quote": "$0.01"},
            facilitator_url=facilitator_url or facilitator.url, accepts=accepts, token_keys=keys, facilitator_retries=0,
        )
        server = MCPServer("shop")
        runs = self.runs

        @server.tool(meta=paid.meta("search"))
        @paid.tool("search")
        async def search(q: str) -> str:
            runs["search"] += 1
            return f"results for {q}"

        @server.tool()
        @paid.tool("lookup")
        def lookup(key: str) -> Dict[str, Any]:
            runs["lookup"] += 1
            return {"key": key, "value": 42}

        @server.tool()
        @paid.tool("report")
        async def report() -> str:
            runs["report"] += 1
            return "the report"

        @server.tool()
        @paid.tool("flaky")
        async def flaky() -> str:
            runs["flaky"] += 1
            raise RuntimeError("the upstream is down")

        @server.tool()
        @paid.tool("quote", price=lambda pages: f"${pages / 100:.2f}")
        async def quote(pages: int) -> str:
            return f"{pages} pages"

        @server.tool()
        async def echo(text: str) -> str:
            runs["echo"] += 1
            return text

        self.server = server
        self.url = serve(server.streamable_http_app(stateless_http=True, json_response=True), lifespan="on").url + "/mcp"


def ledger_signer(agent: Dict[str, Any]) -> pw.LedgerSigner:
    return pw.LedgerSigner(agent["walletId"], agent["walletSecret"])


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def call(url: str, name: str, arguments: Optional[Dict[str, Any]] = None, meta: Optional[Dict[str, Any]] = None) -> Any:
    async with Client(url) as client:
        return await client.call_tool(name, arguments or {}, meta=meta)


async def paying_call(url: str, name: str, arguments: Optional[Dict[str, Any]] = None, **options: Any) -> Any:
    # The SDK's client wraps what its `async with` body raises in an ExceptionGroup: a refusal
    # is caught inside and raised as itself.
    refused: Optional[pw.PaywireError] = None
    async with Client(url) as client:
        try:
            return await PayingMcpClient(client, **options).call_tool(name, arguments or {})
        except pw.PaywireError as error:
            refused = error
    raise refused


def test_a_paid_tool_call_is_paid_on_the_ledger_once(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    paid = run(paying_call(shop.url, "search", {"q": "x402"}, policy=POLICY, signer=ledger_signer(agent)))
    assert paid.result.content[0].text == "results for x402"
    assert not paid.result.is_error
    assert paid.payment["amount"] == "0.01"
    assert paid.payment["settlement"]["success"] is True
    assert paid.result.meta["x402/payment-response"]["success"] is True
    assert shop.runs["search"] == 1
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 10_000
    assert facilitator.balance(shop.wallet) == 10_000


def test_a_sync_tool_and_a_dict_result_are_paid_too(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    paid = run(paying_call(shop.url, "lookup", {"key": "k"}, policy=POLICY, signer=ledger_signer(agent)))
    assert json.loads(paid.result.content[0].text) == {"key": "k", "value": 42}
    assert paid.payment["settlement"]["success"] is True
    assert shop.runs["lookup"] == 1


def test_an_evm_agent_pays_on_the_devnet_network(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve, evm=True)
    account = Account.create()
    funded = facilitator.fund_evm(account.address, "1.00")
    signer = pw.EvmKeySigner(account.key.hex() if account.key.hex().startswith("0x") else "0x" + account.key.hex())
    paid = run(paying_call(shop.url, "search", {"q": "chain"}, policy=POLICY, signer=signer))
    assert paid.payment["settlement"]["network"] == "eip155:84532"
    assert facilitator.balance(funded["walletId"], EVM_BALANCE_KEY) == 1_000_000 - 10_000


def test_an_unpaid_call_answers_a_402_result_and_tools_list_shows_the_price(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    result = run(call(shop.url, "search", {"q": "free?"}))
    assert result.is_error
    assert result.structured_content["x402Version"] == 2
    assert result.structured_content["resource"]["url"] == "mcp://tool/search"
    assert json.loads(result.content[0].text) == result.structured_content
    assert shop.runs["search"] == 0

    async def listed() -> Any:
        async with Client(shop.url) as client:
            return await client.list_tools()

    tools = {tool.name: tool for tool in run(listed()).tools}
    assert tools["search"].meta["paywire/payment-required"]["accepts"][0]["amount"] == "10000"
    assert "paywire_ctx" not in json.dumps(tools["search"].input_schema), "the context is not an input"
    assert run(call(shop.url, "echo", {"text": "hi"})).content[0].text == "hi"


def test_a_tool_that_raises_after_verification_is_not_charged(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    paid = run(paying_call(shop.url, "flaky", policy=POLICY, signer=ledger_signer(agent)))
    assert paid.result.is_error
    assert "flaky" in paid.result.content[0].text  # the SDK keeps an unexpected error's text to itself
    assert paid.payment.get("settlement") is None
    assert shop.runs["flaky"] == 1
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def captured_payment(url: str, agent: Dict[str, Any], tool: str, arguments: Dict[str, Any]) -> Any:
    """A payment the paying client makes for `tool`, captured instead of sent."""

    class Capture:
        def __init__(self, client: Client) -> None:
            self.client = client
            self.payment: Any = None

        async def call_tool(self, name: str, arguments: Any = None, meta: Any = None, **kwargs: Any) -> Any:
            if meta and "x402/payment" in meta:
                self.payment = meta["x402/payment"]
                raise OSError("captured")
            return await self.client.call_tool(name, arguments, meta=meta, **kwargs)

    async def go() -> Any:
        async with Client(url) as client:
            capture = Capture(client)
            with pytest.raises(OSError):
                await PayingMcpClient(capture, policy=POLICY, signer=ledger_signer(agent)).call_tool(tool, arguments)
            return capture.payment

    return run(go())


def test_json_text_and_base64_payments_are_read_and_a_payment_buys_one_answer_and_one_resend(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    for form in ("text", "base64"):
        agent = facilitator.agent("1.00")
        payment = captured_payment(shop.url, agent, "search", {"q": form})
        text = json.dumps(payment)
        sent = text if form == "text" else base64.b64encode(text.encode()).decode()
        result = run(call(shop.url, "search", {"q": form}, meta={"x402/payment": sent}))
        assert not result.is_error, result
        assert result.meta["x402/payment-response"]["success"] is True
        # The payer's re-send of a lost answer is answered once more, with the same settlement…
        resent = run(call(shop.url, "search", {"q": form}, meta={"x402/payment": payment}))
        assert resent.meta["x402/payment-response"] == result.meta["x402/payment-response"]
        # …and any further copy buys nothing.
        replay = run(call(shop.url, "search", {"q": form}, meta={"x402/payment": payment}))
        assert replay.is_error and replay.structured_content["error"] == "payment_already_delivered"
        assert facilitator.balance(agent["walletId"]) == 1_000_000 - 10_000, "settled once"
    assert shop.runs["search"] == 4


def test_a_payment_for_a_cheaper_tool_does_not_buy_a_pricier_one(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    payment = captured_payment(shop.url, agent, "search", {"q": "cheap"})
    result = run(call(shop.url, "report", {}, meta={"x402/payment": payment}))
    assert result.is_error
    assert result.structured_content["error"] == "payment_requirements_mismatch"
    assert shop.runs["report"] == 0
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def test_a_call_priced_by_its_arguments(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    paid = run(paying_call(shop.url, "quote", {"pages": 7}, policy=POLICY, signer=ledger_signer(agent)))
    assert paid.payment["amount"] == "0.07"
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 70_000


def test_the_policy_and_the_approver_refuse_with_their_codes(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve)
    agent = facilitator.agent("1.00")
    with pytest.raises(pw.PolicyDeniedError) as refused:
        run(paying_call(shop.url, "search", {"q": "x"}, policy={"maxPerRequest": "0.001"}, signer=ledger_signer(agent)))
    assert refused.value.code == "policy_max_per_request_exceeded"
    asked: List[Any] = []
    with pytest.raises(pw.PolicyDeniedError) as denied:
        run(paying_call(shop.url, "search", {"q": "x"}, policy={**POLICY, "approvalThreshold": "0.005"},
                        signer=ledger_signer(agent), approver=lambda request: asked.append(request) or False))
    assert denied.value.code == "policy_approval_denied"
    assert asked and asked[0]["url"] == "mcp://tool/search"
    assert shop.runs["search"] == 0
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def test_a_bundle_token_is_presented_instead_of_paying(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve, keys=pw.KeyRing("k1", os.urandom(32)))
    agent = facilitator.agent("1.00")

    async def go() -> List[Any]:
        async with Client(shop.url) as client:
            paying = PayingMcpClient(client, policy=POLICY, signer=ledger_signer(agent))
            return [await paying.call_tool("report") for _ in range(4)]

    calls = run(go())
    assert calls[0].payment["accessToken"]["maxUses"] == 3
    assert [c.payment for c in calls[1:]] == [None, None, None]
    assert shop.runs["report"] == 4
    assert facilitator.balance(agent["walletId"]) == 1_000_000 - 50_000


def test_a_server_that_always_answers_402_gets_one_payment_attempt(facilitator: Facilitator, serve: Any) -> None:
    honest = Shop(facilitator, serve)
    demand = run(call(honest.url, "search", {"q": "x"}))
    hostile = MCPServer("hostile")
    calls: List[int] = []

    @hostile.tool()
    async def search(q: str) -> Any:
        calls.append(1)
        return demand

    url = serve(hostile.streamable_http_app(stateless_http=True, json_response=True), lifespan="on").url + "/mcp"
    agent = facilitator.agent("1.00")
    with pytest.raises(pw.PaymentRejectedError):
        run(paying_call(url, "search", {"q": "x"}, policy=POLICY, signer=ledger_signer(agent)))
    assert len(calls) == 2, "the unpaid call and one paid one, never a third"
    assert facilitator.balance(agent["walletId"]) == 1_000_000


def test_a_facilitator_that_is_down_runs_nothing_and_charges_nothing(facilitator: Facilitator, serve: Any) -> None:
    shop = Shop(facilitator, serve, facilitator_url="http://127.0.0.1:9")
    agent = facilitator.agent("1.00")
    paid = run(paying_call(shop.url, "search", {"q": "x"}, policy=POLICY, signer=ledger_signer(agent)))
    assert paid.result.is_error
    assert paid.result.structured_content["error"]["code"] == "facilitator_unavailable"
    assert shop.runs["search"] == 0
    assert facilitator.balance(agent["walletId"]) == 1_000_000


@pytest.mark.parametrize("payment, code", [
    (7, "invalid_payload"),
    ("%%%", "header_malformed"),
    ({"x402Version": 2, "pad": "x" * 40_000}, "header_too_large"),
    ("{not json", "invalid_payload"),
])
def test_malformed_and_huge_payments_get_coded_402_results(facilitator: Facilitator, serve: Any, payment: Any, code: str) -> None:
    shop = Shop(facilitator, serve)
    result = run(call(shop.url, "search", {"q": "x"}, meta={"x402/payment": payment}))
    assert result.is_error
    assert result.structured_content["error"] == code
    assert shop.runs["search"] == 0
