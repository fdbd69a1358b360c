//! The Rust adapters against each other over real loopback HTTP: `paywire-reqwest` pays an
//! axum API protected by `paywire-axum`, with this server as the facilitator, on the ledger
//! and on the devnet EVM network; every refusal, failure and retry path the flows decide.
//! Each on SQLite and PostgreSQL.

#[path = "../../server/tests/common/mod.rs"]
mod common;
#[path = "support/facilitator.rs"]
mod facilitator;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::Backend;
use facilitator::Facilitator;
use paywire_axum::{FacilitatorClient, PaywallLayer};
use paywire_core::flow::{Paywall, PaywallConfig};
use paywire_core::token::KeyRing;
use paywire_core::Policy;
use paywire_reqwest::{EvmSigner, LedgerSigner, PaymentError, Paywire, Signer};
use paywire_sandbox::serve_app;
use reqwest_middleware::ClientWithMiddleware;
use serde_json::{json, Value};

on_both_databases!(
    a_ledger_payment_is_made_once_and_reported,
    an_evm_payment_settles_on_the_devnet_network,
    a_policy_refusal_pays_nothing_and_never_reaches_the_handler,
    the_approver_decides_above_the_threshold,
    a_bundle_token_is_used_instead_of_paying_until_it_runs_out,
    a_lost_answer_is_sent_again_and_charged_once,
    a_facilitator_that_is_down_or_silent_costs_nothing,
    concurrent_payments_stay_inside_the_daily_limit,
    bad_payments_get_402s_with_codes_and_free_routes_pass,
    a_failing_handler_is_not_charged_for,
    facilitator_calls_carry_the_headers_given_per_call,
);

const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const USDC_BASE_SEPOLIA: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/// A provider's API behind the paywall: `/v1/weather/{city}` at $0.01 (and whatever else
/// `routes` adds), handler runs counted.
struct Shop {
    url: String,
    wallet: String,
    calls: Arc<AtomicUsize>,
}

struct ShopOptions {
    routes: Value,
    accepts: Option<Value>,
    keys: Option<KeyRing>,
    facilitator: Option<FacilitatorClient>,
    /// Status of the weather handler.
    status: u16,
    /// A layer outside the paywall (to lose an answer).
    lose_first_paid_answer: bool,
}

