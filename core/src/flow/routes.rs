//! Paywall routes as people write them, read into a [`super::PaywallConfig`]: prices in dollars
//! (`"$0.01"`) beside atomic units, and routes keyed the way Coinbase's x402 middleware takes
//! them, so a provider moving from `@x402/express` keeps its configuration:
//!
//! ```json
//! {
//!   "GET /weather": {"accepts": [{"scheme": "exact", "price": "$0.01",
//!                                 "network": "eip155:84532", "payTo": "0x…"}],
//!                    "description": "Weather"},
//!   "GET /premium/*": {"accepts": {"price": "$0.05", "network": "base", "payTo": "0x…"}},
//!   "/report": {"price": "$1", "network": "paywire:main", "payTo": "wal_…"}
//! }
//! ```
//!
//! A key is `METHOD /path` or a bare path (any method); `[name]` and `:name` match one path
//! segment, a final `*` the rest. Each route's options name a network (CAIP-2 or a v1 name)
//! and are paid in that network's built-in asset (USDC on Base and Base Sepolia, USD on every
//! Paywire ledger) unless `asset` names another; every option of a route costs the same price.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::money::AssetRegistry;
use crate::network;

/// Decimals of a paywall configuration whose `decimals` is not given.
const DEFAULT_DECIMALS: u8 = 6;

/// A paywall configuration (JSON) with Coinbase-style routes turned into price rules and
/// dollar prices into atomic units.
pub fn normalize(mut config: Value) -> Result<Value> {
    let Some(object) = config.as_object_mut() else {
        return Ok(config);
    };
    let decimals = match object.get("decimals") {
        None | Some(Value::Null) => DEFAULT_DECIMALS,
        Some(value) => value
            .as_u64()
            .and_then(|d| u8::try_from(d).ok())
            .ok_or_else(|| {
                Error::InvalidArgument("decimals must be a small whole number".into())
            })?,
    };
    if let Some(Value::Object(routes)) = object.get("routes") {
        let routes = routes.clone();
        object.insert("routes".into(), Value::Array(keyed_routes(&routes)?));
    }
    if let Some(Value::Array(routes)) = object.get_mut("routes") {
        for route in routes.iter_mut() {
            if let Some(route) = route.as_object_mut() {
                if let Some(price) = route.get_mut("price") {
                    dollars_to_atomic(price, decimals)?;
                }
                if let Some(Value::Object(overrides)) = route.get_mut("overrides") {
                    for price in overrides.values_mut() {
                        dollars_to_atomic(price, decimals)?;
                    }
                }
            }
        }
    }
    Ok(config)
}

/// A price's `"$…"` amounts (the flat fee, tier unit prices) as atomic units at `decimals`.
fn dollars_to_atomic(price: &mut Value, decimals: u8) -> Result<()> {
    let Some(price) = price.as_object_mut() else {
        return Ok(());
    };
    convert(price.get_mut("flat"), decimals)?;
    if let Some(Value::Array(tiers)) = price.get_mut("usage").and_then(|u| u.get_mut("tiers")) {
        for tier in tiers {
            convert(tier.get_mut("unitPrice"), decimals)?;
        }
    }
    Ok(())
}

fn convert(amount: Option<&mut Value>, decimals: u8) -> Result<()> {
    if let Some(Value::String(text)) = amount {
        if text.starts_with('$') {
            *text = atomic(text, decimals)?;
        }
    }
    Ok(())
}

/// A dollar price (`"$0.01"`, `"0.01"`, `0.01`) in atomic units at `decimals`.
pub(crate) fn atomic(price: &str, decimals: u8) -> Result<String> {
    let unit = crate::money::Asset::new("paywire:*", "USD", "USD", decimals)?;
    Ok(unit.parse_price(price)?.to_string())
}

/// Routes keyed `"METHOD /path"` as price rules with their own payment options.
fn keyed_routes(routes: &Map<String, Value>) -> Result<Vec<Value>> {
    let registry = AssetRegistry::with_defaults();
    routes
        .iter()
        .map(|(key, config)| keyed_route(key, config, &registry))
        .collect()
}

