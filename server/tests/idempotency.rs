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
);

async fn send(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    auth: &str,
    body: &Value,
) -> (StatusCode, Value, bool) {
    let mut request = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {auth}"));
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
    let mut body: Value = serde_json::from_slice(&bytes).unwrap();
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
