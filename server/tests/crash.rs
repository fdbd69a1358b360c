//! Crash safety: a settlement load over loopback HTTP while the server is killed with SIGKILL
//! at random points and restarted on the same database, then an audit of the books.
//!
//! Clients keep settling payments (some with an `Idempotency-Key`, some with x402's
//! `payment-identifier`, some with neither) and retry each until it has a definite answer,
//! through every crash. Afterwards, on the database itself:
//!
//! - every journal entry sums to zero, and every balance equals its journal total;
//! - the balances add up to what was deposited: nothing created, nothing lost;
//! - no `(network, payer, nonce)` and no `(network, payer, identifier)` settled twice;
//! - every payment a client saw acknowledged is there, with its payer and amount;
//! - each agent paid exactly for the payments acknowledged to it (charged once each);
//! - no idempotency key is still in progress past its lease.
//!
//! `PAYWIRE_CRASH_KILLS` sets the number of kills (default 10, as CI runs it; the README
//! reports a long run).

#[path = "common/process.rs"]
mod process;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paywire_core::protocol::extensions::with_payment_identifier;
use process::{parties, payment, request, Parties, Scratch, Server};
use serde_json::Value;
use sqlx::Row;

const CLIENTS: u64 = 6;
const LEASE_SECONDS: u64 = 3;
const CENT: u128 = 10_000;

fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % n.max(1)
}

/// What a client finally learned about one payment.
#[derive(Debug, Clone)]
enum Outcome {
    Settled { transaction: String, retried: bool },
    Refused { reason: String },
}

