//! Operating the server: webhooks delivered through failures and a restart, several senders
//! never sending one attempt twice, endpoints disabled and re-enabled, resend, giving up;
//! lists with cursor pagination and tenant isolation; metrics. On SQLite and PostgreSQL,
//! with a real webhook receiver on loopback.

mod common;
#[path = "common/process.rs"]
mod process;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use common::{nonce, Backend, Party, TestApp, ADMIN};
use paywire_core::webhook::RetrySchedule;
use paywire_server::services::delivery;
use paywire_server::services::state::WebhookConfig;
use serde_json::{json, Value};

on_both_databases!(
    every_event_arrives_through_failures_and_a_restart,
    two_senders_never_send_one_attempt_twice,
    an_endpoint_failing_in_a_row_is_disabled_and_set_again,
    an_event_past_its_retry_window_fails_and_can_be_resent,
    payments_list_page_by_page_for_their_own_tenant,
    events_and_deliveries_list_with_their_state,
    revenue_and_spending_add_up_from_the_journal,
    endpoints_journal_keys_and_who_am_i,
    rate_limits_answer_429_and_count_only_real_keys_and_payers,
    request_ids_are_echoed_and_in_every_error,
    payers_cannot_bloat_or_booby_trap_what_providers_read,
    payouts_move_the_balance_out_once_and_back_on_failure,
    a_receiver_that_never_answers_delays_no_other_tenant,
);

/// One call a receiver got: (event id, signature header, raw body, answered status).
type Call = (String, String, Vec<u8>, u16);

/// A webhook receiver on loopback: answers 500 to the calls `fail` picks (by call number,
/// from 0), records every call.
#[derive(Clone)]
struct Receiver {
    url: String,
    calls: Arc<AtomicUsize>,
    /// Every call.
    log: Arc<Mutex<Vec<Call>>>,
}

impl Receiver {
    async fn start(fail: fn(usize) -> bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (c, l) = (calls.clone(), log.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (calls, log) = (c.clone(), l.clone());
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    let status = if fail(n) { 500 } else { 200 };
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    log.lock().unwrap().push((
                        header("paywire-event-id"),
                        header("paywire-signature"),
                        body.to_vec(),
                        status,
                    ));
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, calls, log }
    }

    fn entries(&self) -> Vec<Call> {
        self.log.lock().unwrap().clone()
    }

    fn delivered_ids(&self) -> HashSet<String> {
        self.entries()
            .into_iter()
            .filter(|e| e.3 == 200)
            .map(|e| e.0)
            .collect()
    }
}

/// Fast retries for tests; loopback allowed.
fn fast(app: &mut TestApp, schedule: RetrySchedule) {
    app.state.allow_loopback_webhooks = true;
    app.state.webhooks = WebhookConfig {
        schedule,
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
        batch: 16,
        per_endpoint: 4,
    };
    app.router = paywire_server::router(app.server());
}

const QUICK: RetrySchedule = RetrySchedule {
    first_delay_ms: 10,
    max_delay_ms: 100,
    give_up_after_ms: 600_000,
    disable_after_failures: 1_000_000,
};

/// Sets `provider`'s endpoint to `url`; the signing secret.
async fn set_webhook(app: &TestApp, provider: &Party, url: &str) -> String {
    let (status, set) = app
        .call(
            Method::PUT,
            &format!("/v1/providers/{}/webhook", provider.id),
            Some(&provider.key),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    set["secret"].as_str().unwrap().to_string()
}

async fn pay(app: &TestApp, agent: &Party, provider: &Party, n: u64, from: u64) {
    for i in from..from + n {
        let settled = app
            .settle(&app.ledger_payment(agent, provider, 10_000, nonce(i)))
            .await;
        assert_eq!(settled["success"], true, "{settled}");
    }
}

/// Waits (bounded) until `done` holds, polling; panics with `what` if it never does.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn scalar(app: &TestApp, sql: &str, bind: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(bind.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn every_event_arrives_through_failures_and_a_restart(backend: Backend) {
    let receiver = Receiver::start(|n| n % 2 == 1).await;
    let mut app = TestApp::new(backend).await;
    fast(&mut app, QUICK);
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    let secret = set_webhook(&app, &provider, &receiver.url).await;
    let sender = delivery::spawn(app.state.clone());
    pay(&app, &agent, &provider, 100, 0).await;
    // A restart: the sender stops (what it holds finishes and is recorded), the pool closes,
    // a new process opens the same database and sends the rest.
    sender.stop().await;
    let mut app = app.reopen().await;
    fast(&mut app, QUICK);
    let sender = delivery::spawn(app.state.clone());
    pay(&app, &agent, &provider, 100, 100).await;
    until("200 payment.settled events delivered", || {
        receiver.delivered_ids().len() >= 200
    })
    .await;
    sender.stop().await;

    let entries = receiver.entries();
    let delivered = receiver.delivered_ids();
    assert_eq!(delivered.len(), 200, "every event, each at least once");
    assert!(
        entries.iter().filter(|e| e.3 == 500).count() >= 150,
        "the receiver failed about half its calls"
    );
    let now = paywire_server::base::util::now();
    let mut types = HashMap::new();
    for (id, signature, body, _) in &entries {
        paywire_core::webhook::verify(signature, secret.as_bytes(), body, now, 300)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let event: paywire_core::webhook::Event = serde_json::from_slice(body).unwrap();
        assert_eq!(&event.id, id, "the header names the body's event");
        *types.entry(event.event_type).or_insert(0) += 1;
        assert_eq!(event.data["amount"], "10000");
    }
    assert_eq!(
        types.len(),
        1,
        "only payment.settled went to the provider: {types:?}"
    );
    // Every attempt is recorded once, and each was sent once.
    let recorded = scalar(
        &app,
        "SELECT COUNT(*) FROM webhook_attempts WHERE tenant_id = $1",
        &provider.id,
    )
    .await;
    assert_eq!(recorded as usize, receiver.calls.load(Ordering::SeqCst));
    let pending = scalar(
        &app,
        "SELECT COUNT(*) FROM webhook_outbox WHERE tenant_id = $1 AND status <> 'delivered'",
        &provider.id,
    )
    .await;
    assert_eq!(pending, 0);
    println!(
        "{backend:?}: 200 events, {} calls ({} failed by the receiver), all delivered across a restart",
        entries.len(),
        entries.iter().filter(|e| e.3 == 500).count()
    );
    app.finish().await;
}

