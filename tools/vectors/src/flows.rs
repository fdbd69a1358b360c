//! Flow vectors: `flow_client.json` and `flow_paywall.json`, each case a sequence of events and
//! the action the core's state machine answers to each.
//!
//! Scenarios are played here against the core itself so that the events are realistic: a
//! client's 402 is the one a paywall answers, a payment header is the one a client sends, a
//! signature is the payer's key's (deterministic: RFC 6979, HMAC). The expected actions are
//! whatever the core computes; a diff on regeneration is a behaviour change to review.

use std::path::Path;

use paywire_core::flow::{
    Answer, ClientAction, ClientConfig, ClientEvent, ClientFlow, Paywall, PaywallAction,
    PaywallConfig, PaywallFlow, SignRequest,
};
use paywire_core::protocol::evm::PrivateKey;
use paywire_core::protocol::header;
use paywire_core::protocol::ledger::WalletSecret;
use paywire_core::token::KeyRing;
use serde_json::{json, Value};

use crate::Builder;

pub(crate) const NOW: u64 = 1_795_262_400;
pub(crate) const EVM_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OTHER_EVM_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
pub(crate) const WALLET_SECRET: &str = "7061797769726520746573742077616c6c657420736563726574";
pub(crate) const USDC: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
pub(crate) const PAY_TO: &str = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
pub(crate) const TOKEN_KEY: &str =
    "746f6b656e206b6579206f662074686520666c6f7720766563746f7273212121";
const WEATHER: &str = "https://api.example.com/v1/weather/paris";
const BUNDLE: &str = "https://api.example.com/v1/bundle/oslo";

fn evm_address() -> String {
    PrivateKey::from_hex(EVM_KEY)
        .unwrap()
        .address()
        .to_checksum()
}

fn nonce(i: u8) -> String {
    hex::encode([i; 32])
}

fn payment_id(i: u8) -> String {
    hex::encode([i; 16])
}

fn usdc() -> Value {
    json!({"network": "eip155:84532", "address": USDC, "symbol": "USDC", "decimals": 6,
        "extra": {"name": "USDC", "version": "2"}})
}

/// The provider every scenario pays: weather (1 cent), a bundle route (2 cents, 3 more uses
/// within the hour), a free route, a metered route with a free quota.
fn paywall_config() -> Value {
    json!({
        "routes": [
            {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}, "description": "Weather"},
            {"method": "GET", "path": "/v1/bundle/:city", "price": {"flat": "20000"}, "bundle": {"maxUses": 3, "seconds": 3600}},
            {"method": "GET", "path": "/v1/free", "price": {"flat": "0"}},
            {"method": "POST", "path": "/v1/expensive", "price": {"flat": "5000000"}},
        ],
        "accepts": [
            {"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wal_provider"},
            {"asset": usdc(), "payTo": PAY_TO},
        ],
    })
}

pub(crate) fn ledger_client(policy: Value) -> Value {
    json!({"policy": policy, "payer": {"type": "ledger", "walletId": "wal_agent"}})
}

pub(crate) fn evm_client(policy: Value) -> Value {
    json!({"policy": policy, "payer": {"type": "evm", "address": evm_address()}})
}

pub(crate) fn keys() -> Value {
    json!([{"kid": "k1", "secret": TOKEN_KEY}])
}

pub(crate) fn ring() -> KeyRing {
    KeyRing::new("k1", &hex::decode(TOKEN_KEY).unwrap()).unwrap()
}

/// What the paywall answers a request for `url` without payment: the 402.
fn answer_402(url: &str) -> Answer {
    answer_402_of(paywall_config(), url)
}

/// What a paywall configured with `config` answers an unpaid `GET url`: the 402.
fn answer_402_of(config: Value, url: &str) -> Answer {
    let paywall = Paywall::new(serde_json::from_value(config).unwrap()).unwrap();
    let (_, action) = paywall.request("GET", url, &Default::default(), NOW, &[0; 16], None);
    match action {
        PaywallAction::Respond(answer) => answer,
        other => panic!("expected a 402, got {other:?}"),
    }
}

/// The v1 JSON body an older server sent, listing the ledger option too (a Paywire paywall's v1
/// body lists only options with v1 network names): the v2 header's ledger option in v1 form,
/// appended. Clients still read such a body.
fn v1_body_listing_the_ledger(answer: &Answer) -> String {
    let required: Value = header::decode(&answer.headers["PAYMENT-REQUIRED"], usize::MAX).unwrap();
    let mut body: Value = serde_json::from_str(&answer.body).unwrap();
    let resource = required["resource"]["url"].clone();
    let description = required["resource"]["description"]
        .as_str()
        .unwrap_or_default();
    for option in required["accepts"].as_array().unwrap() {
        if option["network"].as_str().unwrap().starts_with("paywire:") {
            body["accepts"].as_array_mut().unwrap().insert(0, json!({
                "scheme": option["scheme"], "network": option["network"],
                "maxAmountRequired": option["amount"], "resource": resource,
                "description": description, "mimeType": "application/json", "payTo": option["payTo"],
                "maxTimeoutSeconds": option["maxTimeoutSeconds"], "asset": option["asset"]}));
        }
    }
    body.to_string()
}

