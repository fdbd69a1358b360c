//! Webhooks as Stripe sends them: the signature header a sender computes and a receiver
//! checks, the event envelope, and the retry schedule of a delivery that failed.
//!
//! The header is `Paywire-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the MAC taken
//! with the endpoint's secret (the whole `whsec_…` string, as bytes) over `"<t>.<raw body>"`.
//! A receiver checks it with [`verify`] against the raw body it received — before parsing it —
//! and refuses a timestamp outside its tolerance, so a captured delivery cannot be replayed
//! later. Several `v1=` entries may appear (a sender rolling its secret signs with both); any
//! one that matches is enough. Comparison is constant-time.
//!
//! ```
//! use paywire_core::webhook;
//!
//! let body = br#"{"id":"evt_1","type":"payment.settled","created":1700000000,"data":{}}"#;
//! let header = webhook::sign(b"whsec_test", 1_700_000_000, body);
//! assert_eq!(webhook::verify(&header, b"whsec_test", body, 1_700_000_100, 300)?, 1_700_000_000);
//! assert_eq!(
//!     webhook::verify(&header, b"whsec_test", body, 1_700_000_400, 300).unwrap_err().code(),
//!     "webhook_timestamp_outside_tolerance"
//! );
//! # Ok::<(), paywire_core::Error>(())
//! ```

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{truncate_for_message, Error, Result};

/// The header a webhook's signature travels in.
pub const SIGNATURE_HEADER: &str = "Paywire-Signature";

/// How far a signature's timestamp may be from the receiver's clock, by default (Stripe's
/// five minutes).
pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

/// The longest signature header [`verify`] reads; a longer one is malformed (a sender signs
/// with at most a few secrets).
pub const MAX_HEADER_LEN: usize = 2048;