async fn two_senders_never_send_one_attempt_twice(backend: Backend) {
    let receiver = Receiver::start(|_| false).await;
    let mut app = TestApp::new(backend).await;
    fast(&mut app, QUICK);
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    set_webhook(&app, &provider, &receiver.url).await;
    pay(&app, &agent, &provider, 120, 0).await;
    // Two senders (as two server instances would run) drain the same outbox at once.
    let (a, b) = (
        delivery::spawn(app.state.clone()),
        delivery::spawn(app.state.clone()),
    );
    until("120 events delivered", || {
        receiver.delivered_ids().len() >= 120
    })
    .await;
    a.stop().await;
    b.stop().await;
    let entries = receiver.entries();
    assert_eq!(entries.len(), 120, "each event sent exactly once");
    assert_eq!(receiver.delivered_ids().len(), 120);
    app.finish().await;
}

async fn an_endpoint_failing_in_a_row_is_disabled_and_set_again(backend: Backend) {
    let failing = Receiver::start(|_| true).await;
    let mut app = TestApp::new(backend).await;
    fast(
        &mut app,
        RetrySchedule {
            disable_after_failures: 4,
            ..QUICK
        },
    );
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    set_webhook(&app, &provider, &failing.url).await;
    pay(&app, &agent, &provider, 2, 0).await;
    let sender = delivery::spawn(app.state.clone());
    let (state, id) = (app.state.clone(), provider.id.clone());
    let mut disabled = false;
    for _ in 0..500 {
        let at: Option<i64> = {
            use sqlx::Row;
            sqlx::query("SELECT webhook_disabled_at FROM tenants WHERE id = $1")
                .bind(&id)
                .fetch_one(&state.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap()
        };
        if at.is_some() {
            disabled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(disabled, "four failures in a row disable the endpoint");
    // Nothing more is sent to a disabled endpoint.
    let calls = failing.calls.load(Ordering::SeqCst);
    assert_eq!(calls, 4);
    let (status, events) = app
        .call(
            Method::GET,
            "/v1/events?type=webhook_endpoint.disabled",
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    assert_eq!(events["data"][0]["data"]["consecutiveFailures"], 4);
    assert_eq!(
        events["data"][0]["status"], "none",
        "not sent to the endpoint it is about"
    );
    // Setting the endpoint again enables it: what is pending goes out.
    let healthy = Receiver::start(|_| false).await;
    set_webhook(&app, &provider, &healthy.url).await;
    until("both payments delivered", || {
        healthy.delivered_ids().len() >= 2
    })
    .await;
    sender.stop().await;
    app.finish().await;
}

async fn an_event_past_its_retry_window_fails_and_can_be_resent(backend: Backend) {
    let failing = Receiver::start(|n| n == 0).await;
    let mut app = TestApp::new(backend).await;
    fast(
        &mut app,
        RetrySchedule {
            give_up_after_ms: 0,
            ..QUICK
        },
    );
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    set_webhook(&app, &provider, &failing.url).await;
    pay(&app, &agent, &provider, 1, 0).await;
    let http = delivery::client(&app.state);
    let claimed = delivery::send_due(&app.state, &http, "snd_test")
        .await
        .unwrap();
    assert_eq!(claimed, 1);
    let (_, events) = app
        .call(Method::GET, "/v1/events", Some(&provider.key), None)
        .await;
    let event = &events["data"][0];
    assert_eq!(event["status"], "failed", "{event}");
    assert_eq!(event["attempts"], 1);
    assert_eq!(event["lastStatusCode"], 500);
    let id = event["id"].as_str().unwrap();
    // Nothing is due any more.
    assert_eq!(
        delivery::send_due(&app.state, &http, "snd_test")
            .await
            .unwrap(),
        0
    );
    // The owner's write key queues it again.
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/events/{id}/resend"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        delivery::send_due(&app.state, &http, "snd_test")
            .await
            .unwrap(),
        1
    );
    let (_, event) = app
        .call(
            Method::GET,
            &format!("/v1/events/{id}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(event["status"], "delivered", "{event}");
    assert_eq!(event["attempts"], 2);
    // Another tenant sees no such event, and cannot resend it.
    let other = app.provider(None).await;
    for (method, path) in [
        (Method::GET, format!("/v1/events/{id}")),
        (Method::POST, format!("/v1/events/{id}/resend")),
    ] {
        let (status, body) = app.call(method, &path, Some(&other.key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    app.finish().await;
}

async fn payments_list_page_by_page_for_their_own_tenant(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let other_provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    pay(&app, &agent, &provider, 23, 0).await;
    pay(&app, &agent, &other_provider, 4, 100).await;

    // Walk every page of 5: each payment once, newest first, has_more until the last page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/payments?limit=5&starting_after={c}"),
            None => "/v1/payments?limit=5".to_string(),
        };
        let (status, page) = app
            .call(Method::GET, &path, Some(&provider.key), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let data = page["data"].as_array().unwrap();
        pages += 1;
        for payment in data {
            assert_eq!(payment["providerId"], provider.id.as_str());
            assert_eq!(payment["providerName"], "Weather Co");
            assert_eq!(payment["agentName"], "agent");
            assert_eq!(payment["amount"], "0.01");
            seen.push((
                payment["created"].as_i64().unwrap(),
                payment["id"].as_str().unwrap().to_string(),
            ));
        }
        if page["has_more"] == false {
            assert!(data.len() <= 5);
            break;
        }
        assert_eq!(data.len(), 5);
        cursor = Some(seen.last().unwrap().1.clone());
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    let unique: HashSet<_> = seen.iter().map(|s| &s.1).collect();
    assert_eq!(unique.len(), 23, "no payment on two pages");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");

    // Exactly a page's worth: has_more is false, not a trailing empty page.
    let (_, all) = app
        .call(
            Method::GET,
            "/v1/payments?limit=23",
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(all["data"].as_array().unwrap().len(), 23);
    assert_eq!(all["has_more"], false);
    let (_, short) = app
        .call(
            Method::GET,
            "/v1/payments?limit=22",
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(short["has_more"], true);
    // After the last row: an empty page.
    let last = &seen.last().unwrap().1;
    let (_, empty) = app
        .call(
            Method::GET,
            &format!("/v1/payments?starting_after={last}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);
    assert_eq!(empty["has_more"], false);

    // The agent sees all 27 it made; the operator can filter by provider.
    let (_, mine) = app
        .call(
            Method::GET,
            "/v1/payments?limit=100",
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 27);
    let (_, filtered) = app
        .call(
            Method::GET,
            &format!("/v1/payments?limit=100&provider={}", other_provider.id),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 4);
    // Time range: nothing before the epoch of these payments, all up to now.
    let (_, none) = app
        .call(
            Method::GET,
            "/v1/payments?created[lte]=1000",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);

    // Edges refused with codes: limits out of range, a cursor of another listing, unknown
    // parameters.
    for (path, code) in [
        ("/v1/payments?limit=0", "limit_invalid"),
        ("/v1/payments?limit=101", "limit_invalid"),
        ("/v1/payments?limit=-1", "limit_invalid"),
        ("/v1/payments?limit=ten", "invalid_request"),
        (
            "/v1/payments?starting_after=pay_nonexistent",
            "cursor_invalid",
        ),
        ("/v1/payments?colour=blue", "invalid_request"),
    ] {
        let (status, body) = app.call(Method::GET, path, Some(&provider.key), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
    }
    // Another provider's payment is not a cursor here, and not visible.
    let (_, theirs) = app
        .call(
            Method::GET,
            "/v1/payments?limit=1",
            Some(&other_provider.key),
            None,
        )
        .await;
    let their_id = theirs["data"][0]["id"].as_str().unwrap();
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/v1/payments?starting_after={their_id}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/payments/{their_id}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, one) = app
        .call(
            Method::GET,
            &format!("/v1/payments/{their_id}"),
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the payer sees it: {one}");
    assert_eq!(one["agentId"], agent.id.as_str());
    // Without a key: 401.
    let (status, _) = app.call(Method::GET, "/v1/payments", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.finish().await;
}

async fn events_and_deliveries_list_with_their_state(backend: Backend) {
    let receiver = Receiver::start(|n| n == 0).await;
    let mut app = TestApp::new(backend).await;
    fast(&mut app, QUICK);
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    // Before an endpoint exists, events are kept but not sent.
    pay(&app, &agent, &provider, 1, 0).await;
    set_webhook(&app, &provider, &receiver.url).await;
    pay(&app, &agent, &provider, 1, 10).await;
    let http = delivery::client(&app.state);
    // The first attempt fails, the retry (after 10-20 ms) succeeds.
    until_sent(&app, &http, &receiver, 1).await;
    let (_, events) = app
        .call(Method::GET, "/v1/events", Some(&provider.key), None)
        .await;
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{events}");
    // Both happened within a second or so: find each by its state.
    let sent = data
        .iter()
        .find(|e| e["status"] == "delivered")
        .expect("one delivered");
    let kept = data
        .iter()
        .find(|e| e["status"] == "none")
        .expect("one never sent");
    assert_eq!(sent["attempts"], 2);
    assert_eq!(kept["attempts"], 0, "no endpoint when it happened");
    // The agent's own events: its wallet was funded.
    let (_, agent_events) = app
        .call(Method::GET, "/v1/events", Some(&agent.key), None)
        .await;
    let types: Vec<&Value> = agent_events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["type"])
        .collect();
    assert_eq!(types, vec!["wallet.funded"]);
    let (_, deliveries) = app
        .call(
            Method::GET,
            &format!(
                "/v1/webhook-deliveries?event={}",
                sent["id"].as_str().unwrap()
            ),
            Some(&provider.key),
            None,
        )
        .await;
    let attempts = deliveries["data"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{deliveries}");
    let mut numbers: Vec<i64> = attempts
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2]);
    assert!(attempts
        .iter()
        .any(|a| a["statusCode"] == 500 && a["error"].is_string()));
    assert!(attempts
        .iter()
        .any(|a| a["statusCode"] == 200 && a["error"].is_null()));
    assert!(
        attempts.iter().all(|a| a["eventType"] == "payment.settled"),
        "each attempt names its event's type: {deliveries}"
    );
    // The operator lists every tenant, with its webhook endpoint's health; a tenant cannot.
    let (status, tenants) = app
        .call(Method::GET, "/v1/tenants?limit=100", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tenants}");
    let listed = tenants["data"].as_array().unwrap();
    let mine = listed
        .iter()
        .find(|t| t["id"] == provider.id.as_str())
        .expect("the provider is listed");
    assert_eq!(
        (
            mine["kind"].clone(),
            mine["name"].clone(),
            mine["webhookUrl"].clone(),
            mine["webhookDisabled"].clone()
        ),
        (
            json!("provider"),
            json!("Weather Co"),
            json!(receiver.url),
            json!(false)
        )
    );
    assert_eq!(mine["walletId"], provider.wallet.as_str());
    let (_, agents) = app
        .call(Method::GET, "/v1/tenants?kind=agent", Some(ADMIN), None)
        .await;
    assert!(agents["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["kind"] == "agent"));
    assert!(agents["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == agent.id.as_str()));
    let (status, _) = app
        .call(Method::GET, "/v1/tenants", Some(&provider.key), None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a tenant's key lists no other tenant"
    );
    // The agent sees none of the provider's deliveries.
    let (_, none) = app
        .call(
            Method::GET,
            "/v1/webhook-deliveries",
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    // Metrics: the operator reads them, in Prometheus' format.
    let (status, _) = app
        .call(Method::GET, "/metrics", Some(&provider.key), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.raw(Method::GET, "/metrics", Some(ADMIN), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let text = body["raw"].as_str().unwrap();
    for metric in [
        "paywire_settlements_total",
        "paywire_settle_duration_seconds_bucket",
        "paywire_webhook_attempts_total",
        "paywire_webhook_queue_depth",
        "paywire_db_pool_connections",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
    app.finish().await;
}

/// Sends what is due until `receiver` answered `ok` calls with 200.
async fn until_sent(app: &TestApp, http: &reqwest::Client, receiver: &Receiver, ok: usize) {
    for _ in 0..500 {
        delivery::send_due(&app.state, http, "snd_test")
            .await
            .unwrap();
        if receiver.delivered_ids().len() >= ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the receiver never got {ok} deliveries");
}

async fn settle_for(
    app: &TestApp,
    agent: &Party,
    provider: &Party,
    atomic: u128,
    i: u64,
    resource: &str,
) {
    let mut body = app.ledger_payment(agent, provider, atomic, nonce(i));
    body["paymentPayload"]["resource"]["url"] = json!(resource);
    let settled = app.settle(&body).await;
    assert_eq!(settled["success"], true, "{settled}");
}

async fn revenue_and_spending_add_up_from_the_journal(backend: Backend) {
    // The platform fee is 2.5 % (TestApp's default).
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let (small, big) = (
        app.agent(json!({"dailyLimit": "5"}), "10").await,
        app.agent(json!({}), "10").await,
    );
    let (weather, forecast) = (
        "https://api.example.com/weather",
        "https://api.example.com/forecast",
    );
    for i in 0..3 {
        settle_for(&app, &small, &provider, 10_000, i, weather).await;
    }
    for i in 10..12 {
        settle_for(&app, &big, &provider, 20_000, i, forecast).await;
    }
    let (status, revenue) = app
        .call(
            Method::GET,
            &format!("/v1/providers/{}/revenue", provider.id),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revenue}");
    let usd = &revenue["assets"][0];
    assert_eq!(revenue["assets"].as_array().unwrap().len(), 1);
    // 3 x 0.01 + 2 x 0.02; fees 3 x 0.00025 + 2 x 0.0005.
    assert_eq!(
        usd["totals"],
        json!({"gross": "0.07", "fees": "0.00175", "net": "0.06825", "payments": 5})
    );
    let endpoints = usd["byEndpoint"].as_array().unwrap();
    assert_eq!(endpoints[0]["key"], forecast, "largest gross first");
    assert_eq!(endpoints[0]["gross"], "0.04");
    assert_eq!(endpoints[1]["key"], weather);
    assert_eq!(endpoints[1]["net"], "0.02925");
    let payers = usd["byCounterparty"].as_array().unwrap();
    assert_eq!(payers[0]["agentId"], big.id.as_str());
    assert_eq!(payers[0]["payments"], 2);
    assert_eq!(payers[1]["agentId"], small.id.as_str());
    let days = usd["byPeriod"].as_array().unwrap();
    let day_total: u64 = days.iter().map(|d| d["payments"].as_u64().unwrap()).sum();
    assert_eq!(day_total, 5);
    let (_, monthly) = app
        .call(
            Method::GET,
            &format!("/v1/providers/{}/revenue?granularity=month", provider.id),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        monthly["assets"][0]["byPeriod"][0]["key"]
            .as_str()
            .unwrap()
            .len(),
        7,
        "YYYY-MM"
    );
    // A range with nothing in it.
    let later = paywire_server::base::util::now_i64() + 1_000;
    let (_, empty) = app
        .call(
            Method::GET,
            &format!(
                "/v1/providers/{}/revenue?from={later}&to={}",
                provider.id,
                later + 10
            ),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(empty["assets"], json!([]));
    // Bad ranges are refused with a code.
    for query in ["from=10&to=5", "granularity=week", "from=-3"] {
        let (status, body) = app
            .call(
                Method::GET,
                &format!("/v1/providers/{}/revenue?{query}", provider.id),
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "report_range_invalid");
    }
    // Payments for one endpoint.
    let (_, two) = app
        .call(
            Method::GET,
            &format!("/v1/payments?resource={forecast}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(two["data"].as_array().unwrap().len(), 2);
    // The agent's spending: gross, by provider, with the policy its limits come from.
    let (status, spending) = app
        .call(
            Method::GET,
            &format!("/v1/agents/{}/spending", small.id),
            Some(&small.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{spending}");
    assert_eq!(spending["assets"][0]["totals"]["gross"], "0.03");
    assert_eq!(
        spending["assets"][0]["byCounterparty"][0]["key"],
        provider.id.as_str()
    );
    assert_eq!(spending["policy"]["dailyLimit"], "5");
    assert!(spending["usage"].is_object());
    // Nobody reads another's figures.
    for path in [
        format!("/v1/providers/{}/revenue", provider.id),
        format!("/v1/agents/{}/spending", big.id),
    ] {
        let (status, _) = app.call(Method::GET, &path, Some(&small.key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // The CSV export holds the same payments.
    let (status, csv) = app
        .raw(
            Method::GET,
            "/v1/payments/export.csv",
            Some(&provider.key),
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = csv["raw"].as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "a header and five payments:\n{text}");
    assert!(
        lines[0].starts_with("id,created,network,payer,agent_id,provider_id,asset,amount,fee,net")
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains(forecast) && l.contains(",0.02,0.0005,0.0195,"))
            .count(),
        2
    );
    let (status, _) = app
        .raw(
            Method::GET,
            "/v1/payments/export.csv?limit=5",
            Some(&provider.key),
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.finish().await;
}

async fn endpoints_journal_keys_and_who_am_i(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "1").await;
    let mut ids = Vec::new();
    for path in ["/v1/weather/:city", "/v1/forecast/:city", "/v1/report"] {
        let (status, created) = app
            .call(
                Method::POST,
                &format!("/v1/providers/{}/endpoints", provider.id),
                Some(&provider.key),
                Some(json!({"method": "GET", "path": path, "price": {"flat": "10000"}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let base = format!("/v1/providers/{}/endpoints", provider.id);
    let (_, first) = app
        .call(
            Method::GET,
            &format!("{base}?limit=2"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    let last = first["data"][1]["id"].as_str().unwrap();
    let (_, second) = app
        .call(
            Method::GET,
            &format!("{base}?limit=2&starting_after={last}"),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_eq!(second["has_more"], false);
    // Disabling the weather endpoint: it is no longer priced; enabling it again prices it.
    let quote = || async {
        app.call(
            Method::POST,
            &format!("/v1/providers/{}/quote", provider.id),
            Some(&provider.key),
            Some(json!({"method": "GET", "url": "https://api.example.com/v1/weather/paris"})),
        )
        .await
    };
    let (status, _) = quote().await;
    assert_eq!(status, StatusCode::OK);
    let (status, updated) = app
        .call(
            Method::POST,
            &format!("{base}/{}", ids[0]),
            Some(&provider.key),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["disabled"], true);
    let (status, refused) = quote().await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    assert_eq!(refused["error"]["code"], "pricing_no_route");
    app.call(
        Method::POST,
        &format!("{base}/{}", ids[0]),
        Some(&provider.key),
        Some(json!({"disabled": false})),
    )
    .await;
    let (status, _) = quote().await;
    assert_eq!(status, StatusCode::OK);
    // Another provider can neither read nor change them.
    let other = app.provider(None).await;
    for (method, body) in [
        (Method::GET, None),
        (Method::POST, Some(json!({"disabled": true}))),
    ] {
        let (status, _) = app
            .call(
                method,
                &format!("{base}/{}", ids[1]),
                Some(&other.key),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // The agent's journal: its deposit, then a payment, newest first.
    pay(&app, &agent, &provider, 1, 0).await;
    let (status, journal) = app
        .call(
            Method::GET,
            &format!("/v1/wallets/{}/journal", agent.wallet),
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{journal}");
    let kinds: Vec<&str> = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"deposit") && kinds.contains(&"payment"));
    let payment = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "payment")
        .unwrap();
    assert_eq!(payment["amount"], "-0.01");
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/wallets/{}/journal", agent.wallet),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Who am I, and one API key.
    let (_, me) = app
        .call(Method::GET, "/v1/me", Some(&agent.key), None)
        .await;
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["walletId"], agent.wallet.as_str());
    let (_, me) = app.call(Method::GET, "/v1/me", Some(ADMIN), None).await;
    assert_eq!(me["kind"], "operator");
    let (_, keys) = app
        .call(
            Method::GET,
            &format!("/v1/tenants/{}/api-keys", agent.id),
            Some(&agent.key),
            None,
        )
        .await;
    let key_id = keys["data"][0]["id"].as_str().unwrap();
    let (status, key) = app
        .call(
            Method::GET,
            &format!("/v1/tenants/{}/api-keys/{key_id}", agent.id),
            Some(&agent.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["id"], key_id);
    assert!(
        !key.to_string().contains(&agent.key),
        "never the key itself"
    );
    app.finish().await;
}

/// A request through the router, with its headers back.
async fn with_headers(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    idempotency: Option<&str>,
    body: &Value,
) -> (StatusCode, HeaderMap, Value) {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    if let Some(k) = idempotency {
        request = request.header("idempotency-key", k);
    }
    let response = app
        .router
        .clone()
        .oneshot(
            request
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn rate_limits_answer_429_and_count_only_real_keys_and_payers(backend: Backend) {
    use paywire_server::infra::ratelimit::{Limit, Rate, RateLimits};
    let mut app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "10").await;
    // Set after the accounts exist, so creating them spends nothing. One per second, bursts
    // of three (keys) and two (payers): a test's few calls never see a refill between them.
    app.state.rate_limits = RateLimits {
        per_key: Limit::new(
            "api_key",
            Some(Rate {
                per_second: 1,
                burst: 3,
            }),
        ),
        per_payer: Limit::new(
            "payer",
            Some(Rate {
                per_second: 1,
                burst: 2,
            }),
        ),
        ..Default::default()
    };
    app.router = paywire_server::router(app.server());
    // Forged keys are refused as unauthorized and spend nothing.
    for _ in 0..5 {
        let (status, _, _) =
            with_headers(&app, Method::GET, "/v1/me", "sk_forged", None, &json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    for _ in 0..3 {
        let (status, _, _) =
            with_headers(&app, Method::GET, "/v1/me", &provider.key, None, &json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) =
        with_headers(&app, Method::GET, "/v1/me", &provider.key, None, &json!({})).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(headers["ratelimit-limit"], "3");
    assert_eq!(headers["ratelimit-remaining"], "0");
    assert!(headers.contains_key("ratelimit-reset"));
    // An idempotent request refused by the limit is not remembered: its key stays free.
    let (status, _, _) = with_headers(
        &app,
        Method::POST,
        &format!("/v1/tenants/{}/api-keys", provider.id),
        &provider.key,
        Some("limited-once"),
        &json!({"scopes": ["read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let stored = scalar(
        &app,
        "SELECT COUNT(*) FROM idempotency_keys WHERE key = $1",
        "limited-once",
    )
    .await;
    assert_eq!(stored, 0);
    // Another key has its own bucket.
    let (status, _, _) =
        with_headers(&app, Method::GET, "/v1/me", &agent.key, None, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    // Payers: forged payments (another wallet's signature) are refused without spending the
    // payer's budget; two real ones settle; the third is 429.
    let mut forged = app.ledger_payment(&agent, &provider, 10_000, nonce(500));
    forged["paymentPayload"]["payload"]["signature"] = json!(format!("0x{}", "00".repeat(32)));
    for _ in 0..4 {
        let refused = app.settle(&forged).await;
        assert_eq!(refused["success"], false);
    }
    pay(&app, &agent, &provider, 2, 0).await;
    let (status, limited) = app
        .call(
            Method::POST,
            "/settle",
            None,
            Some(app.ledger_payment(&agent, &provider, 10_000, nonce(2))),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{limited}");
    assert_eq!(limited["error"]["code"], "rate_limited");
    let (status, metrics) = app.raw(Method::GET, "/metrics", Some(ADMIN), vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(metrics["raw"]
        .as_str()
        .unwrap()
        .contains("paywire_rate_limited_total"));
    app.finish().await;
}

async fn request_ids_are_echoed_and_in_every_error(backend: Backend) {
    use tower::ServiceExt;
    let app = TestApp::new(backend).await;
    let send = |id: Option<&'static str>, path: &'static str| {
        let router = app.router.clone();
        async move {
            let mut request = axum::http::Request::builder().uri(path);
            if let Some(id) = id {
                request = request.header("x-request-id", id);
            }
            let response = router
                .oneshot(request.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .unwrap()
                .to_bytes();
            let id = parts.headers["x-request-id"].to_str().unwrap().to_string();
            (
                parts.status,
                id,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let (status, id, _) = send(Some("trace-abc-123"), "/healthz").await;
    assert_eq!((status, id.as_str()), (StatusCode::OK, "trace-abc-123"));
    // Errors of every origin carry it: ours (401), axum's routing (404), a rejection (400).
    for path in ["/v1/me", "/v1/nowhere", "/v1/payments?limit=ten"] {
        let (status, id, body) = send(Some("trace-err-1"), path).await;
        assert!(status.is_client_error(), "{path}");
        assert_eq!(id, "trace-err-1");
        assert_eq!(body["error"]["requestId"], "trace-err-1", "{path}: {body}");
    }
    // No id, or one not fit to echo: a new one.
    for given in [None, Some("has spaces in it")] {
        let (_, id, body) = send(given, "/v1/me").await;
        assert!(id.starts_with("req_"), "{id}");
        assert_eq!(body["error"]["requestId"], id.as_str());
    }
    app.finish().await;
}

#[tokio::test]
async fn the_access_log_is_json_lines_when_asked() {
    let scratch = process::Scratch::new("access-log");
    let log = scratch.0.join("server.log");
    let database = format!("sqlite://{}", scratch.0.join("p.db").display());
    let server = process::Server::start(&database, &["--log-format", "json"], &log).await;
    let (status, _) = process::request(
        server.port,
        "GET",
        "/healthz",
        None,
        None,
        &[("x-request-id", "log-me-1")],
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    server.terminate();
    let mut child = server;
    let _ = child.child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["request_id"] == "log-me-1")
        .unwrap_or_else(|| panic!("no JSON access line for the request in:\n{text}"));
    assert_eq!(line["target"], "paywire::access");
    assert_eq!(line["status"], 200);
    assert_eq!(line["path"], "/healthz");
    assert_eq!(line["method"], "GET");
    assert!(line["duration_ms"].is_number());
}

async fn payouts_move_the_balance_out_once_and_back_on_failure(backend: Backend) {
    let mut app = TestApp::new(backend).await;
    app.state.payout_minimum = "0.10".into();
    app.router = paywire_server::router(app.server());
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "10").await;
    for i in 0..3 {
        settle_for(
            &app,
            &agent,
            &provider,
            200_000,
            i,
            "https://api.example.com/report",
        )
        .await;
    }
    // 3 x 0.20 less 2.5 %.
    assert_eq!(app.balance(&provider.wallet, "USD").await, 585_000);
    let post = |key: &str, body: Value, idempotency: Option<&'static str>| {
        let (app, key) = (&app, key.to_string());
        async move {
            let (status, _, value) =
                with_headers(app, Method::POST, "/v1/payouts", &key, idempotency, &body).await;
            (status, value)
        }
    };
    let (status, first) = post(&provider.key, json!({"amount": "0.30"}), Some("payout-1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["amount"], "0.3");
    let (_, again) = post(&provider.key, json!({"amount": "0.30"}), Some("payout-1")).await;
    assert_eq!(
        again["id"], first["id"],
        "a retry under the key is the same payout"
    );
    assert_eq!(
        app.balance(&provider.wallet, "USD").await,
        285_000,
        "paid out once"
    );
    // Refusals, each with its code.
    for (key, body, status, code) in [
        (
            provider.key.as_str(),
            json!({"amount": "0.05"}),
            StatusCode::BAD_REQUEST,
            "payout_below_minimum",
        ),
        (
            provider.key.as_str(),
            json!({"amount": "5.00"}),
            StatusCode::CONFLICT,
            "insufficient_funds",
        ),
        (
            provider.key.as_str(),
            json!({"amount": "-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_negative",
        ),
        (
            agent.key.as_str(),
            json!({}),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            ADMIN,
            json!({"amount": "0.20"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        let (got, body) = post(key, body, None).await;
        assert_eq!(
            (got, body["error"]["code"].as_str().unwrap()),
            (status, code),
            "{body}"
        );
    }
    assert_eq!(
        app.balance(&provider.wallet, "USD").await,
        285_000,
        "refusals move nothing"
    );
    let id = first["id"].as_str().unwrap();
    let (status, paid) = app
        .call(
            Method::POST,
            &format!("/v1/payouts/{id}/paid"),
            Some(ADMIN),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["status"], "paid");
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/v1/payouts/{id}/paid"),
            Some(ADMIN),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str().unwrap()),
        (StatusCode::CONFLICT, "payout_not_pending")
    );
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/payouts/{id}/paid"),
            Some(&provider.key),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the operator marks payouts"
    );
    // The rest, without an amount: the whole balance; it fails and comes back.
    let (_, rest) = post(&provider.key, json!({}), None).await;
    assert_eq!(rest["amountAtomic"], "285000");
    assert_eq!(app.balance(&provider.wallet, "USD").await, 0);
    let rest_id = rest["id"].as_str().unwrap();
    let (status, failed) = app
        .call(
            Method::POST,
            &format!("/v1/payouts/{rest_id}/failed"),
            Some(ADMIN),
            Some(json!({"reason": "bank account closed"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["failureReason"], "bank account closed");
    assert_eq!(
        app.balance(&provider.wallet, "USD").await,
        285_000,
        "a failed payout comes back"
    );
    app.assert_books_balance().await;
    // Listed for the provider, not for another; events for each step.
    let (_, mine) = app
        .call(Method::GET, "/v1/payouts", Some(&provider.key), None)
        .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 2);
    let other = app.provider(None).await;
    let (_, theirs) = app
        .call(Method::GET, "/v1/payouts", Some(&other.key), None)
        .await;
    assert_eq!(theirs["data"].as_array().unwrap().len(), 0);
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/v1/payouts/{id}"),
            Some(&other.key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, events) = app
        .call(
            Method::GET,
            "/v1/events?limit=100",
            Some(&provider.key),
            None,
        )
        .await;
    let mut types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("payout."))
        .collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            "payout.created",
            "payout.created",
            "payout.failed",
            "payout.paid"
        ]
    );
    // Revenue is unchanged by payouts: it counts payments.
    let (_, revenue) = app
        .call(
            Method::GET,
            &format!("/v1/providers/{}/revenue", provider.id),
            Some(&provider.key),
            None,
        )
        .await;
    assert_eq!(revenue["assets"][0]["totals"]["net"], "0.585");
    app.finish().await;
}

/// The resource a payment names is the payer's text: it is kept cut to a bound, and a cell a
/// spreadsheet would run as a formula is quoted in the CSV export.
async fn payers_cannot_bloat_or_booby_trap_what_providers_read(backend: Backend) {
    let app = TestApp::new(backend).await;
    let provider = app.provider(None).await;
    let agent = app.agent(json!({}), "1").await;
    let formula = "=HYPERLINK(\"https://evil.example\",\"click\")";
    settle_for(&app, &agent, &provider, 10_000, 1, formula).await;
    let long = format!("https://api.example.com/{}", "é".repeat(5_000));
    settle_for(&app, &agent, &provider, 10_000, 2, &long).await;
    let (_, payments) = app
        .call(Method::GET, "/v1/payments", Some(&provider.key), None)
        .await;
    let kept: Vec<&str> = payments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["resource"].as_str().unwrap())
        .collect();
    let cut = kept.iter().find(|r| r.starts_with("https://")).unwrap();
    assert!(
        cut.len() <= paywire_server::settle::MAX_KEPT_RESOURCE && cut.len() > 2_000,
        "{}",
        cut.len()
    );
    assert!(
        long.starts_with(cut),
        "cut on a character boundary, from the start"
    );
    let (_, csv) = app
        .raw(
            Method::GET,
            "/v1/payments/export.csv",
            Some(&provider.key),
            vec![],
        )
        .await;
    let text = csv["raw"].as_str().unwrap();
    assert!(
        text.contains("\"'=HYPERLINK("),
        "the formula is quoted:\n{text}"
    );
    assert!(!text.contains(",=HYPERLINK(") && !text.contains(",\"=HYPERLINK("));
    app.finish().await;
}

/// 64 events for an endpoint that accepts connections and never answers, then 5 for a fast
/// one: the fast one's arrive within a second, not after the tarpit's timeouts (the sender
/// once waited for a whole claimed batch: 20 s on SQLite, 9.5 s on PostgreSQL).
async fn a_receiver_that_never_answers_delays_no_other_tenant(backend: Backend) {
    let tarpit = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tarpit_url = format!("http://{}/hooks", tarpit.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let holding = held.clone();
    let tarpit_task = tokio::spawn(async move {
        while let Ok((socket, _)) = tarpit.accept().await {
            holding.lock().unwrap().push(socket);
        }
    });
    let fast_receiver = Receiver::start(|_| false).await;
    let mut app = TestApp::new(backend).await;
    fast(&mut app, QUICK);
    app.state.webhooks.timeout = Duration::from_secs(10);
    let slow_provider = app.provider(None).await;
    let fast_provider = app.provider(None).await;
    let agent = app.agent(json!({}), "100").await;
    set_webhook(&app, &slow_provider, &tarpit_url).await;
    set_webhook(&app, &fast_provider, &fast_receiver.url).await;
    pay(&app, &agent, &slow_provider, 64, 0).await;
    pay(&app, &agent, &fast_provider, 5, 1_000).await;
    let started = std::time::Instant::now();
    let sender = paywire_server::services::delivery::spawn(app.state.clone());
    until("the fast endpoint's five events", || {
        fast_receiver.delivered_ids().len() >= 5
    })
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "the fast endpoint waited {took:?} behind the tarpit"
    );
    // The tarpit holds no more than its share of the sender.
    let in_flight = scalar(
        &app,
        "SELECT COUNT(*) FROM webhook_outbox WHERE tenant_id = $1 AND status = 'pending' AND lease_until > 0 AND attempts > 0",
        &slow_provider.id,
    )
    .await;
    assert!(in_flight <= 4, "{in_flight} attempts to the tarpit at once");
    tarpit_task.abort();
    drop(held);
    sender.stop().await;
    app.finish().await;
}