impl Default for ShopOptions {
    fn default() -> Self {
        ShopOptions {
            routes: json!([{"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}}]),
            accepts: None,
            keys: None,
            facilitator: None,
            status: 200,
            lose_first_paid_answer: false,
        }
    }
}

async fn shop(f: &Facilitator, options: ShopOptions) -> Shop {
    let created = f.app.provider(None).await;
    let accepts = options.accepts.unwrap_or_else(|| {
        json!([{"asset": {"network": "paywire:test", "address": "USD", "symbol": "USD", "decimals": 6},
                "payTo": created.wallet}])
    });
    let config: PaywallConfig =
        serde_json::from_value(json!({"routes": options.routes, "accepts": accepts})).unwrap();
    let facilitator = options
        .facilitator
        .unwrap_or_else(|| FacilitatorClient::new(&f.url).unwrap());
    let mut layer = PaywallLayer::new(Paywall::new(config).unwrap(), facilitator);
    if let Some(keys) = options.keys {
        layer = layer.keys(keys);
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let status = options.status;
    let handler = move |Path(city): Path<String>| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut response = Json(json!({"city": city, "temperatureC": 21})).into_response();
            *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
            response
        }
    };
    let mut app = Router::new()
        .route("/v1/weather/{city}", get(handler.clone()))
        .route("/v1/forecast/{city}", get(handler))
        .layer(layer)
        .route("/healthz", get(|| async { "ok" }));
    if options.lose_first_paid_answer {
        app = app.layer(axum::middleware::from_fn(lose_first_paid_answer()));
    }
    let (address, _) = serve_app(SocketAddr::from(([127, 0, 0, 1], 0)), app)
        .await
        .unwrap();
    Shop {
        url: format!("http://{address}"),
        wallet: created.wallet,
        calls,
    }
}

use axum::response::IntoResponse;

type BoxedFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// A layer that lets the first paid request through (so it settles) and then drops its
/// connection before any answer: the payer's answer is lost.
fn lose_first_paid_answer(
) -> impl Fn(Request, axum::middleware::Next) -> BoxedFuture + Clone + Send + Sync + 'static {
    let lost = Arc::new(AtomicUsize::new(0));
    move |request: Request, next: axum::middleware::Next| {
        let lost = Arc::clone(&lost);
        Box::pin(async move {
            let paid = request.headers().contains_key("payment-signature");
            let response = next.run(request).await;
            if paid && lost.fetch_add(1, Ordering::SeqCst) == 0 {
                // Ends the connection's task without an answer (and without the panic hook's
                // message: this is the test's doing).
                std::panic::resume_unwind(Box::new("the answer is lost"));
            }
            response
        })
    }
}

fn policy(json: Value) -> Policy {
    serde_json::from_value(json).unwrap()
}

fn client(middleware: Paywire) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

async fn ledger_agent(f: &Facilitator, funds: &str) -> (common::Party, LedgerSigner) {
    let agent = f.app.agent(json!({}), funds).await;
    let signer = LedgerSigner::from_hex(&agent.wallet, agent.secret.as_deref().unwrap()).unwrap();
    (agent, signer)
}

fn standard_policy() -> Policy {
    policy(json!({"maxPerRequest": "0.10", "dailyLimit": "1.00"}))
}

async fn a_ledger_payment_is_made_once_and_reported(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(&f, ShopOptions::default()).await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let paid = Arc::new(Mutex::new(vec![]));
    let seen = Arc::clone(&paid);
    let pay = client(
        Paywire::builder(standard_policy(), signer)
            .on_payment(move |record| seen.lock().unwrap().push(record.amount))
            .build(),
    );
    let response = pay
        .get(format!("{}/v1/weather/paris", shop.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let record = paywire_reqwest::payment_of(&response)
        .cloned()
        .expect("a payment");
    assert_eq!(record.amount.to_string(), "0.01");
    let settlement = record.settlement.clone().expect("PAYMENT-RESPONSE decoded");
    assert!(settlement.success);
    assert_eq!(settlement.payer.as_deref(), Some(agent.wallet.as_str()));
    assert!(!settlement.transaction.is_empty());
    assert!(response.headers().contains_key("payment-response"));
    assert_eq!(response.json::<Value>().await.unwrap()["city"], "paris");
    assert_eq!(*paid.lock().unwrap(), vec![record.amount]);
    assert_eq!(
        f.app.balance(&agent.wallet, "USD").await,
        1_000_000 - 10_000
    );
    assert_eq!(f.app.balance(&shop.wallet, "USD").await, 10_000 - 250);
    assert_eq!(shop.calls.load(Ordering::SeqCst), 1);
    f.app.assert_books_balance().await;
    f.finish().await;
}

async fn an_evm_payment_settles_on_the_devnet_network(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let signer = EvmSigner::from_hex(DEV_KEY).unwrap();
    let payer = match signer.payer() {
        paywire_core::flow::Payer::Evm { address } => address,
        other => panic!("{other:?}"),
    };
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    let pay_to = paywire_core::protocol::evm::PrivateKey::from_bytes(&seed)
        .unwrap()
        .address()
        .to_checksum();
    let registered = f.app.provider(Some(&pay_to)).await;
    let funded = f
        .app
        .admin_post(
            "/v1/evm/fund",
            json!({"network": "eip155:84532", "address": payer, "amount": "1.00"}),
        )
        .await;
    let usdc = json!({"network": "eip155:84532", "address": USDC_BASE_SEPOLIA, "symbol": "USDC",
                      "decimals": 6, "extra": {"name": "USDC", "version": "2"}});
    let shop = shop(
        &f,
        ShopOptions {
            accepts: Some(json!([{"asset": usdc, "payTo": pay_to}])),
            ..Default::default()
        },
    )
    .await;
    let pay = client(Paywire::builder(policy(json!({"maxPerRequest": "0.10"})), signer).build());
    let response = pay
        .get(format!("{}/v1/weather/oslo", shop.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let record = paywire_reqwest::payment_of(&response).unwrap();
    assert_eq!(
        record.settlement.as_ref().unwrap().payer.as_deref(),
        Some(payer.as_str())
    );
    let key = format!("eip155:84532/erc20:{}", USDC_BASE_SEPOLIA.to_lowercase());
    assert_eq!(
        f.app
            .balance(funded["walletId"].as_str().unwrap(), &key)
            .await,
        1_000_000 - 10_000
    );
    assert_eq!(f.app.balance(&registered.wallet, &key).await, 10_000 - 250);
    f.finish().await;
}

async fn a_policy_refusal_pays_nothing_and_never_reaches_the_handler(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(&f, ShopOptions::default()).await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let stingy =
        client(Paywire::builder(policy(json!({"maxPerRequest": "0.001"})), signer).build());
    let error = stingy
        .get(format!("{}/v1/weather/rome", shop.url))
        .send()
        .await
        .unwrap_err();
    let refusal = PaymentError::of(&error).expect("a payment error");
    assert_eq!(refusal.code, "policy_max_per_request_exceeded");
    assert!(refusal.details.is_some(), "the rejections are given");
    let elsewhere = client(
        Paywire::builder(
            policy(json!({"allowedHosts": ["api.example.com"]})),
            LedgerSigner::from_hex(&agent.wallet, agent.secret.as_deref().unwrap()).unwrap(),
        )
        .build(),
    );
    let error = elsewhere
        .get(format!("{}/v1/weather/rome", shop.url))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        PaymentError::of(&error).unwrap().code,
        "policy_host_not_allowed"
    );
    assert_eq!(shop.calls.load(Ordering::SeqCst), 0);
    assert_eq!(f.app.balance(&agent.wallet, "USD").await, 1_000_000);
    f.finish().await;
}

async fn the_approver_decides_above_the_threshold(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(&f, ShopOptions::default()).await;
    let (agent, _) = ledger_agent(&f, "1.00").await;
    let signer =
        || LedgerSigner::from_hex(&agent.wallet, agent.secret.as_deref().unwrap()).unwrap();
    let careful = || policy(json!({"approvalThreshold": "0.001"}));
    // No approver: refused.
    let error = client(Paywire::builder(careful(), signer()).build())
        .get(format!("{}/v1/weather/rome", shop.url))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        PaymentError::of(&error).unwrap().code,
        "policy_approval_denied"
    );
    // An approver that says no, then one that says yes and sees what it approves.
    let error = client(
        Paywire::builder(careful(), signer())
            .approver(|_: &paywire_reqwest::ApprovalRequest| false)
            .build(),
    )
    .get(format!("{}/v1/weather/rome", shop.url))
    .send()
    .await
    .unwrap_err();
    assert_eq!(
        PaymentError::of(&error).unwrap().code,
        "policy_approval_denied"
    );
    assert_eq!(f.app.balance(&agent.wallet, "USD").await, 1_000_000);
    let asked = Arc::new(Mutex::new(vec![]));
    let log = Arc::clone(&asked);
    let response = client(
        Paywire::builder(careful(), signer())
            .approver(move |request: &paywire_reqwest::ApprovalRequest| {
                log.lock()
                    .unwrap()
                    .push((request.url.clone(), request.amount.to_string()));
                true
            })
            .build(),
    )
    .get(format!("{}/v1/weather/rome", shop.url))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        *asked.lock().unwrap(),
        vec![(format!("{}/v1/weather/rome", shop.url), "0.01".to_string())]
    );
    assert_eq!(
        f.app.balance(&agent.wallet, "USD").await,
        1_000_000 - 10_000
    );
    f.finish().await;
}

async fn a_bundle_token_is_used_instead_of_paying_until_it_runs_out(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap();
    let shop = shop(
        &f,
        ShopOptions {
            routes: json!([{"method": "GET", "path": "/v1/forecast/:city", "price": {"flat": "50000"},
                            "bundle": {"maxUses": 2, "seconds": 3600}}]),
            keys: Some(KeyRing::new("k1", &secret).unwrap()),
            ..Default::default()
        },
    )
    .await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let pay = client(Paywire::builder(standard_policy(), signer).build());
    let get = |city: &str| pay.get(format!("{}/v1/forecast/{city}", shop.url)).send();
    let first = get("paris").await.unwrap();
    let token = paywire_reqwest::payment_of(&first)
        .and_then(|p| p.access_token.clone())
        .expect("the payment bought a token");
    assert_eq!(token.max_uses, Some(2));
    for city in ["rome", "oslo"] {
        let response = get(city).await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            paywire_reqwest::payment_of(&response).is_none(),
            "{city}: the token paid"
        );
    }
    assert_eq!(
        f.app.balance(&agent.wallet, "USD").await,
        1_000_000 - 50_000
    );
    // Spent: the provider refuses it, the client forgets it and pays again.
    let again = get("lima").await.unwrap();
    assert!(paywire_reqwest::payment_of(&again).is_some());
    assert_eq!(
        f.app.balance(&agent.wallet, "USD").await,
        1_000_000 - 100_000
    );
    assert_eq!(shop.calls.load(Ordering::SeqCst), 4);
    // A forged token is refused with its code, and nothing is served for it.
    let forged = reqwest::Client::new()
        .get(format!("{}/v1/forecast/kyiv", shop.url))
        .header("PAYWIRE-ACCESS-TOKEN", format!("{}x", token.token))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 402);
    assert_eq!(shop.calls.load(Ordering::SeqCst), 4);
    f.finish().await;
}

