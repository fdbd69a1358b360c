//! Criterion benchmarks for the core's hot paths.
//!
//! Run with: `cargo bench -p paywire-core --bench core`
//!
//! Targets (issue #2): token verify ≤ 1 µs, token sign ≤ 1 µs, policy evaluate ≤ 150 ns,
//! quote ≤ 200 ns, header decode ≤ 5 µs for a typical payload, idempotency begin ≤ 200 ns.
//! Issue #3: EVM payment verification ≤ 60 µs, digest ≤ 2 µs with a cached domain,
//! signing ≤ 100 µs.

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use paywire_core::idempotency::{
    fingerprint, IdempotencyConfig, IdempotencyKey, IdempotencyStore, MemoryStore, StoredOutcome,
};
use paywire_core::policy::{PaymentIntent, Policy, Usage, VelocityLimit};
use paywire_core::pricing::{Pricebook, QuoteRequest};
use paywire_core::protocol::{header, ledger, AnyRequirements, PaymentPayload};
use paywire_core::token::{Claims, KeyRing, Scope, TokenRequest};
use rust_decimal::Decimal;
use serde_json::json;

const NOW: u64 = 1_795_262_400;

fn claims() -> Claims {
    Claims {
        id: "tok_01JD4Q3ZK8V6Y2M1N0P9R7S5T3".into(),
        iss: "https://api.example.com".into(),
        sub: "0x857b06519E91e3A54538791bDbb0E22373e36b66".into(),
        scope: Scope {
            resource: "https://api.example.com/v1/".into(),
            methods: vec!["GET".into()],
            route: None,
        },
        iat: NOW,
        exp: NOW + 3600,
        max_uses: Some(100),
    }
}

fn tokens(c: &mut Criterion) {
    let ring = KeyRing::new("k1", &[7u8; 32]).unwrap();
    let claims = claims();
    c.bench_function("token_sign", |b| {
        b.iter(|| ring.issue(black_box(&claims)).unwrap())
    });
    let token = ring.issue(&claims).unwrap();
    let request = TokenRequest::new("GET", "https://api.example.com/v1/weather?city=SF");
    c.bench_function("token_verify", |b| {
        b.iter(|| {
            ring.verify(black_box(&token), black_box(request), NOW + 10, 3)
                .unwrap()
        })
    });
    let attenuated =
        paywire_core::token::attenuate(&token, &paywire_core::token::Caveat::MaxUses(5)).unwrap();
    c.bench_function("token_verify_one_caveat", |b| {
        b.iter(|| {
            ring.verify(black_box(&attenuated), black_box(request), NOW + 10, 3)
                .unwrap()
        })
    });
}

fn policy(c: &mut Criterion) {
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let policy = Policy {
        max_per_request: Some(d("1")),
        daily_limit: Some(d("10")),
        monthly_limit: Some(d("100")),
        allowed_payees: Some(vec!["0x209693bc6afc0c5328ba36faf03c514ef312287c".into()]),
        allowed_networks: Some(vec!["eip155:84532".into(), "paywire:main".into()]),
        allowed_assets: Some(vec!["0x036CbD53842c5426634e7929541eC2318f3dCF7e".into()]),
        allowed_hosts: Some(vec!["*.example.com".into()]),
        velocity: Some(VelocityLimit {
            max_payments: 60,
            window_seconds: 60,
        }),
        approval_threshold: Some(d("0.5")),
        windows: Default::default(),
    };
    let mut usage = Usage::default();
    for i in 0..10 {
        policy.record(&mut usage, d("0.01"), NOW - 30 + i);
    }
    let intent = PaymentIntent {
        amount: d("0.01"),
        network: "eip155:84532".into(),
        asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e".into(),
        pay_to: "0x209693Bc6afc0C5328bA36FaF03C514EF312287C".into(),
        resource: Some("https://api.example.com/weather".into()),
    };
    c.bench_function("policy_evaluate", |b| {
        b.iter(|| policy.evaluate(black_box(&intent), black_box(&usage), NOW))
    });
}

fn pricing(c: &mut Criterion) {
    let book: Pricebook = serde_json::from_value(json!({"feeBps": 250, "rules": [
        {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}},
        {"method": "GET", "path": "/v1/news", "price": {"flat": "5000"}},
        {"method": "POST", "path": "/v1/complete", "price": {"flat": "1000", "usage": {"mode": "graduated", "unitSize": 1000,
            "tiers": [{"upTo": 100, "unitPrice": "200"}, {"upTo": 1000, "unitPrice": "150"}, {"unitPrice": "100"}]},
            "freeQuota": {"units": 10}}}
    ]})).unwrap();
    let request = QuoteRequest {
        method: "POST".into(),
        path: "/v1/complete".into(),
        consumer: Some("agent_1".into()),
        quantity: 48_000,
        period_requests: 10,
        period_units: 90,
    };
    c.bench_function("quote", |b| {
        b.iter(|| book.quote(black_box(&request)).unwrap())
    });
}

