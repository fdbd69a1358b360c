//! Pricing: quotes from a pricebook, and the x402 402 body built from a quote.

use paywire_core::money::Amount;
use paywire_core::pricing::{self, PathPattern, PaymentOption, Quote, QuoteRequest};
use paywire_core::protocol::{extensions, JsonObject, ResourceInfo};

use crate::{json, optional_number, parse, parse_optional, small_number, text, Result};

/// Price rules in one currency scale, and the platform fee.
pub struct Pricebook {
    book: pricing::Pricebook,
}

impl Pricebook {
    /// A pricebook from its JSON (`{decimals?, feeBps?, rules}`), validated.
    pub fn new(pricebook: &str) -> Result<Self> {
        Ok(Pricebook {
            book: pricing::pricebook_from_json(&json(pricebook, "pricebook")?)?,
        })
    }

    /// Prices a request (JSON `QuoteRequest`): the quote as JSON.
    pub fn quote(&self, request: &str) -> Result<String> {
        let request: QuoteRequest = parse(request, "quote request")?;
        text(&self.book.quote(&request)?)
    }

    /// The index of the rule that prices `method path`, if any.
    pub fn route(&self, method: &str, path: &str) -> Option<u32> {
        self.book.route(method, path).map(crate::index_u32)
    }

    /// Rule `index` as JSON, if there is one.
    pub fn rule(&self, index: f64) -> Result<Option<String>> {
        let index = small_number(index, "index", u64::from(u32::MAX))? as usize;
        self.book.rules.get(index).map(text).transpose()
    }

    /// The pricebook as JSON.
    pub fn to_json(&self) -> Result<String> {
        text(&self.book)
    }
}

/// The 402 body (v2 by default, v1 on request) offering `quote` in each payment option.
pub fn payment_required(
    quote: &str,
    options: &str,
    resource: &str,
    x402_version: Option<f64>,
    error: Option<&str>,
    extensions: Option<&str>,
) -> Result<String> {
    let error = error.map(str::to_string);
    let quote: Quote = parse(quote, "quote")?;
    let options: Vec<PaymentOption> = parse(options, "payment options")?;
    let resource: ResourceInfo = parse(resource, "resource")?;
    let extensions: Option<JsonObject> = parse_optional(extensions, "extensions")?;
    match optional_number(x402_version, "x402Version", 2, 2)? {
        1 => text(&quote.payment_required_v1(
            &options,
            &resource,
            error.unwrap_or_else(|| "X-PAYMENT header is required".into()),
        )?),
        _ => text(&quote.payment_required_v2(&options, resource, error, extensions)?),
    }
}

/// The `payment-identifier` extension a 402 offers (JSON).
pub fn offer_payment_identifier(required: bool) -> Result<String> {
    text(&extensions::offer_payment_identifier(required))
}

/// `{fee, net}` of a gross atomic amount at `fee_bps` basis points (JSON).
pub fn split_fee(gross: &str, fee_bps: f64) -> Result<String> {
    let gross = Amount::parse_atomic(gross)?;
    let bps = small_number(fee_bps, "feeBps", u64::from(u32::MAX))? as u32;
    let (fee, net) = pricing::split_fee(gross, bps)?;
    text(&serde_json::json!({"fee": fee, "net": net}))
}

/// Whether a path pattern (`/v1/weather/:city`) matches a path.
pub fn path_matches(pattern: &str, path: &str) -> Result<bool> {
    Ok(PathPattern::parse(pattern)?.matches(path))
}
