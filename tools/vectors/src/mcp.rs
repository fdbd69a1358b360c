//! MCP flow vectors: `flow_mcp.json`, paid tool calls played between the core's MCP client
//! flow and its MCP paywall, so that each 402 result is one a paywall answers and each
//! payment one a client sends. Each scenario also asserts, while generating, the action that
//! matters in it, so a generator mistake cannot write a wrong expectation unseen.

use std::path::Path;

use paywire_core::flow::{
    ClientAction, ClientConfig, McpCall, McpClientAction, McpClientEvent, McpClientFlow,
    McpPaywall, McpPaywallAction, McpPaywallFlow,
};
use paywire_core::protocol::evm::PrivateKey;
use paywire_core::protocol::header;
use paywire_core::protocol::ledger::WalletSecret;
use paywire_core::token::KeyRing;
use serde_json::{json, Value};

use crate::flows::{
    evm_client, first_delivery, keys, ledger_client, ring, settled, verified, EVM_KEY, NOW, PAY_TO,
    USDC, WALLET_SECRET,
};
use crate::Builder;

/// An MCP server's tools: a search at a cent, a report at five cents that sells a bundle of
/// three more calls, a free tool, and a tool priced the way Coinbase's wrappers take prices.
fn config() -> Value {
    json!({
        "tools": {
            "search": "$0.01",
            "report": {"price": "$0.05", "description": "A report", "bundle": {"maxUses": 3, "seconds": 3600}},
            "echo": "0",
            "forecast": {"accepts": [{"scheme": "exact", "price": "$0.02", "network": "eip155:84532", "payTo": PAY_TO}],
                         "description": "A forecast"},
        },
        "accepts": [
            {"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wal_provider"},
            {"asset": {"network": "eip155:84532", "address": USDC, "symbol": "USDC", "decimals": 6,
                       "extra": {"name": "USDC", "version": "2"}}, "payTo": PAY_TO},
        ],
    })
}

fn open_policy() -> Value {
    json!({"maxPerRequest": "1.00", "dailyLimit": "5.00"})
}

fn call(tool: &str, meta: Value) -> Value {
    json!({"event": "call", "tool": tool, "meta": meta, "now": NOW, "entropy": hex::encode([0xab; 16])})
}

/// A paywall scenario being played.
struct Server {
    input: Value,
    paywall: McpPaywall,
    flow: McpPaywallFlow,
    ring: Option<KeyRing>,
}

impl Server {
    fn new(with_keys: bool) -> Self {
        let mut input = json!({"config": config(), "events": []});
        if with_keys {
            input["keys"] = keys();
        }
        Server {
            paywall: McpPaywall::from_json(config()).unwrap(),
            input,
            flow: McpPaywallFlow::default(),
            ring: with_keys.then(ring),
        }
    }

    fn feed(&mut self, event: Value) -> McpPaywallAction {
        self.input["events"]
            .as_array_mut()
            .unwrap()
            .push(event.clone());
        self.paywall.feed(
            &mut self.flow,
            serde_json::from_value(event).unwrap(),
            self.ring.as_ref(),
        )
    }

    fn done(self, b: &mut Builder, title: &str) {
        b.case(title, "flow.mcp_paywall", self.input);
    }
}

/// The result an unpaid call of `tool` answers.
fn unpaid_result(tool: &str) -> Value {
    let mut server = Server::new(false);
    match server.feed(call(tool, json!({}))) {
        McpPaywallAction::Respond { result } => result,
        other => panic!("expected a 402 result, got {other:?}"),
    }
}

