//! x402 reason codes: what a facilitator says when a payment does not verify or settle. The
//! codes themselves are rows of the code table ([`super::codes`]); this module gives
//! [`Reason`] its text forms. Any string is accepted when parsing (other SDKs use other sets).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::codes::Reason;

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(Reason::parse(&code))
    }
}