/// One route keyed `"METHOD /path"` as a price rule with its own payment options.
pub(crate) fn keyed_route(key: &str, config: &Value, registry: &AssetRegistry) -> Result<Value> {
    {
        let invalid = |why: String| Error::PricingRuleInvalid(format!("route {key:?}: {why}"));
        let (method, path) = match key.trim().split_once(char::is_whitespace) {
            Some((method, path)) => (method.to_ascii_uppercase(), path.trim()),
            None => ("*".to_string(), key.trim()),
        };
        if !path.starts_with('/') {
            return Err(invalid("the path must start with /".into()));
        }
        let path = bracket_params(path);
        let (options, description) = match config {
            // Legacy `{"/path": "$0.01"}` needs a payee and a network from somewhere; we have
            // neither, so it is refused rather than guessed.
            Value::String(_) | Value::Number(_) => {
                return Err(invalid("a bare price needs {price, network, payTo}".into()))
            }
            Value::Object(object) => {
                let description = object
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let options: Vec<&Value> = match object.get("accepts") {
                    Some(Value::Array(list)) => list.iter().collect(),
                    Some(single @ Value::Object(_)) => vec![single],
                    Some(_) => {
                        return Err(invalid(
                            "accepts must be an option or a list of them".into(),
                        ))
                    }
                    None => vec![config],
                };
                (options, description)
            }
            _ => return Err(invalid("a route is an object".into())),
        };
        if options.is_empty() {
            return Err(invalid("no payment options".into()));
        }
        let mut price: Option<String> = None;
        let mut accepts = Vec::with_capacity(options.len());
        for option in options {
            let (option_price, accepted) = payment_option(option, registry).map_err(&invalid)?;
            match &price {
                Some(first) if *first != option_price => {
                    return Err(invalid(
                        "every option of a route must cost the same price".into(),
                    ))
                }
                _ => price = Some(option_price),
            }
            accepts.push(accepted);
        }
        let mut rule = serde_json::json!({
            "method": method,
            "path": path,
            "price": {"flat": price.unwrap_or_default()},
            "accepts": accepts,
        });
        if let Some(description) = description {
            rule["description"] = Value::String(description);
        }
        Ok(rule)
    }
}

/// `[id]` path parameters (Next.js style, as x402 examples write them) as `:id`.
fn bracket_params(path: &str) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                Some(name) if !name.is_empty() => format!(":{name}"),
                _ => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// One Coinbase-style option: its price (atomic, at 6 decimals) and the Paywire option.
