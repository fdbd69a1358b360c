//! Group commit: settlements arriving together are committed in one transaction, each decided
//! on what the members before it did. With a 50 ms gathering window (so the batches are
//! certain), a race of payers with too little money, a policy limit, duplicates and a second
//! payer: every outcome is what one-by-one settlement gives, the books balance, the hot
//! provider's balance is the sum of the nets, and batches held more than one payment.

mod common;

use std::time::Duration;

use common::{nonce, Backend, TestApp};
use serde_json::{json, Value};

on_both_databases!(a_batch_decides_each_member_on_the_ones_before_it);

async fn settle_via(router: axum::Router, body: Vec<u8>) -> Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::post("/settle")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

async fn a_batch_decides_each_member_on_the_ones_before_it(backend: Backend) {
    let mut app = TestApp::with_fee(backend, 100).await;
    app.router = paywire_server::router(paywire_server::settle::Server {
        state: app.state.clone(),
        settlement: paywire_server::settle::Settlement::batched(2, 64, Duration::from_millis(50)),
    });
    let provider = app.provider(None).await;
    // Enough for 5 payments of 0.10; a second payer limited to 0.30 a day; a third with plenty.
    let poor = app.agent(json!(null), "0.50").await;
    let limited = app.agent(json!({"dailyLimit": "0.30"}), "10").await;
    let rich = app.agent(json!(null), "10").await;
    let mut bodies = vec![];
    for i in 0..10 {
        bodies.push((
            "poor",
            app.ledger_payment(&poor, &provider, 100_000, nonce(i)),
        ));
        bodies.push((
            "limited",
            app.ledger_payment(&limited, &provider, 100_000, nonce(100 + i)),
        ));
        bodies.push((
            "rich",
            app.ledger_payment(&rich, &provider, 100_000, nonce(200 + i)),
        ));
    }
    // One order paid twice under two nonces (the second replays the first), and another
    // order's identifier reused for different terms (refused): decided inside the batch.
    let order = |amount, n, id: &str| {
        let mut body = app.ledger_payment(&rich, &provider, amount, nonce(n));
        body["paymentPayload"]["extensions"] = serde_json::Value::Object(
            paywire_core::protocol::extensions::with_payment_identifier(None, id).unwrap(),
        );
        body
    };
    bodies.push(("order", order(100_000, 300, "order-0001-batched")));
    bodies.push(("order", order(100_000, 301, "order-0001-batched")));
    bodies.push(("reused", order(100_000, 302, "order-0002-batched")));
    bodies.push(("reused", order(200_000, 303, "order-0002-batched")));
    // The same payment three times more.
    let duplicate = app.ledger_payment(&rich, &provider, 100_000, nonce(999));
    for _ in 0..4 {
        bodies.push(("duplicate", duplicate.clone()));
    }
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|(who, body)| {
            let router = app.router.clone();
            tokio::spawn(async move {
                (
                    who,
                    settle_via(router, serde_json::to_vec(&body).unwrap()).await,
                )
            })
        })
        .collect();
    let mut settled = std::collections::HashMap::<&str, usize>::new();
    let mut duplicate_transactions = std::collections::HashSet::new();
    let mut order_transactions = std::collections::HashSet::new();
    let mut reused_refusals = 0;
    for task in tasks {
        let (who, outcome) = task.await.unwrap();
        if outcome["success"] == true {
            *settled.entry(who).or_default() += 1;
            let transaction = outcome["transaction"].as_str().unwrap().to_string();
            match who {
                "duplicate" => drop(duplicate_transactions.insert(transaction)),
                "order" => drop(order_transactions.insert(transaction)),
                _ => {}
            }
        } else {
            let reason = outcome["errorReason"].as_str().unwrap_or_default();
            match who {
                "poor" => assert_eq!(reason, "insufficient_funds", "{outcome}"),
                "limited" => assert_eq!(reason, "policy_daily_limit_exceeded", "{outcome}"),
                "reused" => {
                    assert_eq!(
                        outcome["error"]["code"], "idempotency_key_reused",
                        "{outcome}"
                    );
                    reused_refusals += 1;
                }
                _ => panic!("{who} refused: {outcome}"),
            }
        }
    }
    assert_eq!(settled["poor"], 5, "0.50 pays five 0.10 payments, no more");
    assert_eq!(settled["limited"], 3, "a 0.30 daily limit allows three");
    assert_eq!(settled["rich"], 10);
    assert_eq!(
        settled["duplicate"], 4,
        "every duplicate answered with the first outcome"
    );
    assert_eq!(duplicate_transactions.len(), 1);
    assert_eq!(
        (settled["order"], order_transactions.len()),
        (2, 1),
        "an order paid twice settles once and answers both"
    );
    assert_eq!(
        (settled["reused"], reused_refusals),
        (1, 1),
        "an identifier settles one set of terms"
    );
    // 20 payments of 0.10 and one of 0.10 or 0.20 (whichever of the reused pair came first)
    // at 1 %: the provider got their nets through aggregated credits.
    let provider_balance = app.balance(&provider.wallet, "USD").await;
    assert!(
        provider_balance == 21 * 99_000 || provider_balance == 20 * 99_000 + 198_000,
        "{provider_balance}"
    );
    assert_eq!(app.balance(&poor.wallet, "USD").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 21);
    app.assert_books_balance().await;
    // The batches held several payments each.
    let (count, sum, _) = paywire_server::infra::metrics::batch_totals();
    assert!(
        count >= 1.0 && sum / count > 2.0,
        "batches of {sum}/{count}"
    );
    assert_eq!(
        paywire_server::infra::metrics::batch_fallbacks(),
        0.0,
        "every batch was decided set-based, none fell back to one by one"
    );
    app.finish().await;
}

/// SQLite's write-ahead log is copied into the database file by a background checkpointer
/// (commits no longer do it): after a burst of writes, the database file itself grows,
/// without any commit having checkpointed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_is_checkpointed_in_the_background() {
    let app = TestApp::new(Backend::Sqlite).await;
    let path = app
        .database_url()
        .trim_start_matches("sqlite://")
        .to_string();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let wal = || {
        std::fs::metadata(format!("{path}-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let provider = app.provider(None).await;
    let before = size();
    for _ in 0..40 {
        app.agent(json!(null), "1").await;
    }
    let agent = app.agent(json!(null), "10").await;
    for i in 0..20 {
        let body = app.ledger_payment(&agent, &provider, 10_000, nonce(500 + i));
        assert_eq!(app.settle(&body).await["success"], true);
    }
    assert!(wal() > 0, "the writes went to the log");
    // The checkpointer runs every 200 ms: give it up to 10 s.
    let mut grown = false;
    for _ in 0..100 {
        if size() > before {
            grown = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        grown,
        "the database file grew from {before} bytes: the log was checkpointed"
    );
    app.finish().await;
}