async fn a_lost_answer_is_sent_again_and_charged_once(backend: Backend) {
    let f = Facilitator::start(backend).await;
    for retries in [true, false] {
        let shop = shop(
            &f,
            ShopOptions {
                lose_first_paid_answer: true,
                ..Default::default()
            },
        )
        .await;
        let (agent, signer) = ledger_agent(&f, "1.00").await;
        let builder = Paywire::builder(standard_policy(), signer);
        // With retries, reqwest-retry re-sends; without, the core flow's one re-send does.
        let builder = if retries {
            builder
        } else {
            builder.without_retries()
        };
        let response = client(builder.build())
            .get(format!("{}/v1/weather/paris", shop.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "retries: {retries}");
        let record = paywire_reqwest::payment_of(&response).unwrap();
        assert!(record.settlement.as_ref().unwrap().success);
        assert_eq!(
            f.app.balance(&agent.wallet, "USD").await,
            1_000_000 - 10_000,
            "charged once (retries: {retries})"
        );
        assert_eq!(
            shop.calls.load(Ordering::SeqCst),
            2,
            "the handler ran for both sends"
        );
    }
    f.finish().await;
}

async fn a_facilitator_that_is_down_or_silent_costs_nothing(backend: Backend) {
    let f = Facilitator::start(backend).await;
    // Down: a port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    // Silent: accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut open = vec![];
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    for (what, facilitator) in [
        ("down", FacilitatorClient::new(&down_url).unwrap()),
        (
            "silent",
            FacilitatorClient::new(&silent_url)
                .unwrap()
                .timeout(Duration::from_millis(300)),
        ),
    ] {
        let shop = shop(
            &f,
            ShopOptions {
                facilitator: Some(facilitator),
                ..Default::default()
            },
        )
        .await;
        let (agent, signer) = ledger_agent(&f, "1.00").await;
        let usage = Arc::new(paywire_reqwest::MemoryUsage::default());
        let response = client(
            Paywire::builder(standard_policy(), signer)
                .usage_store(SharedUsage(Arc::clone(&usage)))
                .build(),
        )
        .get(format!("{}/v1/weather/paris", shop.url))
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 502, "{what}");
        let record = paywire_reqwest::payment_of(&response).expect("the payment sent");
        assert!(record.settlement.is_none(), "{what}: nothing settled");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "facilitator_unavailable", "{what}");
        assert_eq!(
            shop.calls.load(Ordering::SeqCst),
            0,
            "{what}: the handler never ran"
        );
        assert_eq!(
            f.app.balance(&agent.wallet, "USD").await,
            1_000_000,
            "{what}"
        );
        use paywire_reqwest::UsageStore;
        assert_eq!(
            usage.load().await.unwrap(),
            None,
            "{what}: no spending recorded"
        );
    }
    f.finish().await;
}

