//! Pricing: which rule prices a request, what it costs, and the x402 requirements to ask for.
//!
//! A [`Pricebook`] holds [`PriceRule`]s, each for an HTTP method and a path pattern. A rule's
//! [`Price`] is a flat fee per request plus optional usage pricing on a caller-supplied
//! quantity (tokens, bytes, rows) in volume or graduated tiers, with an optional free quota per
//! period. Consumers can have their own price. All amounts are atomic units at the pricebook's
//! `decimals` (6 by default, as USDC), so a quote is exact integer arithmetic.
//!
//! # Tiers
//!
//! - **Graduated**: each unit is priced by the band its position in the period falls in. With
//!   bands `≤100 @ 10` and `>100 @ 5`, the 99th–102nd units cost `10+10+5+5`.
//! - **Volume**: every unit of the request is priced at the tier the period's volume reaches
//!   *after* this request. With the same bands, a request taking the volume from 99 to 102
//!   costs `3 × 5`.
//!
//! Quantities are converted to billable units by `unitSize` (price per 1,000 tokens:
//! `unitSize = 1000`), rounding up; callers accumulate `quote.units` to know the period volume.
//!
//! # Platform fee
//!
//! `fee = floor(gross × feeBps / 10 000)` and `net = gross − fee`. The fee rounds down (in the
//! provider's favour), and `fee + net = gross` always, so no atomic unit is created or lost.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::money::{Amount, Asset};

mod path;

pub use path::{canonical_path, PathPattern};

/// The default decimals of prices (USDC's).
pub const DEFAULT_PRICE_DECIMALS: u8 = 6;
/// The default `maxTimeoutSeconds` of requirements (v2 servers' default).
pub const DEFAULT_MAX_TIMEOUT_SECONDS: u64 = 300;
/// Basis points in a whole.
pub const BPS_DENOMINATOR: u32 = 10_000;

/// How tiers price units.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TierMode {
    /// Every unit at the tier the period's volume reaches.
    Volume,
    /// Each unit at its own band's price.
    Graduated,
}

/// One tier: units up to and including `upTo` (in the period) cost `unitPrice` each.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceTier {
    /// The last unit (1-based, within the period) of this tier; `None` for the unbounded top tier.
    #[serde(default)]
    pub up_to: Option<u64>,
    /// Atomic units per billable unit.
    pub unit_price: Amount,
}

/// Usage pricing on a caller-supplied quantity.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsagePricing {
    /// Volume or graduated.
    pub mode: TierMode,
    /// The tiers, by increasing `upTo`; the last has none (it is unbounded).
    pub tiers: Vec<PriceTier>,
    /// The quantity per billable unit (default 1), rounding up: 1000 prices per 1,000 tokens.
    #[serde(default = "one")]
    pub unit_size: u64,
}

fn one() -> u64 {
    1
}

/// What is free each period.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum FreeQuota {
    /// The first N requests of the period cost nothing at all.
    Requests(u64),
    /// The first N billable units of the period are not charged (the flat fee still is).
    Units(u64),
}

/// A price: a flat fee per request, plus optional usage pricing and free quota.
///
/// It names a flat fee, usage pricing, or both: `{}` is refused (`pricing_rule_invalid`), so
/// an endpoint cannot become free by accident. A free route says so: `{"flat": "0"}`.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, try_from = "PriceWire")]
pub struct Price {
    /// Charged per request, in atomic units.
    #[serde(default)]
    pub flat: Amount,
    /// Usage pricing on the request's quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsagePricing>,
    /// Free requests or units per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_quota: Option<FreeQuota>,
}

/// A price as written: `flat` may be absent only when usage pricing is given.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PriceWire {
    #[serde(default)]
    flat: Option<Amount>,
    #[serde(default)]
    usage: Option<UsagePricing>,
    #[serde(default)]
    free_quota: Option<FreeQuota>,
}

impl TryFrom<PriceWire> for Price {
    type Error = Error;

