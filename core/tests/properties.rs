//! Property tests: invariants that must hold for every input, not just the examples.

use std::str::FromStr;

use paywire_core::money::{Amount, Asset};
use paywire_core::policy::{Decision, PaymentIntent, Policy, Usage, VelocityLimit, WindowMode};
use paywire_core::pricing::{
    split_fee, PathPattern, Price, PriceRule, PriceTier, Pricebook, QuoteRequest, TierMode,
    UsagePricing,
};
use paywire_core::protocol::header;
use paywire_core::token::{attenuate, Caveat, Claims, KeyRing, Scope, TokenRequest};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn asset(decimals: u8) -> Asset {
    Asset::new("eip155:1", "0xasset", "T", decimals).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// atomic → decimal → atomic is the identity wherever a Decimal can hold the value.
    #[test]
    fn money_decimal_round_trip(atomic in 0u128..=79_228_162_514_264_337_593_543_950_335u128, decimals in 0u8..=28) {
        let asset = asset(decimals);
        let amount = Amount::new(atomic);
        let decimal = asset.to_decimal(amount).unwrap();
        prop_assert_eq!(asset.from_decimal(decimal).unwrap(), amount);
    }

    /// format → parse_price is the identity for every u128 at every scale.
    #[test]
    fn money_text_round_trip(atomic in any::<u128>(), decimals in 0u8..=28) {
        let asset = asset(decimals);
        let amount = Amount::new(atomic);
        let text = asset.format(amount);
        prop_assert_eq!(asset.parse_price(&text).unwrap(), amount);
        prop_assert_eq!(asset.parse_price(&format!("${text}")).unwrap(), amount);
        prop_assert_eq!(Amount::parse_atomic(&atomic.to_string()).unwrap(), amount);
    }

    /// Money parsers never panic, whatever the text.
    #[test]
    fn money_parsers_never_panic(text in ".{0,64}", decimals in 0u8..=28) {
        let _ = asset(decimals).parse_price(&text);
        let _ = Amount::parse_atomic(&text);
    }

    /// The fee split never creates or loses a unit and never exceeds the rate.
    #[test]
    fn fee_split_conserves(gross in any::<u128>(), bps in 0u32..=10_000) {
        let (fee, net) = split_fee(Amount::new(gross), bps).unwrap();
        prop_assert_eq!(fee.atomic() + net.atomic(), gross);
        // fee = floor(gross·bps/10000), checked with 256-bit-free reasoning: fee·10000 ≤ gross·bps < (fee+1)·10000
        let g = primitive_u256(gross, bps);
        prop_assert!(u256_le(primitive_u256(fee.atomic(), 10_000), g));
        prop_assert!(!u256_le(primitive_u256(fee.atomic() + 1, 10_000), g) || fee.atomic() == gross);
    }

    /// Graduated pricing equals the sum of each unit's own band price.
    #[test]
    fn graduated_tiers_sum_per_unit_prices(
        bounds in prop::collection::btree_set(1u64..300, 0..5),
        prices in prop::collection::vec(0u128..1_000_000, 6),
        period_units in 0u64..400,
        quantity in 0u64..400,
    ) {
        let (tiers, quote) = tiered_quote(TierMode::Graduated, &bounds, &prices, period_units, quantity);
        let unit_price = |position: u64| -> u128 { tier_at(&tiers, position).unit_price.atomic() };
        let expected: u128 = (period_units + 1..=period_units + quantity).map(unit_price).sum();
        prop_assert_eq!(quote.amount.atomic(), expected);
    }

    /// Volume pricing charges every unit at one tier: the one the period's volume reaches.
    #[test]
    fn volume_tiers_use_the_reached_tier(
        bounds in prop::collection::btree_set(1u64..300, 0..5),
        prices in prop::collection::vec(0u128..1_000_000, 6),
        period_units in 0u64..400,
        quantity in 0u64..400,
    ) {
        let (tiers, quote) = tiered_quote(TierMode::Volume, &bounds, &prices, period_units, quantity);
        let tier = tier_at(&tiers, period_units + quantity);
        prop_assert_eq!(quote.amount.atomic(), tier.unit_price.atomic() * u128::from(quantity));
    }

    /// Whatever sequence of payments an agent attempts, the payments the policy allows never
    /// add up past a daily or monthly limit or the velocity limit — checked against a log.
    #[test]
    fn no_sequence_of_payments_passes_a_limit(
        steps in prop::collection::vec((1u64..5_000_000, 0u64..40_000), 1..120),
        daily_cents in 1u64..2_000,
        monthly_cents in 1u64..20_000,
        offset in -720i32..=840,
        rolling in any::<bool>(),
    ) {
        let daily = Decimal::new(daily_cents as i64, 2);
        let monthly = Decimal::new(monthly_cents as i64, 2);
        let policy = Policy {
            daily_limit: Some(daily),
            monthly_limit: Some(monthly),
            velocity: Some(VelocityLimit { max_payments: 5, window_seconds: 600 }),
            windows: if rolling { WindowMode::Rolling } else { WindowMode::Calendar { utc_offset_minutes: offset } },
            ..Default::default()
        };
        let mut usage = Usage::default();
        let mut now = 1_790_000_000u64;
        let mut log: Vec<(u64, Decimal)> = vec![];
        for (micro, gap) in steps {
            now += gap;
            let amount = Decimal::new(micro as i64, 6);
            let intent = PaymentIntent {
                amount, network: "paywire:main".into(), asset: "USD".into(), pay_to: "p".into(), resource: None,
            };
            if policy.evaluate(&intent, &usage, now) != Decision::Allow {
                continue;
            }
            policy.record(&mut usage, amount, now);
            log.push((now, amount));
            let sum = |from: u64| log.iter().filter(|(t, _)| *t > from).map(|(_, a)| *a).sum::<Decimal>();
            let count = |from: u64| log.iter().filter(|(t, _)| *t > from).count();
            prop_assert!(count(now.saturating_sub(600)) <= 5, "velocity passed");
            if rolling {
                prop_assert!(sum(now.saturating_sub(86_400)) <= daily, "rolling day passed");
                prop_assert!(sum(now.saturating_sub(30 * 86_400)) <= monthly, "rolling month passed");
            } else {
                let local_day = |t: u64| (t as i64 + i64::from(offset) * 60).div_euclid(86_400);
                let today: Decimal = log.iter().filter(|(t, _)| local_day(*t) == local_day(now)).map(|(_, a)| *a).sum();
                prop_assert!(today <= daily, "calendar day passed");
            }
        }
    }

    /// Attenuation only narrows: any chain of accepted caveats verifies only requests the
    /// original token allows, with an expiry and use count no larger than the original's.
    #[test]
    fn attenuation_only_narrows(
        caveats in prop::collection::vec(caveat_strategy(), 0..6),
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        path in prop::sample::select(vec!["/v1/", "/v1/a", "/v1/a/b", "/v1/b", "/v2/a", "/v1/ab"]),
        now in 900u64..2_200,
        uses in 0u64..12,
    ) {
        let ring = KeyRing::new("k1", &[9u8; 32]).unwrap();
        let original = ring.issue(&claims()).unwrap();
        let mut token = original.clone();
        for caveat in &caveats {
            if let Ok(next) = attenuate(&token, caveat) {
                token = next;
            }
        }
        let request = TokenRequest::new(method, path);
        if let Ok(verified) = ring.verify(&token, request, now, uses) {
            prop_assert!(ring.verify(&original, request, now, uses).is_ok());
            prop_assert!(verified.claims.exp <= 2_000);
            prop_assert!(verified.claims.max_uses.unwrap() <= 10);
        }
    }

    /// Header codec: encode → decode is the identity; decode never panics.
    #[test]
    fn header_round_trip(payer in "[a-zA-Z0-9_]{1,40}", value in any::<u64>(), nonce in any::<[u8; 32]>(), extra in ".{0,40}") {
        let payload = serde_json::json!({"x402Version": 2,
            "accepted": {"scheme": "exact", "network": "paywire:main", "amount": value.to_string(), "asset": "USD",
                "payTo": "p", "maxTimeoutSeconds": 60, "extra": {"note": extra}},
            "payload": {"signature": "0x00", "authorization": {"from": payer, "to": "p", "value": value.to_string(),
                "validAfter": "0", "validBefore": "1", "nonce": format!("0x{}", hex_string(&nonce))}}});
        let encoded = header::encode(&payload);
        let decoded = header::decode_payment_payload(&encoded, header::DEFAULT_HEADER_LIMIT).unwrap();
        prop_assert_eq!(serde_json::to_value(&decoded).unwrap(), payload);
        prop_assert_eq!(header::encode(&decoded), encoded);
    }

    #[test]
    fn header_decoders_never_panic(text in ".{0,300}") {
        let _ = header::decode_payment_payload(&text, 256);
        let _ = header::decode_payment_required(&text, 256);
        let _ = header::decode_settle_response(&text, 256);
    }

    #[test]
    fn header_decoders_never_panic_on_valid_base64_of_anything(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        use base64::Engine as _;
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = header::decode_payment_payload(&text, 4096);
        let _ = header::decode_payment_required(&text, 4096);
    }

    /// Every other parser in the core refuses garbage without panicking.
    #[test]
    fn parsers_never_panic(text in ".{0,200}") {
        let ring = KeyRing::new("k1", &[9u8; 32]).unwrap();
        let _ = ring.verify(&text, TokenRequest::new("GET", "/"), 0, 0);
        let _ = attenuate(&text, &Caveat::MaxUses(1));
        let _ = paywire_core::token::inspect(&text);
        let _ = paywire_core::network::resolve(&text);
        let _ = paywire_core::network::ChainId::parse(&text);
        let _ = paywire_core::idempotency::IdempotencyKey::parse(&text);
        let _ = PathPattern::parse(&text);
        let _ = paywire_core::protocol::ledger::parse_nonce(&text);
        let _ = paywire_core::protocol::ledger::WalletSecret::from_hex(&text);
        let _ = paywire_core::policy::host_of(&text);
        let _ = serde_json::from_str::<paywire_core::protocol::FacilitatorRequest>(&text);
        let _ = serde_json::from_str::<Policy>(&text);
        let _ = serde_json::from_str::<Pricebook>(&text);
        let _ = Decimal::from_str(&text);
    }
}

