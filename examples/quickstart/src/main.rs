//! Run with: `cargo run -p example-quickstart`
//!
//! One x402 payment end to end, in one process, with `paywire-core` only: a provider prices a
//! request and answers 402; an agent picks an option its spending policy allows and pays with
//! the Paywire ledger scheme; the provider verifies the payment and sells an access token;
//! the agent narrows the token and uses it. The clock and the randomness come from here: the
//! core never reads either.

use std::time::{SystemTime, UNIX_EPOCH};

use paywire_core::money::{Asset, AssetRegistry};
use paywire_core::policy::{Policy, Selection, Usage};
use paywire_core::pricing::{PaymentOption, Pricebook, QuoteRequest};
use paywire_core::protocol::ledger::{self, WalletSecret};
use paywire_core::protocol::{
    header, matching, AnyRequirements, PaymentPayload, PaymentPayloadV2, PaymentRequired,
    ResourceInfo, SettleResponse,
};
use paywire_core::token::{attenuate, token_hash, Caveat, Claims, KeyRing, Scope, TokenRequest};
use rust_decimal::Decimal;
use serde_json::json;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes
}

fn step(number: u32, title: &str) {
    println!("\n── {number}. {title}");
}

fn main() -> Outcome {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let assets = AssetRegistry::with_defaults();
    let url = "https://api.example.com/v1/weather/paris";

    step(1, "The provider prices GET /v1/weather/paris");
    let pricebook: Pricebook = serde_json::from_value(json!({
        "feeBps": 250,
        "rules": [{"method": "GET", "path": "/v1/weather/:city", "description": "Weather",
                   "price": {"flat": "10000"}}]
    }))?;
    pricebook.validate()?;
    let quote = pricebook.quote(&QuoteRequest::new("GET", "/v1/weather/paris"))?;
    let dollars = |atomic| Asset::new("paywire:demo", "USD", "USD", 6).map(|a| a.format(atomic));
    println!(
        "   price ${} = fee ${} + provider ${}",
        dollars(quote.amount)?,
        dollars(quote.fee)?,
        dollars(quote.net)?
    );

    step(2, "It answers 402 with two ways to pay");
    let usdc = assets
        .get("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e")?
        .clone();
    let ledger_usd = Asset::new("paywire:demo", "USD", "USD", 6)?;
    let options = [
        PaymentOption {
            scheme: "exact".into(),
            asset: usdc,
            pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
            max_timeout_seconds: 300,
        },
        PaymentOption {
            scheme: "exact".into(),
            asset: ledger_usd,
            pay_to: "wallet_weather_co".into(),
            max_timeout_seconds: 300,
        },
    ];
    let required = quote.payment_required_v2(
        &options,
        ResourceInfo::new(url),
        Some("Payment required".into()),
        None,
    )?;
    let payment_required_header = header::encode(&required);
    println!(
        "   PAYMENT-REQUIRED: {}… ({} bytes)",
        &payment_required_header[..48],
        payment_required_header.len()
    );
    for offer in &required.accepts {
        println!(
            "   accepts {} {} on {} to {}",
            offer.scheme, offer.amount, offer.network, offer.pay_to
        );
    }

    step(3, "The agent's policy picks an option it may pay");
    let policy: Policy = serde_json::from_value(json!({
        "maxPerRequest": "0.05", "dailyLimit": "1.00", "allowedNetworks": ["paywire:demo"],
        "allowedHosts": ["api.example.com"], "velocity": {"maxPayments": 10, "windowSeconds": 60}
    }))?;
    policy.validate()?;
    let mut usage = Usage::default();
    let decoded =
        header::decode_payment_required(&payment_required_header, header::DEFAULT_HEADER_LIMIT)?;
    let PaymentRequired::V2(decoded) = decoded else {
        return Err("expected a v2 402".into());
    };
    let (index, amount) =
        match policy.select(&PaymentRequired::V2(decoded.clone()), &usage, now, &assets) {
            Selection::Selected { index, amount, .. } => (index, amount),
            refused => {
                return Err(format!("no option allowed: {:?}", refused.primary_reason()).into())
            }
        };
    println!(
        "   chose accepts[{index}] ({}) for ${amount}",
        decoded.accepts[index].network
    );

    step(4, "It signs an authorization with its ledger wallet");
    let wallet_secret = WalletSecret::from_bytes(&random::<32>())?;
    let chosen = AnyRequirements::V2(decoded.accepts[index].clone());
    let exact = ledger::sign_payment(
        &chosen,
        "wallet_agent_7",
        &wallet_secret,
        &random::<32>(),
        now,
    )?;
    let payment = PaymentPayloadV2 {
        x402_version: Default::default(),
        resource: Some(decoded.resource.clone()),
        accepted: decoded.accepts[index].clone(),
        payload: exact.to_object(),
        extensions: decoded.extensions.clone(),
    };
    let signature_header = header::encode(&payment);
    println!(
        "   PAYMENT-SIGNATURE: {}… ({} bytes)",
        &signature_header[..48],
        signature_header.len()
    );
    println!("   nonce {}", exact.authorization.nonce);

    step(5, "The provider matches and verifies the payment");
    let received = header::decode_payment_payload(&signature_header, header::DEFAULT_HEADER_LIMIT)?;
    let PaymentPayload::V2(received_v2) = &received else {
        return Err("expected v2".into());
    };
    let matched = matching::find_match_v2(&required.accepts, received_v2)?;
    let verified = ledger::verify_payment(
        &received,
        &AnyRequirements::V2(matched.clone()),
        now,
        |wallet| (wallet == "wallet_agent_7").then(|| wallet_secret.clone()),
    )?;
    policy.record(&mut usage, amount, now);
    println!(
        "   verified: {} pays {} atomic units; agent has spent ${} today",
        verified.payer, verified.authorization.value, usage.spent_today
    );
    let settled = SettleResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer: Some(verified.payer.clone()),
        transaction: format!("ledger_tx_{}", &exact.authorization.nonce[2..18]),
        network: matched.network.clone(),
        amount: None,
        extensions: None,
    };
    println!("   PAYMENT-RESPONSE: {}…", &header::encode(&settled)[..48]);

    step(6, "It sells an access token: 5 more calls within the hour");
    let keys = KeyRing::new("weather-2026-11", &random::<32>())?;
    let token = keys.issue(&Claims {
        id: format!("tok_{}", hex_of(&random::<8>())),
        iss: "https://api.example.com".into(),
        sub: verified.payer.clone(),
        scope: Scope {
            resource: "https://api.example.com/v1/weather/".into(),
            methods: vec!["GET".into(), "HEAD".into()],
            route: None,
        },
        iat: now,
        exp: now + 3600,
        max_uses: Some(5),
    })?;
    println!(
        "   token {}… ({} bytes), stored as sha256 {}…",
        &token[..24],
        token.len(),
        &token_hash(&token)[..16]
    );

    step(7, "The agent narrows it before handing it to a sub-agent");
    let narrowed = attenuate(&token, &Caveat::Exp(now + 600))?;
    let narrowed = attenuate(&narrowed, &Caveat::Methods(vec!["GET".into()]))?;
    let narrowed = attenuate(&narrowed, &Caveat::MaxUses(2))?;
    match attenuate(&narrowed, &Caveat::MaxUses(50)) {
        Err(e) => println!("   widening is refused: {}", e.code()),
        Ok(_) => return Err("a widening caveat was accepted".into()),
    }

    step(
        8,
        "The provider verifies each use locally, with no round trip",
    );
    for uses_so_far in 0..3u64 {
        let request = TokenRequest::new("GET", url);
        match keys.verify(&narrowed, request, now + 5, uses_so_far) {
            Ok(v) => println!(
                "   use {}: ok ({} caveats, expires in {} s, {} uses allowed)",
                uses_so_far + 1,
                v.caveats,
                v.claims.exp - now,
                v.claims.max_uses.unwrap_or(0)
            ),
            Err(e) => println!("   use {}: refused with {}", uses_so_far + 1, e.code()),
        }
    }
    let post = keys.verify(&narrowed, TokenRequest::new("POST", url), now + 5, 0);
    println!(
        "   POST with the narrowed token: {}",
        post.err().map_or("ok".into(), |e| e.code().to_string())
    );
    let remaining = Decimal::from(1) - usage.spent_today;
    println!("\nDone. The agent can still spend ${remaining} today under its policy.");
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
