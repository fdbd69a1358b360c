//! Stripe's idempotency contract on mutating requests (`Idempotency-Key`) and x402's
//! `payment-identifier` on settlement, on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{nonce, Backend, TestApp, ADMIN};
use http_body_util::BodyExt;
use paywire_core::protocol::extensions;
use serde_json::{json, Value};
use tower::ServiceExt;

on_both_databases!(
    a_retried_request_returns_the_first_outcome,
    concurrent_duplicate_deposits_happen_once,
    payment_identifiers_make_re_signed_retries_safe,
    no_secret_an_answer_showed_is_stored,
    a_key_used_again_after_it_expired_is_a_new_request,
    one_key_is_one_scope_however_its_header_is_spelled,
);

/// A POST with `authorization` as given (not formatted), and optionally a key.
async fn send_as(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    authorization: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let mut request = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", authorization);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = app
        .router
        .clone()
        .oneshot(
            request
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), replayed)
}

/// Every secret an answer showed once — API keys, a wallet secret, a webhook secret, an access
/// token sold with a settlement made with credentials and an `Idempotency-Key` — is nowhere
/// in the database: not in any table, and on SQLite not in the file or its write-ahead log.
/// (The settlement's whole answer, bearer token included, was kept in its idempotency record.)
async fn no_secret_an_answer_showed_is_stored(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    app.state.allow_loopback_webhooks = true;
    app.router = paywire_server::router(app.server());
    let mut secrets: Vec<String> = vec![];
    let (status, provider, _) = send(
        &app,
        "/v1/providers",
        Some("p-1"),
        ADMIN,
        &json!({"name": "P"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{provider}");
    secrets.push(provider["apiKey"].as_str().unwrap().into());
    let provider_key = provider["apiKey"].as_str().unwrap().to_string();
    let provider_id = provider["id"].as_str().unwrap().to_string();
    let (_, agent, _) = send(
        &app,
        "/v1/agents",
        Some("a-1"),
        ADMIN,
        &json!({"name": "A"}),
    )
    .await;
    secrets.push(agent["apiKey"].as_str().unwrap().into());
    secrets.push(agent["walletSecret"].as_str().unwrap().into());
    let (_, key, _) = send(
        &app,
        &format!("/v1/tenants/{provider_id}/api-keys"),
        Some("k-1"),
        ADMIN,
        &json!({"scopes": ["read"]}),
    )
    .await;
    secrets.push(
        key["apiKey"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}"))
            .into(),
    );
    let webhook = Request::put(format!("/v1/providers/{provider_id}/webhook"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {provider_key}"))
        .header("idempotency-key", "w-1")
        .body(Body::from(r#"{"url": "http://127.0.0.1:9/paywire"}"#))
        .unwrap();
    let response = app.router.clone().oneshot(webhook).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let webhook: Value = serde_json::from_slice(&bytes).unwrap();
    secrets.push(
        webhook["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{webhook}"))
            .into(),
    );
    let wallet = agent["walletId"].as_str().unwrap().to_string();
    send(
        &app,
        &format!("/v1/wallets/{wallet}/fund"),
        Some("f-1"),
        ADMIN,
        &json!({"amount": "1.00"}),
    )
    .await;
    let (status, endpoint, _) = send(&app, &format!("/v1/providers/{provider_id}/endpoints"), Some("e-1"), &provider_key,
        &json!({"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}, "bundle": {"maxUses": 3, "seconds": 3600}})).await;
    assert_eq!(status, StatusCode::OK, "{endpoint}");
    // The provider's middleware settles with its key and an Idempotency-Key.
    let party = common::Party {
        id: agent["id"].as_str().unwrap().into(),
        wallet: wallet.clone(),
        key: agent["apiKey"].as_str().unwrap().into(),
        secret: agent["walletSecret"].as_str().map(str::to_string),
    };
    let payee = common::Party {
        id: provider_id.clone(),
        wallet: provider["walletId"].as_str().unwrap().into(),
        key: provider_key.clone(),
        secret: None,
    };
    let mut payment = app.ledger_payment(&party, &payee, 10_000, nonce(1));
    payment["paymentPayload"]["resource"] =
        json!({"url": "https://api.example.com/v1/weather/paris"});
    payment["paymentRequirements"]["resource"] = json!("https://api.example.com/v1/weather/paris");
    let (status, settled, _) = send(&app, "/settle", Some("s-1"), &provider_key, &payment).await;
    assert_eq!(
        (status, &settled["success"]),
        (StatusCode::OK, &json!(true)),
        "{settled}"
    );
    let token = settled["extensions"]["paywire-access-token"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a bundle token was sold: {settled}"))
        .to_string();
    secrets.push(token.clone());
    // Sent again with the same key, the settlement is answered by the payment itself, token
    // and all (re-signed from the stored claims), not from a stored answer.
    let (_, again, replayed) = send(&app, "/settle", Some("s-1"), &provider_key, &payment).await;
    assert!(!replayed, "/settle keeps no idempotency record");
    assert_eq!(
        again["extensions"]["paywire-access-token"]["token"],
        json!(token)
    );
    let dump = app.dump_text().await;
    let mut raw = String::new();
    if let Some(path) = app.database_url().strip_prefix("sqlite://") {
        for file in [path.to_string(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                raw.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        assert!(!raw.is_empty(), "the SQLite file was read");
    }
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "a secret shown once is stored in a table: {}…",
            &secret[..8]
        );
        assert!(
            !raw.contains(secret.as_str()),
            "a secret shown once is in the SQLite file: {}…",
            &secret[..8]
        );
    }
    assert_eq!(secrets.len(), 6);
    app.finish().await;
}

/// An `Idempotency-Key` used again after its record expired, or was swept, is a new request:
/// it deposits again (into another wallet, or the same), instead of answering 200 with the
/// deposit the old key made — object ids were derived from scope and key alone.
async fn a_key_used_again_after_it_expired_is_a_new_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.agent(json!(null), "0").await;
    let second = app.agent(json!(null), "0").await;
    let fund = |wallet: &str| format!("/v1/wallets/{wallet}/fund");
    let amount = json!({"amount": "1.00"});
    let (status, _, _) = send(
        &app,
        &fund(&first.wallet),
        Some("monthly-topup"),
        ADMIN,
        &amount,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Within the retention, the same key for another wallet is refused as reused.
    let (status, _, _) = send(
        &app,
        &fund(&second.wallet),
        Some("monthly-topup"),
        ADMIN,
        &amount,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Past the retention (not swept yet): the record is taken over as a new request.
    let retention = app.state.idempotency.retention_seconds as i64 + 1;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE idempotency_keys SET created_at = created_at - {retention}"
    )))
    .execute(&app.state.pool)
    .await
    .unwrap();
    let (status, body, replayed) = send(
        &app,
        &fund(&second.wallet),
        Some("monthly-topup"),
        ADMIN,
        &amount,
    )
    .await;
    assert_eq!((status, replayed), (StatusCode::OK, false), "{body}");
    assert_eq!(
        app.balance(&second.wallet, "USD").await,
        1_000_000,
        "deposited into the second wallet"
    );
    // Swept: the same key and the very same request once more deposits once more.
    paywire_server::services::tokens::sweep(
        &app.state,
        paywire_server::base::util::now() + retention as u64 + 1,
    )
    .await
    .unwrap();
    let (status, _, replayed) = send(
        &app,
        &fund(&second.wallet),
        Some("monthly-topup"),
        ADMIN,
        &amount,
    )
    .await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    assert_eq!(app.balance(&second.wallet, "USD").await, 2_000_000);
    assert_eq!(app.balance(&first.wallet, "USD").await, 1_000_000);
    app.assert_books_balance().await;
    app.finish().await;
}

/// `Bearer  key` and `Bearer key` are one key, so one scope: the second request is a replay,
/// not a second deposit (the scope was the raw header's hash).
async fn one_key_is_one_scope_however_its_header_is_spelled(backend: Backend) {
    let app = TestApp::new(backend).await;
    let agent = app.agent(json!(null), "0").await;
    let path = format!("/v1/wallets/{}/fund", agent.wallet);
    let amount = json!({"amount": "2.00"});
    let mut replays = 0;
    for spelling in [
        format!("Bearer {ADMIN}"),
        format!("Bearer  {ADMIN}"),
        format!("Bearer {ADMIN} "),
    ] {
        let (status, body, replayed) =
            send_as(&app, &path, Some("deposit-once"), &spelling, &amount).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        replays += usize::from(replayed);
    }
    assert_eq!(replays, 2);
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        2_000_000,
        "deposited once"
    );
    app.finish().await;
}

async fn send(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    auth: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let (status, mut body, replayed) =
        send_as(app, path, key, &format!("Bearer {auth}"), body).await;
    // Each request has its own id, replay or not: the outcome is the rest.
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        assert!(error.remove("requestId").is_some_and(|id| id.is_string()));
    }
    (status, body, replayed)
}

async fn a_retried_request_returns_the_first_outcome(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = json!({"name": "retry bot"});
    let (status, first, replayed) =
        send(&app, "/v1/agents", Some("create-agent-1"), ADMIN, &body).await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    let (status, second, replayed) =
        send(&app, "/v1/agents", Some("create-agent-1"), ADMIN, &body).await;
    assert_eq!((status, replayed), (StatusCode::OK, true));
    assert_eq!(
        (&first["id"], &first["walletId"]),
        (&second["id"], &second["walletId"]),
        "the same agent, not a second one"
    );
    assert!(first["apiKey"].is_string());
    assert_eq!(
        second["apiKey"],
        Value::Null,
        "a replay never shows a secret again"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tenants WHERE kind = 'agent'")
            .await,
        1
    );
    let (status, error, _) = send(
        &app,
        "/v1/agents",
        Some("create-agent-1"),
        ADMIN,
        &json!({"name": "other"}),
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_reused"))
    );
    let (status, error, _) = send(&app, "/v1/agents", Some("bad\tkey"), ADMIN, &body).await;
    assert_eq!(
        error["error"]["code"], "idempotency_key_invalid",
        "{status}"
    );
    // Keys are per caller: another caller's identical key is its own request.
    let provider = app.provider(None).await;
    let (status, _, replayed) = send(
        &app,
        &format!("/v1/tenants/{}/api-keys", provider.id),
        Some("create-agent-1"),
        &provider.key,
        &json!({"scopes": ["read"]}),
    )
    .await;
    assert_eq!((status, replayed), (StatusCode::OK, false));
    // A failed request is remembered too (4xx is an outcome), so the retry gets the same error.
    let (status_a, a, _) = send(
        &app,
        "/v1/agents",
        Some("bad-policy"),
        ADMIN,
        &json!({"name": "x", "policy": {"dailyLimit": "-1"}}),
    )
    .await;
    let (status_b, b, replayed) = send(
        &app,
        "/v1/agents",
        Some("bad-policy"),
        ADMIN,
        &json!({"name": "x", "policy": {"dailyLimit": "-1"}}),
    )
    .await;
    assert_eq!((status_a, &a), (status_b, &b));
    assert!(replayed);
    app.finish().await;
}

async fn concurrent_duplicate_deposits_happen_once(backend: Backend) {
    let app = TestApp::new(backend).await;
    let agent = app.agent(json!(null), "0").await;
    let path = format!("/v1/wallets/{}/fund", agent.wallet);
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let router = app.router.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let request = Request::post(&path)
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {ADMIN}"))
                    .header("idempotency-key", "deposit-2026-11-21")
                    .body(Body::from(r#"{"amount":"5.00"}"#))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::OK));
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        5_000_000,
        "deposited once"
    );
    app.assert_books_balance().await;
    app.finish().await;
}

async fn payment_identifiers_make_re_signed_retries_safe(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    let with_id = |mut body: Value, id: &str| {
        let ext = extensions::with_payment_identifier(None, id).unwrap();
        body["paymentPayload"]["extensions"] = Value::Object(ext);
        body
    };
    let first = app
        .settle(&with_id(
            app.ledger_payment(&agent, &provider, 10_000, nonce(1)),
            "pay_0123456789abcdef",
        ))
        .await;
    assert_eq!(first["success"], true);
    // The response was lost; the client signs again (new nonce) under the same identifier.
    let again = app
        .settle(&with_id(
            app.ledger_payment(&agent, &provider, 10_000, nonce(2)),
            "pay_0123456789abcdef",
        ))
        .await;
    assert_eq!(again["transaction"], first["transaction"]);
    assert_eq!(
        app.balance(&agent.wallet, "USD").await,
        990_000,
        "charged once"
    );
    let (status, error) = app
        .call(
            axum::http::Method::POST,
            "/settle",
            None,
            Some(with_id(
                app.ledger_payment(&agent, &provider, 20_000, nonce(3)),
                "pay_0123456789abcdef",
            )),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_key_reused"))
    );
    let mut bad_id = app.ledger_payment(&agent, &provider, 10_000, nonce(4));
    bad_id["paymentPayload"]["extensions"] =
        json!({"payment-identifier": {"info": {"id": "short"}}});
    let (status, error) = app
        .call(axum::http::Method::POST, "/settle", None, Some(bad_id))
        .await;
    assert_eq!(
        error["error"]["code"], "payment_identifier_invalid",
        "{status}"
    );
    let (_, supported) = app
        .call(axum::http::Method::GET, "/supported", None, None)
        .await;
    assert_eq!(supported["extensions"], json!(["payment-identifier"]));
    app.finish().await;
}