fn response_event(status: u16, headers: Value, body: Option<&str>) -> Value {
    let mut event = json!({"event": "response", "status": status, "headers": headers});
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

fn answer_event(answer: &Answer) -> Value {
    let headers: serde_json::Map<String, Value> = answer
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    response_event(answer.status, Value::Object(headers), Some(&answer.body))
}

/// A v1-only 402: the body without the `PAYMENT-REQUIRED` header.
fn v1_event(answer: &Answer) -> Value {
    response_event(
        402,
        json!({"content-type": "application/json"}),
        Some(&answer.body),
    )
}

/// A settle response's `PAYMENT-RESPONSE` (or `X-PAYMENT-RESPONSE`) header value.
fn settlement(success: bool, network: &str, payer: &str, token: Option<Value>) -> String {
    let mut value = if success {
        json!({"success": true, "transaction": "pay_0001", "network": network, "payer": payer})
    } else {
        json!({"success": false, "errorReason": "insufficient_funds", "transaction": "", "network": network, "payer": payer})
    };
    if let Some(token) = token {
        value["extensions"] = json!({"paywire-access-token": token});
    }
    header::encode(&value)
}

fn sold_token() -> Value {
    json!({"token": "pw1.k1.sold.token", "expiresAt": NOW + 3600, "maxUses": 3,
        "scope": {"resource": "https://api.example.com/v1/bundle/", "methods": ["GET"]}})
}

/// A client scenario being played: events go in, and the flow says what it did with each so
/// the next event can answer it (signatures computed with the payer's key).
struct ClientScenario {
    input: Value,
    flow: ClientFlow,
    key: Key,
}

enum Key {
    Ledger,
    Evm(&'static str),
}

impl ClientScenario {
    fn new(config: Value, method: &str, url: &str, key: Key) -> Self {
        let typed: ClientConfig = serde_json::from_value(config.clone()).unwrap();
        ClientScenario {
            input: json!({"config": config, "method": method, "url": url, "events": []}),
            flow: ClientFlow::new(&typed, method, url),
            key,
        }
    }

    fn feed(&mut self, event: Value) -> ClientAction {
        self.input["events"]
            .as_array_mut()
            .unwrap()
            .push(event.clone());
        self.flow
            .feed(serde_json::from_value::<ClientEvent>(event).unwrap())
    }

    fn start(&mut self, tokens: Value) -> ClientAction {
        self.feed(json!({"event": "start", "tokens": tokens, "now": NOW}))
    }

    fn pay(&mut self, usage: Value, i: u8) -> ClientAction {
        self.feed(json!({"event": "pay", "usage": usage, "now": NOW, "nonce": nonce(i), "paymentId": payment_id(i)}))
    }

    /// Signs what the last action asked to sign, and feeds the signature.
    fn sign(&mut self, action: &ClientAction) -> ClientAction {
        let ClientAction::Sign { request } = action else {
            panic!("expected Sign, got {action:?}");
        };
        let signature = self.signature(request);
        self.feed(json!({"event": "signed", "signature": signature}))
    }

    fn signature(&self, request: &SignRequest) -> String {
        match self.key {
            Key::Ledger => request
                .sign_ledger(&WalletSecret::from_hex(WALLET_SECRET).unwrap())
                .unwrap(),
            Key::Evm(key) => request
                .sign_evm(&PrivateKey::from_hex(key).unwrap())
                .unwrap(),
        }
    }

    /// Start, a 402 for the URL, pay, sign: up to the paid `Send`.
    fn play_until_paid(&mut self, policy_usage: Value) -> ClientAction {
        self.start(json!([]));
        let url = self.input["url"].as_str().unwrap().to_string();
        self.feed(answer_event(&answer_402(&url)));
        let action = self.pay(policy_usage, 1);
        self.sign(&action)
    }

    fn done(self, b: &mut Builder, title: &str) {
        b.case(title, "flow.client", self.input);
    }
}

fn paid_headers(action: &ClientAction) -> Value {
    match action {
        ClientAction::Send { set_headers, .. } => json!(set_headers),
        other => panic!("expected Send, got {other:?}"),
    }
}

pub(crate) fn client(dir: &Path) {
    let mut b = Builder::new();
    let open = json!({"maxPerRequest": "1.00", "dailyLimit": "5.00"});

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(response_event(200, json!({}), None));
    s.done(&mut b, "a free answer is delivered as is");

    for (title, key, config) in [
        (
            "ledger: a v2 402 is paid, settled and recorded",
            Key::Ledger,
            ledger_client(open.clone()),
        ),
        (
            "evm: a v2 402 is paid on base-sepolia, settled and recorded",
            Key::Evm(EVM_KEY),
            evm_client(open.clone()),
        ),
    ] {
        let evm = matches!(key, Key::Evm(_));
        let mut s = ClientScenario::new(config, "GET", WEATHER, key);
        s.play_until_paid(json!({}));
        let (network, payer) = if evm {
            ("eip155:84532", evm_address())
        } else {
            ("paywire:main", "wal_agent".to_string())
        };
        s.feed(response_event(
            200,
            json!({"payment-response": settlement(true, network, &payer, None)}),
            None,
        ));
        s.done(&mut b, title);
    }

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", BUNDLE, Key::Ledger);
    s.play_until_paid(json!({}));
    s.feed(response_event(200, json!({"PAYMENT-RESPONSE": settlement(true, "paywire:main", "wal_agent", Some(sold_token()))}), None));
    s.done(
        &mut b,
        "a token sold with the payment is handed over to store",
    );

    let token = sold_token();
    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", BUNDLE, Key::Ledger);
    s.start(json!([token]));
    s.feed(response_event(200, json!({}), None));
    s.done(
        &mut b,
        "a stored token covering the request is presented instead of paying",
    );

    let mut expired = sold_token();
    expired["expiresAt"] = json!(NOW - 1);
    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", BUNDLE, Key::Ledger);
    s.start(json!([expired, sold_token()]));
    s.done(&mut b, "expired tokens are forgotten, a live one presented");

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([sold_token()]));
    s.done(&mut b, "a token for another resource is not presented");

    let mut s = ClientScenario::new(ledger_client(open.clone()), "POST", BUNDLE, Key::Ledger);
    s.start(json!([sold_token()]));
    s.done(&mut b, "a token for another method is not presented");

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", BUNDLE, Key::Ledger);
    s.start(json!([sold_token()]));
    s.feed(answer_event(&answer_402(BUNDLE)));
    s.done(
        &mut b,
        "a presented token answered with 402 is forgotten, and payment asked for",
    );

    let answer = answer_402(WEATHER);
    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(response_event(
        402,
        json!({"content-type": "application/json"}),
        Some(&v1_body_listing_the_ledger(&answer)),
    ));
    let action = s.pay(json!({}), 2);
    let action = s.sign(&action);
    let headers = paid_headers(&action);
    assert!(
        headers.get("X-PAYMENT").is_some(),
        "v1 pays in X-PAYMENT: {headers}"
    );
    s.feed(response_event(
        200,
        json!({"x-payment-response": settlement(true, "paywire:main", "wal_agent", None)}),
        None,
    ));
    s.done(
        &mut b,
        "v1 fallback: a 402 with only a JSON body (an older server's, listing the ledger) is paid in X-PAYMENT",
    );

    let mut s = ClientScenario::new(evm_client(open.clone()), "GET", WEATHER, Key::Evm(EVM_KEY));
    s.start(json!([]));
    s.feed(v1_event(&answer));
    let action = s.pay(json!({}), 3);
    s.sign(&action);
    s.feed(response_event(
        200,
        json!({"x-payment-response": settlement(true, "base-sepolia", &evm_address(), None)}),
        None,
    ));
    s.done(
        &mut b,
        "v1 fallback on EVM: the base-sepolia option of the JSON body",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(response_event(
        402,
        json!({"payment-required": "not base64 !"}),
        None,
    ));
    s.done(
        &mut b,
        "a PAYMENT-REQUIRED that does not decode is refused with its code",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(response_event(402, json!({}), Some("<html>pay me</html>")));
    s.done(
        &mut b,
        "a 402 with neither header nor JSON body is invalid_payload",
    );

    for (title, policy, usage) in [
        (
            "the policy's maxPerRequest refuses, with each option's rejection",
            json!({"maxPerRequest": "0.001"}),
            json!({}),
        ),
        (
            "the daily limit, with today's spending, refuses",
            json!({"dailyLimit": "0.05"}),
            json!({"day": 20778, "spentToday": "0.045", "month": 682, "spentThisMonth": "0.045"}),
        ),
        (
            "an allowedHosts list that does not name the host refuses",
            json!({"allowedHosts": ["other.example.com"]}),
            json!({}),
        ),
        (
            "an allowedNetworks list refuses the ledger",
            json!({"allowedNetworks": ["eip155:8453"]}),
            json!({}),
        ),
        (
            "a velocity limit reached refuses",
            json!({"velocity": {"maxPayments": 1, "windowSeconds": 60}}),
            json!({"recentPayments": [NOW - 10]}),
        ),
    ] {
        let mut s = ClientScenario::new(ledger_client(policy), "GET", WEATHER, Key::Ledger);
        s.start(json!([]));
        s.feed(answer_event(&answer_402(WEATHER)));
        s.pay(usage, 4);
        s.done(&mut b, title);
    }

    let only_ledger = answer_402_of(
        json!({
            "routes": [{"method": "GET", "path": "/x", "price": {"flat": "10"}}],
            "accepts": [{"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wal_provider"}]}),
        "https://api.example.com/x",
    );
    let mut s = ClientScenario::new(
        evm_client(open.clone()),
        "GET",
        "https://api.example.com/x",
        Key::Evm(EVM_KEY),
    );
    s.start(json!([]));
    s.feed(answer_event(&only_ledger));
    s.pay(json!({}), 5);
    s.done(
        &mut b,
        "an EVM payer offered only the ledger has nothing to pay with: policy_no_options",
    );

    for (title, approved) in [
        ("approval asked and given, then signed", true),
        ("approval asked and denied", false),
    ] {
        let mut s = ClientScenario::new(
            ledger_client(json!({"approvalThreshold": "0.005"})),
            "GET",
            WEATHER,
            Key::Ledger,
        );
        s.start(json!([]));
        s.feed(answer_event(&answer_402(WEATHER)));
        s.pay(json!({}), 6);
        let action = s.feed(json!({"event": "approval", "approved": approved}));
        if approved {
            s.sign(&action);
        }
        s.done(&mut b, title);
    }

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(json!({}));
    let mut refusal = answer_402(WEATHER);
    let value: Value = serde_json::from_str(&refusal.body).unwrap();
    let mut v2 =
        header::decode_payment_required(&refusal.headers["PAYMENT-REQUIRED"], 1 << 20).unwrap();
    if let paywire_core::protocol::PaymentRequired::V2(r) = &mut v2 {
        r.error = Some("insufficient_funds".into());
    }
    refusal
        .headers
        .insert("PAYMENT-REQUIRED".into(), header::encode(&v2));
    let _ = value;
    s.feed(answer_event(&refusal));
    s.done(
        &mut b,
        "the provider refuses the signed payment: payment_rejected with its reason",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(json!({}));
    s.feed(response_event(
        502,
        json!({"content-type": "application/json"}),
        Some(r#"{"error":{"code":"facilitator_unavailable","message":"down"}}"#),
    ));
    s.done(
        &mut b,
        "facilitator down (502): delivered, nothing recorded as spent",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(json!({}));
    s.feed(response_event(
        200,
        json!({"payment-response": settlement(false, "paywire:main", "wal_agent", None)}),
        None,
    ));
    s.done(
        &mut b,
        "a failed settlement with 200: delivered, nothing recorded as spent",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(json!({}));
    s.feed(response_event(200, json!({}), None));
    s.done(
        &mut b,
        "a paid answer without PAYMENT-RESPONSE counts as spent",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(
        json!({"day": 20778, "spentToday": "1.5", "month": 682, "spentThisMonth": "3"}),
    );
    s.feed(response_event(
        200,
        json!({"payment-response": settlement(true, "paywire:main", "wal_agent", None)}),
        None,
    ));
    s.done(&mut b, "spending is added to the usage the host passed in");

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    let first = s.play_until_paid(json!({}));
    let again = s.feed(json!({"event": "connectionFailed"}));
    assert_eq!(
        paid_headers(&first),
        paid_headers(&again),
        "the very same payment"
    );
    s.feed(response_event(
        200,
        json!({"payment-response": settlement(true, "paywire:main", "wal_agent", None)}),
        None,
    ));
    s.done(
        &mut b,
        "a paid answer lost: the very same payment is sent again, then delivered",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.play_until_paid(json!({}));
    s.feed(json!({"event": "connectionFailed"}));
    s.feed(json!({"event": "connectionFailed"}));
    s.done(
        &mut b,
        "a paid answer lost twice: give up (the transport's error)",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(json!({"event": "connectionFailed"}));
    s.done(&mut b, "the first request fails: give up, nothing was paid");

    let mut s = ClientScenario::new(
        evm_client(open.clone()),
        "GET",
        WEATHER,
        Key::Evm(OTHER_EVM_KEY),
    );
    s.start(json!([]));
    s.feed(answer_event(&answer_402(WEATHER)));
    let action = s.pay(json!({}), 7);
    s.sign(&action);
    s.done(
        &mut b,
        "a signer that signs with another key is caught before anything is sent",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(json!({"event": "signed", "signature": format!("0x{}", "00".repeat(32))}));
    s.done(
        &mut b,
        "an event out of order is an invalid_argument, and changes nothing",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    s.start(json!([]));
    s.feed(answer_event(&answer_402(WEATHER)));
    s.feed(
        json!({"event": "pay", "usage": {}, "now": NOW, "nonce": "12", "paymentId": payment_id(1)}),
    );
    s.done(&mut b, "randomness of the wrong length is refused");

    let zero_answer = answer_402_of(
        json!({
            "routes": [{"method": "GET", "path": "/x", "price": {"flat": "1"}}],
            "accepts": [{"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 0}, "payTo": "wal_provider"}],
            "decimals": 6}),
        "https://api.example.com/x",
    );
    let mut s = ClientScenario::new(
        ledger_client(open.clone()),
        "GET",
        "https://api.example.com/x",
        Key::Ledger,
    );
    s.start(json!([]));
    s.feed(answer_event(&zero_answer));
    s.pay(json!({}), 8);
    s.done(
        &mut b,
        "an offer that rounds to one atomic unit of a 0-decimal asset is paid as 1",
    );

    let mut s = ClientScenario::new(ledger_client(open.clone()), "GET", WEATHER, Key::Ledger);
    let mut two = answer_402(WEATHER);
    let mut required =
        header::decode_payment_required(&two.headers["PAYMENT-REQUIRED"], 1 << 20).unwrap();
    if let paywire_core::protocol::PaymentRequired::V2(r) = &mut required {
        let mut cheaper = r.accepts[0].clone();
        cheaper.amount = paywire_core::Amount::new(5000);
        cheaper.pay_to = "wal_discount".into();
        r.accepts.push(cheaper);
    }
    two.headers
        .insert("PAYMENT-REQUIRED".into(), header::encode(&required));
    s.start(json!([]));
    s.feed(answer_event(&two));
    s.pay(json!({}), 9);
    s.done(&mut b, "the cheapest allowed option is chosen");

    let mut s = ClientScenario::new(
        ledger_client(json!({"allowedPayees": ["wal_provider"]})),
        "GET",
        WEATHER,
        Key::Ledger,
    );
    s.start(json!([]));
    s.feed(answer_event(&two));
    s.pay(json!({}), 10);
    s.done(
        &mut b,
        "a cheaper option to a payee the policy does not allow is passed over",
    );

    b.write(dir, "flow_client", "The client flow: events an agent's host feeds and the action the core answers each with (send, pay, ask approval, sign, deliver, refuse, give up).");
}

/// A paywall scenario being played.
struct PaywallScenario {
    input: Value,
    paywall: Paywall,
    flow: PaywallFlow,
    ring: Option<KeyRing>,
}

impl PaywallScenario {
    fn new(config: Value, with_keys: bool) -> Self {
        let mut input = json!({"config": config, "events": []});
        if with_keys {
            input["keys"] = keys();
        }
        PaywallScenario {
            paywall: Paywall::new(serde_json::from_value::<PaywallConfig>(config).unwrap())
                .unwrap(),
            input,
            flow: PaywallFlow::default(),
            ring: with_keys.then(ring),
        }
    }

    fn feed(&mut self, event: Value) -> PaywallAction {
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

    fn request(&mut self, method: &str, url: &str, headers: Value) -> PaywallAction {
        self.feed(json!({"event": "request", "method": method, "url": url, "headers": headers, "now": NOW, "entropy": payment_id(0xab)}))
    }

    fn done(self, b: &mut Builder, title: &str) {
        b.case(title, "flow.paywall", self.input);
    }
}

/// The header a client pays `url` with (ledger or EVM), v2 unless `v1`.
fn payment_header(url: &str, evm: bool, v1: bool) -> (String, String) {
    let (config, key) = if evm {
        (evm_client(json!({})), Key::Evm(EVM_KEY))
    } else {
        (ledger_client(json!({})), Key::Ledger)
    };
    let mut s = ClientScenario::new(config, "GET", url, key);
    s.start(json!([]));
    let answer = answer_402(url);
    s.feed(if v1 {
        v1_event(&answer)
    } else {
        answer_event(&answer)
    });
    let action = s.pay(json!({}), 11);
    let action = s.sign(&action);
    let headers = paid_headers(&action);
    let (name, value) = headers.as_object().unwrap().iter().next().unwrap();
    (name.clone(), value.as_str().unwrap().to_string())
}

/// The token-use store's answer to the count of a verified payment's deliveries: none yet.
pub(crate) fn first_delivery() -> Value {
    json!({"event": "tokenUses", "before": 0})
}

pub(crate) fn verified(payer: &str) -> Value {
    json!({"event": "facilitator", "status": 200, "body": {"isValid": true, "payer": payer}})
}

pub(crate) fn settled(network: &str, payer: &str) -> Value {
    json!({"event": "facilitator", "status": 200, "body": {"success": true, "transaction": "pay_0001", "network": network, "payer": payer}})
}

pub(crate) fn paywall(dir: &Path) {
    let mut b = Builder::new();
    let config = paywall_config();

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", "https://api.example.com/v1/unpriced", json!({}));
    s.done(&mut b, "a route no rule prices passes");

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", "https://api.example.com/v1/free", json!({}));
    s.done(&mut b, "a route priced at zero passes");

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("POST", WEATHER, json!({}));
    s.done(&mut b, "another method of a priced path passes");

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request(
        "GET",
        "https://api.example.com/v1/weather/paris?units=metric",
        json!({}),
    );
    s.done(&mut b, "no payment: 402 with PAYMENT-REQUIRED (v2) and the v1 JSON body; the query is not part of the route");

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({"payment-signature": "%%%"}));
    s.done(
        &mut b,
        "a payment header that does not decode: 402 header_malformed",
    );

    let (name, value) = payment_header(WEATHER, false, false);
    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", "https://api.example.com/v1/weather/rome", json!({}));
    s.done(&mut b, "each resource gets its own offer");
    let mut other = PaywallScenario::new(paywall_config(), false);
    let mut cheaper = paywall_config();
    cheaper["routes"][0]["price"]["flat"] = json!("9000");
    let mut s2 = PaywallScenario::new(cheaper, false);
    s2.request("GET", WEATHER, json!({&name: &value}));
    s2.done(&mut b, "a payment signed for another price does not match the offer: 402 payment_requirements_mismatch");
    other.request("GET", WEATHER, json!({&name: &value}));
    other.feed(verified("wal_agent"));
    other.feed(first_delivery());
    other.feed(json!({"event": "handler", "status": 200}));
    other.feed(settled("paywire:main", "wal_agent"));
    other.done(
        &mut b,
        "ledger v2: verify, run the handler, settle, deliver with PAYMENT-RESPONSE",
    );

    let (evm_name, evm_value) = payment_header(WEATHER, true, false);
    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&evm_name: &evm_value}));
    s.feed(verified(&evm_address()));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 201}));
    s.feed(settled("eip155:84532", &evm_address()));
    s.done(
        &mut b,
        "EVM v2: the base-sepolia option is matched, verified and settled",
    );

    let (v1_name, v1_value) = payment_header(WEATHER, true, true);
    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&v1_name: &v1_value}));
    s.feed(verified(&evm_address()));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(settled("base-sepolia", &evm_address()));
    s.done(
        &mut b,
        "v1: X-PAYMENT matched by scheme and network, answered in X-PAYMENT-RESPONSE",
    );

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&v1_name: &v1_value}));
    s.feed(verified(&evm_address()));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(settled("eip155:84532", &evm_address()));
    s.done(
        &mut b,
        "v1: a facilitator answering in CAIP-2 is relayed with the v1 name (base-sepolia) in X-PAYMENT-RESPONSE",
    );

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&name: &value}));
    s.feed(json!({"event": "facilitator", "status": 200, "body": {"isValid": false, "invalidReason": "insufficient_funds", "invalidMessage": "broke", "payer": "wal_agent"}}));
    s.done(
        &mut b,
        "verification refuses: 402 with the facilitator's reason",
    );

    for (title, event) in [
        ("the facilitator cannot be reached at verify: 502 facilitator_unavailable, the handler never runs", json!({"event": "facilitatorUnreachable", "message": "connection refused"})),
        ("the facilitator answers verify without JSON: 502", json!({"event": "facilitator", "status": 500, "body": null})),
        ("the facilitator answers verify with something else: 502 facilitator_unavailable", json!({"event": "facilitator", "status": 404, "body": {"hello": 1}})),
        ("the facilitator answers verify with a coded error: 502 with its code", json!({"event": "facilitator", "status": 503, "body": {"error": {"code": "database_unavailable", "message": "x"}}})),
    ] {
        let mut s = PaywallScenario::new(config.clone(), false);
        s.request("GET", WEATHER, json!({&name: &value}));
        s.feed(event);
        s.done(&mut b, title);
    }

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&name: &value}));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 500}));
    s.done(
        &mut b,
        "the handler fails: its answer passes, nothing is settled (not charged for)",
    );

    for (before, title) in [
        (1, "a payment re-sent after a lost answer (delivered once): the handler runs again, the facilitator settles it once"),
        (2, "a payment delivered twice already (an answer and a re-send): 402 payment_already_delivered, the handler never runs"),
    ] {
        let mut s = PaywallScenario::new(config.clone(), false);
        s.request("GET", WEATHER, json!({&name: &value}));
        s.feed(verified("wal_agent"));
        s.feed(json!({"event": "tokenUses", "before": before}));
        s.done(&mut b, title);
    }

    for (title, event) in [
        (
            "settlement fails after verify: 402 with its reason, the held answer withheld",
            json!({"event": "facilitator", "status": 200, "body": {"success": false, "errorReason": "insufficient_funds", "transaction": "", "network": "paywire:main"}}),
        ),
        (
            "the facilitator cannot be reached at settle: 502, the held answer withheld",
            json!({"event": "facilitatorUnreachable", "message": "timeout"}),
        ),
        (
            "settlement pending (a Paywire error body): 502 settlement_pending",
            json!({"event": "facilitator", "status": 202, "body": {"error": {"code": "settlement_pending", "message": "unknown yet"}}}),
        ),
    ] {
        let mut s = PaywallScenario::new(config.clone(), false);
        s.request("GET", WEATHER, json!({&name: &value}));
        s.feed(verified("wal_agent"));
        s.feed(first_delivery());
        s.feed(json!({"event": "handler", "status": 200}));
        s.feed(event);
        s.done(&mut b, title);
    }

    let (bundle_name, bundle_value) = payment_header(BUNDLE, false, false);
    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({&bundle_name: &bundle_value}));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(settled("paywire:main", "wal_agent"));
    s.done(
        &mut b,
        "a bundle route sells a token with the settlement (signed with the key ring)",
    );

    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({&bundle_name: &bundle_value}));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(json!({"event": "facilitator", "status": 200, "body": {"success": true, "transaction": "pay_0001", "network": "paywire:main", "payer": "wal_agent", "extensions": {"paywire-access-token": sold_token()}}}));
    s.done(
        &mut b,
        "a token the facilitator sold is passed on, not replaced",
    );

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", BUNDLE, json!({&bundle_name: &bundle_value}));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(settled("paywire:main", "wal_agent"));
    s.done(&mut b, "without a key ring a bundle route sells no token");

    let mut issuer = config.clone();
    issuer["tokenIssuer"] = json!("weather.example");
    let mut s = PaywallScenario::new(issuer, true);
    s.request("GET", BUNDLE, json!({&bundle_name: &bundle_value}));
    s.feed(verified("wal_agent"));
    s.feed(first_delivery());
    s.feed(json!({"event": "handler", "status": 200}));
    s.feed(settled("paywire:main", "wal_agent"));
    s.done(&mut b, "tokens are issued by the configured issuer");

    // Access tokens presented.
    let ring = ring();
    let claims =
        |id: &str, exp: u64, max_uses: Option<u64>, resource: &str| paywire_core::token::Claims {
            id: id.into(),
            iss: "https://api.example.com".into(),
            sub: "wal_agent".into(),
            scope: paywire_core::token::Scope {
                resource: resource.into(),
                methods: vec!["GET".into()],
                route: None,
            },
            iat: NOW - 100,
            exp,
            max_uses,
        };
    let good = ring
        .issue(&claims(
            "tok_1",
            NOW + 600,
            Some(3),
            "https://api.example.com/v1/bundle/",
        ))
        .unwrap();
    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &good}));
    s.feed(json!({"event": "tokenUses", "before": 0}));
    s.done(
        &mut b,
        "a valid token: its use is counted, then the request passes",
    );

    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &good}));
    s.feed(json!({"event": "tokenUses", "before": 3}));
    s.done(
        &mut b,
        "a token whose uses are spent: 402 token_uses_exhausted",
    );

    let expired = ring
        .issue(&claims(
            "tok_2",
            NOW - 1,
            None,
            "https://api.example.com/v1/bundle/",
        ))
        .unwrap();
    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &expired}));
    s.done(
        &mut b,
        "an expired token: 402 token_expired, nothing counted",
    );

    let narrow = ring
        .issue(&claims(
            "tok_3",
            NOW + 600,
            None,
            "https://api.example.com/v1/other/",
        ))
        .unwrap();
    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &narrow}));
    s.done(
        &mut b,
        "a token for another resource: 402 token_scope_mismatch",
    );

    let forged = KeyRing::new("k1", &[7; 32])
        .unwrap()
        .issue(&claims(
            "tok_4",
            NOW + 600,
            None,
            "https://api.example.com/v1/bundle/",
        ))
        .unwrap();
    let mut s = PaywallScenario::new(config.clone(), true);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &forged}));
    s.done(
        &mut b,
        "a token signed with another key: 402 token_signature_invalid",
    );

    let mut s = PaywallScenario::new(config.clone(), true);
    s.request(
        "GET",
        BUNDLE,
        json!({"paywire-access-token": "pw1.garbage"}),
    );
    s.done(&mut b, "a malformed token: 402 token_malformed");

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", BUNDLE, json!({"paywire-access-token": &good}));
    s.done(
        &mut b,
        "without a key ring a token is not looked at: 402 payment_required",
    );

    // A token is bound to the rule that sold it: valid only where that rule prices the
    // request, after the path's dot segments, escapes and duplicate slashes are resolved.
    let tiered = json!({
        "routes": [
            {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}, "bundle": {"maxUses": 5, "seconds": 3600}},
            {"method": "GET", "path": "/v1/weather/premium/:city", "price": {"flat": "5000000"}},
            {"method": "GET", "path": "/v1/admin/:x", "price": {"flat": "9000000"}},
            {"method": "*", "path": "/*", "price": {"flat": "1000"}, "bundle": {"maxUses": 5, "seconds": 3600}},
        ],
        "accepts": [
            {"asset": {"network": "paywire:main", "address": "USD", "symbol": "USD", "decimals": 6}, "payTo": "wal_provider"},
        ],
    });
    let sold_by = |route: usize, url: &str, id: &str| {
        let config: PaywallConfig = serde_json::from_value(tiered.clone()).unwrap();
        let route = &config.routes[route];
        let claims = route.bundle.unwrap().claims(
            id.into(),
            "https://api.example.com",
            "wal_agent",
            url,
            &route.rule,
            NOW - 100,
        );
        ring.issue(&claims).unwrap()
    };
    let weather = sold_by(0, "https://api.example.com/v1/weather/paris", "tok_w");
    let anything = sold_by(3, "https://api.example.com/v1/misc", "tok_any");
    for (title, url, token) in [
        ("a bundle token on another city of its own route: its use is counted", "https://api.example.com/v1/weather/oslo", &weather),
        ("a bundle token on its route spelled with duplicate slashes: its use is counted", "https://api.example.com/v1//weather///oslo", &weather),
        ("a cheap route's bundle token on a pricier rule under the same prefix: 402 token_scope_mismatch", "https://api.example.com/v1/weather/premium/paris", &weather),
        ("a catch-all bundle token on a route another rule prices: 402 token_scope_mismatch", "https://api.example.com/v1/admin/keys", &anything),
        ("a bundle token on a dot-segment path that means a pricier rule: 400 path_ambiguous", "https://api.example.com/v1/weather/../admin/keys", &weather),
        ("a bundle token on an escaped dot-segment path: 400 path_ambiguous", "https://api.example.com/v1/weather/%2e%2e/admin/keys", &weather),
        ("a catch-all bundle token on an escaped path into a priced rule: 400 path_ambiguous", "https://api.example.com/v1/%61dmin/keys", &anything),
    ] {
        let mut s = PaywallScenario::new(tiered.clone(), true);
        let action = s.request("GET", url, json!({"paywire-access-token": token}));
        if matches!(action, PaywallAction::CountTokenUse { .. }) {
            s.feed(json!({"event": "tokenUses", "before": 0}));
        }
        s.done(&mut b, title);
    }
    let mut s = PaywallScenario::new(tiered.clone(), false);
    s.request(
        "GET",
        "https://api.example.com/v1/weather/%2E%2E/admin/keys",
        json!({}),
    );
    s.done(
        &mut b,
        "an unpaid request on an ambiguous path: 400 path_ambiguous, no offer",
    );

    let mut required = config.clone();
    required["requirePaymentIdentifier"] = json!(true);
    let mut s = PaywallScenario::new(required.clone(), false);
    s.request("GET", WEATHER, json!({}));
    s.done(
        &mut b,
        "a paywall that requires payment identifiers says so in its offer",
    );

    let stripped = {
        let mut payment = header::decode_payment_payload(&value, 1 << 20).unwrap();
        if let paywire_core::protocol::PaymentPayload::V2(p) = &mut payment {
            p.extensions = None;
        }
        header::encode(&payment)
    };
    let mut s = PaywallScenario::new(required, false);
    s.request("GET", WEATHER, json!({&name: &stripped}));
    s.done(
        &mut b,
        "a required payment identifier missing: 402 payment_identifier_invalid",
    );

    let mut s = PaywallScenario::new(config.clone(), false);
    s.request("GET", WEATHER, json!({&name: &value}));
    s.feed(json!({"event": "handler", "status": 200}));
    s.done(
        &mut b,
        "an event out of order (the handler before verification): 500, nothing settled",
    );

    let mut s = PaywallScenario::new(config.clone(), false);
    s.feed(json!({"event": "request", "method": "GET", "url": WEATHER, "headers": {}, "now": NOW, "entropy": "zz"}));
    s.done(&mut b, "entropy of the wrong length: 500 invalid_argument");

    b.fails(
        "a paywall with an invalid price refuses to start",
        "flow.paywall",
        json!({"config": {"routes": [{"method": "GET", "path": "/x", "price": {}}], "accepts": []}, "events": []}),
        "pricing_rule_invalid",
    );
    b.fails(
        "a paywall accepting an asset on an invalid network refuses to start",
        "flow.paywall",
        json!({"config": {"routes": [], "accepts": [{"asset": {"network": "nonsense", "address": "x", "symbol": "X", "decimals": 6}, "payTo": "p"}]}, "events": []}),
        "network_invalid",
    );

    b.write(dir, "flow_paywall", "The paywall flow: events a provider's host feeds and the action the core answers each with (pass, count a token use, respond, verify, run the handler, settle, deliver).");
}
