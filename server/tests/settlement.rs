//! Settlement end to end through the router, on SQLite and on PostgreSQL: balances, the
//! journal, policies, idempotency, concurrency, the EVM devnet, bad input, tenant isolation.

mod common;

use axum::http::{Method, StatusCode};
use common::{nonce, Backend, TestApp, ADMIN};
use paywire_core::protocol::evm::PrivateKey;
use serde_json::{json, Value};

on_both_databases!(
    a_refused_payment_is_told_to_its_provider_once,
    ambiguous_and_out_of_range_values_are_refused,
    a_ledger_payment_moves_money_exactly,
    verify_checks_without_moving_money,
    a_retried_settlement_returns_the_first_outcome,
    concurrent_duplicates_settle_exactly_once,
    concurrent_payments_never_pass_a_daily_limit,
    concurrent_payments_never_overdraw_a_balance,
    bad_signatures_and_replays_move_nothing,
    evm_devnet_payments_settle_against_funded_addresses,
    keys_reach_only_their_own_tenant,
    malformed_requests_get_json_errors,
);

const CENT: u128 = 10_000;

async fn a_ledger_payment_moves_money_exactly(backend: Backend) {
    let app = TestApp::new(backend).await; // 2.5 % platform fee
    let provider = app.provider(None).await;
    let agent = app.agent(json!({"dailyLimit": "5.00"}), "10.00").await;
    let settled = app
        .settle(&app.ledger_payment(&agent, &provider, 40_000, nonce(1)))
        .await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["payer"], agent.wallet.as_str());
    assert_eq!(settled["network"], "paywire:test");
    assert!(settled["transaction"].as_str().unwrap().starts_with("pay_"));
    assert_eq!(app.balance(&agent.wallet, "USD").await, 10_000_000 - 40_000);
    assert_eq!(
        app.balance(&provider.wallet, "USD").await,
        39_000,
        "net of the 2.5 % fee"
    );
    assert_eq!(app.balance("wal_platform", "USD").await, 1_000);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM webhook_outbox WHERE event = 'payment.settled'")
            .await,
        1
    );
    app.assert_books_balance().await;
    let (_, wallet) = app
        .call(
            Method::GET,
            &format!("/v1/wallets/{}", agent.wallet),
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(
        wallet["usage"]["spentToday"], "0.04",
        "usage recorded in the same transaction"
    );
    assert_eq!(
        wallet["balances"][0]["amount"], "9.96",
        "formatted with the asset's decimals"
    );
    app.finish().await;
}

async fn verify_checks_without_moving_money(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!({"maxPerRequest": "0.05"}), "1.00").await;
    let ok = app.ledger_payment(&agent, &provider, CENT, nonce(1));
    assert_eq!(
        app.verify(&ok).await,
        json!({"isValid": true, "payer": agent.wallet})
    );
    let too_big = app.ledger_payment(&agent, &provider, 6 * CENT, nonce(2));
    let refused = app.verify(&too_big).await;
    assert_eq!(refused["isValid"], false);
    assert_eq!(refused["invalidReason"], "policy_max_per_request_exceeded");
    let broke = app.agent(json!(null), "0.005").await;
    let refused = app
        .verify(&app.ledger_payment(&broke, &provider, CENT, nonce(3)))
        .await;
    assert_eq!(refused["invalidReason"], "insufficient_funds");
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.balance(&agent.wallet, "USD").await, 1_000_000);
    app.settle(&ok).await;
    // The settled payment sent again is a retry (settle replays its outcome): still valid.
    assert_eq!(app.verify(&ok).await["isValid"], true);
    // Its authorization under other requirements is a reuse.
    let mut reused = ok.clone();
    reused["paymentPayload"]["resource"]["url"] = json!("https://api.example.com/other");
    assert_eq!(
        app.verify(&reused).await["invalidReason"],
        "invalid_exact_evm_nonce_already_used"
    );
    app.finish().await;
}