    fn try_from(wire: PriceWire) -> Result<Self> {
        if wire.flat.is_none() && wire.usage.is_none() {
            return Err(Error::PricingRuleInvalid(
                "a price names a flat fee or usage pricing ({\"flat\": \"0\"} for a free route); {} would make the route free by accident".into(),
            ));
        }
        Ok(Price {
            flat: wire.flat.unwrap_or(Amount::ZERO),
            usage: wire.usage,
            free_quota: wire.free_quota,
        })
    }
}

/// A price rule: method, path pattern, price, and per-consumer overrides.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceRule {
    /// The HTTP method (`GET`), compared case-insensitively; `*` for any.
    pub method: String,
    /// The path pattern.
    pub path: PathPattern,
    /// The price.
    pub price: Price,
    /// Prices for particular consumers (by consumer id), replacing `price` for them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Price>,
    /// What the endpoint is, for the 402's resource description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PriceRule {
    /// Whether this rule prices `method path` (the path compared as given; [`Pricebook::route`]
    /// gives it in canonical form).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method)) && self.path.matches(path)
    }

    /// The rule's name in the tokens it sells (`GET /v1/weather/:city`, `* /files/*`): its
    /// method upper-cased and its pattern as written. A token bound to a route is valid only
    /// where the rule of that name is the one that prices the request.
    pub fn route_key(&self) -> String {
        format!(
            "{} {}",
            self.method.to_ascii_uppercase(),
            self.path.as_str()
        )
    }
}

/// A set of price rules in one currency scale, and the platform fee.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pricebook {
    /// Decimals of every amount in the rules (default 6).
    #[serde(default = "default_decimals")]
    pub decimals: u8,
    /// The platform's cut in basis points (0–10 000).
    #[serde(default)]
    pub fee_bps: u32,
    /// Rules, tried in order; the first match prices the request.
    pub rules: Vec<PriceRule>,
}

fn default_decimals() -> u8 {
    DEFAULT_PRICE_DECIMALS
}

/// What to price: the request, who makes it, how much of it, and the period so far.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuoteRequest {
    /// The HTTP method.
    pub method: String,
    /// The request path (a query string is ignored).
    pub path: String,
    /// The consumer, for overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    /// The dynamic quantity (tokens, bytes, ...); 1 when not metered.
    #[serde(default = "one")]
    pub quantity: u64,
    /// Requests this consumer already made on this rule in the current period.
    #[serde(default)]
    pub period_requests: u64,
    /// Billable units this consumer already used on this rule in the current period.
    #[serde(default)]
    pub period_units: u64,
}

impl QuoteRequest {
    /// A request for `method path` with quantity 1 and an empty period.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        QuoteRequest {
            method: method.into(),
            path: path.into(),
            consumer: None,
            quantity: 1,
            period_requests: 0,
            period_units: 0,
        }
    }
}

/// How a quote's amount came about.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteBreakdown {
    /// The flat fee charged.
    pub flat: Amount,
    /// The usage charge.
    pub usage: Amount,
    /// Billable units in this request (quantity ÷ unitSize, rounded up).
    pub units: u64,
    /// Of those, units the free quota covered.
    pub free_units: u64,
    /// Whether the whole request was free (request quota).
    pub free_request: bool,
    /// Whether a consumer override priced it.
    pub consumer_override: bool,
}

/// A priced request: gross amount, platform fee and provider net, and the breakdown.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// Which rule (index into the pricebook's rules) priced it.
    pub rule: usize,
    /// Decimals of the amounts.
    pub decimals: u8,
    /// What the payer pays.
    pub amount: Amount,
    /// The platform's share.
    pub fee: Amount,
    /// The provider's share (`amount − fee`).
    pub net: Amount,
    /// How the amount was computed.
    pub breakdown: QuoteBreakdown,
}

/// Splits `gross` into `(fee, net)` at `fee_bps`, rounding the fee down; `fee + net == gross`.
pub fn split_fee(gross: Amount, fee_bps: u32) -> Result<(Amount, Amount)> {
    if fee_bps > BPS_DENOMINATOR {
        return Err(Error::PricingFeeInvalid(fee_bps));
    }
    // floor(g·b/D) computed as (g/D)·b + (g%D)·b/D, which cannot overflow for b ≤ D.
    let g = gross.atomic();
    let d = u128::from(BPS_DENOMINATOR);
    let b = u128::from(fee_bps);
    let fee = (g / d) * b + (g % d) * b / d;
    Ok((Amount::new(fee), Amount::new(g - fee)))
}