fn caveat_strategy() -> impl Strategy<Value = Caveat> {
    prop_oneof![
        (500u64..3_000).prop_map(Caveat::Exp),
        (0u64..20).prop_map(Caveat::MaxUses),
        prop::sample::select(vec!["/", "/v1", "/v1/", "/v1/a", "/v2", "/v1/a/b"])
            .prop_map(|r| Caveat::Resource(r.into())),
        prop::sample::subsequence(vec!["GET", "POST", "PUT", "DELETE"], 0..4)
            .prop_map(|m| Caveat::Methods(m.into_iter().map(String::from).collect())),
    ]
}

fn claims() -> Claims {
    Claims {
        id: "t".into(),
        iss: "i".into(),
        sub: "s".into(),
        scope: Scope {
            resource: "/v1/".into(),
            methods: vec!["GET".into(), "POST".into()],
            route: None,
        },
        iat: 1_000,
        exp: 2_000,
        max_uses: Some(10),
    }
}

/// Tiers bounded at `bounds` (then one unbounded tier) priced by `prices`, and the quote for
/// `quantity` units after `period_units` this period.
fn tiered_quote(
    mode: TierMode,
    bounds: &std::collections::BTreeSet<u64>,
    prices: &[u128],
    period_units: u64,
    quantity: u64,
) -> (Vec<PriceTier>, paywire_core::Quote) {
    let mut tiers: Vec<PriceTier> = bounds
        .iter()
        .zip(prices)
        .map(|(b, p)| PriceTier {
            up_to: Some(*b),
            unit_price: Amount::new(*p),
        })
        .collect();
    tiers.push(PriceTier {
        up_to: None,
        unit_price: Amount::new(prices[5]),
    });
    let mut request = QuoteRequest::new("GET", "/x");
    request.quantity = quantity;
    request.period_units = period_units;
    let quote = book(mode, tiers.clone()).quote(&request).unwrap();
    (tiers, quote)
}

