//! paywire-sandbox: the demo and the load generator, beside the server rather than inside
//! it (the server depends on no adapter).
//!
//! The demo — the whole loop on one machine, each step printed in plain words: this
//! settlement server on its embedded SQLite, a provider's weather API protected by
//! `paywire-axum` (the server is its facilitator), and an agent with a spending policy paying
//! it through `paywire-reqwest`.
//!
//! The agent then buys one paid MCP tool call ([`mcp`], `paywire-rmcp`).
//!
//! [`Sandbox`] and [`weather_api`] are public so that the examples can stand the same pieces up
//! around the part they show.

pub mod mcp;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use paywire_axum::{FacilitatorClient, PaywallLayer};
use paywire_core::flow::{PaymentRecord, Paywall, PaywallConfig};
use paywire_core::token::KeyRing;
use paywire_core::Policy;
use paywire_reqwest::{LedgerSigner, PaymentError, Paywire};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use paywire_server::api::tenants::CreatedTenant;
use paywire_server::api::wallets::EvmFunding;
use paywire_server::api::{tenants, wallets};
use paywire_server::app::run;
use paywire_server::app::settings::Settings;
use paywire_server::base::error::ApiError;
use paywire_server::base::ledger;
use paywire_server::services::auth;
use paywire_server::services::state::AppState;

/// A settlement server running in this process on a loopback port, with helpers to create
/// the accounts a demo needs.
pub struct Sandbox {
    /// The state its handlers share.
    pub state: AppState,
    /// Where it listens: `http://127.0.0.1:<port>`.
    pub url: String,
    /// The operator key, when it was generated on this start (shown once).
    pub admin_key: Option<String>,
    /// Where a master key generated on this start was written.
    pub master_key_file: Option<std::path::PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    serving: JoinHandle<Result<(), String>>,
    /// The SQLite file of an ephemeral sandbox, removed when it stops.
    scratch: Option<std::path::PathBuf>,
}

