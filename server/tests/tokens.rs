//! Priced endpoints, quotes, and access tokens sold as bundles, on SQLite and PostgreSQL.

mod common;

use axum::http::{Method, StatusCode};
use common::{nonce, Backend, TestApp};
use paywire_core::protocol::ledger::{self, WalletSecret};
use serde_json::{json, Value};

on_both_databases!(
    a_quoted_bundle_payment_returns_a_token_with_counted_uses,
    concurrent_uses_of_a_token_never_exceed_its_limit,
    endpoints_are_validated_and_private_to_their_provider,
    expired_tokens_are_swept,
    a_bundle_token_opens_only_the_rule_that_sold_it,
);

async fn register_weather(app: &TestApp, provider: &common::Party, bundle: Value) {
    let (status, body) = app
        .call(Method::POST, &format!("/v1/providers/{}/endpoints", provider.id), Some(&provider.key),
            Some(json!({"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "20000"}, "description": "Weather", "bundle": bundle})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Pays the provider's quote for `url` with the agent's ledger wallet; returns the settlement.
async fn pay_quote(
    app: &TestApp,
    provider: &common::Party,
    agent: &common::Party,
    url: &str,
    n: u64,
) -> Value {
    let body = quote_payment(app, provider, agent, url, n).await;
    app.settle(&body).await
}

/// The facilitator request paying the provider's quote for `url`.
async fn quote_payment(
    app: &TestApp,
    provider: &common::Party,
    agent: &common::Party,
    url: &str,
    n: u64,
) -> Value {
    let (status, quote) = app
        .call(
            Method::POST,
            &format!("/v1/providers/{}/quote", provider.id),
            Some(&provider.key),
            Some(json!({"method": "GET", "url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    let required =
        paywire_core::PaymentRequired::from_json_value(quote["paymentRequired"].clone()).unwrap();
    let requirements = required.requirements(0).unwrap();
    let secret = WalletSecret::from_hex(agent.secret.as_deref().unwrap()).unwrap();
    let exact = ledger::sign_payment(
        &requirements,
        &agent.wallet,
        &secret,
        &nonce(n),
        paywire_server::base::util::now(),
    )
    .unwrap();
    json!({"x402Version": 2, "paymentPayload": required.payment(0, exact.to_object()).unwrap(), "paymentRequirements": requirements})
}

async fn use_token(app: &TestApp, key: &str, token: &str, url: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/v1/tokens/verify",
        Some(key),
        Some(json!({"token": token, "method": "GET", "resource": url})),
    )
    .await
}

async fn a_quoted_bundle_payment_returns_a_token_with_counted_uses(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app
        .provider(Some("0x209693Bc6afc0C5328bA36FaF03C514EF312287C"))
        .await;
    let agent = app.agent(json!(null), "1.00").await;
    register_weather(&app, &provider, json!({"maxUses": 3, "seconds": 3600})).await;
    let (_, quote) = app
        .call(
            Method::POST,
            &format!("/v1/providers/{}/quote", provider.id),
            Some(&provider.key),
            Some(json!({"method": "GET", "url": "https://api.example.com/v1/weather/paris"})),
        )
        .await;
    assert_eq!(quote["quote"]["amount"], "20000");
    assert_eq!(
        quote["paymentRequired"]["accepts"][1]["network"], "eip155:84532",
        "devnet USDC offered too"
    );
    let url = "https://api.example.com/v1/weather/paris";
    let settled = pay_quote(&app, &provider, &agent, url, 1).await;
    assert_eq!(settled["success"], true, "{settled}");
    let token = settled["extensions"]["paywire-access-token"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        settled["extensions"]["paywire-access-token"]["scope"]["resource"],
        "https://api.example.com/v1/weather/"
    );
    for expected_use in 1..=3 {
        let (status, body) = use_token(
            &app,
            &provider.key,
            &token,
            "https://api.example.com/v1/weather/rome",
        )
        .await;
        assert_eq!(
            (status, body["use"].clone()),
            (StatusCode::OK, json!(expected_use)),
            "{body}"
        );
    }
    let (status, body) = use_token(&app, &provider.key, &token, url).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_uses_exhausted"))
    );
    let (status, body) = use_token(
        &app,
        &provider.key,
        &token,
        "https://api.example.com/v1/news",
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("token_scope_mismatch"))
    );
    // The stored row is a hash; the token itself is nowhere in the database.
    let stored = app.count("SELECT COUNT(*) FROM access_tokens").await;
    assert_eq!(stored, 1);
    use sqlx::Row;
    let hash: String = sqlx::query("SELECT hash FROM access_tokens")
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
        .try_get("hash")
        .unwrap();
    assert_eq!(hash, paywire_core::token_hash(&token));
    let leaked = sqlx::query("SELECT COUNT(*) FROM payments WHERE response LIKE '%pw1.%'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    assert_eq!(leaked, 0);
    app.finish().await;
}

async fn concurrent_uses_of_a_token_never_exceed_its_limit(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    register_weather(&app, &provider, json!({"maxUses": 5, "seconds": 600})).await;
    let url = "https://api.example.com/v1/weather/oslo";
    let payment = quote_payment(&app, &provider, &agent, url, 2).await;
    let settled = app.settle(&payment).await;
    let token = settled["extensions"]["paywire-access-token"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    // A replay of the settlement hands back the very same token, not a second one.
    let again = app.settle(&payment).await;
    assert_eq!(
        again["extensions"]["paywire-access-token"]["token"].as_str(),
        Some(token.as_str())
    );
    let narrowed = paywire_core::attenuate(&token, &paywire_core::Caveat::MaxUses(2)).unwrap();
    let (status, _) = use_token(&app, &provider.key, &narrowed, url).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = use_token(&app, &provider.key, &narrowed, url).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = use_token(&app, &provider.key, &narrowed, url).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the narrowed copy allows 2 uses, counted with the original's"
    );
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let router = app.router.clone();
            let key = provider.key.clone();
            let body =
                serde_json::to_vec(&json!({"token": token, "method": "GET", "resource": url}))
                    .unwrap();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post("/v1/tokens/verify")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {key}"))
                    .body(axum::body::Body::from(body))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 3,
        "5 uses in all: 2 by the narrowed copy, 3 of 40 concurrent ones"
    );
    app.finish().await;
}

async fn endpoints_are_validated_and_private_to_their_provider(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let other = app.provider(None).await;
    let path = format!("/v1/providers/{}/endpoints", provider.id);
    let bad_tiers = json!({"method": "POST", "path": "/x", "price": {"usage": {"mode": "volume", "tiers": [{"upTo": 5, "unitPrice": "1"}]}}});
    let (status, body) = app
        .call(Method::POST, &path, Some(&provider.key), Some(bad_tiers))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pricing_rule_invalid")
        )
    );
    let (status, _) = app
        .call(
            Method::POST,
            &path,
            Some(&provider.key),
            Some(json!({"method": "GET", "path": "nope", "price": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            Method::POST,
            &path,
            Some(&other.key),
            Some(json!({"method": "GET", "path": "/x", "price": {}})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another provider cannot add endpoints here"
    );
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/v1/providers/{}/quote", provider.id),
            Some(&provider.key),
            Some(json!({"method": "GET", "url": "https://x/unpriced"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("pricing_no_route"))
    );
    app.finish().await;
}

async fn expired_tokens_are_swept(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "1.00").await;
    register_weather(&app, &provider, json!({"seconds": 60})).await;
    pay_quote(
        &app,
        &provider,
        &agent,
        "https://api.example.com/v1/weather/lima",
        3,
    )
    .await;
    let now = paywire_server::base::util::now();
    assert_eq!(
        paywire_server::services::tokens::sweep(&app.state, now)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        paywire_server::services::tokens::sweep(&app.state, now + 61)
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM access_tokens").await, 0);
    app.finish().await;
}

async fn endpoint(app: &TestApp, provider: &common::Party, rule: Value) {
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/v1/providers/{}/endpoints", provider.id),
            Some(&provider.key),
            Some(rule),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A $0.01 bundle for `/v1/weather/:city` must not open `/v1/weather/premium/:city` ($5.00),
/// nor a dot-segment or escaped path into `/v1/admin/:x` ($9.00); a `/*` bundle at $0.001
/// must not open the admin route either. Each was accepted when a token's scope was a string
/// prefix of the unnormalized URL.
async fn a_bundle_token_opens_only_the_rule_that_sold_it(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!(null), "20.00").await;
    let bundle = json!({"maxUses": 5, "seconds": 3600});
    endpoint(&app, &provider, json!({"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}, "bundle": bundle})).await;
    endpoint(
        &app,
        &provider,
        json!({"method": "GET", "path": "/v1/weather/premium/:city", "price": {"flat": "5000000"}}),
    )
    .await;
    endpoint(
        &app,
        &provider,
        json!({"method": "GET", "path": "/v1/admin/:x", "price": {"flat": "9000000"}}),
    )
    .await;
    endpoint(
        &app,
        &provider,
        json!({"method": "*", "path": "/*", "price": {"flat": "1000"}, "bundle": bundle}),
    )
    .await;
    let origin = "https://api.example.com";
    let token_of = |settled: &Value| {
        settled["extensions"]["paywire-access-token"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("a token was sold: {settled}"))
            .to_string()
    };
    let weather = token_of(
        &pay_quote(
            &app,
            &provider,
            &agent,
            &format!("{origin}/v1/weather/paris"),
            1,
        )
        .await,
    );
    let anything =
        token_of(&pay_quote(&app, &provider, &agent, &format!("{origin}/v1/misc"), 2).await);
    let code = |body: &Value| body["error"]["code"].as_str().map(str::to_string);
    for (token, path, expected) in [
        (
            &weather,
            "/v1/weather/premium/paris",
            "token_scope_mismatch",
        ),
        (&weather, "/v1/weather/../admin/keys", "path_ambiguous"),
        (&weather, "/v1/weather/%2e%2e/admin/keys", "path_ambiguous"),
        (&anything, "/v1/admin/keys", "token_scope_mismatch"),
        (&anything, "/v1/weather/oslo", "token_scope_mismatch"),
        (&anything, "/v1/%61dmin/keys", "path_ambiguous"),
    ] {
        let (status, body) =
            use_token(&app, &provider.key, token, &format!("{origin}{path}")).await;
        assert_eq!(
            code(&body).as_deref(),
            Some(expected),
            "{path}: {status} {body}"
        );
        assert_ne!(status, StatusCode::OK, "{path}");
    }
    // Where the selling rule prices the request, the token works, however the path is spelled.
    for path in ["/v1/weather/oslo", "/v1//weather/rome"] {
        let (status, body) =
            use_token(&app, &provider.key, &weather, &format!("{origin}{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, body) = use_token(
        &app,
        &provider.key,
        &anything,
        &format!("{origin}/v1/other/x"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Refusals counted no use: the weather token has 5 - 2 uses left.
    for _ in 0..3 {
        let (status, body) = use_token(
            &app,
            &provider.key,
            &weather,
            &format!("{origin}/v1/weather/oslo"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, body) = use_token(
        &app,
        &provider.key,
        &weather,
        &format!("{origin}/v1/weather/oslo"),
    )
    .await;
    assert_eq!(code(&body).as_deref(), Some("token_uses_exhausted"));
    // A payment for a path an unbundled rule prices sells nothing, even if a later rule that
    // also matches it would.
    let premium = pay_quote(
        &app,
        &provider,
        &agent,
        &format!("{origin}/v1/admin/keys"),
        3,
    )
    .await;
    assert_eq!(premium["success"], true, "{premium}");
    assert!(
        premium["extensions"].get("paywire-access-token").is_none(),
        "{premium}"
    );
}