/// The tier that prices the unit at 1-based `position` in the period.
fn tier_at(tiers: &[PriceTier], position: u64) -> &PriceTier {
    tiers
        .iter()
        .find(|t| t.up_to.is_none_or(|u| position <= u))
        .unwrap()
}

fn book(mode: TierMode, tiers: Vec<PriceTier>) -> Pricebook {
    let book = Pricebook::new(vec![PriceRule {
        method: "*".into(),
        path: PathPattern::parse("/x").unwrap(),
        price: Price {
            flat: Amount::ZERO,
            usage: Some(UsagePricing {
                mode,
                tiers,
                unit_size: 1,
            }),
            free_quota: None,
        },
        overrides: Default::default(),
        description: None,
    }]);
    book.validate().unwrap();
    book
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// a·b as a (high, low) pair of u128, for exact comparisons of products past u128.
fn primitive_u256(a: u128, b: u32) -> (u128, u128) {
    let b = u128::from(b);
    let (a_hi, a_lo) = (a >> 64, a & u128::from(u64::MAX));
    let lo = a_lo * b;
    let mid = a_hi * b + (lo >> 64);
    (mid >> 64, (mid << 64) | (lo & u128::from(u64::MAX)))
}

fn u256_le(a: (u128, u128), b: (u128, u128)) -> bool {
    a <= b
}

/// The settlement decision over arbitrary ledgers: what it posts always balances and fits.
mod settlement_decision {
    use paywire_core::idempotency::fingerprint;
    use paywire_core::money::Amount;
    use paywire_core::settlement::ledger::{
        decide, EarlierPayment, LedgerRules, LedgerSnapshot, PaymentFacts, Plan,
    };
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    const MAX: u128 = i64::MAX as u128;

    fn facts(amount: u128, identifier: bool) -> PaymentFacts {
        PaymentFacts {
            network: "paywire:test".into(),
            payer: "wal_agent".into(),
            amount: Amount::new(amount),
            amount_decimal: Decimal::from_i128_with_scale(amount.min(MAX) as i128, 6),
            asset: "USD".into(),
            pay_to: "wal_provider".into(),
            resource: None,
            request_fingerprint: fingerprint("POST", "/settle", &amount.to_be_bytes()),
            identifier: identifier.then(|| "pay_0123456789abcdef".into()),
            terms_fingerprint: fingerprint("POST", "/terms", &amount.to_be_bytes()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// A posting takes exactly what it gives, never from a short balance, never past the
        /// ledger's limit; zero is never posted.
        #[test]
        fn a_posting_balances_and_fits(
            amount in 0u128..=MAX + 10,
            payer in 0u128..=MAX,
            payee in 0u128..=MAX,
            platform in 0u128..=MAX,
            fee_bps in 0u32..=10_000,
        ) {
            let ledger = LedgerSnapshot {
                payer_balance: Amount::new(payer),
                payee_balance: Amount::new(payee),
                platform_balance: Amount::new(platform),
                ..Default::default()
            };
            let rules = LedgerRules { fee_bps, max_balance: Amount::new(MAX) };
            match decide(&facts(amount, false), &ledger, None, rules, 1_000).unwrap() {
                Plan::Post(posting) => {
                    prop_assert!(amount > 0);
                    prop_assert!(posting.amount.atomic() <= payer);
                    prop_assert_eq!(posting.net.atomic() + posting.fee.atomic(), amount);
                    prop_assert!(payee + posting.net.atomic() <= MAX);
                    prop_assert!(platform + posting.fee.atomic() <= MAX);
                }
                Plan::Refuse { .. } => {
                    let fits = amount <= MAX
                        && payee.checked_add(amount).is_some_and(|t| t <= MAX)
                        && platform.checked_add(amount).is_some_and(|t| t <= MAX);
                    prop_assert!(amount == 0 || amount > payer || !fits, "refused a payment that fits");
                }
                Plan::Replay { .. } => prop_assert!(false, "a replay without an earlier payment"),
            }
        }

        /// An earlier payment is replayed only for the very same request (by nonce) or the same
        /// terms (by identifier); otherwise it is refused or a conflict, never someone's outcome.
        #[test]
        fn replays_need_the_same_request_or_terms(
            amount in 1u128..1_000_000,
            same_request in any::<bool>(),
            same_terms in any::<bool>(),
            by_nonce in any::<bool>(),
        ) {
            let payment = facts(amount, !by_nonce);
            let other = fingerprint("POST", "/other", b"");
            let earlier = |matching: bool, fp| EarlierPayment {
                payment_id: "pay_earlier".into(),
                fingerprint: if matching { fp } else { other },
            };
            let ledger = LedgerSnapshot {
                payer_balance: Amount::new(amount),
                earlier_by_nonce: by_nonce.then(|| earlier(same_request, payment.request_fingerprint)),
                earlier_by_identifier: (!by_nonce).then(|| earlier(same_terms, payment.terms_fingerprint)),
                ..Default::default()
            };
            let rules = LedgerRules { fee_bps: 0, max_balance: Amount::new(MAX) };
            let decided = decide(&payment, &ledger, None, rules, 1_000);
            let should_replay = if by_nonce { same_request } else { same_terms };
            match decided {
                Ok(Plan::Replay { payment_id }) => {
                    prop_assert!(should_replay);
                    prop_assert_eq!(payment_id, "pay_earlier");
                }
                Ok(Plan::Refuse { reason, .. }) => {
                    prop_assert!(by_nonce && !same_request);
                    prop_assert_eq!(reason.as_str(), "invalid_exact_evm_nonce_already_used");
                }
                Err(error) => {
                    prop_assert!(!by_nonce && !same_terms);
                    prop_assert_eq!(error.code(), "idempotency_key_reused");
                }
                Ok(Plan::Post(_)) => prop_assert!(false, "an earlier payment was posted again"),
            }
        }
    }
}
