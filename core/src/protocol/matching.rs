//! Requirement matching: which offered requirement a payment was made against.
//!
//! v2 (as the latest TypeScript and Python servers do): every field of `accepted` other than
//! `extra` equals the offer's, and the offer's `extra` is a subset of the client's (a client may
//! add fields, never drop or change one). v1: `scheme` and `network` only.

use crate::error::{Error, Result};
use crate::protocol::types::{
    AnyRequirements, JsonObject, PaymentPayload, PaymentPayloadV1, PaymentPayloadV2,
    PaymentRequirements, PaymentRequirementsV1,
};

/// Whether the client's `accepted` matches the server's `offered` requirements (v2 rule).
pub fn requirements_match(accepted: &PaymentRequirements, offered: &PaymentRequirements) -> bool {
    accepted.scheme == offered.scheme
        && accepted.network == offered.network
        && accepted.amount == offered.amount
        && accepted.asset == offered.asset
        && accepted.pay_to == offered.pay_to
        && accepted.max_timeout_seconds == offered.max_timeout_seconds
        && accepted.other == offered.other
        && extra_is_subset(offered.extra.as_ref(), accepted.extra.as_ref())
}

/// Every key of `offered` is in `accepted` with an equal value. An absent or empty offer is a
/// subset of anything.
fn extra_is_subset(offered: Option<&JsonObject>, accepted: Option<&JsonObject>) -> bool {
    let Some(offered) = offered.filter(|o| !o.is_empty()) else {
        return true;
    };
    let Some(accepted) = accepted else {
        return false;
    };
    offered
        .iter()
        .all(|(key, value)| accepted.get(key) == Some(value))
}

/// The first offer a v2 payment matches, or [`Error::PaymentRequirementsMismatch`].
pub fn find_match_v2<'a>(
    offers: &'a [PaymentRequirements],
    payment: &PaymentPayloadV2,
) -> Result<&'a PaymentRequirements> {
    offers
        .iter()
        .find(|offered| requirements_match(&payment.accepted, offered))
        .ok_or(Error::PaymentRequirementsMismatch)
}

/// The first offer a v1 payment matches (same scheme and network), or
/// [`Error::PaymentRequirementsMismatch`].
pub fn find_match_v1<'a>(
    offers: &'a [PaymentRequirementsV1],
    payment: &PaymentPayloadV1,
) -> Result<&'a PaymentRequirementsV1> {
    offers
        .iter()
        .find(|offered| offered.scheme == payment.scheme && offered.network == payment.network)
        .ok_or(Error::PaymentRequirementsMismatch)
}

/// The first offer of the payment's own version that it matches.
pub fn find_match<'a>(
    offers: &'a [AnyRequirements],
    payment: &PaymentPayload,
) -> Result<&'a AnyRequirements> {
    offers
        .iter()
        .find(|offered| match (offered, payment) {
            (AnyRequirements::V2(offered), PaymentPayload::V2(payment)) => {
                requirements_match(&payment.accepted, offered)
            }
            (AnyRequirements::V1(offered), PaymentPayload::V1(payment)) => {
                offered.scheme == payment.scheme && offered.network == payment.network
            }
            _ => false,
        })
        .ok_or(Error::PaymentRequirementsMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offer() -> PaymentRequirements {
        serde_json::from_value(json!({"scheme":"exact","network":"eip155:84532","amount":"10000",
            "asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}))
        .unwrap()
    }

    #[test]
    fn identical_requirements_match() {
        assert!(requirements_match(&offer(), &offer()));
    }

    #[test]
    fn client_may_add_extra_but_not_change_or_drop() {
        let mut accepted = offer();
        accepted
            .extra
            .as_mut()
            .unwrap()
            .insert("assetTransferMethod".into(), json!("eip3009"));
        assert!(requirements_match(&accepted, &offer()));
        let mut changed = offer();
        changed
            .extra
            .as_mut()
            .unwrap()
            .insert("version".into(), json!("1"));
        assert!(!requirements_match(&changed, &offer()));
        let mut dropped = offer();
        dropped.extra = None;
        assert!(!requirements_match(&dropped, &offer()));
    }

    #[test]
    fn any_other_field_difference_breaks_the_match() {
        let base = offer();
        let mut variants = vec![];
        let mut v = base.clone();
        v.amount = crate::money::Amount::new(9999);
        variants.push(v);
        let mut v = base.clone();
        v.pay_to = v.pay_to.to_lowercase();
        variants.push(v);
        let mut v = base.clone();
        v.network = "eip155:8453".into();
        variants.push(v);
        let mut v = base.clone();
        v.max_timeout_seconds = 61;
        variants.push(v);
        let mut v = base.clone();
        v.other.insert("unknown".into(), json!(1));
        variants.push(v);
        for variant in variants {
            assert!(!requirements_match(&variant, &base), "{variant:?}");
        }
    }
}