async fn a_retried_settlement_returns_the_first_outcome(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let payment = app.ledger_payment(&agent, &provider, CENT, nonce(7));
    let first = app.settle(&payment).await;
    let second = app.settle(&payment).await;
    assert_eq!(
        first, second,
        "the retry gets the first outcome, same transaction"
    );
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        1_000_000 - 10_000,
        "charged once"
    );
    // The same authorization presented with other requirements is a reuse, not a retry.
    let mut altered = payment.clone();
    altered["paymentPayload"]["resource"]["url"] = json!("https://api.example.com/other");
    let reused = app.settle(&altered).await;
    assert_eq!(reused["success"], false);
    assert_eq!(
        reused["errorReason"],
        "invalid_exact_evm_nonce_already_used"
    );
    app.assert_books_balance().await;
    app.finish().await;
}

async fn concurrent_duplicates_settle_exactly_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "5.00").await;
    let payment = app.ledger_payment(&agent, &provider, 25_000, nonce(42));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let router = app.router.clone();
            let body = serde_json::to_vec(&payment).unwrap();
            tokio::spawn(async move { settle_via(router, body).await })
        })
        .collect();
    let mut transactions = std::collections::HashSet::new();
    for task in tasks {
        let response = task.await.unwrap();
        assert_eq!(response["success"], true, "{response}");
        transactions.insert(response["transaction"].as_str().unwrap().to_string());
    }
    assert_eq!(transactions.len(), 1, "100 duplicates, one transaction");
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(app.balance(&agent.wallet, "USD").await, 5_000_000 - 25_000);
    app.assert_books_balance().await;
    app.finish().await;
}

async fn settle_via(router: axum::Router, body: Vec<u8>) -> Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::post("/settle")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// 200 distinct one-cent payments race a one-dollar daily limit: exactly 100 settle.
async fn concurrent_payments_never_pass_a_daily_limit(backend: Backend) {
    let app = TestApp::with_fee(backend, 0).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!({"dailyLimit": "1.00"}), "50.00").await;
    let outcomes = race(&app, &agent, &provider, 200).await;
    let settled = outcomes.iter().filter(|o| o["success"] == true).count();
    let limited = outcomes
        .iter()
        .filter(|o| o["errorReason"] == "policy_daily_limit_exceeded")
        .count();
    assert_eq!(
        (settled, limited),
        (100, 100),
        "{:?}",
        outcomes.iter().find(|o| o["success"] != true)
    );
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        50_000_000 - 1_000_000
    );
    assert_eq!(app.balance(&provider.wallet, "USD").await, 1_000_000);
    app.assert_books_balance().await;
    app.finish().await;
}

/// 200 one-cent payments race a 75-cent balance: exactly 75 settle, none overdraws.
async fn concurrent_payments_never_overdraw_a_balance(backend: Backend) {
    let app = TestApp::with_fee(backend, 0).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "0.75").await;
    let outcomes = race(&app, &agent, &provider, 200).await;
    let settled = outcomes.iter().filter(|o| o["success"] == true).count();
    let broke = outcomes
        .iter()
        .filter(|o| o["errorReason"] == "insufficient_funds")
        .count();
    assert_eq!((settled, broke), (75, 125));
    assert_eq!(app.balance(&agent.wallet, "USD").await, 0);
    app.assert_books_balance().await;
    app.finish().await;
}

async fn race(
    app: &TestApp,
    agent: &common::Party,
    provider: &common::Party,
    n: u64,
) -> Vec<Value> {
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            serde_json::to_vec(&app.ledger_payment(agent, provider, CENT, nonce(1000 + i))).unwrap()
        })
        .collect();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| tokio::spawn(settle_via(app.router.clone(), body)))
        .collect();
    let mut outcomes = vec![];
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

