//! Webhook signatures: what a receiver checks (and a test sender makes), in every language.

use paywire_core::webhook;

use crate::{whole_number, Result};

/// The `Paywire-Signature` value for `body` sent at `timestamp` under `secret`.
pub fn sign_webhook(secret: &str, timestamp: f64, body: &[u8]) -> Result<String> {
    Ok(webhook::sign(
        secret.as_bytes(),
        whole_number(timestamp, "timestamp")?,
        body,
    ))
}

/// Checks a `Paywire-Signature` header against the raw body received; the signed timestamp.
/// `tolerance_seconds` defaults to [`webhook::DEFAULT_TOLERANCE_SECONDS`].
pub fn verify_webhook(
    header: &str,
    secret: &str,
    body: &[u8],
    now: f64,
    tolerance_seconds: Option<f64>,
) -> Result<f64> {
    let tolerance = match tolerance_seconds {
        Some(value) => whole_number(value, "toleranceSeconds")?,
        None => webhook::DEFAULT_TOLERANCE_SECONDS,
    };
    let timestamp = webhook::verify(
        header,
        secret.as_bytes(),
        body,
        whole_number(now, "now")?,
        tolerance,
    )?;
    // A timestamp the header could hold but a JavaScript number could not is refused above
    // by the tolerance (now is below 2^53), so this conversion is exact.
    Ok(timestamp as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_checked_numbers() {
        let header = sign_webhook("whsec_x", 100.0, b"{}").unwrap();
        assert_eq!(
            verify_webhook(&header, "whsec_x", b"{}", 100.0, None).unwrap(),
            100.0
        );
        assert_eq!(
            sign_webhook("s", 1.5, b"").unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            verify_webhook(&header, "whsec_x", b"{}", 100.0, Some(-1.0))
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        assert_eq!(
            verify_webhook(&header, "whsec_y", b"{}", 100.0, None)
                .unwrap_err()
                .code(),
            "webhook_signature_invalid"
        );
    }
}