impl Price {
    fn validate(&self) -> Result<()> {
        let Some(usage) = &self.usage else {
            return Ok(());
        };
        if usage.unit_size == 0 {
            return Err(Error::PricingRuleInvalid(
                "unitSize must be at least 1".into(),
            ));
        }
        let Some((last, bounded)) = usage.tiers.split_last() else {
            return Err(Error::PricingRuleInvalid(
                "usage pricing needs at least one tier".into(),
            ));
        };
        if last.up_to.is_some() {
            return Err(Error::PricingRuleInvalid(
                "the last tier must be unbounded (no upTo)".into(),
            ));
        }
        let mut previous = 0u64;
        for tier in bounded {
            match tier.up_to {
                Some(up_to) if up_to > previous => previous = up_to,
                _ => {
                    return Err(Error::PricingRuleInvalid(
                        "tiers need strictly increasing upTo, only the last unbounded".into(),
                    ))
                }
            }
        }
        Ok(())
    }

    /// Prices one request (see the module documentation for the rules).
    fn quote(&self, request: &QuoteRequest) -> Result<QuoteBreakdown> {
        let mut breakdown = QuoteBreakdown {
            flat: Amount::ZERO,
            usage: Amount::ZERO,
            units: 0,
            free_units: 0,
            free_request: false,
            consumer_override: false,
        };
        if let Some(usage) = &self.usage {
            breakdown.units = request.quantity.div_ceil(usage.unit_size.max(1));
        }
        if let Some(FreeQuota::Requests(free)) = self.free_quota {
            if request.period_requests < free {
                breakdown.free_request = true;
                return Ok(breakdown);
            }
        }
        breakdown.flat = self.flat;
        let Some(usage) = &self.usage else {
            return Ok(breakdown);
        };
        if let Some(FreeQuota::Units(free)) = self.free_quota {
            breakdown.free_units = free
                .saturating_sub(request.period_units)
                .min(breakdown.units);
        }
        // Positions are 1-based within the period: this request's charged units occupy
        // (first_charged, last], after the free ones.
        let first_charged = u128::from(request.period_units) + u128::from(breakdown.free_units);
        let last = u128::from(request.period_units) + u128::from(breakdown.units);
        let charged_units = last - first_charged;
        breakdown.usage = match usage.mode {
            TierMode::Volume => {
                let tier = usage
                    .tiers
                    .iter()
                    .find(|t| t.up_to.is_none_or(|up_to| u128::from(up_to) >= last))
                    .ok_or_else(|| Error::PricingRuleInvalid("no unbounded tier".into()))?;
                tier.unit_price.checked_mul(charged_units)?
            }
            TierMode::Graduated => {
                let mut total = Amount::ZERO;
                let mut band_start = 0u128; // positions in this band are (band_start, band_end]
                for tier in &usage.tiers {
                    let band_end = tier.up_to.map_or(u128::MAX, u128::from);
                    let from = first_charged.max(band_start);
                    let to = last.min(band_end);
                    if to > from {
                        total = total.checked_add(tier.unit_price.checked_mul(to - from)?)?;
                    }
                    if band_end >= last {
                        break;
                    }
                    band_start = band_end;
                }
                total
            }
        };
        Ok(breakdown)
    }
}

impl Pricebook {
    /// A pricebook at 6 decimals with no fee.
    pub fn new(rules: Vec<PriceRule>) -> Self {
        Pricebook {
            decimals: DEFAULT_PRICE_DECIMALS,
            fee_bps: 0,
            rules,
        }
    }