async fn bad_signatures_and_replays_move_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let mut forged = app.ledger_payment(&agent, &provider, CENT, nonce(1));
    forged["paymentPayload"]["payload"]["authorization"]["value"] = json!("1");
    forged["paymentRequirements"]["amount"] = json!("1");
    forged["paymentPayload"]["accepted"]["amount"] = json!("1");
    let refused = app.settle(&forged).await;
    assert_eq!(
        (refused["success"].clone(), refused["errorReason"].clone()),
        (json!(false), json!("invalid_exact_evm_signature"))
    );
    let mut stranger = app.ledger_payment(&agent, &provider, CENT, nonce(2));
    stranger["paymentPayload"]["payload"]["authorization"]["from"] = json!("wal_nobody");
    assert_eq!(
        app.settle(&stranger).await["errorReason"],
        "invalid_exact_evm_signature"
    );
    let mut elsewhere = app.ledger_payment(&agent, &provider, CENT, nonce(3));
    elsewhere["paymentRequirements"]["network"] = json!("paywire:other");
    elsewhere["paymentPayload"]["accepted"]["network"] = json!("paywire:other");
    assert_eq!(
        app.settle(&elsewhere).await["errorReason"],
        "unsupported_scheme"
    );
    let unknown_payee = app.ledger_payment(
        &agent,
        &common::Party {
            id: "x".into(),
            wallet: "wal_nobody".into(),
            key: String::new(),
            secret: None,
        },
        CENT,
        nonce(4),
    );
    assert_eq!(
        app.settle(&unknown_payee).await["errorReason"],
        "invalid_exact_evm_recipient_mismatch"
    );
    // An authorization that expired (signed 10 minutes ago with a 60 s timeout).
    let requirements = app.ledger_requirements(&provider.wallet, CENT);
    let typed = paywire_core::protocol::AnyRequirements::V2(
        serde_json::from_value(requirements.clone()).unwrap(),
    );
    let secret =
        paywire_core::protocol::ledger::WalletSecret::from_hex(agent.secret.as_deref().unwrap())
            .unwrap();
    let stale = paywire_core::protocol::ledger::sign_payment(
        &typed,
        &agent.wallet,
        &secret,
        &nonce(5),
        paywire_server::base::util::now() - 600,
    )
    .unwrap();
    let expired = json!({"x402Version": 2, "paymentPayload": {"x402Version": 2, "accepted": requirements, "payload": stale.to_object()},
        "paymentRequirements": requirements});
    assert_eq!(
        app.settle(&expired).await["errorReason"],
        "invalid_exact_evm_payload_authorization_valid_before"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(app.balance(&agent.wallet, "USD").await, 1_000_000);
    app.finish().await;
}