impl Sandbox {
    /// Opens the database of `settings` and serves on `settings.listen` (port 0: any free
    /// port).
    pub async fn start(settings: &Settings) -> Result<Sandbox, String> {
        let listener = run::listen(settings.listen)?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let opened = run::open(settings).await?;
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(run::serve_on(
            listener,
            settings.limits,
            opened.server(),
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Sandbox {
            state: opened.state,
            url: format!("http://{address}"),
            admin_key: opened.admin_key,
            master_key_file: opened.master_key_file,
            stop: Some(stop),
            serving,
            scratch: None,
        })
    }

    /// A sandbox on any free loopback port over a fresh SQLite file in the temporary
    /// directory (removed by [`Sandbox::stop`]), its master key given rather than written.
    pub async fn ephemeral() -> Result<Sandbox, String> {
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| e.to_string())?;
        let path = std::env::temp_dir().join(format!("paywire-sandbox-{}.db", hex::encode(suffix)));
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| e.to_string())?;
        let settings = paywire_server::app::settings::SettingsArgs {
            listen: Some("127.0.0.1:0".parse().expect("a socket address")),
            database_url: Some(format!("sqlite://{}", path.display())),
            master_key: Some(hex::encode(key)),
            ..Default::default()
        }
        .resolve()?;
        let mut sandbox = Sandbox::start(&settings).await?;
        sandbox.scratch = Some(path);
        Ok(sandbox)
    }

    /// The ledger network its payments use (`paywire:<ledger id>`).
    pub fn network(&self) -> &str {
        &self.state.ledger_network
    }

    /// Creates a provider (paid on the ledger, and at `evm_address` on devnet networks).
    pub async fn provider(
        &self,
        name: &str,
        evm_address: Option<&str>,
    ) -> Result<CreatedTenant, ApiError> {
        tenants::create_provider(&self.state, name, evm_address.map(str::to_string)).await
    }

    /// Creates an agent under `policy` (the server enforces it again at settlement) and
    /// deposits `funds` ledger dollars (`"10.00"`) into its wallet.
    pub async fn agent(
        &self,
        name: &str,
        policy: Policy,
        funds: &str,
    ) -> Result<CreatedTenant, ApiError> {
        let agent = tenants::create_agent(&self.state, name, Some(policy)).await?;
        wallets::fund_ledger(&self.state, &agent.wallet_id, funds, None).await?;
        Ok(agent)
    }

    /// The oldest tenant of `kind` (`provider`, `agent`) named `name`: `(id, wallet id)`.
    pub async fn find(&self, kind: &str, name: &str) -> Result<Option<(String, String)>, ApiError> {
        Ok(paywire_server::store::tenants::find_by_name(&self.state.pool, kind, name).await?)
    }

    /// A new API key (`read`, `write`) for a tenant: an earlier run's keys were shown once.
    pub async fn new_api_key(&self, tenant_id: &str, kind: &str) -> Result<String, ApiError> {
        let scopes: Vec<String> = tenants::DEFAULT_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(
            auth::create_api_key(&self.state.pool, tenant_id, kind, &scopes)
                .await?
                .key,
        )
    }

    /// A new operator key (the one a server generates is shown on its first start only).
    pub async fn new_operator_key(&self) -> Result<String, ApiError> {
        auth::add_operator_key(&self.state).await
    }

    /// An agent wallet's signing secret (hex), unsealed.
    pub async fn wallet_secret(
        &self,
        wallet_id: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>, ApiError> {
        auth::wallet_secret_hex(&self.state, wallet_id).await
    }

    /// Sets an agent's policy and starts its spending over (a new day for the demo's agent).
    pub async fn reset_agent(&self, wallet_id: &str, policy: &Policy) -> Result<(), ApiError> {
        paywire_server::store::wallets::set_policy(&self.state.pool, wallet_id, policy).await?;
        let mut conn = self.state.pool.acquire().await?;
        paywire_server::store::wallets::set_usage(
            &mut conn,
            wallet_id,
            &paywire_core::policy::Usage::default(),
        )
        .await?;
        Ok(())
    }

    /// Deposits what a wallet lacks of `funds` ledger dollars (`"6.16"`).
    pub async fn top_up(&self, wallet_id: &str, funds: Decimal) -> Result<(), ApiError> {
        let lacking = funds - self.balance(wallet_id).await?;
        if lacking > Decimal::ZERO {
            wallets::fund_ledger(&self.state, wallet_id, &lacking.to_string(), None).await?;
        }
        Ok(())
    }

    /// Credits `amount` (`"1.00"`) of the devnet network's USDC to an EVM address.
    pub async fn fund_evm(
        &self,
        network: &str,
        address: &str,
        amount: &str,
    ) -> Result<(), ApiError> {
        let funding = EvmFunding {
            network: network.into(),
            address: address.into(),
            amount: amount.into(),
            asset: None,
        };
        wallets::fund_evm(&self.state, &funding, None)
            .await
            .map(drop)
    }

    /// A wallet's ledger dollars, in whole units.
    pub async fn balance(&self, wallet_id: &str) -> Result<Decimal, ApiError> {
        let atomic = wallets::ledger_balance(&self.state, wallet_id).await?;
        Ok(Decimal::new(atomic, u32::from(ledger::LEDGER_DECIMALS)))
    }

    /// Stops serving, lets requests in flight finish, and closes the database.
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.serving)
            .await
            .map_err(|e| format!("the server task failed: {e}"))??;
        if let Some(path) = self.scratch.take() {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
        Ok(())
    }
}

/// The weather API's priced routes (paywall routes: a price rule, and a bundle it sells).
pub fn weather_routes(report_price: Decimal) -> Value {
    let atomic =
        |dollars: Decimal| -> String { (dollars * Decimal::from(1_000_000)).trunc().to_string() };
    json!([
        {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"},
         "description": "Current weather"},
        {"method": "GET", "path": "/v1/forecast/:city", "price": {"flat": "50000"},
         "description": "Three-day forecast (each payment buys 3 more within the hour)",
         "bundle": {"maxUses": 3, "seconds": 3600}},
        {"method": "GET", "path": "/v1/report", "price": {"flat": atomic(report_price)},
         "description": "The premium climate report"},
    ])
}

