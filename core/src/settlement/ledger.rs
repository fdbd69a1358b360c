//! The ledger's settlement decision: given what the ledger knows about a payer and a payment whose
//! signature and terms already verified, what to do — answer an earlier outcome again, refuse
//! with a reason, or post the payment.
//!
//! One pure function, [`decide`], serves both facilitator calls, so `/verify` and `/settle`
//! cannot disagree: `/verify` reads the snapshot without a lock and reports the plan,
//! `/settle` reads it under the payer's lock and carries the plan out in one transaction.
//!
//! # Integrity rules
//!
//! - **Replays only after verification, and only to the same payer.** The caller looks earlier
//!   payments up by `(network, payer, nonce)` and by `(network, payer, payment identifier)`,
//!   with the payer taken from the *verified* payment; so a forged body never reaches this
//!   function, and an identifier cannot reach another payer's outcome.
//! - **The very same payment sent again** (same nonce, same request) is answered with the first
//!   outcome; the same nonce under another request is `invalid_exact_evm_nonce_already_used`.
//! - **A re-signed retry** (new nonce, same payment identifier, same terms) is answered with the
//!   first outcome; the identifier under other terms is `idempotency_key_reused`, which reveals
//!   nothing about the first payment.
//! - **Nothing is free by accident**: a zero amount is refused; a payment that buys a bundle
//!   must pay at least the provider's own price for the resource, in an asset the provider
//!   accepts.
//! - **Checked arithmetic**: a balance that would pass the store's limit is refused
//!   (`balance_overflow`) before anything is written.
//!
//! Check order: amount → nonce replay → identifier replay → policy → balance → bundle price →
//! balance limits. The first failing check is the reason.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::error::{Error, Result};
use crate::idempotency::Fingerprint;
use crate::money::Amount;
use crate::policy::{Decision, PaymentIntent, Policy, Usage};
use crate::pricing::{split_fee, PriceRule};
use crate::token::{Bundle, Claims};

/// A verified payment, as the settler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentFacts {
    /// The network (CAIP-2 or `paywire:<ledger-id>`).
    pub network: String,
    /// The payer as the verified payment names it (wallet id, or checksummed EVM address).
    pub payer: String,
    /// What the payer pays, in atomic units of `asset`.
    pub amount: Amount,
    /// The same amount in whole units, for the payer's policy.
    pub amount_decimal: Decimal,
    /// The asset as the requirements name it.
    pub asset: String,
    /// `payTo`.
    pub pay_to: String,
    /// The resource URL paid for, when the payment names one.
    pub resource: Option<String>,
    /// The fingerprint of the whole facilitator request: the very same payment sent again has
    /// the same one.
    pub request_fingerprint: Fingerprint,
    /// The client's payment identifier (x402 `payment-identifier`), if any.
    pub identifier: Option<String>,
    /// The fingerprint of what the payment asks for ([`super::terms_fingerprint`]): a re-signed retry
    /// under the same identifier has the same one.
    pub terms_fingerprint: Fingerprint,
}

/// An earlier settlement the ledger found for this payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarlierPayment {
    /// Its id (the `transaction` of its answer).
    pub payment_id: String,
    /// Its request fingerprint (for a lookup by nonce) or terms fingerprint (by identifier).
    pub fingerprint: Fingerprint,
}

/// What the ledger knows about the payer and payee, read (under the payer's lock, to settle)
/// before deciding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LedgerSnapshot {
    /// The payer's balance of the asset.
    pub payer_balance: Amount,
    /// The payer's spending policy, if it has one.
    pub policy: Option<Policy>,
    /// The payer's spending so far.
    pub usage: Usage,
    /// The settlement of the same `(network, payer, nonce)`, if any, with its request
    /// fingerprint.
    pub earlier_by_nonce: Option<EarlierPayment>,
    /// The settlement of the same `(network, payer, identifier)`, if any, with its terms
    /// fingerprint.
    pub earlier_by_identifier: Option<EarlierPayment>,
    /// The payee's balance of the asset.
    pub payee_balance: Amount,
    /// The platform fee wallet's balance of the asset.
    pub platform_balance: Amount,
}

/// A bundle the payee sells with payments for this resource, and its price for this payer.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleOffer {
    /// The price rule the resource matched.
    pub rule: PriceRule,
    /// What the token allows.
    pub bundle: Bundle,
    /// The provider's price of the resource for this payer, at `price_decimals`.
    pub price: Amount,
    /// The decimals of `price` (the pricebook's).
    pub price_decimals: u8,
    /// The `(network, asset)` pairs the provider accepts, with each asset's decimals.
    pub accepted: Vec<AcceptedAsset>,
    /// The token's issuer (`iss`).
    pub issuer: String,
    /// The token's claims id (unique, chosen by the caller).
    pub token_id: String,
}