/// The event types the server sends.
pub const EVENT_TYPES: &[&str] = &[
    "payment.settled",
    "payment.refused",
    "wallet.funded",
    "token.issued",
    "payout.created",
    "payout.paid",
    "payout.failed",
    "webhook_endpoint.disabled",
];

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Paywire-Signature` value for `body` sent at `timestamp` (unix seconds) under `secret`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks a `Paywire-Signature` header against the raw `body` received, with the endpoint's
/// `secret`, at `now` (unix seconds), allowing `tolerance_seconds` of difference either way.
/// Returns the signed timestamp.
///
/// # Errors
///
/// `webhook_signature_malformed` when the header has no `t=` or no `v1=` entry, or is not in
/// the format; `webhook_timestamp_outside_tolerance` when the timestamp is too old or too far
/// ahead; `webhook_signature_invalid` when no `v1=` entry is the body's MAC under `secret`.
pub fn verify(
    header: &str,
    secret: &[u8],
    body: &[u8],
    now: u64,
    tolerance_seconds: u64,
) -> Result<u64> {
    let malformed = |why: &str| {
        Error::WebhookSignatureMalformed(format!("{why} in {:?}", truncate_for_message(header)))
    };
    if header.len() > MAX_HEADER_LEN {
        return Err(Error::WebhookSignatureMalformed(format!(
            "header is {} bytes, the limit is {MAX_HEADER_LEN}",
            header.len()
        )));
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| malformed("an entry without '='"))?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed("two timestamps"));
                }
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed("a timestamp that is not a whole number"));
                }
                timestamp = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| malformed("a timestamp out of range"))?,
                );
            }
            "v1" => {
                let bytes =
                    hex::decode(value).map_err(|_| malformed("a v1 signature that is not hex"))?;
                if bytes.len() != 32 {
                    return Err(malformed("a v1 signature that is not 32 bytes"));
                }
                signatures.push(bytes);
            }
            // Other schemes (Stripe's `v0` test signatures, future versions) are skipped.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| malformed("no t= timestamp"))?;
    if signatures.is_empty() {
        return Err(malformed("no v1= signature"));
    }
    if now.abs_diff(timestamp) > tolerance_seconds {
        return Err(Error::WebhookTimestampOutsideTolerance {
            timestamp,
            now,
            tolerance_seconds,
        });
    }
    let expected = mac(secret, timestamp, body);
    // Every entry is compared (constant time each), so timing says nothing about which matched.
    let matched = signatures.iter().fold(false, |found, tag| {
        expected.clone().verify_slice(tag).is_ok() | found
    });
    if matched {
        Ok(timestamp)
    } else {
        Err(Error::WebhookSignatureInvalid)
    }
}

/// One event as delivered: Stripe's envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// `evt_…`, unique: receivers deduplicate by it (a delivery may arrive more than once).
    pub id: String,
    /// One of [`EVENT_TYPES`].
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened, unix seconds.
    pub created: u64,
    /// The object it is about (a payment, a wallet, a token, a payout).
    pub data: serde_json::Value,
}

/// When a failed delivery is tried again, and when the sender gives up on it or on its
/// endpoint. Times in milliseconds; the jitter is the caller's randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The delay after the first failed attempt.
    pub first_delay_ms: u64,
    /// The longest delay between two attempts.
    pub max_delay_ms: u64,
    /// How long after the event the sender keeps trying (Stripe: three days).
    pub give_up_after_ms: u64,
    /// Consecutive failed attempts, across an endpoint's deliveries, that disable it.
    pub disable_after_failures: u32,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first_delay_ms: 30_000,
            max_delay_ms: 6 * 3600 * 1000,
            give_up_after_ms: 3 * 24 * 3600 * 1000,
            disable_after_failures: 100,
        }
    }
}

impl RetrySchedule {
    /// When to try again after `attempts` failed attempts of an event created at
    /// `created_ms`, now `now_ms`: the delay doubles from [`Self::first_delay_ms`] up to
    /// [`Self::max_delay_ms`], and is drawn from its upper half by `jitter` (any `u32`, uniform:
    /// the caller's randomness), so deliveries that failed together do not retry together.
    /// `None` when the event is older than [`Self::give_up_after_ms`]: the delivery has failed
    /// for good.
    pub fn next_attempt_ms(
        &self,
        attempts: u32,
        created_ms: u64,
        now_ms: u64,
        jitter: u32,
    ) -> Option<u64> {
        if now_ms.saturating_sub(created_ms) >= self.give_up_after_ms {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(63);
        let delay = self
            .first_delay_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_delay_ms);
        let half = delay / 2;
        // jitter / 2^32 of the half, in 128 bits so nothing overflows.
        let spread = ((u128::from(half) * u128::from(jitter)) >> 32) as u64;
        let at = now_ms.saturating_add(delay - half + spread);
        Some(at.min(created_ms.saturating_add(self.give_up_after_ms)))
    }

    /// Whether an endpoint whose last `consecutive_failures` attempts all failed is disabled.
    pub fn disables(&self, consecutive_failures: u32) -> bool {
        consecutive_failures >= self.disable_after_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    #[test]
    fn a_signature_verifies_and_binds_body_secret_and_time() {
        let header = sign(b"whsec_a", 1_000, BODY);
        assert!(header.starts_with("t=1000,v1="));
        assert_eq!(verify(&header, b"whsec_a", BODY, 1_000, 300), Ok(1_000));
        assert_eq!(
            verify(&header, b"whsec_b", BODY, 1_000, 300),
            Err(Error::WebhookSignatureInvalid)
        );
        assert_eq!(
            verify(&header, b"whsec_a", br#"{"id":"evt_2"}"#, 1_000, 300),
            Err(Error::WebhookSignatureInvalid)
        );
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(&moved, b"whsec_a", BODY, 1_000, 300),
            Err(Error::WebhookSignatureInvalid)
        );
    }

    #[test]
    fn the_tolerance_holds_both_ways() {
        let header = sign(b"s", 1_000, BODY);
        assert!(verify(&header, b"s", BODY, 1_300, 300).is_ok());
        assert!(verify(&header, b"s", BODY, 700, 300).is_ok());
        for now in [1_301, 699] {
            assert_eq!(
                verify(&header, b"s", BODY, now, 300).unwrap_err().code(),
                code::error::WebhookTimestampOutsideTolerance
            );
        }
    }

    #[test]
    fn any_v1_entry_may_match_and_other_schemes_are_skipped() {
        let good = sign(b"new", 5, BODY);
        let tag = good.split_once("v1=").unwrap().1;
        let header = format!("t=5,v0=abc,v1={},v1={tag}", "00".repeat(32));
        assert_eq!(verify(&header, b"new", BODY, 5, 0), Ok(5));
    }

    #[test]
    fn malformed_headers_have_their_code() {
        for header in [
            "",
            "t=5",
            "v1=00",
            "t=x,v1=00",
            "t=5,v1=zz",
            "t=5,v1=00",
            "t=5,t=5,v1=00",
            "nonsense",
            "t=-5,v1=00",
            "t=99999999999999999999999,v1=00",
        ] {
            let error = verify(header, b"s", BODY, 5, 300).unwrap_err();
            assert_eq!(
                error.code(),
                code::error::WebhookSignatureMalformed,
                "{header}"
            );
        }
        let long = format!("t=5,v1={}", "0".repeat(MAX_HEADER_LEN));
        assert_eq!(
            verify(&long, b"s", BODY, 5, 300).unwrap_err().code(),
            code::error::WebhookSignatureMalformed
        );
    }

    #[test]
    fn retries_back_off_with_jitter_and_give_up() {
        let schedule = RetrySchedule {
            first_delay_ms: 1_000,
            max_delay_ms: 8_000,
            give_up_after_ms: 100_000,
            disable_after_failures: 3,
        };
        // No jitter: the lower half; full jitter: just under the whole delay.
        assert_eq!(schedule.next_attempt_ms(1, 0, 10, 0), Some(10 + 500));
        assert_eq!(schedule.next_attempt_ms(1, 0, 10, u32::MAX), Some(10 + 999));
        assert_eq!(schedule.next_attempt_ms(2, 0, 10, 0), Some(10 + 1_000));
        assert_eq!(schedule.next_attempt_ms(3, 0, 10, 0), Some(10 + 2_000));
        assert_eq!(
            schedule.next_attempt_ms(10, 0, 10, 0),
            Some(10 + 4_000),
            "capped at max_delay"
        );
        assert_eq!(
            schedule.next_attempt_ms(u32::MAX, 0, 10, u32::MAX),
            Some(10 + 7_999),
            "no overflow"
        );
        assert_eq!(
            schedule.next_attempt_ms(10, 0, 99_000, u32::MAX),
            Some(100_000),
            "never past the window"
        );
        assert_eq!(schedule.next_attempt_ms(1, 0, 100_000, 0), None);
        assert!(!schedule.disables(2));
        assert!(schedule.disables(3));
    }
}