    /// Checks every rule and the fee; call once after loading configuration.
    pub fn validate(&self) -> Result<()> {
        if self.fee_bps > BPS_DENOMINATOR {
            return Err(Error::PricingFeeInvalid(self.fee_bps));
        }
        if self.decimals > crate::money::MAX_DECIMALS {
            return Err(Error::PricingRuleInvalid(format!(
                "decimals {} exceeds {}",
                self.decimals,
                crate::money::MAX_DECIMALS
            )));
        }
        for rule in &self.rules {
            if rule.method.is_empty()
                || !rule
                    .method
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'*')
            {
                return Err(Error::PricingRuleInvalid(format!(
                    "bad method {:?}",
                    rule.method
                )));
            }
            rule.price.validate()?;
            for price in rule.overrides.values() {
                price.validate()?;
            }
        }
        Ok(())
    }

    /// The index of the first rule matching `method path`, the path taken in its canonical
    /// form ([`canonical_path`]): `/v1/weather/../admin` is priced as `/v1/admin`.
    pub fn route(&self, method: &str, path: &str) -> Option<usize> {
        let canonical = canonical_path(path);
        self.rules
            .iter()
            .position(|rule| rule.matches(method, &canonical))
    }

    /// Like [`Pricebook::route`], but a path whose spelling would reach another rule than its
    /// canonical form (`/v1/free/../paid` for a server that routes the raw path to `/v1/free/*`
    /// and the canonical one to `/v1/paid`) is refused with `path_ambiguous`: the price, a
    /// token's route and the handler that runs must all mean the same rule, whichever form
    /// the host's router uses.
    pub fn route_unambiguous(&self, method: &str, path: &str) -> Result<Option<usize>> {
        let canonical = self.route(method, path);
        let raw = self
            .rules
            .iter()
            .position(|rule| rule.matches(method, path));
        if raw != canonical {
            return Err(Error::PathAmbiguous(
                crate::error::truncate_for_message(path).to_string(),
            ));
        }
        Ok(canonical)
    }

    /// Prices a request: finds its rule, applies the consumer's override if any, computes the
    /// amount and splits the platform fee.
    pub fn quote(&self, request: &QuoteRequest) -> Result<Quote> {
        let rule_index =
            self.route(&request.method, &request.path)
                .ok_or_else(|| Error::PricingNoRoute {
                    method: crate::error::truncate_for_message(&request.method).to_string(),
                    path: crate::error::truncate_for_message(&request.path).to_string(),
                })?;
        let rule = &self.rules[rule_index];
        let override_price = request
            .consumer
            .as_ref()
            .and_then(|c| rule.overrides.get(c));
        let price = override_price.unwrap_or(&rule.price);
        let mut breakdown = price.quote(request)?;
        breakdown.consumer_override = override_price.is_some();
        let amount = breakdown.flat.checked_add(breakdown.usage)?;
        let (fee, net) = split_fee(amount, self.fee_bps)?;
        Ok(Quote {
            rule: rule_index,
            decimals: self.decimals,
            amount,
            fee,
            net,
            breakdown,
        })
    }
}

/// A way the provider accepts payment: scheme, network, asset and recipient.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentOption {
    /// The scheme (default `exact`).
    #[serde(default = "exact")]
    pub scheme: String,
    /// The asset, whose network, decimals and `extra` are used.
    pub asset: Asset,
    /// The recipient address or ledger wallet.
    pub pay_to: String,
    /// `maxTimeoutSeconds` (default 300).
    #[serde(default = "default_timeout")]
    pub max_timeout_seconds: u64,
}

fn exact() -> String {
    "exact".into()
}

fn default_timeout() -> u64 {
    DEFAULT_MAX_TIMEOUT_SECONDS
}