/// One asset a provider accepts payment in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedAsset {
    /// The network.
    pub network: String,
    /// The asset address or ledger code (compared case-insensitively).
    pub asset: String,
    /// Its decimals.
    pub decimals: u8,
}

/// Rules of the ledger that are not about the payment: the fee and what a balance can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerRules {
    /// The platform fee in basis points.
    pub fee_bps: u32,
    /// The largest balance the store can hold, in atomic units (a BIGINT column holds
    /// `i64::MAX`).
    pub max_balance: Amount,
}

/// What to write for a payment that settles.
#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    /// Taken from the payer.
    pub amount: Amount,
    /// Given to the payee (`amount − fee`).
    pub net: Amount,
    /// Given to the platform.
    pub fee: Amount,
    /// The payer's usage after this payment, when it has a policy to keep it for.
    pub usage: Option<Usage>,
    /// The claims of the bundle token the payment buys, if any.
    pub token: Option<Claims>,
}

/// What to do with a verified payment.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Answer the outcome of this earlier payment again; write nothing.
    Replay {
        /// The earlier payment's id.
        payment_id: String,
    },
    /// Refuse: nothing is written.
    Refuse {
        /// The x402 reason code.
        reason: Reason,
        /// What exactly failed.
        message: String,
    },
    /// Post the payment.
    Post(Box<Posting>),
}

impl Plan {
    fn refuse(reason: Reason, message: impl Into<String>) -> Plan {
        Plan::Refuse {
            reason,
            message: message.into(),
        }
    }
}

/// Decides what to do with a verified payment (see the module documentation for the rules and
/// their order).
///
/// `Err(idempotency_key_reused)` when the payment identifier was used by this payer for
/// other terms; every other outcome is a [`Plan`].
pub fn decide(
    payment: &PaymentFacts,
    ledger: &LedgerSnapshot,
    bundle: Option<&BundleOffer>,
    rules: LedgerRules,
    now: u64,
) -> Result<Plan> {
    if payment.amount.is_zero() {
        return Ok(Plan::refuse(
            Reason::InvalidExactEvmPayloadAuthorizationValue,
            "a payment of zero is not a payment",
        ));
    }
    if let Some(earlier) = &ledger.earlier_by_nonce {
        if earlier.fingerprint == payment.request_fingerprint {
            return Ok(Plan::Replay {
                payment_id: earlier.payment_id.clone(),
            });
        }
        return Ok(Plan::refuse(
            Reason::InvalidExactEvmNonceAlreadyUsed,
            "this authorization was settled before",
        ));
    }
    if let Some(earlier) = &ledger.earlier_by_identifier {
        if earlier.fingerprint == payment.terms_fingerprint {
            return Ok(Plan::Replay {
                payment_id: earlier.payment_id.clone(),
            });
        }
        return Err(Error::IdempotencyKeyReused);
    }
    let usage = match &ledger.policy {
        None => None,
        Some(policy) => {
            let intent = PaymentIntent {
                amount: payment.amount_decimal,
                network: payment.network.clone(),
                asset: payment.asset.clone(),
                pay_to: payment.pay_to.clone(),
                resource: payment.resource.clone(),
            };
            // `NeedsApproval` passes: approval is the client's to ask before it signs; the
            // server enforces the limits.
            if let Decision::Deny(reason) = policy.evaluate(&intent, &ledger.usage, now) {
                return Ok(Plan::refuse(
                    Error::PolicyDenied(reason).reason(),
                    format!("the payer's policy refuses: {reason}"),
                ));
            }
            let mut usage = ledger.usage.clone();
            policy.record(&mut usage, payment.amount_decimal, now);
            Some(usage)
        }
    };
    if ledger.payer_balance < payment.amount {
        return Ok(Plan::refuse(
            Reason::InsufficientFunds,
            "the payer's balance is below the amount",
        ));
    }
    let token = match bundle {
        None => None,
        Some(offer) => match bundle_claims(payment, offer, now) {
            Ok(claims) => Some(claims),
            Err((reason, message)) => return Ok(Plan::Refuse { reason, message }),
        },
    };
    let (fee, net) = split_fee(payment.amount, rules.fee_bps)?;
    let fits = |balance: Amount, credit: Amount| {
        balance
            .checked_add(credit)
            .is_ok_and(|total| total <= rules.max_balance)
    };
    if payment.amount > rules.max_balance
        || !fits(ledger.payee_balance, net)
        || !fits(ledger.platform_balance, fee)
    {
        return Ok(Plan::refuse(
            Reason::BalanceOverflow,
            "settling would take a balance past what the ledger holds; nothing was written",
        ));
    }
    Ok(Plan::Post(Box::new(Posting {
        amount: payment.amount,
        net,
        fee,
        usage,
        token,
    })))
}

