//! Pricing: quotes from a pricebook, and the x402 402 body built from a quote.

use paywire_core::money::Amount;
use paywire_core::pricing::{self, PathPattern, PaymentOption, Quote, QuoteRequest};
use paywire_core::protocol::{extensions, JsonObject, ResourceInfo};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, json_from_js, optional_number, small_number, string_arg, to_js};
use crate::error::{JsResult, OrThrow};

/// A validated set of price rules (`{decimals?, feeBps?, rules: PriceRule[]}`), parsed once
/// and quoted many times.
///
/// ```js
/// const book = new Pricebook({ rules: [{ method: "GET", path: "/v1/weather/:city", price: { flat: "10000" } }] });
/// book.quote({ method: "GET", path: "/v1/weather/paris" }).amount // "10000"
/// ```
#[wasm_bindgen]
pub struct Pricebook {
    book: pricing::Pricebook,
}

#[wasm_bindgen]
impl Pricebook {
    /// Parses and validates a pricebook; an invalid one throws `pricing_rule_invalid` or
    /// `pricing_fee_invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "PricebookJson")] pricebook: JsValue,
    ) -> JsResult<Pricebook> {
        let json = json_from_js(pricebook, "pricebook")?;
        Ok(Pricebook {
            book: pricing::pricebook_from_json(&json).or_throw()?,
        })
    }

    /// Prices a request (`{method, path, consumer?, quantity?, periodRequests?, periodUnits?}`);
    /// `pricing_no_route` when no rule matches.
    #[wasm_bindgen(unchecked_return_type = "Quote")]
    pub fn quote(
        &self,
        #[wasm_bindgen(unchecked_param_type = "QuoteRequest")] request: JsValue,
    ) -> JsResult<JsValue> {
        let request: QuoteRequest = from_js(request, "quote request")?;
        to_js(&self.book.quote(&request).or_throw()?)
    }

    /// The index of the rule that prices `method path`, or `undefined`.
    pub fn route(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] path: JsValue,
    ) -> JsResult<Option<u32>> {
        let method = &string_arg(&method, "method")?;
        let path = &string_arg(&path, "path")?;
        Ok(self
            .book
            .route(method, path)
            .and_then(|index| u32::try_from(index).ok()))
    }

    /// The rule at `index` (as given to the constructor), or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "PriceRule | undefined")]
    pub fn rule(&self, index: u32) -> JsResult<JsValue> {
        match self.book.rules.get(index as usize) {
            Some(rule) => to_js(rule),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// The pricebook as JSON.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "PricebookJson")]
    pub fn to_json(&self) -> JsResult<JsValue> {
        to_js(&self.book)
    }
}

/// The 402 body for a quote: one requirement per payment option
/// (`{scheme?, asset: Asset, payTo, maxTimeoutSeconds?}`), amounts rescaled to each asset
/// (rounding up). `x402Version` 2 (default) adds `extensions` when given; version 1 builds
/// the v1 JSON body.
///
/// ```js
/// paymentRequired(quote, [{ asset, payTo }], { url: "https://api.example.com/v1/x" }, 2)
/// ```
#[wasm_bindgen(unchecked_return_type = "PaymentRequired", js_name = paymentRequired)]
pub fn payment_required(
    #[wasm_bindgen(unchecked_param_type = "Quote")] quote: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PaymentOption[]")] options: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ResourceInfo")] resource: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] x402_version: JsValue,
    error: Option<String>,
    #[wasm_bindgen(unchecked_param_type = "JsonObject | undefined")] extensions: JsValue,
) -> JsResult<JsValue> {
    let quote: Quote = from_js(quote, "quote")?;
    let options: Vec<PaymentOption> = from_js(options, "payment options")?;
    let resource: ResourceInfo = from_js(resource, "resource")?;
    let extensions: Option<JsonObject> = from_js(extensions, "extensions")?;
    match optional_number(&x402_version, "x402Version", 2, 2)? {
        1 => to_js(
            &quote
                .payment_required_v1(
                    &options,
                    &resource,
                    error.unwrap_or_else(|| "X-PAYMENT header is required".into()),
                )
                .or_throw()?,
        ),
        _ => to_js(
            &quote
                .payment_required_v2(&options, resource, error, extensions)
                .or_throw()?,
        ),
    }
}

/// The `payment-identifier` extension a 402 offers (`required`: whether payments must carry
/// one), to put under `extensions["payment-identifier"]`.
#[wasm_bindgen(unchecked_return_type = "JsonObject", js_name = offerPaymentIdentifier)]
pub fn offer_payment_identifier(required: bool) -> JsResult<JsValue> {
    to_js(&extensions::offer_payment_identifier(required))
}

/// Splits a gross amount into the platform fee (rounded down) and the provider's net.
///
/// ```js
/// splitFee("10000", 250) // { fee: "250", net: "9750" }
/// ```
#[wasm_bindgen(unchecked_return_type = "{ fee: string; net: string }", js_name = splitFee)]
pub fn split_fee(
    #[wasm_bindgen(unchecked_param_type = "string")] gross: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] fee_bps: JsValue,
) -> JsResult<JsValue> {
    let gross = &string_arg(&gross, "gross")?;
    let gross = Amount::parse_atomic(gross).or_throw()?;
    let bps = small_number(&fee_bps, "feeBps", u64::from(u32::MAX))? as u32;
    let (fee, net) = pricing::split_fee(gross, bps).or_throw()?;
    to_js(&serde_json::json!({"fee": fee, "net": net}))
}

/// Whether a path pattern (`/v1/weather/:city`, `/files/*`) matches a request path.
#[wasm_bindgen(js_name = pathMatches)]
pub fn path_matches(
    #[wasm_bindgen(unchecked_param_type = "string")] pattern: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] path: JsValue,
) -> JsResult<bool> {
    let pattern = &string_arg(&pattern, "pattern")?;
    let path = &string_arg(&path, "path")?;
    Ok(PathPattern::parse(pattern).or_throw()?.matches(path))
}