fn payment_option(
    option: &Value,
    registry: &AssetRegistry,
) -> std::result::Result<(String, Value), String> {
    let field = |name: &str| option.get(name).and_then(Value::as_str);
    if let Some(scheme) = field("scheme") {
        if scheme != "exact" {
            return Err(format!("scheme {scheme:?} is not supported (only exact)"));
        }
    }
    let network_name = field("network").ok_or("an option needs a network")?;
    let caip2 = network::resolve(network_name)
        .map_err(|e| e.to_string())?
        .as_str()
        .to_string();
    let pay_to = field("payTo").ok_or("an option needs payTo")?;
    let asset = match field("asset") {
        Some(address) => registry
            .get(&caip2, address)
            .map_err(|e| e.to_string())?
            .clone(),
        None => registry
            .iter()
            .find(|a| {
                network::same_network(&a.network, &caip2)
                    || (a.network == "paywire:*" && caip2.starts_with("paywire:"))
            })
            .ok_or_else(|| format!("no built-in asset on {caip2}: name one with asset"))?
            .clone(),
    };
    let mut asset = serde_json::to_value(&asset).map_err(|e| e.to_string())?;
    // A ledger entry stands for every ledger: the offer names this one.
    asset["network"] = Value::String(caip2);
    let price = match option.get("price") {
        Some(Value::String(text)) => atomic(text, DEFAULT_DECIMALS).map_err(|e| e.to_string())?,
        Some(Value::Number(number)) => {
            atomic(&number.to_string(), DEFAULT_DECIMALS).map_err(|e| e.to_string())?
        }
        Some(_) => return Err("price must be a dollar amount such as \"$0.01\"".into()),
        None => return Err("an option needs a price".into()),
    };
    let mut accepted = serde_json::json!({"scheme": "exact", "asset": asset, "payTo": pay_to});
    if let Some(timeout) = option.get("maxTimeoutSeconds") {
        accepted["maxTimeoutSeconds"] = timeout.clone();
    }
    Ok((price, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;
    use crate::flow::Paywall;
    use serde_json::json;

    const PAY_TO: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    #[test]
    fn coinbase_routes_become_rules_with_their_own_options() {
        let config = normalize(json!({"routes": {
            "GET /weather": {"accepts": [{"scheme": "exact", "price": "$0.01", "network": "eip155:84532", "payTo": PAY_TO}],
                             "description": "Weather"},
            "/items/[id]": {"accepts": {"price": "0.002", "network": "base-sepolia", "payTo": PAY_TO}},
            "POST /ledger": {"price": "$1", "network": "paywire:main", "payTo": "wal_1"},
        }}))
        .unwrap();
        let routes = config["routes"].as_array().unwrap();
        assert_eq!(routes[0]["method"], "GET");
        assert_eq!(routes[0]["price"]["flat"], "10000");
        assert_eq!(
            routes[0]["accepts"][0]["asset"]["address"],
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
        );
        assert_eq!(routes[0]["description"], "Weather");
        assert_eq!(routes[1]["method"], "*");
        assert_eq!(routes[1]["path"], "/items/:id");
        assert_eq!(routes[1]["price"]["flat"], "2000");
        assert_eq!(routes[1]["accepts"][0]["asset"]["network"], "eip155:84532");
        assert_eq!(routes[2]["accepts"][0]["asset"]["network"], "paywire:main");
        assert_eq!(routes[2]["price"]["flat"], "1000000");
        let paywall = Paywall::from_json(config).unwrap();
        assert_eq!(paywall.config().routes.len(), 3);
    }

    #[test]
    fn dollar_prices_in_paywire_rules_are_atomic_at_the_decimals() {
        let config = normalize(json!({"decimals": 2, "routes": [
            {"method": "GET", "path": "/a", "price": {"flat": "$0.25", "usage": {"mode": "volume", "tiers": [{"unitPrice": "$0.01"}]}},
             "overrides": {"vip": {"flat": "$0.10"}}},
            {"method": "GET", "path": "/b", "price": {"flat": "7"}},
        ]}))
        .unwrap();
        assert_eq!(config["routes"][0]["price"]["flat"], "25");
        assert_eq!(
            config["routes"][0]["price"]["usage"]["tiers"][0]["unitPrice"],
            "1"
        );
        assert_eq!(config["routes"][0]["overrides"]["vip"]["flat"], "10");
        assert_eq!(
            config["routes"][1]["price"]["flat"], "7",
            "atomic prices are left alone"
        );
        let err = normalize(
            json!({"routes": [{"method": "GET", "path": "/a", "price": {"flat": "$0.0000001"}}]}),
        )
        .unwrap_err();
        assert_eq!(err.code(), code::error::AmountTooPrecise);
    }

    #[test]
    fn routes_that_cannot_be_paid_or_priced_are_refused_with_their_key() {
        for (routes, why) in [
            (json!({"GET /a": "$0.01"}), "bare price"),
            (json!({"GET /a": {"accepts": []}}), "no payment options"),
            (
                json!({"GET /a": {"accepts": [{"price": "$0.01", "payTo": PAY_TO}]}}),
                "needs a network",
            ),
            (
                json!({"GET /a": {"accepts": [{"price": "$0.01", "network": "base", "payTo": PAY_TO, "scheme": "upto"}]}}),
                "not supported",
            ),
            (
                json!({"GET /a": {"accepts": [
                {"price": "$0.01", "network": "base", "payTo": PAY_TO},
                {"price": "$0.02", "network": "base-sepolia", "payTo": PAY_TO}]}}),
                "same price",
            ),
            (
                json!({"GET a": {"price": "$0.01", "network": "base", "payTo": PAY_TO}}),
                "start with /",
            ),
            (
                json!({"GET /a": {"price": "$0.01", "network": "solana", "payTo": PAY_TO}}),
                "built-in asset",
            ),
        ] {
            let err = normalize(json!({"routes": routes})).unwrap_err();
            assert_eq!(err.code(), code::error::PricingRuleInvalid, "{why}: {err}");
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
        let none = Paywall::from_json(
            json!({"routes": [{"method": "GET", "path": "/a", "price": {"flat": "1"}}]}),
        );
        assert_eq!(
            none.unwrap_err().code(),
            code::error::PricingRuleInvalid,
            "a route nobody can pay"
        );
    }
}
