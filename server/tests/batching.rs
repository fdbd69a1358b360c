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
    app.state.batcher = Some(paywire_server::settlement::start_batcher(
        2,
        64,
        Duration::from_millis(50),
    ));
    app.router = paywire_server::router(app.state.clone());
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
    for task in tasks {
        let (who, outcome) = task.await.unwrap();
        if outcome["success"] == true {
            *settled.entry(who).or_default() += 1;
            if who == "duplicate" {
                duplicate_transactions.insert(outcome["transaction"].as_str().unwrap().to_string());
            }
        } else {
            let reason = outcome["errorReason"].as_str().unwrap_or_default();
            match who {
                "poor" => assert_eq!(reason, "insufficient_funds", "{outcome}"),
                "limited" => assert_eq!(reason, "policy_daily_limit_exceeded", "{outcome}"),
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
    // 19 payments of 0.10 at 1 %: the provider got 19 x 0.099 through aggregated credits.
    assert_eq!(app.balance(&provider.wallet, "USD").await, 19 * 99_000);
    assert_eq!(app.balance(&poor.wallet, "USD").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 19);
    app.assert_books_balance().await;
    // The batches held several payments each.
    let (count, sum, _) = paywire_server::metrics::batch_totals();
    assert!(
        count >= 1.0 && sum / count > 2.0,
        "batches of {sum}/{count}"
    );
    app.finish().await;
}