fn code_of(result: &Value) -> String {
    let content = &result["structuredContent"];
    content["error"]["code"]
        .as_str()
        .or(content["error"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn respond(action: &McpPaywallAction) -> &Value {
    match action {
        McpPaywallAction::Respond { result } => result,
        other => panic!("expected Respond, got {other:?}"),
    }
}

enum Key {
    Ledger,
    Evm,
}

/// A client scenario being played.
struct Client {
    input: Value,
    flow: McpClientFlow,
    key: Key,
}

impl Client {
    fn new(config: Value, tool: &str, key: Key) -> Self {
        let typed: ClientConfig = serde_json::from_value(config.clone()).unwrap();
        Client {
            input: json!({"config": config, "tool": tool, "events": []}),
            flow: McpClientFlow::new(&typed, tool).unwrap(),
            key,
        }
    }

    fn feed(&mut self, event: Value) -> McpClientAction {
        self.input["events"]
            .as_array_mut()
            .unwrap()
            .push(event.clone());
        self.flow
            .feed(serde_json::from_value::<McpClientEvent>(event).unwrap())
    }

    fn start(&mut self, tokens: Value) -> McpClientAction {
        self.feed(json!({"event": "start", "tokens": tokens, "now": NOW}))
    }

    fn result(&mut self, result: Value) -> McpClientAction {
        self.feed(json!({"event": "result", "result": result}))
    }

    fn pay(&mut self, i: u8) -> McpClientAction {
        self.feed(json!({"event": "pay", "usage": {}, "now": NOW,
            "nonce": hex::encode([i; 32]), "paymentId": hex::encode([i; 16])}))
    }

    fn sign(&mut self, action: &McpClientAction) -> McpClientAction {
        let McpClientAction::Flow(ClientAction::Sign { request }) = action else {
            panic!("expected Sign, got {action:?}");
        };
        let signature = match self.key {
            Key::Ledger => request
                .sign_ledger(&WalletSecret::from_hex(WALLET_SECRET).unwrap())
                .unwrap(),
            Key::Evm => request
                .sign_evm(&PrivateKey::from_hex(EVM_KEY).unwrap())
                .unwrap(),
        };
        self.feed(json!({"event": "signed", "signature": signature}))
    }

    /// Start, the 402 result, pay, sign: up to the paid call.
    fn until_paid(&mut self, first: Value) -> McpClientAction {
        self.start(json!([]));
        self.result(first);
        let action = self.pay(1);
        self.sign(&action)
    }

    fn done(self, b: &mut Builder, title: &str) {
        b.case(title, "flow.mcp_client", self.input);
    }
}

/// The payment a paid call carries in `_meta`.
fn payment_of(action: &McpClientAction) -> Value {
    match action {
        McpClientAction::Call(McpCall::Call { set_meta, paid, .. }) => {
            assert!(paid, "a paid call");
            set_meta["x402/payment"].clone()
        }
        other => panic!("expected a paid Call, got {other:?}"),
    }
}

/// A payment for `tool` by a ledger (or EVM) agent.
fn payment_for(tool: &str, evm: bool) -> Value {
    let mut client = if evm {
        Client::new(evm_client(open_policy()), tool, Key::Evm)
    } else {
        Client::new(ledger_client(open_policy()), tool, Key::Ledger)
    };
    let action = client.until_paid(unpaid_result(tool));
    payment_of(&action)
}

fn refusal_code(action: &McpClientAction) -> &str {
    match action {
        McpClientAction::Flow(ClientAction::Refuse { code, .. }) => code,
        other => panic!("expected Refuse, got {other:?}"),
    }
}

pub(crate) fn write(dir: &Path) {
    let mut b = Builder::new();
    server_cases(&mut b);
    client_cases(&mut b);
    b.case(
        "tools/list: a priced tool shows the 402 an unpaid call answers; a free or unknown tool nothing",
        "flow.mcp_tool_meta",
        json!({"config": config(), "tools": ["search", "forecast", "echo", "unknown"], "now": NOW}),
    );
    b.write(dir, "flow_mcp", "Paid MCP tool calls: the events an MCP server's and an MCP client's host feed, and the actions the core answers each with (the payment and the settlement in _meta, the 402 as a tool result).");
}

fn server_cases(b: &mut Builder) {
    let mut s = Server::new(false);
    assert_eq!(s.feed(call("echo", json!({}))), McpPaywallAction::Pass);
    s.done(b, "a tool priced at zero runs");

    let mut s = Server::new(false);
    assert_eq!(
        s.feed(call("unlisted", json!(null))),
        McpPaywallAction::Pass
    );
    s.done(b, "a tool the paywall does not price runs");

    let mut s = Server::new(false);
    let result = respond(&s.feed(call("search", json!({})))).clone();
    assert_eq!(result["isError"], true);
    assert_eq!(
        result["structuredContent"]["resource"]["url"],
        "mcp://tool/search"
    );
    assert_eq!(
        serde_json::from_str::<Value>(result["content"][0]["text"].as_str().unwrap()).unwrap(),
        result["structuredContent"]
    );
    s.done(b, "an unpaid call: a 402 result, the PaymentRequired in structuredContent and as content[0].text, resource mcp://tool/<name>");

    let ledger = payment_for("search", false);
    let evm = payment_for("search", true);
    let forms = [
        ("an object", ledger.clone()),
        ("JSON text", json!(ledger.to_string())),
        ("base64 of the JSON", json!(header::encode(&ledger))),
    ];
    for (form, payment) in forms {
        let mut s = Server::new(false);
        assert!(matches!(
            s.feed(call("search", json!({"x402/payment": payment}))),
            McpPaywallAction::Verify { .. }
        ));
        s.done(b, &format!("a payment given as {form} is verified"));
    }

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    assert!(matches!(
        s.feed(verified("wal_agent")),
        McpPaywallAction::CountTokenUse { .. }
    ));
    assert_eq!(s.feed(first_delivery()), McpPaywallAction::RunTool);
    assert!(matches!(
        s.feed(json!({"event": "toolResult", "isError": false})),
        McpPaywallAction::Settle { .. }
    ));
    match s.feed(settled("paywire:main", "wal_agent")) {
        McpPaywallAction::Deliver { meta } => {
            assert_eq!(meta["x402/payment-response"]["success"], true)
        }
        other => panic!("expected Deliver, got {other:?}"),
    }
    s.done(
        b,
        "ledger: verify, run the tool, settle, deliver with _meta x402/payment-response",
    );

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": evm})));
    s.feed(verified("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    s.feed(first_delivery());
    s.feed(json!({"event": "toolResult", "isError": false}));
    s.feed(settled(
        "eip155:84532",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    ));
    s.done(b, "EVM: verify, run the tool, settle, deliver");

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    assert_eq!(
        s.feed(json!({"event": "toolResult", "isError": true})),
        McpPaywallAction::Deliver {
            meta: Default::default()
        }
    );
    s.done(
        b,
        "a tool that fails after verification is not charged: its error result, no settlement",
    );

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    s.feed(verified("wal_agent"));
    assert_eq!(
        s.feed(json!({"event": "tokenUses", "before": 1})),
        McpPaywallAction::RunTool
    );
    s.done(b, "a payment re-sent after a lost answer (delivered once) runs the tool again; the facilitator settles it once");

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    s.feed(verified("wal_agent"));
    let replayed = s.feed(json!({"event": "tokenUses", "before": 2}));
    assert_eq!(code_of(respond(&replayed)), "payment_already_delivered");
    s.done(
        b,
        "a payment delivered twice already: 402 payment_already_delivered, the tool not run",
    );

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "toolResult", "isError": false}));
    let failed = s.feed(
        json!({"event": "facilitator", "status": 200, "body": {"success": false,
        "errorReason": "insufficient_funds", "transaction": "", "network": "paywire:main"}}),
    );
    let failed = respond(&failed);
    assert_eq!(
        failed["structuredContent"]["x402/payment-response"]["success"],
        false
    );
    assert!(
        failed.get("_meta").is_none(),
        "no settlement on the side of a failed one"
    );
    s.done(b, "a failed settlement: a 402 result without the tool's content, reporting success false so no client pays again");

    let mut s = Server::new(false);
    s.feed(call("search", json!({"x402/payment": ledger})));
    let down = s.feed(json!({"event": "facilitatorUnreachable", "message": "connection refused"}));
    assert_eq!(code_of(respond(&down)), "facilitator_unavailable");
    s.done(
        b,
        "the facilitator cannot be reached: an error result, the tool not run",
    );

    let mut s = Server::new(false);
    let refused = s.feed(call("report", json!({"x402/payment": ledger})));
    assert_eq!(code_of(respond(&refused)), "payment_requirements_mismatch");
    s.done(b, "a payment made for a cheaper tool does not buy a pricier one: 402 payment_requirements_mismatch");

    let mut s = Server::new(false);
    let mut priced = call("search", json!({"x402/payment": ledger}));
    priced["price"] = json!("$0.05");
    let refused = s.feed(priced);
    assert_eq!(code_of(respond(&refused)), "payment_requirements_mismatch");
    s.done(
        b,
        "a call the host prices at five cents is not paid by a one-cent payment",
    );

    let mut s = Server::new(false);
    let mut priced = call("search", json!({}));
    priced["price"] = json!("50000");
    let offer = respond(&s.feed(priced)).clone();
    assert_eq!(offer["structuredContent"]["accepts"][0]["amount"], "50000");
    s.done(b, "a call priced by the host is offered at its own price");

    for (title, meta, code) in [
        (
            "a payment that is a number: 402 invalid_payload",
            json!({"x402/payment": 7}),
            "invalid_payload",
        ),
        (
            "a payment that is not base64 or JSON: 402 header_malformed",
            json!({"x402/payment": "%%%"}),
            "header_malformed",
        ),
        (
            "a payment over 32 KiB: 402 header_too_large",
            json!({"x402/payment": {"x402Version": 2, "pad": "x".repeat(33 * 1024)}}),
            "header_too_large",
        ),
    ] {
        let mut s = Server::new(false);
        assert_eq!(
            code_of(respond(&s.feed(call("search", meta)))),
            code,
            "{title}"
        );
        s.done(b, title);
    }
    let mut s = Server::new(false);
    assert_eq!(
        code_of(respond(&s.feed(call("search", json!([1]))))),
        "invalid_payload"
    );
    s.done(
        b,
        "a _meta that is not an object: an error result invalid_payload",
    );
    let mut s = Server::new(false);
    assert_eq!(
        code_of(respond(&s.feed(call("../search", json!({}))))),
        "invalid_argument"
    );
    s.done(
        b,
        "a tool name MCP does not allow: an error result invalid_argument",
    );

    // A bundle: the report sells three more calls of the report, and of nothing else.
    let report = payment_for("report", false);
    let mut s = Server::new(true);
    s.feed(call("report", json!({"x402/payment": report})));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "toolResult", "isError": false}));
    let token = match s.feed(settled("paywire:main", "wal_agent")) {
        McpPaywallAction::Deliver { meta } => meta["x402/payment-response"]["extensions"]
            ["paywire-access-token"]["token"]
            .as_str()
            .expect("a bundle token sold")
            .to_string(),
        other => panic!("expected Deliver, got {other:?}"),
    };
    s.done(b, "a bundle tool sells an access token with the settlement");

    let mut s = Server::new(true);
    assert!(matches!(
        s.feed(call("report", json!({"paywire/access-token": token}))),
        McpPaywallAction::CountTokenUse { .. }
    ));
    assert_eq!(
        s.feed(json!({"event": "tokenUses", "before": 0})),
        McpPaywallAction::Pass
    );
    s.done(b, "the bundle token opens the tool it was sold for");

    let mut s = Server::new(true);
    assert!(matches!(
        s.feed(call("report", json!({"paywire/access-token": token}))),
        McpPaywallAction::CountTokenUse { .. }
    ));
    let spent = s.feed(json!({"event": "tokenUses", "before": 3}));
    assert_eq!(code_of(respond(&spent)), "token_uses_exhausted");
    s.done(b, "a spent bundle token: 402 token_uses_exhausted");

    let mut s = Server::new(true);
    let other_tool = s.feed(call("search", json!({"paywire/access-token": token})));
    assert_eq!(respond(&other_tool)["isError"], true);
    s.done(b, "the bundle token does not open another tool: a 402");
}

