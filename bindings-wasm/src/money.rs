//! Amounts and assets: exact conversions between prices, decimals and atomic units.

use paywire_core::money::{Amount, Asset, AssetRegistry};
use paywire_core::Error;
use rust_decimal::Decimal;
use wasm_bindgen::prelude::*;

use crate::convert::{small_number, string_arg, to_js};
use crate::error::{JsResult, OrThrow};

/// An asset of `decimals` decimals; conversions depend on nothing else about it.
fn scale(decimals: &JsValue) -> JsResult<Asset> {
    // The core judges the scale (`asset_invalid` above its maximum); only the type is ours.
    let decimals = small_number(decimals, "decimals", u64::from(u8::MAX))? as u8;
    // Network and address only have to be well-formed: the conversions read `decimals`.
    Asset::new(
        "eip155:1",
        "0x0000000000000000000000000000000000000000",
        "UNIT",
        decimals,
    )
    .or_throw()
}

fn atomic(text: &str) -> JsResult<Amount> {
    Amount::parse_atomic(text).or_throw()
}

/// Parses a price (`"$0.01"`, `"0.01"`) into atomic units of an asset with `decimals`.
///
/// ```js
/// parsePrice("$0.01", 6) // "10000"
/// ```
#[wasm_bindgen(js_name = parsePrice)]
pub fn parse_price(
    #[wasm_bindgen(unchecked_param_type = "string")] price: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] decimals: JsValue,
) -> JsResult<String> {
    let price = &string_arg(&price, "price")?;
    Ok(scale(&decimals)?.parse_price(price).or_throw()?.to_string())
}

/// Checks an atomic amount (a base-10 integer string below 2^128) and returns it normalized.
///
/// ```js
/// parseAtomic("0010000") // "10000"
/// ```
#[wasm_bindgen(js_name = parseAtomic)]
pub fn parse_atomic(
    #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
) -> JsResult<String> {
    let text = &string_arg(&text, "text")?;
    Ok(atomic(text)?.to_string())
}

/// Atomic units as a whole-unit decimal string.
///
/// ```js
/// toDecimal("10000", 6) // "0.010000"
/// ```
#[wasm_bindgen(js_name = toDecimal)]
pub fn to_decimal(
    #[wasm_bindgen(unchecked_param_type = "string")] atomic_amount: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] decimals: JsValue,
) -> JsResult<String> {
    let atomic_amount = &string_arg(&atomic_amount, "atomic_amount")?;
    let asset = scale(&decimals)?;
    Ok(asset
        .to_decimal(atomic(atomic_amount)?)
        .or_throw()?
        .to_string())
}

/// A whole-unit decimal string as atomic units; more precision than `decimals` is an error.
///
/// ```js
/// fromDecimal("0.01", 6) // "10000"
/// ```
#[wasm_bindgen(js_name = fromDecimal)]
pub fn from_decimal(
    #[wasm_bindgen(unchecked_param_type = "string")] decimal: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] decimals: JsValue,
) -> JsResult<String> {
    let decimal = &string_arg(&decimal, "decimal")?;
    let asset = scale(&decimals)?;
    let value: Decimal = decimal
        .parse()
        .map_err(|_| Error::AmountInvalid(decimal.to_string()))
        .or_throw()?;
    Ok(asset.from_decimal(value).or_throw()?.to_string())
}

/// Atomic units formatted for people, trailing zeros dropped.
///
/// ```js
/// formatAmount("10000", 6) // "0.01"
/// ```
#[wasm_bindgen(js_name = formatAmount)]
pub fn format_amount(
    #[wasm_bindgen(unchecked_param_type = "string")] atomic_amount: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] decimals: JsValue,
) -> JsResult<String> {
    let atomic_amount = &string_arg(&atomic_amount, "atomic_amount")?;
    Ok(scale(&decimals)?.format(atomic(atomic_amount)?))
}

/// Re-expresses an amount in another number of decimals, rounding up when precision is lost
/// (a price is never undercharged).
///
/// ```js
/// rescaleAmount("1", 6, 2) // "1"  (0.000001 rounds up to 0.01)
/// ```
#[wasm_bindgen(js_name = rescaleAmount)]
pub fn rescale_amount(
    #[wasm_bindgen(unchecked_param_type = "string")] atomic_amount: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] from_decimals: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] to_decimals: JsValue,
) -> JsResult<String> {
    let atomic_amount = &string_arg(&atomic_amount, "atomic_amount")?;
    let max = u64::from(u8::MAX);
    let from = small_number(&from_decimals, "fromDecimals", max)? as u8;
    let to = small_number(&to_decimals, "toDecimals", max)? as u8;
    Ok(atomic(atomic_amount)?
        .rescale(from, to)
        .or_throw()?
        .to_string())
}

/// The built-in asset at `address` on `network` (USDC on Base and Base Sepolia, the Paywire
/// ledger's USD), or `undefined`.
///
/// ```js
/// findAsset("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e").decimals // 6
/// ```
#[wasm_bindgen(unchecked_return_type = "Asset | undefined", js_name = findAsset)]
pub fn find_asset(
    #[wasm_bindgen(unchecked_param_type = "string")] network: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] address: JsValue,
) -> JsResult<JsValue> {
    let network = &string_arg(&network, "network")?;
    let address = &string_arg(&address, "address")?;
    match AssetRegistry::with_defaults().find(network, address) {
        Some(asset) => to_js(asset),
        None => Ok(JsValue::UNDEFINED),
    }
}
