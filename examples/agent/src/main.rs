//! Run with: `cargo run -p example-agent`
//!
//! An agent that pays for API calls with `paywire-reqwest`, inside a spending policy: small
//! calls are paid at once, larger ones are put to an approver, and anything over the limits is
//! refused with a stable code before a cent moves. A forecast bought once comes with an access
//! token that pays for the next forecasts.
//!
//! Alone, it stands up what it pays — a Paywire settlement server and a paid weather API, in
//! this process (paywire-server's demo pieces). To pay any other x402 API instead:
//!
//! ```sh
//! PAYWIRE_EXAMPLE_URL=http://127.0.0.1:4021/v1/joke PAYWIRE_EVM_KEY=0x… cargo run -p example-agent
//! PAYWIRE_EXAMPLE_URL=… PAYWIRE_WALLET_ID=wal_… PAYWIRE_WALLET_SECRET=… cargo run -p example-agent
//! ```

use std::error::Error;

use paywire_core::Policy;
use paywire_reqwest::reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use paywire_reqwest::{
    payment_of, ApprovalRequest, EvmSigner, LedgerSigner, PaymentError, Paywire, Signer,
};
use paywire_sandbox::{serve_app, weather_api, Sandbox};
use serde_json::json;

/// The agent's spending policy: limits in whole dollars.
fn policy() -> Result<Policy, serde_json::Error> {
    serde_json::from_value(json!({
        "maxPerRequest": "0.10",     // no single call above 10 cents
        "dailyLimit": "0.50",        // at most 50 cents a day
        "approvalThreshold": "0.04", // above 4 cents, ask first
    }))
}

/// A paying HTTP client: reqwest with the Paywire middleware.
fn paying_client(signer: impl Signer + 'static) -> Result<ClientWithMiddleware, Box<dyn Error>> {
    let paywire = Paywire::builder(policy()?, signer)
        // Asked about payments above the approval threshold; here a rule, in an app a person.
        .approver(|request: &ApprovalRequest| {
            let approved = request.amount <= "0.05".parse().unwrap_or_default();
            println!(
                "  approver: ${} for {} — {}",
                request.amount,
                request.url,
                if approved { "yes" } else { "no" }
            );
            approved
        })
        .build();
    Ok(ClientBuilder::new(reqwest::Client::new())
        .with(paywire)
        .build())
}

/// One call, told in words.
async fn call(client: &ClientWithMiddleware, url: &str) -> Result<(), Box<dyn Error>> {
    println!("GET {url}");
    match client.get(url).send().await {
        Ok(response) => {
            let paid = payment_of(&response).cloned();
            let status = response.status();
            let body = response.text().await?;
            match paid {
                Some(payment) => {
                    let transaction = payment
                        .settlement
                        .as_ref()
                        .map_or("not settled", |s| s.transaction.as_str())
                        .to_string();
                    println!(
                        "  paid ${} ({transaction}): {status} {body}",
                        payment.amount
                    );
                    if let Some(token) = payment.access_token {
                        let uses = token
                            .max_uses
                            .map_or("unlimited".to_string(), |n| n.to_string());
                        println!("  and got an access token good for {uses} more calls");
                    }
                }
                None => println!("  nothing to pay: {status} {body}"),
            }
        }
        Err(error) => match PaymentError::of(&error) {
            // A refusal: a policy code, or `payment_rejected` with the provider's 402.
            Some(refusal) => println!("  refused: {} ({})", refusal.code, refusal.message),
            None => return Err(error.into()),
        },
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    if let Ok(url) = std::env::var("PAYWIRE_EXAMPLE_URL") {
        let client = match std::env::var("PAYWIRE_EVM_KEY") {
            Ok(key) => paying_client(EvmSigner::from_hex(&key)?)?,
            Err(_) => paying_client(LedgerSigner::from_hex(
                &std::env::var("PAYWIRE_WALLET_ID")?,
                &std::env::var("PAYWIRE_WALLET_SECRET")?,
            )?)?,
        };
        let response = client.get(&url).send().await?;
        let paid = payment_of(&response).cloned();
        println!("GET {url}: {}", response.status());
        match paid.and_then(|p| p.settlement.map(|s| (p.amount, s))) {
            Some((amount, settlement)) if settlement.success => {
                println!(
                    "example-agent: paid ${amount}, settled as {}",
                    settlement.transaction
                );
                return Ok(());
            }
            _ => return Err("example-agent: the call was not paid and settled".into()),
        }
    }

    // Standing up what this agent pays: not the agent's code (see the module docs).
    let sandbox = Sandbox::ephemeral().await?;
    let provider = sandbox.provider("Weather Co", None).await?;
    let wallet = sandbox.agent("Research agent", policy()?, "1.00").await?;
    let api = weather_api(
        &sandbox.url,
        sandbox.network(),
        &provider.wallet_id,
        "2.00".parse()?,
    )?;
    let (api, _) = serve_app("127.0.0.1:0".parse()?, api).await?;

    // The agent: a ledger wallet's key, the policy, and a paying client.
    let signer = LedgerSigner::from_hex(
        &wallet.wallet_id,
        wallet.wallet_secret.as_deref().unwrap_or_default(),
    )?;
    let client = paying_client(signer)?;
    for path in [
        "/v1/weather/paris", // 1 cent: paid at once
        "/v1/forecast/rome", // 5 cents: above the threshold, approved; buys a token
        "/v1/forecast/oslo", // the token pays
        "/v1/report",        // $2: over the per-call limit, refused
    ] {
        call(&client, &format!("http://{api}{path}")).await?;
    }
    println!(
        "example-agent: the wallet holds ${} after paying",
        sandbox.balance(&wallet.wallet_id).await?.normalize()
    );
    sandbox.stop().await?;
    Ok(())
}
