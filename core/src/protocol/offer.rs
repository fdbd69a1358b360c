//! Offers: the x402 requirements a priced request asks for, built from a [`Quote`] and the
//! ways a provider accepts payment. Pricing knows amounts; this module knows the wire.

use crate::error::Result;
use crate::money::{Amount, Asset};
use crate::network::ChainId;
use crate::pricing::{PaymentOption, Quote};
use crate::protocol::{
    JsonObject, PaymentRequiredV1, PaymentRequiredV2, PaymentRequirements, PaymentRequirementsV1,
    ResourceInfo, Version,
};

impl Quote {
    /// The amount in `asset`'s atomic units (rescaled from the quote's decimals, rounding up).
    pub fn amount_in(&self, asset: &Asset) -> Result<Amount> {
        self.amount.rescale(self.decimals, asset.decimals)
    }

    /// One v2 `PaymentRequirements` per option.
    pub fn requirements_v2(&self, options: &[PaymentOption]) -> Result<Vec<PaymentRequirements>> {
        options
            .iter()
            .map(|option| {
                ChainId::parse(&option.asset.network)?;
                Ok(PaymentRequirements {
                    scheme: option.scheme.clone(),
                    network: option.asset.network.clone(),
                    amount: self.amount_in(&option.asset)?,
                    asset: option.asset.address.clone(),
                    pay_to: option.pay_to.clone(),
                    max_timeout_seconds: option.max_timeout_seconds,
                    extra: (!option.asset.extra.is_empty()).then(|| option.asset.extra.clone()),
                    other: JsonObject::new(),
                })
            })
            .collect()
    }

    /// The v2 402 body (`PAYMENT-REQUIRED`) for this quote.
    pub fn payment_required_v2(
        &self,
        options: &[PaymentOption],
        resource: ResourceInfo,
        error: Option<String>,
        extensions: Option<JsonObject>,
    ) -> Result<PaymentRequiredV2> {
        Ok(PaymentRequiredV2 {
            x402_version: Version,
            error,
            resource,
            accepts: self.requirements_v2(options)?,
            extensions,
        })
    }

    /// One v1 `PaymentRequirements` per option. Networks with a v1 name get it (`base`);
    /// others (Paywire ledgers) keep their CAIP-2 id.
    pub fn requirements_v1(
        &self,
        options: &[PaymentOption],
        resource: &ResourceInfo,
    ) -> Result<Vec<PaymentRequirementsV1>> {
        options
            .iter()
            .map(|option| {
                let chain = ChainId::parse(&option.asset.network)?;
                Ok(PaymentRequirementsV1 {
                    scheme: option.scheme.clone(),
                    network: chain
                        .v1_name()
                        .map_or_else(|| chain.to_string(), str::to_string),
                    max_amount_required: self.amount_in(&option.asset)?,
                    resource: resource.url.clone(),
                    description: resource.description.clone().unwrap_or_default(),
                    mime_type: resource
                        .mime_type
                        .clone()
                        .unwrap_or_else(|| "application/json".into()),
                    output_schema: None,
                    pay_to: option.pay_to.clone(),
                    max_timeout_seconds: option.max_timeout_seconds,
                    asset: option.asset.address.clone(),
                    extra: (!option.asset.extra.is_empty()).then(|| option.asset.extra.clone()),
                    other: JsonObject::new(),
                })
            })
            .collect()
    }

    /// The v1 402 JSON body for this quote: only the options a v1 client can read (those whose
    /// network has a v1 name). v1 clients parse every option against their closed list of
    /// network names and give up on the first they cannot, so one Paywire ledger option would
    /// keep them from paying any other; the v2 header keeps every option.
    pub fn payment_required_v1(
        &self,
        options: &[PaymentOption],
        resource: &ResourceInfo,
        error: impl Into<String>,
    ) -> Result<PaymentRequiredV1> {
        let mut accepts = self.requirements_v1(options, resource)?;
        accepts.retain(|requirements| crate::network::is_v1_name(&requirements.network));
        Ok(PaymentRequiredV1 {
            x402_version: Version,
            error: error.into(),
            accepts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Pricebook, QuoteRequest};
    use serde_json::json;

    #[test]
    fn requirements_carry_the_asset_and_rescale() {
        let book: Pricebook = serde_json::from_value(json!({"feeBps": 100, "rules": [
            {"method": "GET", "path": "/weather", "price": {"flat": "10000"}}]}))
        .unwrap();
        let q = book.quote(&QuoteRequest::new("GET", "/weather")).unwrap();
        let registry = crate::money::AssetRegistry::with_defaults();
        let usdc = registry
            .get("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e")
            .unwrap()
            .clone();
        let eighteen = Asset::new("eip155:1", "0xdai", "DAI", 18).unwrap();
        let options = vec![
            PaymentOption {
                scheme: "exact".into(),
                asset: usdc,
                pay_to: "0xpay".into(),
                max_timeout_seconds: 60,
            },
            PaymentOption {
                scheme: "exact".into(),
                asset: eighteen,
                pay_to: "0xpay".into(),
                max_timeout_seconds: 60,
            },
        ];
        let v2 = q.requirements_v2(&options).unwrap();
        assert_eq!(v2[0].amount, Amount::new(10_000));
        assert_eq!(v2[0].extra.as_ref().unwrap()["name"], "USDC");
        assert_eq!(v2[1].amount, Amount::new(10_000_000_000_000_000));
        let v1 = q
            .requirements_v1(&options, &ResourceInfo::new("https://x/weather"))
            .unwrap();
        assert_eq!(v1[0].network, "base-sepolia");
        assert_eq!(v1[1].network, "ethereum");
        assert_eq!((q.fee, q.net), (Amount::new(100), Amount::new(9_900)));
    }
}