/// Sends one payment until it has a definite answer, or `stop_by` passes while the server is
/// unreachable. `None` when it never got one (counted, never expected after the final drain).
async fn settle_until_definite(
    port: u16,
    body: &Value,
    idempotency_key: Option<&str>,
    give_up_at: Instant,
) -> Option<Outcome> {
    let mut retried = false;
    loop {
        // An Idempotency-Key counts with credentials that scope it (the facilitator client's).
        let headers: Vec<(&str, &str)> = idempotency_key
            .map(|k| {
                vec![
                    ("Idempotency-Key", k),
                    ("Authorization", "Bearer facilitator-client"),
                ]
            })
            .unwrap_or_default();
        let answer = tokio::time::timeout(
            Duration::from_secs(5),
            request(port, "POST", "/settle", None, Some(body), &headers),
        )
        .await;
        match answer {
            Ok(Ok((200, value))) if value["success"] == true => {
                return Some(Outcome::Settled {
                    transaction: value["transaction"].as_str().unwrap().to_string(),
                    retried,
                })
            }
            Ok(Ok((200, value))) if value["errorReason"] != "settlement_pending" => {
                return Some(Outcome::Refused {
                    reason: value["errorReason"].as_str().unwrap_or("").to_string(),
                })
            }
            // Pending, a key still in progress (its attempt died with the process: wait out the
            // lease), the database going away under a dying process, the process gone.
            Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {}
        }
        if Instant::now() > give_up_at {
            return None;
        }
        retried = true;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

struct Ledger {
    payer: String,
    outcomes: Vec<(Value, Outcome)>,
}

async fn client(
    id: u64,
    port: u16,
    parties: Parties,
    stop: Arc<AtomicBool>,
    deadline: Instant,
) -> Ledger {
    let mut outcomes = vec![];
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let mut body = payment(&parties, CENT, id * 1_000_000 + n);
        // Three styles of retry: an Idempotency-Key, an x402 payment identifier, the nonce alone.
        let key = (id % 3 == 0).then(|| format!("crash-{id}-{n}"));
        if id % 3 == 1 {
            let extensions =
                with_payment_identifier(None, &format!("pay_crash_{id:04}_{n:08}")).unwrap();
            body["paymentPayload"]["extensions"] = Value::Object(extensions);
        }
        // Once the load stops, a payment in flight is still driven to its answer.
        match settle_until_definite(port, &body, key.as_deref(), deadline).await {
            Some(outcome) => outcomes.push((body, outcome)),
            None => panic!("payment {id}/{n} had no definite answer by the deadline"),
        }
    }
    Ledger {
        payer: parties.agent_wallet,
        outcomes,
    }
}

async fn crash_and_audit(kind: &str) {
    let kills: u32 = std::env::var("PAYWIRE_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(10);
    let scratch = Scratch::new(&format!("crash-{kind}"));
    let (url, created) = process::scratch_database(kind, &scratch.0).await;
    let log = scratch.0.join("server.log");
    let args = [
        "--request-timeout-seconds",
        "2",
        "--idempotency-lease-seconds",
        &LEASE_SECONDS.to_string(),
    ];
    let mut server = Server::start(&url, &args, &log).await;
    let port = server.port;
    let mut funded = 0i64;
    let mut agents = vec![];
    for _ in 0..CLIENTS {
        agents.push(parties(&server, "1000.00").await);
        funded += 1_000_000_000;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(60 + 3 * u64::from(kills));
    let tasks: Vec<_> = agents
        .into_iter()
        .enumerate()
        .map(|(i, p)| tokio::spawn(client(i as u64, port, p, stop.clone(), deadline)))
        .collect();
    for _ in 0..kills {
        // Let the load run for a random while, then kill mid-whatever.
        tokio::time::sleep(Duration::from_millis(100 + random_below(400))).await;
        server.kill9();
        server = Server::start_on(&url, port, &args, &log).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut ledgers = vec![];
    for task in tasks {
        ledgers.push(task.await.unwrap());
    }
    drop(server);

    // The audit, on the database itself.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let unbalanced: i64 = sqlx::query(
        "SELECT COUNT(*) FROM (SELECT entry_id FROM journal GROUP BY entry_id HAVING SUM(amount) <> 0) AS u",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(unbalanced, 0, "journal entries that do not sum to zero");
    let mismatched: i64 = sqlx::query(
        "SELECT COUNT(*) FROM balances b WHERE b.amount <> (SELECT COALESCE(SUM(j.amount), 0) FROM journal j WHERE j.wallet_id = b.wallet_id AND j.asset = b.asset)",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(mismatched, 0, "balances that disagree with their journal");
    let balances: Vec<i64> = sqlx::query("SELECT amount FROM balances")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get(0).unwrap())
        .collect();
    assert_eq!(
        balances.iter().sum::<i64>(),
        funded,
        "the balances add up to what was deposited"
    );
    let duplicates: i64 = sqlx::query(
        "SELECT COUNT(*) FROM (SELECT network, payer, nonce FROM payments GROUP BY network, payer, nonce HAVING COUNT(*) > 1) AS d",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(duplicates, 0);
    let rows = sqlx::query("SELECT id, payer, amount, payment_identifier FROM payments")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut stored: HashMap<String, (String, i64)> = HashMap::new();
    let mut identifiers = HashSet::new();
    for row in rows {
        let id: String = row.try_get("id").unwrap();
        if let Some(identifier) = row
            .try_get::<Option<String>, _>("payment_identifier")
            .unwrap()
        {
            let payer: String = row.try_get("payer").unwrap();
            assert!(
                identifiers.insert((payer, identifier)),
                "an identifier settled twice"
            );
        }
        stored.insert(
            id,
            (
                row.try_get("payer").unwrap(),
                row.try_get("amount").unwrap(),
            ),
        );
    }
    let (mut acknowledged, mut interrupted) = (0usize, 0usize);
    for ledger in &ledgers {
        let mut seen = HashSet::new();
        let mut paid = 0i64;
        for (_, outcome) in &ledger.outcomes {
            match outcome {
                Outcome::Settled {
                    transaction,
                    retried,
                } => {
                    acknowledged += 1;
                    interrupted += usize::from(*retried);
                    assert!(
                        seen.insert(transaction.clone()),
                        "one transaction for two payments"
                    );
                    let (payer, amount) = stored
                        .get(transaction)
                        .unwrap_or_else(|| panic!("acknowledged {transaction} was lost"));
                    assert_eq!(payer, &ledger.payer);
                    paid += amount;
                }
                Outcome::Refused { reason } => {
                    panic!("a funded payment was refused: {reason}")
                }
            }
        }
        let payments_of_payer = stored.values().filter(|(p, _)| p == &ledger.payer).count();
        assert_eq!(
            payments_of_payer,
            seen.len(),
            "every stored payment of {} was acknowledged to it",
            ledger.payer
        );
        let balance: i64 = sqlx::query("SELECT amount FROM balances WHERE wallet_id = $1")
            .bind(&ledger.payer)
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(balance, 1_000_000_000 - paid, "charged once per payment");
    }
    let now = i64::try_from(paywire_server::base::util::now()).unwrap();
    let stuck: i64 = sqlx::query(
        "SELECT COUNT(*) FROM idempotency_keys WHERE state = 'in_progress' AND created_at < $1",
    )
    .bind(now - LEASE_SECONDS as i64)
    .fetch_one(&pool)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(stuck, 0, "idempotency keys stuck past their lease");
    pool.close().await;
    eprintln!(
        "crash test ({kind}): {kills} kills survived, {acknowledged} payments acknowledged \
         ({interrupted} of them interrupted by a kill and retried), {} stored, 0 lost, \
         0 refused",
        stored.len()
    );
    assert!(acknowledged > 0, "the load settled something");
    process::drop_database(created).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_kill_9_at_random_points() {
    crash_and_audit("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_kill_9_at_random_points() {
    crash_and_audit("postgres").await;
}
