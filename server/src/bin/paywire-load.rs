//! Run with: `cargo run --release -p paywire-server --bin paywire-load -- --database-url sqlite:///tmp/load.db`
//!
//! A load generator: starts the server on a loopback port against the given database, creates
//! a provider and an agent, pre-signs `--payments` ledger payments, and settles them over HTTP
//! with `--concurrency` requests in flight. Prints settled payments per second and the p50/p99
//! latency of `POST /settle`, and checks that every payment settled exactly once.

use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::AnyRequirements;
use paywire_server::settings::SettingsArgs;
use serde_json::json;

/// Load-test `POST /settle`.
#[derive(Parser)]
struct Args {
    /// The database: `sqlite:///path/file.db` (use a fresh file) or `postgres://…/db` (a fresh database).
    #[arg(long)]
    database_url: String,
    /// Payments to settle.
    #[arg(long, default_value_t = 2000)]
    payments: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let settings = SettingsArgs {
        database_url: Some(args.database_url.clone()),
        admin_key: Some("sk_admin_load_generator".into()),
        // A fixed key: load runs use scratch databases, and reruns on one must open it.
        master_key: Some("6c6f61642067656e657261746f72206d6173746572206b657920666f72207573".into()),
        listen: Some("127.0.0.1:0".parse().expect("address")),
        ..Default::default()
    }
    .resolve()
    .expect("settings");
    let state = paywire_server::open(&settings)
        .await
        .expect("database")
        .state;
    let provider = paywire_server::accounts::create_provider(&state, "load provider", None)
        .await
        .expect("provider");
    let agent = paywire_server::accounts::create_agent(&state, "load agent", None)
        .await
        .expect("agent");
    paywire_server::accounts::fund_ledger(&state, &agent.wallet_id, "1000000", None)
        .await
        .expect("fund");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let address = listener.local_addr().expect("address");
    let served = state.clone();
    tokio::spawn(async move {
        paywire_server::serve_on(listener, settings.limits, served, std::future::pending())
            .await
            .expect("serve")
    });

    let secret = WalletSecret::from_hex(agent.wallet_secret.as_deref().expect("agent secret"))
        .expect("secret");
    let now = paywire_server::util::now();
    let bodies: Vec<Vec<u8>> = (0..args.payments)
        .map(|i| {
            let requirements = json!({"scheme": "exact", "network": state.ledger_network, "amount": "10000",
                "asset": "USD", "payTo": provider.wallet_id, "maxTimeoutSeconds": 600});
            let typed = AnyRequirements::V2(serde_json::from_value(requirements.clone()).expect("requirements"));
            let mut nonce = [0u8; 32];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            nonce[8..24].copy_from_slice(&paywire_server::util::random_bytes::<16>());
            let exact = ledger::sign_payment(&typed, &agent.wallet_id, &secret, &nonce, now).expect("sign");
            serde_json::to_vec(&json!({"x402Version": 2,
                "paymentPayload": {"x402Version": 2, "resource": {"url": "https://api.example.com/load"},
                    "accepted": requirements, "payload": exact.to_object()},
                "paymentRequirements": requirements}))
            .expect("json")
        })
        .collect();

    let client: Client<_, Full<axum::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let uri: axum::http::Uri = format!("http://{address}/settle").parse().expect("uri");
    let queue = std::sync::Arc::new(std::sync::Mutex::new(bodies.into_iter()));
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (client, uri, queue) = (client.clone(), uri.clone(), queue.clone());
            tokio::spawn(async move {
                let mut latencies = vec![];
                let mut settled = 0usize;
                loop {
                    let Some(body) = queue.lock().expect("queue").next() else {
                        break;
                    };
                    let request = axum::http::Request::post(uri.clone())
                        .header("content-type", "application/json")
                        .body(Full::new(axum::body::Bytes::from(body)))
                        .expect("request");
                    let sent = Instant::now();
                    let response = client.request(request).await.expect("response");
                    let bytes = response
                        .into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes();
                    latencies.push(sent.elapsed());
                    let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
                    if value["success"] == true {
                        settled += 1;
                    } else {
                        eprintln!("not settled: {value}");
                    }
                }
                (settled, latencies)
            })
        })
        .collect();
    let mut settled = 0;
    let mut latencies: Vec<Duration> = vec![];
    for worker in workers {
        let (n, l) = worker.await.expect("worker");
        settled += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let stored = paywire_server::store::payments::count(&state.pool)
        .await
        .expect("count");
    println!(
        "{:?}: {settled}/{} settled in {:.2} s at concurrency {} → {:.0} payments/s, p50 {:.1} ms, p99 {:.1} ms ({} payment rows)",
        state.dialect,
        args.payments,
        elapsed.as_secs_f64(),
        args.concurrency,
        settled as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1000.0,
        percentile(0.99).as_secs_f64() * 1000.0,
        stored,
    );
    if settled != args.payments || stored != settled as i64 {
        eprintln!("FAILED: not every payment settled exactly once");
        std::process::exit(1);
    }
}