/// A small weather API priced for the demo: `/v1/weather/{city}` costs $0.01, a
/// `/v1/forecast/{city}` costs $0.05 and sells a token for 3 more forecasts within the hour,
/// `/v1/report` costs `report_price` (whole dollars), `/healthz` is free. Paid on the ledger
/// network `network` to `pay_to`, verified and settled at `facilitator_url`.
pub fn weather_api(
    facilitator_url: &str,
    network: &str,
    pay_to: &str,
    report_price: Decimal,
) -> Result<Router, String> {
    let config: PaywallConfig = serde_json::from_value(json!({
        "routes": weather_routes(report_price),
        "accepts": [{
            "asset": {"network": network, "address": ledger::LEDGER_ASSET, "symbol": "USD", "decimals": 6},
            "payTo": pay_to,
        }],
    }))
    .map_err(|e| format!("paywall configuration: {e}"))?;
    let paywall = Paywall::new(config).map_err(|e| e.to_string())?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| e.to_string())?;
    let keys = KeyRing::new("demo", &secret).map_err(|e| e.to_string())?;
    let facilitator = FacilitatorClient::new(facilitator_url).map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/v1/weather/{city}", get(weather))
        .route("/v1/forecast/{city}", get(forecast))
        .route("/v1/report", get(report))
        .layer(PaywallLayer::new(paywall, facilitator).keys(keys))
        .route("/healthz", get(|| async { "ok" })))
}

async fn weather(Path(city): Path<String>) -> Json<Value> {
    Json(json!({"city": city, "temperatureC": 21, "sky": "clear"}))
}

async fn forecast(Path(city): Path<String>) -> Json<Value> {
    Json(
        json!({"city": city, "days": [{"high": 22, "low": 14}, {"high": 19, "low": 12}, {"high": 24, "low": 15}]}),
    )
}

async fn report() -> Json<Value> {
    Json(json!({"title": "Climate report", "pages": 40}))
}

/// Serves `app` on `address` in the background; returns where it listens.
pub async fn serve_app(
    address: SocketAddr,
    app: Router,
) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((bound, task))
}

/// An amount of dollars as people write it: at least two decimals, no trailing zeros beyond.
fn dollars(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

/// Options of `paywire-server demo`.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Stop after this many settled payments instead of serving until Ctrl-C.
    pub payments: Option<u64>,
    /// Keep serving until Ctrl-C once the payments are made.
    pub serve: bool,
}

/// One call of the agent, told in words.
struct Step {
    path: &'static str,
    says: &'static str,
}

/// The agent's calls, in order; after them it buys weather until the payments are made.
const SCRIPT: &[Step] = &[
    Step {
        path: "/v1/weather/paris",
        says: "current weather in Paris ($0.01)",
    },
    Step {
        path: "/v1/weather/tokyo",
        says: "current weather in Tokyo ($0.01)",
    },
    Step {
        path: "/v1/forecast/paris",
        says: "a forecast for Paris ($0.05, with a token for 3 more)",
    },
    Step {
        path: "/v1/forecast/rome",
        says: "a forecast for Rome (the token covers it)",
    },
    Step {
        path: "/v1/report",
        says: "the premium report (more than the daily limit allows)",
    },
];

/// The provider's webhook receiver in the demo: checks each delivery's signature with the
/// core and counts the events it received by type.
#[derive(Clone, Default)]
struct WebhookInbox {
    secret: Arc<OnceLock<String>>,
    received: Arc<Mutex<BTreeMap<String, usize>>>,
    refused: Arc<AtomicUsize>,
}

impl WebhookInbox {
    fn router(&self) -> Router {
        let inbox = self.clone();
        Router::new().route(
            "/webhooks",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let inbox = inbox.clone();
                    async move {
                        let signature = headers
                            .get(paywire_core::webhook::SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        let secret = inbox.secret.get().map(String::as_bytes).unwrap_or_default();
                        let now = paywire_server::base::util::now();
                        let verified =
                            paywire_core::webhook::verify(signature, secret, &body, now, 300)
                                .ok()
                                .and_then(|_| {
                                    serde_json::from_slice::<paywire_core::webhook::Event>(&body)
                                        .ok()
                                });
                        match verified {
                            Some(event) => {
                                *inbox
                                    .received
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .entry(event.event_type)
                                    .or_default() += 1;
                                axum::http::StatusCode::OK
                            }
                            None => {
                                inbox.refused.fetch_add(1, Ordering::Relaxed);
                                axum::http::StatusCode::BAD_REQUEST
                            }
                        }
                    }
                },
            ),
        )
    }

    fn summary(&self) -> (usize, String) {
        let received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        let total = received.values().sum();
        let kinds: Vec<String> = received
            .iter()
            .map(|(kind, n)| format!("{kind} x{n}"))
            .collect();
        (total, kinds.join(", "))
    }
}

