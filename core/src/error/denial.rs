//! Why a spending policy refuses a payment: the `policy_*` codes, rows of the code table
//! ([`super::codes`]). On the ground floor, beside the error enum that carries them, so that
//! nothing below the policy depends on it.

use std::fmt;

pub use super::codes::DenyReason;

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
