//! Pricing: quotes from a pricebook, and the x402 402 body built from a quote.

use paywire_core::pricing::{self, QuoteRequest};
use wasm_bindgen::prelude::*;

use crate::convert::{from_js, json_from_js, string_arg, to_js};
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