/// The demo's provider and agent: made on the first run, found again on the next ones (with new
/// API keys: keys are shown once), the agent's policy set and its day started over.
struct DemoParties {
    provider_id: String,
    provider_wallet: String,
    provider_key: String,
    agent_wallet: String,
    agent_key: String,
    agent_secret: zeroize::Zeroizing<String>,
    operator_key: String,
    /// Balances when this run starts.
    agent_start: Decimal,
    provider_start: Decimal,
}

const DEMO_PROVIDER: &str = "Demo Weather Co";
const DEMO_AGENT: &str = "Demo research agent";

impl DemoParties {
    async fn open(
        sandbox: &Sandbox,
        policy: &Policy,
        funds: Decimal,
        routes: &Value,
    ) -> Result<Self, String> {
        let fail = |what: &str| {
            let what = what.to_string();
            move |e: ApiError| format!("{what}: {e}")
        };
        let found = (
            sandbox
                .find("provider", DEMO_PROVIDER)
                .await
                .map_err(fail("finding the provider"))?,
            sandbox
                .find("agent", DEMO_AGENT)
                .await
                .map_err(fail("finding the agent"))?,
        );
        let (provider_id, provider_wallet, provider_key, agent_wallet, agent_key) = match found {
            (Some((provider_id, provider_wallet)), Some((agent_id, agent_wallet))) => {
                println!("  reusing the provider and agent of an earlier run on this database (--fresh starts over)");
                let provider_key = sandbox
                    .new_api_key(&provider_id, "provider")
                    .await
                    .map_err(fail("a key for the provider"))?;
                let agent_key = sandbox
                    .new_api_key(&agent_id, "agent")
                    .await
                    .map_err(fail("a key for the agent"))?;
                (
                    provider_id,
                    provider_wallet,
                    provider_key,
                    agent_wallet,
                    agent_key,
                )
            }
            _ => {
                let provider = sandbox
                    .provider(DEMO_PROVIDER, None)
                    .await
                    .map_err(fail("creating the provider"))?;
                // The provider registers its prices with the server too, as the dashboard
                // and quotes read them. Without their bundles: the API's own paywall sells
                // those, with its own keys.
                for route in routes.as_array().into_iter().flatten() {
                    let mut rule = route.clone();
                    rule.as_object_mut().map(|r| r.remove("bundle"));
                    let rule = serde_json::from_value(rule).map_err(|e| e.to_string())?;
                    paywire_server::api::endpoints::register(
                        &sandbox.state,
                        provider.id.clone(),
                        rule,
                        None,
                    )
                    .await
                    .map_err(fail("registering the provider's prices"))?;
                }
                let agent = tenants::create_agent(&sandbox.state, DEMO_AGENT, Some(policy.clone()))
                    .await
                    .map_err(fail("creating the agent"))?;
                (
                    provider.id,
                    provider.wallet_id,
                    provider.api_key.unwrap_or_default(),
                    agent.wallet_id,
                    agent.api_key.unwrap_or_default(),
                )
            }
        };
        sandbox
            .reset_agent(&agent_wallet, policy)
            .await
            .map_err(fail("setting the agent's policy"))?;
        sandbox
            .top_up(&agent_wallet, funds)
            .await
            .map_err(fail("funding the agent"))?;
        let agent_secret = sandbox
            .wallet_secret(&agent_wallet)
            .await
            .map_err(fail("the agent's wallet secret"))?
            .ok_or("the agent has no wallet secret")?;
        let operator_key = match &sandbox.admin_key {
            Some(key) => key.clone(),
            None => sandbox
                .new_operator_key()
                .await
                .map_err(fail("an operator key"))?,
        };
        Ok(DemoParties {
            agent_start: sandbox
                .balance(&agent_wallet)
                .await
                .map_err(fail("a balance"))?,
            provider_start: sandbox
                .balance(&provider_wallet)
                .await
                .map_err(fail("a balance"))?,
            provider_id,
            provider_wallet,
            provider_key,
            agent_wallet,
            agent_key,
            agent_secret,
            operator_key,
        })
    }
}

