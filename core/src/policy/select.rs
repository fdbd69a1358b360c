//! Choosing what to pay: the cheapest option of a 402 that the policy allows, or why none is.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Decision, DenyReason, PaymentIntent, Policy, Usage};
use crate::money::AssetRegistry;
use crate::protocol::{AnyRequirements, PaymentRequired};

/// The option [`Policy::select`] chose, or why none could be.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Selection {
    /// Pay with `accepts[index]`.
    #[serde(rename_all = "camelCase")]
    Selected {
        /// Index into the 402's `accepts`.
        index: usize,
        /// Its cost in whole units.
        #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
        amount: Decimal,
        /// Whether the policy wants approval first.
        needs_approval: bool,
    },
    /// No option is allowed.
    #[serde(rename_all = "camelCase")]
    NoneAllowed {
        /// Why each option was refused, in `accepts` order.
        rejections: Vec<Rejection>,
    },
}

impl Selection {
    /// The refusal to report when nothing was allowed: that of the cheapest refused option
    /// whose price is known, else the first refusal.
    pub fn primary_reason(&self) -> Option<DenyReason> {
        match self {
            Selection::Selected { .. } => None,
            Selection::NoneAllowed { rejections } => Some(
                rejections
                    .iter()
                    .filter(|r| r.amount.is_some())
                    .min_by_key(|r| r.amount)
                    .or_else(|| rejections.first())
                    .map_or(DenyReason::NoOptions, |r| r.reason),
            ),
        }
    }
}

/// Why one offered option was refused.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// Index into `accepts`.
    pub index: usize,
    /// The option's cost in whole units, when its asset is known.
    #[cfg_attr(
        feature = "schemars",
        schemars(with = "Option<crate::schema::DecimalText>")
    )]
    pub amount: Option<Decimal>,
    /// Why.
    pub reason: DenyReason,
}

impl Policy {
    /// Picks the cheapest option of a 402 this policy allows (ties: the server's order), or
    /// says why each was refused. Amounts are converted with `assets`.
    pub fn select(
        &self,
        required: &PaymentRequired,
        usage: &Usage,
        now: u64,
        assets: &AssetRegistry,
    ) -> Selection {
        let options: Vec<(AnyRequirements, Option<&str>)> = match required {
            PaymentRequired::V1(r) => r
                .accepts
                .iter()
                .map(|a| (AnyRequirements::V1(a.clone()), Some(a.resource.as_str())))
                .collect(),
            PaymentRequired::V2(r) => r
                .accepts
                .iter()
                .map(|a| {
                    (
                        AnyRequirements::V2(a.clone()),
                        Some(r.resource.url.as_str()),
                    )
                })
                .collect(),
        };
        self.select_from(options.iter().map(|(o, r)| (o, *r)), usage, now, assets)
    }

    /// [`Policy::select`] over any list of requirements, each with its resource URL.
    pub fn select_from<'a>(
        &self,
        options: impl IntoIterator<Item = (&'a AnyRequirements, Option<&'a str>)>,
        usage: &Usage,
        now: u64,
        assets: &AssetRegistry,
    ) -> Selection {
        let mut best: Option<(usize, Decimal, bool)> = None;
        let mut rejections = Vec::new();
        for (index, (option, resource)) in options.into_iter().enumerate() {
            let amount = assets
                .find(option.network(), option.asset())
                .and_then(|asset| asset.to_decimal(option.amount()).ok());
            let Some(amount) = amount else {
                rejections.push(Rejection {
                    index,
                    amount: None,
                    reason: DenyReason::AssetUnknown,
                });
                continue;
            };
            let intent = PaymentIntent {
                amount,
                network: option.network().to_string(),
                asset: option.asset().to_string(),
                pay_to: option.pay_to().to_string(),
                resource: resource.map(str::to_string),
            };
            match self.evaluate(&intent, usage, now) {
                Decision::Deny(reason) => rejections.push(Rejection {
                    index,
                    amount: Some(amount),
                    reason,
                }),
                decision => {
                    let needs_approval = decision == Decision::NeedsApproval;
                    // Strictly cheaper replaces, so equal prices keep the server's order.
                    if best.is_none_or(|(_, best_amount, _)| amount < best_amount) {
                        best = Some((index, amount, needs_approval));
                    }
                }
            }
        }
        match best {
            Some((index, amount, needs_approval)) => Selection::Selected {
                index,
                amount,
                needs_approval,
            },
            None if rejections.is_empty() => Selection::NoneAllowed {
                rejections: vec![Rejection {
                    index: 0,
                    amount: None,
                    reason: DenyReason::NoOptions,
                }],
            },
            None => Selection::NoneAllowed { rejections },
        }
    }
}