fn client_cases(b: &mut Builder) {
    let search_402 = unpaid_result("search");

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.start(json!([]));
    c.result(json!({"content": [{"type": "text", "text": "free"}]}));
    c.done(b, "a result without a 402 is delivered as is");

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    let paid = c.until_paid(search_402.clone());
    assert!(
        payment_of(&paid).is_object(),
        "the payment goes as an object"
    );
    let settlement = json!({"success": true, "transaction": "pay_0001", "network": "paywire:main", "payer": "wal_agent"});
    match c.result(json!({"content": [{"type": "text", "text": "found"}], "_meta": {"x402/payment-response": settlement}})) {
        McpClientAction::Flow(ClientAction::Deliver { usage, payment, .. }) => {
            assert!(usage.is_some() && payment.is_some())
        }
        other => panic!("expected Deliver, got {other:?}"),
    }
    c.done(b, "ledger: a 402 result is paid in _meta x402/payment; the settled result is delivered and recorded");

    let mut c = Client::new(evm_client(open_policy()), "search", Key::Evm);
    c.until_paid(search_402.clone());
    c.result(json!({"content": [], "_meta": {"x402/payment-response": {"success": true, "transaction": "0x01", "network": "eip155:84532"}}}));
    c.done(
        b,
        "EVM: a 402 result is paid with an EIP-3009 authorization",
    );

    let required = search_402["structuredContent"].clone();
    let elsewhere = [
        (
            "only in content[0].text",
            json!({"isError": true, "content": [{"type": "text", "text": required.to_string()}]}),
        ),
        (
            "in _meta x402/error (Cloudflare's agents)",
            json!({"isError": true, "content": [{"type": "text", "text": "pay"}], "_meta": {"x402/error": required}}),
        ),
    ];
    for (place, result) in elsewhere {
        let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
        c.start(json!([]));
        assert!(matches!(
            c.result(result),
            McpClientAction::Flow(ClientAction::PaymentRequired { .. })
        ));
        c.done(b, &format!("a 402 {place} is read"));
    }

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.start(json!([]));
    assert!(matches!(
        c.feed(json!({"event": "rpcError", "code": 402, "message": "Payment required", "data": required})),
        McpClientAction::Flow(ClientAction::PaymentRequired { .. })
    ));
    c.done(b, "a JSON-RPC error with code 402 is read as a 402");

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.start(json!([]));
    assert!(matches!(
        c.feed(json!({"event": "rpcError", "code": -32602, "message": "unknown tool"})),
        McpClientAction::Flow(ClientAction::Deliver { payment: None, .. })
    ));
    c.done(b, "another JSON-RPC error is handed back unpaid");

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.until_paid(search_402.clone());
    assert_eq!(
        refusal_code(&c.result(search_402.clone())),
        "payment_rejected"
    );
    c.done(
        b,
        "a paid call answered by another 402 is refused: one payment per call, never a second",
    );

    let mut failed_402 = search_402.clone();
    failed_402["structuredContent"]["x402/payment-response"] = json!({"success": false, "errorReason": "insufficient_funds", "transaction": "", "network": "paywire:main"});
    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.start(json!([]));
    assert_eq!(refusal_code(&c.result(failed_402)), "payment_rejected");
    c.done(
        b,
        "a 402 that reports a failed settlement is not paid again on the client's own",
    );

    let mut c = Client::new(
        ledger_client(json!({"maxPerRequest": "0.001", "dailyLimit": "5.00"})),
        "search",
        Key::Ledger,
    );
    c.start(json!([]));
    c.result(search_402.clone());
    assert_eq!(refusal_code(&c.pay(1)), "policy_max_per_request_exceeded");
    c.done(
        b,
        "the spending policy refuses a price above its per-request limit",
    );

    let mut c = Client::new(
        ledger_client(
            json!({"maxPerRequest": "1.00", "dailyLimit": "5.00", "approvalThreshold": "0.005"}),
        ),
        "search",
        Key::Ledger,
    );
    c.start(json!([]));
    c.result(search_402.clone());
    assert!(matches!(
        c.pay(1),
        McpClientAction::Flow(ClientAction::AskApproval { .. })
    ));
    assert_eq!(
        refusal_code(&c.feed(json!({"event": "approval", "approved": false}))),
        "policy_approval_denied"
    );
    c.done(
        b,
        "above the approval threshold the approver is asked; a no refuses",
    );

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    let first = c.until_paid(search_402.clone());
    let again = c.feed(json!({"event": "connectionFailed"}));
    assert_eq!(
        payment_of(&again),
        payment_of(&first),
        "the very same payment"
    );
    assert_eq!(
        c.feed(json!({"event": "connectionFailed"})),
        McpClientAction::Flow(ClientAction::GiveUp)
    );
    c.done(
        b,
        "a lost answer to a paid call: the very same payment once more, then give up",
    );

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.until_paid(search_402.clone());
    match c.result(json!({"isError": true, "content": [{"type": "text", "text": "Tool execution error: boom"}]})) {
        McpClientAction::Flow(ClientAction::Deliver { usage, .. }) => assert!(usage.is_none()),
        other => panic!("expected Deliver, got {other:?}"),
    }
    c.done(
        b,
        "a paid call whose tool failed is delivered, its price not counted as spent",
    );

    let token = json!({"token": "pw1.k1.sold.token", "expiresAt": NOW + 3600, "maxUses": 3,
        "scope": {"resource": "mcp://tool/report", "methods": ["POST"]}});
    let mut c = Client::new(ledger_client(open_policy()), "report", Key::Ledger);
    match c.start(json!([token])) {
        McpClientAction::Call(McpCall::Call { set_meta, .. }) => {
            assert_eq!(set_meta["paywire/access-token"], "pw1.k1.sold.token")
        }
        other => panic!("expected Call, got {other:?}"),
    }
    match c.result(unpaid_result("report")) {
        McpClientAction::Flow(ClientAction::PaymentRequired { forget_tokens, .. }) => {
            assert_eq!(forget_tokens, vec!["pw1.k1.sold.token".to_string()])
        }
        other => panic!("expected PaymentRequired, got {other:?}"),
    }
    c.done(
        b,
        "a stored token is presented in _meta paywire/access-token; refused, it is forgotten",
    );

    let mut c = Client::new(ledger_client(open_policy()), "search", Key::Ledger);
    c.start(json!([]));
    assert_eq!(
        refusal_code(&c.feed(json!({"event": "response", "status": 200}))),
        "invalid_argument"
    );
    c.done(b, "an HTTP response event does not fit a tool call");
}