/// A usage store shared with the test, to look into.
struct SharedUsage(Arc<paywire_reqwest::MemoryUsage>);

#[async_trait::async_trait]
impl paywire_reqwest::UsageStore for SharedUsage {
    async fn load(&self) -> Result<Option<paywire_core::Usage>, paywire_reqwest::BoxError> {
        self.0.load().await
    }
    async fn save(&self, usage: &paywire_core::Usage) -> Result<(), paywire_reqwest::BoxError> {
        self.0.save(usage).await
    }
}

async fn concurrent_payments_stay_inside_the_daily_limit(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(&f, ShopOptions::default()).await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let pay = client(Paywire::builder(policy(json!({"dailyLimit": "0.03"})), signer).build());
    let calls = (0..6).map(|i| {
        let pay = pay.clone();
        let url = format!("{}/v1/weather/city{i}", shop.url);
        tokio::spawn(async move { pay.get(url).send().await })
    });
    let mut paid = 0;
    let mut refused = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(response) => {
                assert_eq!(response.status(), 200);
                paid += 1;
            }
            Err(error) => {
                assert_eq!(
                    PaymentError::of(&error).unwrap().code,
                    "policy_daily_limit_exceeded"
                );
                refused += 1;
            }
        }
    }
    assert_eq!((paid, refused), (3, 3));
    assert_eq!(
        f.app.balance(&agent.wallet, "USD").await,
        1_000_000 - 30_000
    );
    f.finish().await;
}