async fn evm_devnet_payments_settle_against_funded_addresses(backend: Backend) {
    let app = TestApp::new(backend).await;
    let pay_to = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    let provider = app.provider(Some(pay_to)).await;
    let key =
        PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
    let usdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
    let funded = app.admin_post("/v1/evm/fund", json!({"network": "eip155:84532", "address": key.address().to_checksum(), "amount": "2.00"})).await;
    let asset = funded["asset"].as_str().unwrap().to_string();
    let required = paywire_core::PaymentRequired::from_json_value(json!({"x402Version": 2,
        "resource": {"url": "https://api.example.com/weather"},
        "accepts": [{"scheme": "exact", "network": "eip155:84532", "amount": "10000", "asset": usdc, "payTo": pay_to,
            "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}}]})).unwrap();
    let requirements = required.requirements(0).unwrap();
    let exact = paywire_core::protocol::evm::sign_payment(
        &requirements,
        &key,
        &common::nonce(9),
        paywire_server::base::util::now(),
    )
    .unwrap();
    let payment = required.payment(0, exact.to_object()).unwrap();
    let body =
        json!({"x402Version": 2, "paymentPayload": payment, "paymentRequirements": requirements});
    assert_eq!(app.verify(&body).await["isValid"], true);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
    assert_eq!(settled["payer"], key.address().to_checksum());
    assert_eq!(
        app.balance(funded["walletId"].as_str().unwrap(), &asset)
            .await,
        2_000_000 - 10_000
    );
    assert_eq!(app.balance(&provider.wallet, &asset).await, 9_750);
    assert_eq!(
        app.settle(&body).await,
        settled,
        "a retried EIP-3009 authorization is settled once"
    );
    let stranger = PrivateKey::from_bytes(&[7u8; 32]).unwrap();
    let unfunded = paywire_core::protocol::evm::sign_payment(
        &requirements,
        &stranger,
        &common::nonce(10),
        paywire_server::base::util::now(),
    )
    .unwrap();
    let unfunded = json!({"x402Version": 2, "paymentPayload": required.payment(0, unfunded.to_object()).unwrap(), "paymentRequirements": requirements});
    assert_eq!(
        app.settle(&unfunded).await["errorReason"],
        "insufficient_funds"
    );
    // A v1 payment is answered in v1 terms: x402 1.x's settle response names the network by
    // its v1 name (base-sepolia), the first time and on a replay.
    let v1 = paywire_core::PaymentRequired::from_json_value(json!({"x402Version": 1, "error": "",
        "accepts": [{"scheme": "exact", "network": "base-sepolia", "maxAmountRequired": "10000",
            "resource": "https://api.example.com/weather", "description": "", "mimeType": "application/json",
            "asset": usdc, "payTo": pay_to, "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}}]})).unwrap();
    let v1_requirements = v1.requirements(0).unwrap();
    let exact = paywire_core::protocol::evm::sign_payment(
        &v1_requirements,
        &key,
        &common::nonce(11),
        paywire_server::base::util::now(),
    )
    .unwrap();
    let v1_body = json!({"x402Version": 1, "paymentPayload": v1.payment(0, exact.to_object()).unwrap(), "paymentRequirements": v1_requirements});
    let v1_settled = app.settle(&v1_body).await;
    assert_eq!(
        (v1_settled["success"].clone(), v1_settled["network"].clone()),
        (json!(true), json!("base-sepolia")),
        "{v1_settled}"
    );
    assert_eq!(app.settle(&v1_body).await["network"], "base-sepolia");
    assert_eq!(settled["network"], "eip155:84532", "v2 answers keep CAIP-2");
    let (_, supported) = app.call(Method::GET, "/supported", None, None).await;
    assert!(supported["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["network"] == "base-sepolia" && k["x402Version"] == 1));
    app.assert_books_balance().await;
    app.finish().await;
}

async fn keys_reach_only_their_own_tenant(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let alice = app.agent(json!(null), "1.00").await;
    let bob = app.agent(json!(null), "1.00").await;
    let get = |key: String, wallet: String| {
        let app = &app;
        async move {
            app.call(
                Method::GET,
                &format!("/v1/wallets/{wallet}"),
                Some(&key),
                None,
            )
            .await
            .0
        }
    };
    assert_eq!(
        get(alice.key.clone(), alice.wallet.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        get(alice.key.clone(), bob.wallet.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(provider.key.clone(), alice.wallet.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("pk_forged".into(), alice.wallet.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = app
        .call(
            Method::POST,
            "/v1/providers",
            Some(&provider.key),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("forbidden"))
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/wallets/{}/fund", alice.wallet),
            Some(&alice.key),
            Some(json!({"amount": "100"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents cannot mint money");
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/v1/wallets/{}/policy", bob.wallet),
            Some(&alice.key),
            Some(json!({"dailyLimit": "999"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let read_only = app
        .admin_post(
            &format!("/v1/tenants/{}/api-keys", alice.id),
            json!({"scopes": ["read"]}),
        )
        .await;
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/v1/wallets/{}/policy", alice.wallet),
            Some(read_only["apiKey"].as_str().unwrap()),
            Some(json!({"dailyLimit": "2"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a read-only key cannot change the policy"
    );
    app.finish().await;
}

async fn malformed_requests_get_json_errors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let cases: Vec<(Method, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            Method::POST,
            "/settle",
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/verify",
            b"{\"x402Version\":2}".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/settle",
            vec![b' '; paywire_server::base::limits::MAX_BODY_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            Method::POST,
            "/v1/agents",
            br#"{"name":"a","polcy":{}}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/agents",
            br#"{"name":"a","policy":{"dailyLimit":5.5}}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/agents",
            br#"{"name":"a","policy":{"dailyLimit":"-1"}}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
        ),
        (
            Method::POST,
            "/v1/providers",
            br#"{"name":"p","evmAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "evm_address_checksum_invalid",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got_status, got) = app.raw(method, path, Some(ADMIN), body).await;
        assert_eq!(
            (got_status, got["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {got}"
        );
        assert!(got["error"]["message"].is_string());
    }
    let agent = app.agent(json!(null), "0").await;
    for amount in ["-1", "1e3", "0.0000001", "0"] {
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/v1/wallets/{}/fund", agent.wallet),
                Some(ADMIN),
                Some(json!({"amount": amount})),
            )
            .await;
        assert!(status.is_client_error(), "{amount}: {body}");
    }
    assert_eq!(app.balance(&agent.wallet, "USD").await, 0);
    app.finish().await;
}

/// One validly signed payment of an unfunded agent, sent 300 times (200 at once, then 100 one
/// by one): 300 refusals, one `payment.refused` event for the provider (there were 300, each
/// with up to 2 KB of payer-written text). Another payment is another event.
async fn a_refused_payment_is_told_to_its_provider_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(serde_json::json!(null), "0").await;
    let body = app.ledger_payment(&agent, &provider, 10_000, common::nonce(1));
    let at_once: Vec<_> = (0..200)
        .map(|_| {
            let (router, body) = (app.router.clone(), body.clone());
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/settle")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    for task in at_once {
        assert_eq!(task.await.unwrap(), axum::http::StatusCode::OK);
    }
    for _ in 0..100 {
        let refused = app.settle(&body).await;
        assert_eq!(refused["errorReason"], "insufficient_funds", "{refused}");
    }
    let refusals = "SELECT COUNT(*) FROM webhook_outbox WHERE event = 'payment.refused'";
    assert_eq!(app.count(refusals).await, 1);
    let other = app.ledger_payment(&agent, &provider, 10_000, common::nonce(2));
    assert_eq!(
        app.settle(&other).await["errorReason"],
        "insufficient_funds"
    );
    assert_eq!(app.count(refusals).await, 2);
    app.finish().await;
}

/// Values a hostile caller chooses: a key named twice (`{"amount":"1","amount":"2"}` deposited
/// 2), an x402 amount as a JSON number (x402 carries strings; JavaScript reads numbers as
/// floats), and bundles of u64::MAX seconds or uses (an `expiresAt` past JavaScript's exact
/// integers).
async fn ambiguous_and_out_of_range_values_are_refused(backend: Backend) {
    use axum::http::Method;
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let fund = format!("/v1/wallets/{}/fund", agent.wallet);
    let (status, body) = app
        .raw(
            Method::POST,
            &fund,
            Some(common::ADMIN),
            br#"{"amount":"1","amount":"2"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("json_duplicate_key")),
        "{body}"
    );
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        1_000_000,
        "nothing deposited"
    );
    let payment = app.ledger_payment(&agent, &provider, CENT, nonce(1));
    // The same key twice inside the payment.
    let text = payment.to_string().replacen(
        "\"scheme\":\"exact\"",
        "\"scheme\":\"exact\",\"scheme\":\"exact\"",
        1,
    );
    let (status, body) = app
        .raw(Method::POST, "/settle", None, text.into_bytes())
        .await;
    assert_eq!(
        body["error"]["code"], "json_duplicate_key",
        "{status} {body}"
    );
    // The amount as a number.
    let mut numeric = payment.clone();
    numeric["paymentRequirements"]["amount"] = json!(CENT as u64);
    numeric["paymentPayload"]["accepted"]["amount"] = json!(CENT as u64);
    let (status, body) = app
        .raw(
            Method::POST,
            "/settle",
            None,
            numeric.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        1_000_000,
        "nothing paid"
    );
    // The same payment with strings settles.
    assert_eq!(app.settle(&payment).await["success"], true);
    for bundle in [
        json!({"seconds": u64::MAX}),
        json!({"seconds": 60, "maxUses": u64::MAX}),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/v1/providers/{}/endpoints", provider.id),
                Some(&provider.key),
                Some(json!({"method": "GET", "path": "/v1/x", "price": {"flat": "1"}, "bundle": bundle})),
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["error"]["code"].as_str()),
            (422, Some("pricing_rule_invalid")),
            "{bundle}: {body}"
        );
    }
    app.finish().await;
}