/// The token a bundle payment buys, once the payment is checked against the provider's own
/// price: an accepted asset, and at least the price (compared at the higher of the two
/// scales, so no rounding favours the payer).
fn bundle_claims(
    payment: &PaymentFacts,
    offer: &BundleOffer,
    now: u64,
) -> std::result::Result<Claims, (Reason, String)> {
    let accepted = offer.accepted.iter().find(|a| {
        crate::network::same_network(&a.network, &payment.network)
            && a.asset.eq_ignore_ascii_case(&payment.asset)
    });
    let Some(accepted) = accepted else {
        return Err((
            Reason::InvalidPaymentRequirements,
            "the provider does not sell this bundle for this asset".into(),
        ));
    };
    let scale = accepted.decimals.max(offer.price_decimals);
    let paid = payment.amount.rescale(accepted.decimals, scale);
    let price = offer.price.rescale(offer.price_decimals, scale);
    match (paid, price) {
        (Ok(paid), Ok(price)) if paid >= price => {}
        (Ok(_), Ok(price)) => {
            return Err((
                Reason::InvalidPaymentRequirements,
                format!(
                    "the amount is below the provider's price for this resource ({price} at {scale} decimals)"
                ),
            ))
        }
        _ => {
            return Err((
                Reason::BalanceOverflow,
                "the amount cannot be compared with the provider's price".into(),
            ))
        }
    }
    let resource = payment.resource.as_deref().unwrap_or_default();
    Ok(offer.bundle.claims(
        offer.token_id.clone(),
        &offer.issuer,
        &payment.payer,
        resource,
        &offer.rule,
        now,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::idempotency::fingerprint;

    const NOW: u64 = 1_767_225_600; // 2026-01-01

    fn payment(amount: u128) -> PaymentFacts {
        PaymentFacts {
            network: "paywire:test".into(),
            payer: "wal_agent".into(),
            amount: Amount::new(amount),
            amount_decimal: Decimal::new(amount as i64, 6),
            asset: "USD".into(),
            pay_to: "wal_provider".into(),
            resource: Some("https://api.example.com/v1/weather/paris".into()),
            request_fingerprint: fingerprint("POST", "/settle", b"body-1"),
            identifier: None,
            terms_fingerprint: fingerprint("POST", "/terms", b"terms-1"),
        }
    }

    fn funded(balance: u128) -> LedgerSnapshot {
        LedgerSnapshot {
            payer_balance: Amount::new(balance),
            ..Default::default()
        }
    }

    fn rules() -> LedgerRules {
        LedgerRules {
            fee_bps: 250,
            max_balance: Amount::new(i64::MAX as u128),
        }
    }

    fn offer(price: u128) -> BundleOffer {
        let rule: PriceRule = serde_json::from_value(serde_json::json!({
            "method": "GET", "path": "/v1/weather/:city", "price": {"flat": price.to_string()}}))
        .unwrap();
        BundleOffer {
            rule,
            bundle: Bundle {
                max_uses: Some(5),
                seconds: 3600,
            },
            price: Amount::new(price),
            price_decimals: 6,
            accepted: vec![AcceptedAsset {
                network: "paywire:test".into(),
                asset: "USD".into(),
                decimals: 6,
            }],
            issuer: "paywire:test".into(),
            token_id: "tok_1".into(),
        }
    }

    fn refusal(plan: Plan) -> String {
        match plan {
            Plan::Refuse { reason, .. } => reason.as_str().to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_funded_payment_posts_with_the_fee_split() {
        let plan = decide(&payment(40_000), &funded(100_000), None, rules(), NOW).unwrap();
        assert_eq!(
            plan,
            Plan::Post(Box::new(Posting {
                amount: Amount::new(40_000),
                net: Amount::new(39_000),
                fee: Amount::new(1_000),
                usage: None,
                token: None,
            }))
        );
    }

    #[test]
    fn zero_is_never_a_payment() {
        let plan = decide(&payment(0), &funded(100), None, rules(), NOW).unwrap();
        assert_eq!(
            refusal(plan),
            code::reason::InvalidExactEvmPayloadAuthorizationValue
        );
    }

    #[test]
    fn the_same_request_replays_and_a_reused_nonce_is_refused() {
        let p = payment(10);
        let mut ledger = funded(0);
        ledger.earlier_by_nonce = Some(EarlierPayment {
            payment_id: "pay_1".into(),
            fingerprint: p.request_fingerprint,
        });
        // Replayed even though the balance is gone now: the payment already happened.
        assert_eq!(
            decide(&p, &ledger, None, rules(), NOW).unwrap(),
            Plan::Replay {
                payment_id: "pay_1".into()
            }
        );
        ledger.earlier_by_nonce.as_mut().unwrap().fingerprint = fingerprint("POST", "/x", b"");
        assert_eq!(
            refusal(decide(&p, &ledger, None, rules(), NOW).unwrap()),
            code::reason::InvalidExactEvmNonceAlreadyUsed
        );
    }

    #[test]
    fn an_identifier_replays_the_same_terms_and_refuses_others_without_revealing() {
        let p = payment(10);
        let mut ledger = funded(100);
        ledger.earlier_by_identifier = Some(EarlierPayment {
            payment_id: "pay_1".into(),
            fingerprint: p.terms_fingerprint,
        });
        assert_eq!(
            decide(&p, &ledger, None, rules(), NOW).unwrap(),
            Plan::Replay {
                payment_id: "pay_1".into()
            }
        );
        ledger.earlier_by_identifier.as_mut().unwrap().fingerprint =
            fingerprint("POST", "/other", b"");
        let error = decide(&p, &ledger, None, rules(), NOW).unwrap_err();
        assert_eq!(error.code(), code::error::IdempotencyKeyReused);
        assert!(!error.to_string().contains("pay_1"));
    }

    #[test]
    fn policy_and_balance_refuse_in_order_and_usage_is_recorded() {
        let mut ledger = funded(5);
        ledger.policy =
            Some(Policy::from_json(serde_json::json!({"maxPerRequest": "0.000005"})).unwrap());
        assert_eq!(
            refusal(decide(&payment(10), &ledger, None, rules(), NOW).unwrap()),
            code::policy::MaxPerRequestExceeded,
            "the policy is checked before the balance"
        );
        assert_eq!(
            refusal(decide(&payment(5), &funded(4), None, rules(), NOW).unwrap()),
            code::reason::InsufficientFunds
        );
        let Plan::Post(posting) = decide(&payment(5), &ledger, None, rules(), NOW).unwrap() else {
            panic!("posts")
        };
        assert_eq!(
            posting.usage.unwrap().spent_today,
            Decimal::new(5, 6),
            "usage after the payment"
        );
    }

    #[test]
    fn a_bundle_needs_the_providers_price_in_an_accepted_asset() {
        let ledger = funded(1_000_000);
        assert_eq!(
            refusal(
                decide(
                    &payment(19_999),
                    &ledger,
                    Some(&offer(20_000)),
                    rules(),
                    NOW
                )
                .unwrap()
            ),
            code::reason::InvalidPaymentRequirements
        );
        let Plan::Post(posting) = decide(
            &payment(20_000),
            &ledger,
            Some(&offer(20_000)),
            rules(),
            NOW,
        )
        .unwrap() else {
            panic!("posts")
        };
        let claims = posting.token.unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.max_uses, claims.exp),
            ("wal_agent", Some(5), NOW + 3600)
        );
        let mut other_asset = payment(20_000);
        other_asset.asset = "EUR".into();
        assert_eq!(
            refusal(decide(&other_asset, &ledger, Some(&offer(20_000)), rules(), NOW).unwrap()),
            code::reason::InvalidPaymentRequirements
        );
        // Prices and payments at different scales are compared exactly.
        let mut fine = offer(1);
        fine.price_decimals = 7; // 0.0000001, i.e. 0.1 of the payment's atomic unit
        assert!(matches!(
            decide(&payment(1), &ledger, Some(&fine), rules(), NOW).unwrap(),
            Plan::Post(_)
        ));
        fine.price = Amount::new(11);
        assert_eq!(
            refusal(decide(&payment(1), &ledger, Some(&fine), rules(), NOW).unwrap()),
            code::reason::InvalidPaymentRequirements
        );
    }

    #[test]
    fn balances_never_pass_the_store_limit() {
        let limit = i64::MAX as u128;
        let mut ledger = funded(limit);
        ledger.payee_balance = Amount::new(limit - 10);
        assert_eq!(
            refusal(decide(&payment(100), &ledger, None, rules(), NOW).unwrap()),
            code::reason::BalanceOverflow
        );
        ledger.payee_balance = Amount::new(limit - 98);
        assert!(matches!(
            decide(&payment(100), &ledger, None, rules(), NOW).unwrap(),
            Plan::Post(_)
        ));
        ledger.platform_balance = Amount::new(limit);
        assert_eq!(
            refusal(decide(&payment(100), &ledger, None, rules(), NOW).unwrap()),
            code::reason::BalanceOverflow,
            "the fee wallet too"
        );
        let mut huge = payment(limit + 1);
        huge.amount_decimal = Decimal::MAX;
        assert_eq!(
            refusal(decide(&huge, &funded(u128::MAX), None, rules(), NOW).unwrap()),
            code::reason::BalanceOverflow
        );
    }
}