fn headers(c: &mut Criterion) {
    let payload = json!({"x402Version":2,
        "resource":{"url":"https://api.example.com/premium-data","description":"Premium data","mimeType":"application/json"},
        "accepted":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e",
          "payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}},
        "payload":{"signature":"0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c",
          "authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","value":"10000",
            "validAfter":"0","validBefore":"1740672154","nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}},
        "extensions":{}});
    let encoded = header::encode(&payload);
    c.bench_function("header_decode", |b| {
        b.iter(|| {
            header::decode_payment_payload(black_box(&encoded), header::DEFAULT_HEADER_LIMIT)
                .unwrap()
        })
    });
}

fn ledger_scheme(c: &mut Criterion) {
    let requirements: paywire_core::PaymentRequirements =
        serde_json::from_value(json!({"scheme":"exact","network":"paywire:main",
        "amount":"10000","asset":"USD","payTo":"wallet_provider","maxTimeoutSeconds":60}))
        .unwrap();
    let secret = ledger::WalletSecret::from_bytes(b"wallet-secret-0123456789").unwrap();
    let any = AnyRequirements::V2(requirements.clone());
    let exact = ledger::sign_payment(&any, "wallet_agent", &secret, &[5; 32], NOW).unwrap();
    let payment = PaymentPayload::from_json_value(
        json!({"x402Version": 2, "accepted": requirements, "payload": exact.to_object()}),
    )
    .unwrap();
    c.bench_function("ledger_verify", |b| {
        b.iter(|| {
            ledger::verify_payment(black_box(&payment), &any, NOW, |_| Some(secret.clone()))
                .unwrap()
        })
    });
}

fn evm(c: &mut Criterion) {
    use paywire_core::protocol::evm::{
        self, Address, Eip712Domain, PrivateKey, TransferWithAuthorization,
    };
    let key =
        PrivateKey::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
    let required = paywire_core::PaymentRequired::from_json_value(json!({"x402Version": 2,
        "resource": {"url": "https://api.example.com/premium-data"},
        "accepts": [{"scheme": "exact", "network": "eip155:84532", "amount": "10000",
            "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "maxTimeoutSeconds": 60, "extra": {"name": "USDC", "version": "2"}}]})).unwrap();
    let requirements = required.requirements(0).unwrap();
    let exact = evm::sign_payment(&requirements, &key, &[9; 32], NOW).unwrap();
    let payment = required.payment(0, exact.to_object()).unwrap();
    c.bench_function("evm_verify_payment", |b| {
        b.iter(|| evm::verify_payment(black_box(&payment), black_box(&requirements), NOW).unwrap())
    });
    let domain = Eip712Domain::new(
        "USDC",
        "2",
        84_532,
        Address::parse("0x036CbD53842c5426634e7929541eC2318f3dCF7e").unwrap(),
    );
    let transfer = TransferWithAuthorization {
        from: key.address(),
        to: Address::parse("0x209693Bc6afc0C5328bA36FaF03C514EF312287C").unwrap(),
        value: paywire_core::Amount::new(10_000),
        valid_after: 0,
        valid_before: NOW + 60,
        nonce: [9; 32],
    };
    c.bench_function("evm_digest_cached_domain", |b| {
        b.iter(|| black_box(&domain).signing_digest(black_box(&transfer)))
    });
    let digest = domain.signing_digest(&transfer);
    c.bench_function("evm_sign_digest", |b| {
        b.iter(|| key.sign_digest(black_box(&digest)))
    });
    let signature = key.sign_digest(&digest);
    c.bench_function("evm_recover", |b| {
        b.iter(|| signature.recover(black_box(&digest)).unwrap())
    });
    c.bench_function("evm_sign_payment", |b| {
        b.iter(|| evm::sign_payment(black_box(&requirements), &key, &[9; 32], NOW).unwrap())
    });
}

fn idempotency(c: &mut Criterion) {
    let fp = fingerprint("POST", "/v1/settle", br#"{"amount":"10000"}"#);
    // A fresh key each time: the Proceed path, which inserts the in-progress record.
    c.bench_function("idempotency_begin_new_key", |b| {
        b.iter_custom(|iters| {
            let keys: Vec<IdempotencyKey> = (0..iters)
                .map(|i| IdempotencyKey::parse(&format!("pay_{i:016}")).unwrap())
                .collect();
            let mut store = MemoryStore::new(iters as usize + 1, IdempotencyConfig::default());
            let start = Instant::now();
            for key in &keys {
                black_box(store.begin(key, &fp, NOW).unwrap());
            }
            start.elapsed()
        })
    });
    // A retry of a completed request: the Replay path.
    let mut store = MemoryStore::new(1024, IdempotencyConfig::default());
    let key = IdempotencyKey::parse("pay_retry").unwrap();
    store.begin(&key, &fp, NOW).unwrap();
    store
        .complete(
            &key,
            &fp,
            StoredOutcome {
                status: 200,
                body: "{\"success\":true}".into(),
            },
            NOW,
        )
        .unwrap();
    c.bench_function("idempotency_begin_replay", |b| {
        b.iter(|| store.begin(black_box(&key), &fp, NOW).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = tokens, policy, pricing, headers, ledger_scheme, evm, idempotency
}
criterion_main!(benches);
