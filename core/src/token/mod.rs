//! Access tokens: pay once, use many times.
//!
//! # Format
//!
//! `pw1.<kid>.<claims>[.<caveat>]….<tag>`: `kid` is the key id in plain text; `claims` and
//! every `caveat` are unpadded base64url of their [postcard] encoding (a compact binary serde
//! format: strings length-prefixed, integers as varints, fields in declaration order); `tag` is
//! 32 bytes of unpadded base64url. The tag is a chain of HMAC-SHA256, as in macaroons:
//!
//! ```text
//! tag₀ = HMAC(key[kid], "pw1." ‖ kid ‖ "." ‖ claims-bytes)
//! tagᵢ = HMAC(tagᵢ₋₁, caveat-bytesᵢ)
//! ```
//!
//! The MAC covers the bytes as carried (base64url decoding is strict — no padding, no stray
//! trailing bits — so a token cannot be re-spelled), and is checked before anything is
//! decoded: unauthenticated input never reaches a parser. A binary body keeps verification
//! under a microsecond (JSON parsing alone took 0.45 µs); [`inspect`] shows the claims as JSON.
//! A future body format gets a new prefix.
//!
//! [postcard]: https://docs.rs/postcard
//!
//! Anyone holding a token can append a caveat (the current tag is the key for the next), but
//! no one can remove one without the issuer's key. Verification enforces every caveat, so a
//! caveat can only narrow; [`attenuate`] also refuses, with `token_caveat_widens`, a caveat
//! that would not narrow, so a holder learns at once that it has no effect.
//!
//! # Keys
//!
//! A [`KeyRing`] signs with one key and verifies with every key it holds, named by a key id
//! (`kid`) carried in the claims. Rotate by adding a new signing key; retire an old key once its
//! tokens have expired. Keys are redacted in `Debug` and zeroized on drop, and each key's HMAC
//! state is computed once and cloned per use rather than re-keyed.

mod caveat;
mod claims;
mod ring;
mod wire;

use hmac::Hmac;
use sha2::Sha256;

pub use caveat::Caveat;
pub use claims::{
    bundle_scope, canonical_resource, resource_in_scope, AccessToken, Bundle, Claims, Scope,
    TokenRequest, VerifiedToken, MAX_BUNDLE_SECONDS, MAX_SAFE_INTEGER,
};
pub use ring::KeyRing;
pub use wire::{attenuate, inspect, token_hash};

/// HMAC-SHA256, the MAC of every tag.
type HmacSha256 = Hmac<Sha256>;

