//! Why a spending policy refuses a payment: the `policy_*` codes. On the ground floor, beside
//! the error enum that carries them, so that nothing below the policy depends on it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a policy refuses a payment. Each reason has a stable `policy_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
#[non_exhaustive]
pub enum DenyReason {
    /// The amount is negative or unrepresentable.
    AmountInvalid,
    /// The network is not in `allowedNetworks`.
    NetworkNotAllowed,
    /// The asset is not in `allowedAssets`.
    AssetNotAllowed,
    /// The asset's decimals are unknown, so its value cannot be judged.
    AssetUnknown,
    /// The recipient is not in `allowedPayees`.
    PayeeNotAllowed,
    /// The resource's host is not in `allowedHosts`.
    HostNotAllowed,
    /// Above `maxPerRequest`.
    MaxPerRequestExceeded,
    /// More than `velocity.maxPayments` in `velocity.windowSeconds`.
    VelocityExceeded,
    /// The day's spending would pass `dailyLimit`.
    DailyLimitExceeded,
    /// The month's spending would pass `monthlyLimit`.
    MonthlyLimitExceeded,
    /// The 402 offered no options at all.
    NoOptions,
    /// A payment needed approval and the approver said no (raised by hosts).
    ApprovalDenied,
}

impl DenyReason {
    /// Every reason, in evaluation order.
    pub const ALL: &'static [DenyReason] = &[
        DenyReason::AmountInvalid,
        DenyReason::NetworkNotAllowed,
        DenyReason::AssetNotAllowed,
        DenyReason::AssetUnknown,
        DenyReason::PayeeNotAllowed,
        DenyReason::HostNotAllowed,
        DenyReason::MaxPerRequestExceeded,
        DenyReason::VelocityExceeded,
        DenyReason::DailyLimitExceeded,
        DenyReason::MonthlyLimitExceeded,
        DenyReason::NoOptions,
        DenyReason::ApprovalDenied,
    ];

    /// The stable code.
    pub const fn code(self) -> &'static str {
        match self {
            DenyReason::AmountInvalid => "policy_amount_invalid",
            DenyReason::NetworkNotAllowed => "policy_network_not_allowed",
            DenyReason::AssetNotAllowed => "policy_asset_not_allowed",
            DenyReason::AssetUnknown => "policy_asset_unknown",
            DenyReason::PayeeNotAllowed => "policy_payee_not_allowed",
            DenyReason::HostNotAllowed => "policy_host_not_allowed",
            DenyReason::MaxPerRequestExceeded => "policy_max_per_request_exceeded",
            DenyReason::VelocityExceeded => "policy_velocity_exceeded",
            DenyReason::DailyLimitExceeded => "policy_daily_limit_exceeded",
            DenyReason::MonthlyLimitExceeded => "policy_monthly_limit_exceeded",
            DenyReason::NoOptions => "policy_no_options",
            DenyReason::ApprovalDenied => "policy_approval_denied",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl From<DenyReason> for &'static str {
    fn from(reason: DenyReason) -> Self {
        reason.code()
    }
}

impl TryFrom<&str> for DenyReason {
    type Error = String;
    fn try_from(code: &str) -> std::result::Result<Self, String> {
        DenyReason::ALL
            .iter()
            .copied()
            .find(|reason| reason.code() == code)
            .ok_or_else(|| format!("unknown policy code {code:?}"))
    }
}

impl TryFrom<String> for DenyReason {
    type Error = String;
    fn try_from(code: String) -> std::result::Result<Self, String> {
        DenyReason::try_from(code.as_str())
    }
}
