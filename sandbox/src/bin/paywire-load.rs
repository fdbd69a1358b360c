//! Run with: `cargo run --release -p paywire-sandbox --bin paywire-load -- --database-url sqlite:///tmp/load.db`
//!
//! A load generator: starts `--servers` servers on loopback ports against one database,
//! creates `--providers` providers and `--payers` paying agents (ledger wallets, or devnet EVM
//! keys with `--evm`: every payment then carries a real EIP-3009 signature the server
//! verifies), pre-signs `--payments` one-cent payments spread over them, and settles them over
//! HTTP round-robin across the servers — closed loop with `--concurrency` requests in flight,
//! or open loop at a fixed arrival rate with `--rate` (latency measured from each request's
//! scheduled time, so a stall is not hidden). Prints settled payments per second and the
//! p50/p99/p999 latency of `POST /settle`, checks that every payment settled exactly once, and
//! appends the figures to `--results` (JSON lines) when given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use paywire_core::protocol::evm::PrivateKey;
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::AnyRequirements;
use paywire_server::app::settings::SettingsArgs;
use serde_json::json;

const USDC_BASE_SEPOLIA: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/// Load-test `POST /settle`.
#[derive(Parser)]
struct Args {
    /// The database: `sqlite:///path/file.db` (use a fresh file) or `postgres://…/db` (a fresh database).
    #[arg(long)]
    database_url: String,
    /// Payments to settle.
    #[arg(long, default_value_t = 2000)]
    payments: usize,
    /// Requests in flight at once (closed loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Open loop: requests sent per second, whatever the answers (overrides --concurrency).
    #[arg(long)]
    rate: Option<f64>,
    /// Paying agents (one is the worst case: every payment takes its lock).
    #[arg(long, default_value_t = 1)]
    payers: usize,
    /// Providers paid.
    #[arg(long, default_value_t = 1)]
    providers: usize,
    /// Devnet EVM payments (EIP-3009 signatures verified per payment) instead of ledger ones.
    #[arg(long)]
    evm: bool,
    /// Server instances over the one database, round-robin.
    #[arg(long, default_value_t = 1)]
    servers: usize,
    /// Settlements committed together at most (1: no group commit).
    #[arg(long)]
    batch_max: Option<usize>,
    /// Microseconds a batch waits for more.
    #[arg(long)]
    batch_wait_us: Option<u64>,
    /// Batches committed at once (workers).
    #[arg(long)]
    batch_workers: Option<usize>,
    /// Append the figures as one JSON line to this file.
    #[arg(long)]
    results: Option<std::path::PathBuf>,
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
        settle_batch_max: args.batch_max,
        settle_batch_wait_us: args.batch_wait_us,
        settle_batch_workers: args.batch_workers,
        // The generator sends as fast as it can, from one loopback address standing for many
        // clients; nothing here is a client to be limited.
        max_connections_per_client: Some(0),
        ..Default::default()
    }
    .resolve()
    .expect("settings");
    // Every instance opens the database for itself, as separate processes would.
    let mut states = vec![];
    let mut addresses = vec![];
    for _ in 0..args.servers.max(1) {
        let opened = paywire_server::open(&settings).await.expect("database");
        let (state, served) = (opened.state.clone(), opened.server());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listen");
        addresses.push(listener.local_addr().expect("address"));
        tokio::spawn(async move {
            paywire_server::serve_on(listener, settings.limits, served, std::future::pending())
                .await
                .expect("serve")
        });
        states.push(state);
    }
    let state = states[0].clone();
    let now = paywire_server::base::util::now();
    let bodies = if args.evm {
        evm_payments(&state, &args, now).await
    } else {
        ledger_payments(&state, &args, now).await
    };

    let client: Client<_, Full<axum::body::Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http();
    let uris: Arc<Vec<axum::http::Uri>> = Arc::new(
        addresses
            .iter()
            .map(|a| format!("http://{a}/settle").parse().expect("uri"))
            .collect(),
    );
    let send = move |client: Client<_, Full<axum::body::Bytes>>,
                     uri: axum::http::Uri,
                     body: Vec<u8>| async move {
        let request = axum::http::Request::post(uri)
            .header("content-type", "application/json")
            .body(Full::new(axum::body::Bytes::from(body)))
            .expect("request");
        let response = client.request(request).await.expect("response");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        if value["success"] == true {
            true
        } else {
            eprintln!("not settled: {value}");
            false
        }
    };
    let started = Instant::now();
    let mut settled = 0usize;
    let mut latencies: Vec<Duration> = vec![];
    match args.rate {
        Some(rate) => {
            // Open loop: request i leaves at i / rate, answered or not; its latency counts
            // from then.
            let interval = Duration::from_secs_f64(1.0 / rate);
            let tasks: Vec<_> = bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    let (client, uri) = (client.clone(), uris[i % uris.len()].clone());
                    let due = started + interval.mul_f64(i as f64);
                    tokio::spawn(async move {
                        tokio::time::sleep_until(due.into()).await;
                        let ok = send(client, uri, body).await;
                        (ok, due.elapsed())
                    })
                })
                .collect();
            for task in tasks {
                let (ok, latency) = task.await.expect("request");
                settled += usize::from(ok);
                latencies.push(latency);
            }
        }
        None => {
            let queue = Arc::new(std::sync::Mutex::new(bodies.into_iter().enumerate()));
            let workers: Vec<_> = (0..args.concurrency)
                .map(|_| {
                    let (client, uris, queue) = (client.clone(), uris.clone(), queue.clone());
                    tokio::spawn(async move {
                        let mut latencies = vec![];
                        let mut settled = 0usize;
                        loop {
                            let Some((i, body)) = queue.lock().expect("queue").next() else {
                                break;
                            };
                            let sent = Instant::now();
                            settled += usize::from(
                                send(client.clone(), uris[i % uris.len()].clone(), body).await,
                            );
                            latencies.push(sent.elapsed());
                        }
                        (settled, latencies)
                    })
                })
                .collect();
            for worker in workers {
                let (n, l) = worker.await.expect("worker");
                settled += n;
                latencies.extend(l);
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    let stored = paywire_server::store::payments::count(&state.pool)
        .await
        .expect("count");
    let per_second = settled as f64 / elapsed.as_secs_f64();
    let mode = match args.rate {
        Some(rate) => format!("open loop at {rate:.0}/s"),
        None => format!("concurrency {}", args.concurrency),
    };
    println!(
        "{:?}: {settled}/{} {} payments from {} payers to {} providers via {} server(s), batch {}x{} settled in {:.2} s at {mode} → {per_second:.0} payments/s, p50 {:.1} ms, p99 {:.1} ms, p999 {:.1} ms ({stored} payment rows)",
        state.dialect,
        args.payments,
        if args.evm { "EVM" } else { "ledger" },
        args.payers,
        args.providers,
        args.servers,
        settings.settle_batch_workers,
        settings.settle_batch_max,
        elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
    );
    // How the group commit batched them (this process's metrics).
    let (batches, batched, seconds) = paywire_server::infra::metrics::batch_totals();
    if batches > 0.0 {
        println!(
            "  {batches:.0} batches, {:.1} payments and {:.2} ms each on average",
            batched / batches,
            seconds / batches * 1000.0
        );
    }
    if let Some(path) = &args.results {
        use std::io::Write;
        let line = json!({"database": format!("{:?}", state.dialect), "payments": args.payments,
            "evm": args.evm, "payers": args.payers, "providers": args.providers, "servers": args.servers,
            "concurrency": args.rate.is_none().then_some(args.concurrency), "rate": args.rate,
            "batchMax": settings.settle_batch_max, "batchWorkers": settings.settle_batch_workers, "batchWaitUs": settings.settle_batch_wait.as_micros() as u64,
            "settledPerSecond": per_second.round(), "p50Ms": percentile(0.50), "p99Ms": percentile(0.99),
            "p999Ms": percentile(0.999), "seconds": elapsed.as_secs_f64(),
            "command": std::env::args().collect::<Vec<_>>().join(" ")});
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("results file");
        writeln!(file, "{line}").expect("results written");
    }
    if settled != args.payments || stored != settled as i64 {
        eprintln!("FAILED: not every payment settled exactly once");
        std::process::exit(1);
    }
}

/// Ledger payments, payment i from payer i mod N to provider i mod M.
async fn ledger_payments(state: &paywire_server::AppState, args: &Args, now: u64) -> Vec<Vec<u8>> {
    let mut providers = vec![];
    for p in 0..args.providers.max(1) {
        let provider = paywire_server::api::tenants::create_provider(
            state,
            &format!("load provider {p}"),
            None,
        )
        .await
        .expect("provider");
        providers.push(provider.wallet_id);
    }
    let mut payers = vec![];
    for a in 0..args.payers.max(1) {
        let agent =
            paywire_server::api::tenants::create_agent(state, &format!("load agent {a}"), None)
                .await
                .expect("agent");
        paywire_server::api::wallets::fund_ledger(state, &agent.wallet_id, "1000000", None)
            .await
            .expect("fund");
        let secret = WalletSecret::from_hex(agent.wallet_secret.as_deref().expect("agent secret"))
            .expect("secret");
        payers.push((agent.wallet_id, secret));
    }
    (0..args.payments)
        .map(|i| {
            let (wallet, secret) = &payers[i % payers.len()];
            let pay_to = &providers[i % providers.len()];
            let requirements = json!({"scheme": "exact", "network": state.ledger_network, "amount": "10000",
                "asset": "USD", "payTo": pay_to, "maxTimeoutSeconds": 600});
            let typed = AnyRequirements::V2(serde_json::from_value(requirements.clone()).expect("requirements"));
            let exact = ledger::sign_payment(&typed, wallet, secret, &nonce(i), now).expect("sign");
            serde_json::to_vec(&json!({"x402Version": 2,
                "paymentPayload": {"x402Version": 2, "resource": {"url": "https://api.example.com/load"},
                    "accepted": requirements, "payload": exact.to_object()},
                "paymentRequirements": requirements}))
            .expect("json")
        })
        .collect()
}

/// Devnet EVM payments (USDC on Base Sepolia), each signed by its payer's key.
async fn evm_payments(state: &paywire_server::AppState, args: &Args, now: u64) -> Vec<Vec<u8>> {
    let mut providers = vec![];
    for p in 0..args.providers.max(1) {
        let address = PrivateKey::from_bytes(&paywire_server::base::util::random_bytes::<32>())
            .expect("key")
            .address()
            .to_checksum();
        paywire_server::api::tenants::create_provider(
            state,
            &format!("load provider {p}"),
            Some(address.clone()),
        )
        .await
        .expect("provider");
        providers.push(address);
    }
    let mut payers = vec![];
    for _ in 0..args.payers.max(1) {
        let key =
            PrivateKey::from_bytes(&paywire_server::base::util::random_bytes::<32>()).expect("key");
        let funding = paywire_server::api::wallets::EvmFunding {
            network: "eip155:84532".into(),
            asset: None,
            address: key.address().to_checksum(),
            amount: "1000000".into(),
        };
        paywire_server::api::wallets::fund_evm(state, &funding, None)
            .await
            .expect("fund");
        payers.push(key);
    }
    (0..args.payments)
        .map(|i| {
            let key = &payers[i % payers.len()];
            let pay_to = &providers[i % providers.len()];
            let requirements = json!({"scheme": "exact", "network": "eip155:84532", "amount": "10000",
                "asset": USDC_BASE_SEPOLIA, "payTo": pay_to, "maxTimeoutSeconds": 600,
                "extra": {"name": "USDC", "version": "2"}});
            let typed = AnyRequirements::V2(serde_json::from_value(requirements.clone()).expect("requirements"));
            let exact = paywire_core::protocol::evm::sign_payment(&typed, key, &nonce(i), now).expect("sign");
            serde_json::to_vec(&json!({"x402Version": 2,
                "paymentPayload": {"x402Version": 2, "resource": {"url": "https://api.example.com/load"},
                    "accepted": requirements, "payload": exact.to_object()},
                "paymentRequirements": requirements}))
            .expect("json")
        })
        .collect()
}

fn nonce(i: usize) -> [u8; 32] {
    let mut nonce = [0u8; 32];
    nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
    nonce[8..24].copy_from_slice(&paywire_server::base::util::random_bytes::<16>());
    nonce
}