/// The token format's version prefix.
pub const TOKEN_PREFIX: &str = "pw1";
/// The shortest key accepted, in bytes (HMAC-SHA256's output size).
pub const MIN_KEY_LEN: usize = 32;
/// The longest token accepted, in bytes; more caveats than fit are refused as malformed.
///
/// Count uses by the claims' `id`, not by the token's hash: attenuating makes a new token
/// string (and hash) with the same id.
pub const MAX_TOKEN_LEN: usize = 4096;
/// The request header in which an agent presents an access token, and the settlement-response
/// extension (`PAYMENT-RESPONSE` → `extensions`) that carries one sold with a payment:
/// `{"token", "expiresAt", "maxUses", "scope"}`.
pub use crate::protocol::names::{ACCESS_TOKEN_EXTENSION, ACCESS_TOKEN_HEADER};

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use super::{caveat::*, claims::*, ring::*, wire::*};
    use crate::error::code;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    #[test]
    fn bundle_claims_scope_the_route_and_window() {
        let rule: crate::pricing::PriceRule = serde_json::from_value(serde_json::json!(
            {"method": "get", "path": "/v1/weather/:city", "price": {"flat": "1"}}
        ))
        .unwrap();
        let bundle = Bundle {
            max_uses: Some(5),
            seconds: 3600,
        };
        let claims = bundle.claims(
            "tok_1".into(),
            "edge",
            "wal_a",
            "https://a.com/v1/weather/paris",
            &rule,
            1000,
        );
        assert_eq!(claims.scope.resource, "https://a.com/v1/weather/");
        assert_eq!(claims.scope.methods, ["GET"]);
        assert_eq!(
            (claims.iat, claims.exp, claims.max_uses),
            (1000, 4600, Some(5))
        );
        assert!(claims.scope.allows("get", "https://a.com/v1/weather/oslo"));
        assert!(!claims.scope.allows("POST", "https://a.com/v1/weather/oslo"));
        assert!(!claims.scope.allows("GET", "https://a.com/v1/news"));
    }

    #[test]
    fn a_bundle_token_verifies_only_where_its_rule_prices_the_request() {
        let rule: crate::pricing::PriceRule = serde_json::from_value(serde_json::json!(
            {"method": "GET", "path": "/v1/weather/:city", "price": {"flat": "10000"}}
        ))
        .unwrap();
        let bundle = Bundle {
            max_uses: Some(5),
            seconds: 3600,
        };
        let claims = bundle.claims(
            "tok_1".into(),
            "edge",
            "wal_a",
            "https://a.com/v1/weather/paris",
            &rule,
            1000,
        );
        assert_eq!(claims.scope.route.as_deref(), Some("GET /v1/weather/:city"));
        let ring = ring();
        let token = ring.issue(&claims).unwrap();
        let at = |resource: &'static str, route: Option<&'static str>| {
            ring.verify(
                &token,
                TokenRequest::new("GET", resource).priced_by(route),
                1500,
                0,
            )
            .map(|_| ())
            .map_err(|e| e.code().to_string())
        };
        let own = Some("GET /v1/weather/:city");
        assert_eq!(at("https://a.com/v1/weather/oslo", own), Ok(()));
        let mismatch = Err(code::error::TokenScopeMismatch.to_string());
        // Below the same prefix, but priced by another rule, or by none the verifier knows.
        let premium = Some("GET /v1/weather/premium/:city");
        assert_eq!(
            at("https://a.com/v1/weather/premium/oslo", premium),
            mismatch
        );
        assert_eq!(at("https://a.com/v1/weather/oslo", None), mismatch);
        // Dot segments and escapes leave the prefix once resolved, whatever route is claimed.
        assert_eq!(at("https://a.com/v1/weather/../admin", own), mismatch);
        assert_eq!(at("https://a.com/v1/weather/%2e%2e/admin", own), mismatch);
    }

    #[test]
    fn scopes_compare_the_canonical_resource() {
        let prefix = "https://a.com/v1/weather/";
        assert!(resource_in_scope(
            prefix,
            "https://a.com/v1/weather/paris?units=c"
        ));
        assert!(resource_in_scope(
            prefix,
            "https://a.com/v1//weather/./paris"
        ));
        assert!(!resource_in_scope(
            prefix,
            "https://a.com/v1/weather/../admin"
        ));
        assert!(!resource_in_scope(
            prefix,
            "https://a.com/v1/weather/%2E%2E/admin"
        ));
        assert!(!resource_in_scope(
            prefix,
            "https://a.com/v1/weather/paris/../../admin"
        ));
        assert_eq!(
            claims::canonical_resource("https://a.com?x=1"),
            "https://a.com/"
        );
        assert_eq!(claims::canonical_resource("/v1/a/%2e/b#f"), "/v1/a/b");
    }

    #[test]
    fn bundle_scope_is_origin_plus_literal_prefix() {
        let cases = [
            (
                "https://a.com/v1/weather/paris",
                "/v1/weather/:city",
                "https://a.com/v1/weather/",
            ),
            (
                "https://a.com/v1/files/x/y",
                "/v1/files/*",
                "https://a.com/v1/files/",
            ),
            (
                "https://a.com/v1/report",
                "/v1/report",
                "https://a.com/v1/report",
            ),
            ("https://a.com", "/v1/{id}", "https://a.com/v1/"),
            ("https://a.com?q=1", "/", "https://a.com/"),
            ("/v1/weather/paris", "/v1/weather/:city", "/v1/weather/"),
        ];
        for (resource, pattern, expected) in cases {
            assert_eq!(
                bundle_scope(resource, pattern),
                expected,
                "{resource} on {pattern}"
            );
        }
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const OTHER_KEY: &[u8] = b"fedcba9876543210fedcba9876543210";

    fn claims() -> Claims {
        Claims {
            id: "tok_1".into(),
            iss: "paywire".into(),
            sub: "wallet_agent".into(),
            scope: Scope {
                resource: "https://api.example.com/v1/".into(),
                methods: vec!["GET".into(), "POST".into()],
                route: None,
            },
            iat: 1000,
            exp: 2000,
            max_uses: Some(10),
        }
    }

    fn get(resource: &str) -> TokenRequest<'_> {
        TokenRequest {
            method: "GET",
            resource,
            route: None,
        }
    }

    const R: &str = "https://api.example.com/v1/weather";

    fn ring() -> KeyRing {
        KeyRing::new("k1", KEY).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_kid() {
        let ring = ring();
        let token = ring.issue(&claims()).unwrap();
        assert!(token.starts_with("pw1."));
        let verified = ring.verify(&token, get(R), 1500, 0).unwrap();
        assert_eq!(verified.kid, "k1");
        assert_eq!(verified.claims.sub, "wallet_agent");
        assert_eq!(verified.caveats, 0);
    }

    #[test]
    fn each_failure_has_its_code() {
        let ring = ring();
        let token = ring.issue(&claims()).unwrap();
        let code = |t: &str, req: TokenRequest<'_>, now: u64, uses: u64| {
            ring.verify(t, req, now, uses)
                .unwrap_err()
                .code()
                .to_string()
        };
        assert_eq!(code(&token, get(R), 999, 0), code::error::TokenNotYetValid);
        assert_eq!(code(&token, get(R), 2000, 0), code::error::TokenExpired);
        assert_eq!(
            code(&token, get("https://api.example.com/v2/x"), 1500, 0),
            code::error::TokenScopeMismatch
        );
        assert_eq!(
            code(
                &token,
                TokenRequest {
                    method: "DELETE",
                    resource: R,
                    route: None,
                },
                1500,
                0
            ),
            code::error::TokenScopeMismatch
        );
        assert_eq!(
            code(&token, get(R), 1500, 10),
            code::error::TokenUsesExhausted
        );
        let other = KeyRing::new("k1", OTHER_KEY)
            .unwrap()
            .issue(&claims())
            .unwrap();
        assert_eq!(
            code(&other, get(R), 1500, 0),
            code::error::TokenSignatureInvalid
        );
        let unknown = KeyRing::new("k9", KEY).unwrap().issue(&claims()).unwrap();
        assert_eq!(
            code(&unknown, get(R), 1500, 0),
            code::error::TokenUnknownKid
        );
        for bad in [
            "",
            "pw1",
            "pw1.",
            "pw2.k1.e30.AAAA",
            "pw1.k1.!!!.AAAA",
            "pw1.k1.e30",
            "a.b.c.d",
            "pw1..e30.AAAA",
            "pw1.k1.e30..AAAA",
        ] {
            assert_eq!(
                code(bad, get(R), 1500, 0),
                code::error::TokenMalformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn any_flipped_character_breaks_the_token() {
        let ring = ring();
        let token = ring.issue(&claims()).unwrap();
        let token = attenuate(&token, &Caveat::MaxUses(3)).unwrap();
        for i in 4..token.len() {
            let mut bytes = token.clone().into_bytes();
            if bytes[i] == b'.' {
                continue;
            }
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert!(
                ring.verify(&tampered, get(R), 1500, 0).is_err(),
                "position {i}"
            );
        }
    }

    #[test]
    fn caveats_narrow_and_are_enforced() {
        let ring = ring();
        let token = ring.issue(&claims()).unwrap();
        let narrowed = attenuate(&token, &Caveat::Exp(1200)).unwrap();
        let narrowed = attenuate(
            &narrowed,
            &Caveat::Resource("https://api.example.com/v1/weather".into()),
        )
        .unwrap();
        let narrowed = attenuate(&narrowed, &Caveat::Methods(vec!["GET".into()])).unwrap();
        let narrowed = attenuate(&narrowed, &Caveat::MaxUses(2)).unwrap();
        let verified = ring.verify(&narrowed, get(R), 1100, 1).unwrap();
        assert_eq!(verified.caveats, 4);
        assert_eq!(verified.claims.exp, 1200);
        assert_eq!(verified.claims.max_uses, Some(2));
        assert_eq!(
            ring.verify(&narrowed, get(R), 1200, 0).unwrap_err().code(),
            code::error::TokenExpired
        );
        assert_eq!(
            ring.verify(&narrowed, get(R), 1100, 2).unwrap_err().code(),
            code::error::TokenUsesExhausted
        );
        assert_eq!(
            ring.verify(
                &narrowed,
                TokenRequest {
                    method: "POST",
                    resource: R,
                    route: None,
                },
                1100,
                0
            )
            .unwrap_err()
            .code(),
            code::error::TokenScopeMismatch
        );
        assert_eq!(
            ring.verify(&narrowed, get("https://api.example.com/v1/news"), 1100, 0)
                .unwrap_err()
                .code(),
            code::error::TokenScopeMismatch
        );
        // The original still works: attenuation made a new token.
        assert!(ring
            .verify(
                &token,
                TokenRequest {
                    method: "POST",
                    resource: R,
                    route: None,
                },
                1500,
                5
            )
            .is_ok());
    }

    #[test]
    fn attenuation_refuses_to_widen() {
        let token = ring().issue(&claims()).unwrap();
        for caveat in [
            Caveat::Exp(2001),
            Caveat::MaxUses(11),
            Caveat::MaxUses(0),
            Caveat::Resource("https://api.example.com/".into()),
            Caveat::Resource("https://api.example.com/v10".into()),
            Caveat::Methods(vec!["DELETE".into()]),
            Caveat::Methods(vec![]),
            Caveat::Methods(vec!["get".into()]),
        ] {
            assert_eq!(
                attenuate(&token, &caveat).unwrap_err().code(),
                code::error::TokenCaveatWidens,
                "{caveat:?}"
            );
        }
    }

    #[test]
    fn a_hand_made_widening_caveat_still_cannot_widen() {
        // Someone appends caveats with the chain but without `attenuate`'s checks.
        let ring = ring();
        let token = ring.issue(&claims()).unwrap();
        let forge = |token: &str, caveat: &Caveat| {
            let framed = Framed::split(token).unwrap();
            let bytes = postcard::to_allocvec(caveat).unwrap();
            let segment = URL_SAFE_NO_PAD.encode(&bytes);
            let tag = chain_tag(&framed.tag, &bytes);
            format!("{}.{segment}.{}", framed.body, URL_SAFE_NO_PAD.encode(tag))
        };
        let later = forge(&token, &Caveat::Exp(5000));
        assert_eq!(
            ring.verify(&later, get(R), 2500, 0).unwrap_err().code(),
            code::error::TokenExpired
        );
        let wider = forge(&token, &Caveat::Resource("https://".into()));
        assert_eq!(
            ring.verify(&wider, get("https://evil.io/"), 1500, 0)
                .unwrap_err()
                .code(),
            code::error::TokenScopeMismatch
        );
        assert_eq!(
            ring.verify(&wider, get(R), 1500, 0).unwrap_err().code(),
            code::error::TokenScopeMismatch
        );
        let disjoint = forge(&token, &Caveat::Methods(vec!["DELETE".into()]));
        for method in ["GET", "DELETE", "POST"] {
            assert_eq!(
                ring.verify(
                    &disjoint,
                    TokenRequest {
                        method,
                        resource: R,
                        route: None,
                    },
                    1500,
                    0
                )
                .unwrap_err()
                .code(),
                code::error::TokenScopeMismatch
            );
        }
        let more_uses = forge(&token, &Caveat::MaxUses(100));
        assert_eq!(
            ring.verify(&more_uses, get(R), 1500, 10)
                .unwrap_err()
                .code(),
            code::error::TokenUsesExhausted
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_until_retired() {
        let mut ring = ring();
        let old = ring.issue(&claims()).unwrap();
        ring.rotate("k2", OTHER_KEY).unwrap();
        let new = ring.issue(&claims()).unwrap();
        assert_eq!(ring.verify(&new, get(R), 1500, 0).unwrap().kid, "k2");
        assert!(ring.verify(&old, get(R), 1500, 0).is_ok());
        ring.retire("k1").unwrap();
        assert_eq!(
            ring.verify(&old, get(R), 1500, 0).unwrap_err().code(),
            code::error::TokenUnknownKid
        );
        assert!(ring.verify(&new, get(R), 1500, 0).is_ok());
        assert_eq!(
            ring.retire("k2").unwrap_err().code(),
            code::error::TokenKeyInvalid
        );
        assert_eq!(
            ring.rotate("k2", KEY).unwrap_err().code(),
            code::error::TokenKeyInvalid
        );
    }

    #[test]
    fn keys_and_claims_are_validated() {
        assert_eq!(
            KeyRing::new("k1", b"short").unwrap_err().code(),
            code::error::TokenKeyInvalid
        );
        assert_eq!(
            KeyRing::new("bad kid", KEY).unwrap_err().code(),
            code::error::TokenKeyInvalid
        );
        let ring = ring();
        let mut c = claims();
        c.exp = c.iat;
        assert_eq!(
            ring.issue(&c).unwrap_err().code(),
            code::error::TokenClaimsInvalid
        );
        let mut c = claims();
        c.id.clear();
        assert_eq!(
            ring.issue(&c).unwrap_err().code(),
            code::error::TokenClaimsInvalid
        );
        let mut c = claims();
        c.scope.methods = vec!["get".into()];
        assert_eq!(
            ring.issue(&c).unwrap_err().code(),
            code::error::TokenClaimsInvalid
        );
        let mut c = claims();
        c.max_uses = Some(0);
        assert_eq!(
            ring.issue(&c).unwrap_err().code(),
            code::error::TokenClaimsInvalid
        );
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let ring = ring();
        let debug = format!("{ring:?}");
        assert!(debug.contains("k1") && debug.contains("redacted"));
        assert!(!debug.contains("0123456789abcdef"));
    }

    #[test]
    fn prefix_scopes_respect_segment_boundaries() {
        assert!(resource_in_scope("/v1", "/v1"));
        assert!(resource_in_scope("/v1", "/v1/x"));
        assert!(resource_in_scope("/v1", "/v1?q=1"));
        assert!(!resource_in_scope("/v1", "/v10"));
        assert!(resource_in_scope("/v1/", "/v1/x"));
        assert!(!resource_in_scope("/v1/", "/v1"));
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            token_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(token_hash("pw1.a.b").len(), 64);
    }

    #[test]
    fn inspect_decodes_without_verifying() {
        let token = KeyRing::new("k7", OTHER_KEY)
            .unwrap()
            .issue(&claims())
            .unwrap();
        let token = attenuate(&token, &Caveat::Exp(1500)).unwrap();
        let seen = inspect(&token).unwrap();
        assert_eq!(
            (seen.kid.as_str(), seen.claims.exp, seen.caveats),
            ("k7", 1500, 1)
        );
    }
}