/// Reads a price rule set from JSON and validates it.
pub fn pricebook_from_json(json: &Value) -> Result<Pricebook> {
    let book: Pricebook = serde_json::from_value(json.clone())
        .map_err(|e| Error::PricingRuleInvalid(e.to_string()))?;
    book.validate()?;
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use serde_json::json;

    fn tiers(mode: TierMode) -> Price {
        Price {
            flat: Amount::ZERO,
            usage: Some(UsagePricing {
                mode,
                tiers: vec![
                    PriceTier {
                        up_to: Some(100),
                        unit_price: Amount::new(10),
                    },
                    PriceTier {
                        up_to: None,
                        unit_price: Amount::new(5),
                    },
                ],
                unit_size: 1,
            }),
            free_quota: None,
        }
    }

    fn book(price: Price) -> Pricebook {
        Pricebook::new(vec![PriceRule {
            method: "POST".into(),
            path: PathPattern::parse("/v1/complete").unwrap(),
            price,
            overrides: BTreeMap::new(),
            description: None,
        }])
    }

    fn quote(book: &Pricebook, quantity: u64, period_units: u64) -> Quote {
        let mut request = QuoteRequest::new("POST", "/v1/complete");
        request.quantity = quantity;
        request.period_units = period_units;
        book.quote(&request).unwrap()
    }

    #[test]
    fn graduated_prices_each_unit_in_its_band() {
        let book = book(tiers(TierMode::Graduated));
        assert_eq!(quote(&book, 4, 98).amount, Amount::new(10 + 10 + 5 + 5));
        assert_eq!(quote(&book, 100, 0).amount, Amount::new(1000));
        assert_eq!(quote(&book, 1, 100).amount, Amount::new(5));
    }

    #[test]
    fn volume_prices_every_unit_at_the_reached_tier() {
        let book = book(tiers(TierMode::Volume));
        assert_eq!(quote(&book, 4, 98).amount, Amount::new(4 * 5));
        assert_eq!(quote(&book, 4, 96).amount, Amount::new(4 * 10));
    }

    #[test]
    fn unit_size_rounds_quantity_up() {
        let mut price = tiers(TierMode::Graduated);
        price.usage.as_mut().unwrap().unit_size = 1000;
        let book = book(price);
        let q = quote(&book, 1001, 0);
        assert_eq!(q.breakdown.units, 2);
        assert_eq!(q.amount, Amount::new(20));
    }

    #[test]
    fn free_quotas_cover_requests_or_units() {
        let mut price = tiers(TierMode::Graduated);
        price.flat = Amount::new(7);
        price.free_quota = Some(FreeQuota::Units(10));
        let units_book = book(price.clone());
        let q = quote(&units_book, 15, 8);
        assert_eq!(q.breakdown.free_units, 2);
        assert_eq!(q.amount, Amount::new(7 + 13 * 10));
        price.free_quota = Some(FreeQuota::Requests(3));
        let requests_book = book(price);
        let mut request = QuoteRequest::new("POST", "/v1/complete");
        request.period_requests = 2;
        assert_eq!(requests_book.quote(&request).unwrap().amount, Amount::ZERO);
        request.period_requests = 3;
        assert_eq!(
            requests_book.quote(&request).unwrap().amount,
            Amount::new(17)
        );
    }

    #[test]
    fn consumer_overrides_replace_the_price() {
        let mut book = book(tiers(TierMode::Graduated));
        book.rules[0].overrides.insert(
            "agent_vip".into(),
            Price {
                flat: Amount::new(1),
                usage: None,
                free_quota: None,
            },
        );
        let mut request = QuoteRequest::new("post", "/v1/complete?stream=true");
        request.quantity = 50;
        request.consumer = Some("agent_vip".into());
        let q = book.quote(&request).unwrap();
        assert_eq!(q.amount, Amount::new(1));
        assert!(q.breakdown.consumer_override);
        request.consumer = Some("someone".into());
        assert_eq!(book.quote(&request).unwrap().amount, Amount::new(500));
    }

    #[test]
    fn fee_split_never_loses_a_unit() {
        assert_eq!(
            split_fee(Amount::new(10_000), 250).unwrap(),
            (Amount::new(250), Amount::new(9_750))
        );
        assert_eq!(
            split_fee(Amount::new(3), 5000).unwrap(),
            (Amount::new(1), Amount::new(2))
        );
        assert_eq!(
            split_fee(Amount::MAX, 10_000).unwrap(),
            (Amount::MAX, Amount::ZERO)
        );
        let (fee, net) = split_fee(Amount::MAX, 9_999).unwrap();
        assert_eq!(fee.atomic() + net.atomic(), u128::MAX);
        assert_eq!(
            split_fee(Amount::new(1), 10_001).unwrap_err().code(),
            code::error::PricingFeeInvalid
        );
    }

    #[test]
    fn rules_are_tried_in_order_and_misses_are_reported() {
        let book: Pricebook = serde_json::from_value(json!({"rules": [
            {"method": "GET", "path": "/weather/today", "price": {"flat": "1"}},
            {"method": "*", "path": "/weather/*", "price": {"flat": "2"}}
        ]}))
        .unwrap();
        assert_eq!(
            book.quote(&QuoteRequest::new("GET", "/weather/today"))
                .unwrap()
                .amount,
            Amount::new(1)
        );
        assert_eq!(
            book.quote(&QuoteRequest::new("DELETE", "/weather/today"))
                .unwrap()
                .amount,
            Amount::new(2)
        );
        assert_eq!(
            book.quote(&QuoteRequest::new("GET", "/other"))
                .unwrap_err()
                .code(),
            code::error::PricingNoRoute
        );
    }

    #[test]
    fn paths_are_priced_in_canonical_form_and_ambiguous_ones_refused() {
        let rule = |method: &str, path: &str, flat: &str| {
            serde_json::from_value::<PriceRule>(serde_json::json!(
                {"method": method, "path": path, "price": {"flat": flat}}
            ))
            .unwrap()
        };
        let book = Pricebook::new(vec![
            rule("GET", "/v1/weather/:city", "10000"),
            rule("GET", "/v1/admin/:x", "9000000"),
            rule("*", "/*", "1000"),
        ]);
        assert_eq!(book.route("GET", "/v1/weather/../admin/keys"), Some(1));
        assert_eq!(book.route("GET", "/v1//weather/oslo"), Some(0));
        assert_eq!(
            book.route_unambiguous("GET", "/v1//weather/oslo"),
            Ok(Some(0))
        );
        assert_eq!(book.route_unambiguous("GET", "/v1/misc/./x"), Ok(Some(2)));
        for ambiguous in [
            "/v1/weather/../admin/keys",
            "/v1/weather/%2e%2e/admin/keys",
            "/v1/%61dmin/keys",
        ] {
            assert_eq!(
                book.route_unambiguous("GET", ambiguous).unwrap_err().code(),
                code::error::PathAmbiguous,
                "{ambiguous}"
            );
        }
        let quote = book
            .quote(&QuoteRequest::new("GET", "/v1/weather/%2e%2e/admin/k"))
            .unwrap();
        assert_eq!((quote.rule, quote.amount), (1, Amount::new(9_000_000)));
        assert_eq!(book.rules[0].route_key(), "GET /v1/weather/:city");
        assert_eq!(book.rules[2].route_key(), "* /*");
    }

    #[test]
    fn invalid_tiers_are_refused() {
        let mut price = tiers(TierMode::Volume);
        price.usage.as_mut().unwrap().tiers[1].up_to = Some(200);
        assert_eq!(
            book(price).validate().unwrap_err().code(),
            code::error::PricingRuleInvalid
        );
        let mut price = tiers(TierMode::Volume);
        price.usage.as_mut().unwrap().tiers.insert(
            1,
            PriceTier {
                up_to: Some(50),
                unit_price: Amount::new(1),
            },
        );
        assert_eq!(
            book(price).validate().unwrap_err().code(),
            code::error::PricingRuleInvalid
        );
        let mut price = tiers(TierMode::Volume);
        price.usage.as_mut().unwrap().unit_size = 0;
        assert_eq!(
            book(price).validate().unwrap_err().code(),
            code::error::PricingRuleInvalid
        );
    }

    #[test]
    fn overflowing_usage_is_an_error_not_a_wrap() {
        let mut price = tiers(TierMode::Graduated);
        price.usage.as_mut().unwrap().tiers[1].unit_price = Amount::MAX;
        let book = book(price);
        let mut request = QuoteRequest::new("POST", "/v1/complete");
        request.quantity = 200;
        assert_eq!(
            book.quote(&request).unwrap_err().code(),
            code::error::AmountOverflow
        );
    }
}
