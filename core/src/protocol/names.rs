//! The names x402 and Paywire give their HTTP headers. A leaf: the wire types name the header a
//! payment travels in, and the header codec reads them.

/// v2: the 402's payment options, server → client.
pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// v2: the signed payment, client → server.
pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// v2: the settlement result, server → client.
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
/// v1: the signed payment, client → server.
pub const X_PAYMENT: &str = "X-PAYMENT";
/// v1: the settlement result, server → client.
pub const X_PAYMENT_RESPONSE: &str = "X-PAYMENT-RESPONSE";
/// Where an agent presents an access token (not `Authorization`, which providers keep).
pub const ACCESS_TOKEN_HEADER: &str = "PAYWIRE-ACCESS-TOKEN";
/// The settlement-response extension that carries a sold access token.
pub const ACCESS_TOKEN_EXTENSION: &str = "paywire-access-token";
