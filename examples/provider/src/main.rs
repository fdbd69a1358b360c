//! Run with: `cargo run -p example-provider`
//!
//! An axum API whose routes are paid with x402, protected by `paywire-axum`: a joke for a
//! tenth of a cent, a premium article for 2 cents that also sells a token for 5 more within
//! ten minutes, and a free health check. Any x402 client pays it — Paywire's, or Coinbase's
//! `@x402/fetch`; a facilitator verifies and settles each payment, and the handler's answer is
//! held until the money moved.
//!
//! Alone, it runs a Paywire settlement server in this process as its facilitator and prints a
//! funded agent's credentials, so that `example-agent` (or curl) can pay it. Against a
//! facilitator of your own:
//!
//! ```sh
//! PAYWIRE_FACILITATOR_URL=http://127.0.0.1:4020 PAYWIRE_NETWORK=paywire:main \
//!   PAYWIRE_PAY_TO=wal_… PAYWIRE_PAY_TO_EVM=0x… cargo run -p example-provider
//! ```
//!
//! It listens on `PAYWIRE_LISTEN` (default `127.0.0.1:4021`) until Ctrl-C; the first line it
//! prints is `example-provider: listening on http://<address>`.

use std::error::Error;

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use paywire_axum::{FacilitatorClient, PaywallLayer};
use paywire_core::flow::Paywall;
use paywire_core::money::AssetRegistry;
use paywire_core::token::KeyRing;
use paywire_sandbox::Sandbox;
use serde_json::{json, Value};

/// USDC on Base Sepolia (eip155:84532), which a Paywire server settles as a devnet network.
const USDC_BASE_SEPOLIA: &str = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/// The API itself: plain axum handlers, priced by the layer.
fn api(paywall: Paywall, facilitator: FacilitatorClient, keys: KeyRing) -> Router {
    Router::new()
        .route("/v1/joke", get(joke))
        .route("/v1/premium/{topic}", get(premium))
        // Every route above is priced by the paywall's rules; routes added after it are free.
        .layer(PaywallLayer::new(paywall, facilitator).keys(keys))
        .route("/health", get(|| async { "ok" }))
}

async fn joke() -> Json<Value> {
    Json(
        json!({"joke": "There are 10 kinds of agents: those that pay in binary, and those that don't."}),
    )
}

async fn premium(Path(topic): Path<String>) -> Json<Value> {
    Json(json!({"topic": topic, "article": "A long, carefully researched piece."}))
}

/// The prices (atomic units of a 6-decimal dollar) and how payment is accepted: on a Paywire
/// ledger network, and in devnet USDC when an EVM address to be paid at is given.
fn paywall(
    network: &str,
    pay_to: &str,
    pay_to_evm: Option<&str>,
) -> Result<Paywall, Box<dyn Error>> {
    let mut accepts = vec![json!({
        "asset": {"network": network, "address": "USD", "symbol": "USD", "decimals": 6},
        "payTo": pay_to,
    })];
    if let Some(address) = pay_to_evm {
        let usdc = AssetRegistry::with_defaults()
            .get("eip155:84532", USDC_BASE_SEPOLIA)?
            .clone();
        accepts.push(json!({"asset": usdc, "payTo": address, "maxTimeoutSeconds": 60}));
    }
    Ok(Paywall::from_json(json!({
        "routes": [
            {"method": "GET", "path": "/v1/joke", "price": {"flat": "1000"}, "description": "A joke"},
            {"method": "GET", "path": "/v1/premium/:topic", "price": {"flat": "20000"},
             "description": "A premium article", "bundle": {"maxUses": 5, "seconds": 600}},
        ],
        "accepts": accepts,
    }))?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = std::env::var("PAYWIRE_LISTEN").unwrap_or_else(|_| "127.0.0.1:4021".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let address = listener.local_addr()?;

    // The facilitator: given, or a settlement server in this process (not the provider's code).
    let (facilitator_url, network, pay_to, sandbox) = match std::env::var("PAYWIRE_FACILITATOR_URL")
    {
        Ok(url) => (
            url,
            std::env::var("PAYWIRE_NETWORK").unwrap_or_else(|_| "paywire:main".into()),
            std::env::var("PAYWIRE_PAY_TO")?,
            None,
        ),
        Err(_) => {
            let sandbox = Sandbox::ephemeral().await?;
            let provider = sandbox.provider("Joke Co", None).await?;
            let policy = serde_json::from_value(json!({"dailyLimit": "1.00"}))?;
            let agent = sandbox.agent("Any agent", policy, "1.00").await?;
            println!("example-provider: listening on http://{address}");
            println!("Pay it with: PAYWIRE_EXAMPLE_URL=http://{address}/v1/joke PAYWIRE_WALLET_ID={} PAYWIRE_WALLET_SECRET={} cargo run -p example-agent",
                agent.wallet_id, agent.wallet_secret.unwrap_or_default());
            let network = sandbox.network().to_string();
            (
                sandbox.url.clone(),
                network,
                provider.wallet_id,
                Some(sandbox),
            )
        }
    };
    if sandbox.is_none() {
        println!("example-provider: listening on http://{address}");
    }
    let pay_to_evm = std::env::var("PAYWIRE_PAY_TO_EVM").ok();
    let paywall = paywall(&network, &pay_to, pay_to_evm.as_deref())?;
    // The key that signs the tokens premium articles sell, and verifies them when presented.
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let keys = KeyRing::new("k1", &secret)?;
    let facilitator = FacilitatorClient::new(&facilitator_url)?;
    println!("facilitator {facilitator_url}; paid on {network} to {pay_to}");
    println!("try: curl -i http://{address}/v1/joke   (a 402 with the price)");

    axum::serve(listener, api(paywall, facilitator, keys))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(sandbox) = sandbox {
        sandbox.stop().await?;
    }
    Ok(())
}