async fn bad_payments_get_402s_with_codes_and_free_routes_pass(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(&f, ShopOptions::default()).await;
    let plain = reqwest::Client::new();
    let free = plain
        .get(format!("{}/healthz", shop.url))
        .send()
        .await
        .unwrap();
    assert_eq!(free.status(), 200);
    let unpaid = plain
        .get(format!("{}/v1/weather/paris", shop.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unpaid.status(), 402);
    assert!(unpaid.headers().contains_key("payment-required"));
    let body: Value = unpaid.json().await.unwrap();
    assert_eq!(body["x402Version"], 1, "the v1 body rides along");
    for (header, value) in [
        ("PAYMENT-SIGNATURE", "not base64 at all!"),
        ("PAYMENT-SIGNATURE", "eyJ4NDAyVmVyc2lvbiI6Mn0="),
        ("X-PAYMENT", "e30="),
    ] {
        let refused = plain
            .get(format!("{}/v1/weather/paris", shop.url))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 402, "{header}: {value}");
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{header}: {value}: {body}"
        );
    }
    assert_eq!(shop.calls.load(Ordering::SeqCst), 0);
    f.finish().await;
}

async fn a_failing_handler_is_not_charged_for(backend: Backend) {
    let f = Facilitator::start(backend).await;
    let shop = shop(
        &f,
        ShopOptions {
            status: 503,
            ..Default::default()
        },
    )
    .await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let usage = Arc::new(paywire_reqwest::MemoryUsage::default());
    let response = client(
        Paywire::builder(standard_policy(), signer)
            .usage_store(SharedUsage(Arc::clone(&usage)))
            .build(),
    )
    .get(format!("{}/v1/weather/paris", shop.url))
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 503);
    assert!(!response.headers().contains_key("payment-response"));
    assert_eq!(response.json::<Value>().await.unwrap()["city"], "paris");
    assert_eq!(f.app.balance(&agent.wallet, "USD").await, 1_000_000);
    use paywire_reqwest::UsageStore;
    assert_eq!(usage.load().await.unwrap(), None, "unsettled: not spent");
    f.finish().await;
}

async fn facilitator_calls_carry_the_headers_given_per_call(backend: Backend) {
    let f = Facilitator::start(backend).await;
    // A recording proxy in front of the real facilitator.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let upstream = f.url.clone();
    let record = Arc::clone(&seen);
    let forward = move |Path(call): Path<String>, request: Request| {
        let upstream = upstream.clone();
        let record = Arc::clone(&record);
        async move {
            let auth = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            record.lock().unwrap().push((call.clone(), auth));
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let answer = reqwest::Client::new()
                .post(format!("{upstream}/{call}"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let bytes = answer.bytes().await.unwrap();
            Ok::<_, Infallible>(
                Response::builder()
                    .status(status.as_u16())
                    .header("content-type", "application/json")
                    .body(Body::from(bytes))
                    .unwrap(),
            )
        }
    };
    let (proxy, _) = serve_app(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Router::new().route("/{call}", post(forward)),
    )
    .await
    .unwrap();
    let facilitator = FacilitatorClient::new(&format!("http://{proxy}"))
        .unwrap()
        .headers(|call| {
            let token = match call {
                paywire_axum::FacilitatorCall::Verify => "Bearer for-verify",
                paywire_axum::FacilitatorCall::Settle => "Bearer for-settle",
            };
            axum::http::HeaderMap::from_iter([(
                axum::http::header::AUTHORIZATION,
                axum::http::HeaderValue::from_static(token),
            )])
        });
    let shop = shop(
        &f,
        ShopOptions {
            facilitator: Some(facilitator),
            ..Default::default()
        },
    )
    .await;
    let (_, signer) = ledger_agent(&f, "1.00").await;
    let response = client(Paywire::builder(standard_policy(), signer).build())
        .get(format!("{}/v1/weather/paris", shop.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("verify".to_string(), "Bearer for-verify".to_string()),
            ("settle".to_string(), "Bearer for-settle".to_string()),
        ]
    );
    f.finish().await;
}

#[tokio::test]
async fn a_streamed_body_that_meets_a_402_is_refused_with_a_code() {
    let f = Facilitator::start(Backend::Sqlite).await;
    let shop = shop(
        &f,
        ShopOptions {
            routes: json!([{"method": "POST", "path": "/v1/weather/:city", "price": {"flat": "10000"}}]),
            ..Default::default()
        },
    )
    .await;
    let (agent, signer) = ledger_agent(&f, "1.00").await;
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>("chunk")]);
    let error = client(Paywire::builder(standard_policy(), signer).build())
        .post(format!("{}/v1/weather/paris", shop.url))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        PaymentError::of(&error).unwrap().code,
        "request_not_replayable"
    );
    assert_eq!(f.app.balance(&agent.wallet, "USD").await, 1_000_000);
    f.finish().await;
}