/// Runs the demo over `settings` (its listen address and database): the settlement server,
/// the weather API on the next port, the provider's webhook receiver, and the agent's calls.
pub async fn run_demo(settings: &Settings, options: DemoOptions) -> Result<(), String> {
    // The provider's webhook receiver runs in this process on loopback, which the server then
    // has to be allowed to call; webhooks go out promptly.
    let mut settings = settings.clone();
    settings.allow_loopback_webhooks = true;
    settings.webhooks.poll_interval = std::time::Duration::from_millis(100);
    let settings = &settings;
    let sandbox = Sandbox::start(settings).await?;
    println!("Paywire demo");
    println!(
        "  settlement server   {} (SQLite: {})",
        sandbox.url,
        paywire_server::store::db::redact_url(&settings.database_url)
    );
    if let Some(key) = &sandbox.admin_key {
        println!("  operator admin key  {key}  (generated now, shown once)");
    }
    if let Some(path) = &sandbox.master_key_file {
        println!(
            "  master key file     {}  (seals the secrets at rest)",
            path.display()
        );
    }
    // Enough daily budget for the payments asked for; the report is priced at the whole
    // limit, so the day's earlier calls leave too little for it.
    let wanted = options.payments.unwrap_or(0);
    let per_payment_cents = i64::try_from(wanted).unwrap_or(i64::MAX / 100);
    let daily_limit = Decimal::ONE.max(Decimal::new(16 + per_payment_cents, 2));
    let report_price = daily_limit;
    // At most the daily limit per request, and per day.
    let policy: Policy = serde_json::from_value(json!({
        "maxPerRequest": dollars(daily_limit),
        "dailyLimit": dollars(daily_limit),
    }))
    .map_err(|e| e.to_string())?;
    let funds = daily_limit + Decimal::from(5);
    let parties =
        DemoParties::open(&sandbox, &policy, funds, &weather_routes(report_price)).await?;
    let api_address = SocketAddr::new(
        settings.listen.ip(),
        match settings.listen.port() {
            0 => 0,
            port => port
                .checked_add(1)
                .ok_or("no port after 65535 for the weather API")?,
        },
    );
    let app = weather_api(
        &sandbox.url,
        sandbox.network(),
        &parties.provider_wallet,
        report_price,
    )?;
    let (api, _api_task) = serve_app(api_address, app).await?;
    println!(
        "  weather API         http://{api} (paywire-axum; facilitator: the settlement server)"
    );
    println!(
        "  agent               wallet {} with ${}; policy: at most ${} a day (paywire-reqwest)",
        parties.agent_wallet,
        dollars(parties.agent_start),
        dollars(daily_limit)
    );
    let inbox = WebhookInbox::default();
    let (inbox_address, _inbox_task) =
        serve_app(SocketAddr::new(settings.listen.ip(), 0), inbox.router()).await?;
    let webhook = paywire_server::api::webhooks::set(
        &sandbox.state,
        parties.provider_id.clone(),
        &format!("http://{inbox_address}/webhooks"),
    )
    .await
    .map_err(|e| format!("setting the provider's webhook: {e}"))?;
    let _ = inbox.secret.set(webhook.secret.unwrap_or_default());
    println!(
        "  provider webhooks   http://{inbox_address}/webhooks (signatures checked with paywire-core)"
    );
    println!("  dashboard           {}/dashboard", sandbox.url);
    println!("    sign in as the provider with {}", parties.provider_key);
    println!("    or as the agent with         {}", parties.agent_key);
    println!("    or as the operator with      {}", parties.operator_key);
    println!();

    let signer = LedgerSigner::from_hex(&parties.agent_wallet, &parties.agent_secret)
        .map_err(|e| e.to_string())?;
    let tool_policy = policy.clone();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Paywire::builder(policy, signer).build())
        .build();
    let mut settled = 0u64;
    let mut step = 0usize;
    while options.payments.is_none_or(|n| settled < n) {
        let (path, says) = match SCRIPT.get(step) {
            Some(s) => (s.path.to_string(), s.says.to_string()),
            None if options.payments.is_some() => {
                let city = ["Oslo", "Lima", "Cairo", "Perth", "Quito"][step % 5];
                (
                    format!("/v1/weather/{}", city.to_lowercase()),
                    format!("current weather in {city} ($0.01)"),
                )
            }
            None => break,
        };
        step += 1;
        println!("agent asks for {says}: GET {path}");
        match client.get(format!("http://{api}{path}")).send().await {
            Ok(response) => {
                let status = response.status();
                let record: Option<PaymentRecord> = paywire_reqwest::payment_of(&response).cloned();
                let body = response.text().await.unwrap_or_default();
                match record {
                    Some(record) => {
                        settled += 1;
                        let transaction = record
                            .settlement
                            .as_ref()
                            .map_or("", |s| s.transaction.as_str())
                            .to_string();
                        println!("  the API asked for ${} (402); the policy allowed it; the agent signed a ledger payment;", record.amount);
                        println!("  the settlement server settled it ({transaction}); the API answered {status}: {body}");
                        if let Some(token) = &record.access_token {
                            println!("  the payment also bought a token for {} more calls, kept for next time", token.max_uses.map_or("unlimited".into(), |n| n.to_string()));
                        }
                    }
                    None => println!(
                        "  no payment needed (an access token, or a free route): {status}: {body}"
                    ),
                }
            }
            Err(error) => match PaymentError::of(&error) {
                Some(refusal) => println!(
                    "  refused before paying anything: {} ({})",
                    refusal.code, refusal.message
                ),
                None => return Err(format!("the agent's request failed: {error}")),
            },
        }
        println!();
    }
    // The same agent buys one paid tool call over MCP.
    println!("agent calls a paid MCP tool: {} ($0.01)", mcp::TOOL);
    let signer = LedgerSigner::from_hex(&parties.agent_wallet, &parties.agent_secret)
        .map_err(|e| e.to_string())?;
    match mcp::pay_one_tool_call(
        &sandbox.url,
        sandbox.network(),
        &parties.provider_wallet,
        signer,
        tool_policy,
    )
    .await
    {
        Ok(call) => {
            let text = serde_json::to_value(&call.result)
                .ok()
                .and_then(|r| r["content"][0]["text"].as_str().map(str::to_string))
                .unwrap_or_default();
            match call.payment.and_then(|p| p.settlement) {
                Some(settlement) => println!(
                    "  the tool answered with a 402 result; the agent paid in _meta; settled ({}); the tool answered: {text}",
                    settlement.transaction
                ),
                None => println!("  the tool answered without a settlement: {text}"),
            }
        }
        Err(error) => println!("  the paid tool call did not complete: {error}"),
    }
    println!();
    let spent = parties.agent_start
        - sandbox
            .balance(&parties.agent_wallet)
            .await
            .map_err(|e| e.to_string())?;
    let earned = sandbox
        .balance(&parties.provider_wallet)
        .await
        .map_err(|e| e.to_string())?
        - parties.provider_start;
    // Let the webhooks of these payments go out (bounded), then say what arrived.
    for _ in 0..100 {
        match paywire_server::store::events::queue_depth(&sandbox.state.pool).await {
            Ok(0) | Err(_) => break,
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let (events, kinds) = inbox.summary();
    println!(
        "The provider's webhook endpoint received {events} events ({kinds}); {} refused.",
        inbox.refused.load(Ordering::Relaxed)
    );
    if options.serve {
        println!();
        println!("The demo keeps serving. Try the API yourself (a 402 with its price):");
        println!("  curl -i http://{api}/v1/weather/paris");
        println!("See it in the dashboard: {}/dashboard", sandbox.url);
        println!("Ctrl-C stops it.");
        let _ = tokio::signal::ctrl_c().await;
    }
    sandbox.stop().await?;
    println!(
        "demo: {settled} payments settled, agent spent ${}, provider earned ${}",
        dollars(spent),
        dollars(earned)
    );
    Ok(())
}
