//! The key ring: signing and verification keys by key id, and the MAC chain they compute.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::KeyInit;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::token::caveat::Caveat;
use crate::token::claims::{check_effective, validate_claims, Claims, TokenRequest, VerifiedToken};
use crate::token::wire::{
    chain_tag, constant_time_eq, decode_vec, parse_body, root_tag, Framed, Parsed,
};
use crate::token::{HmacSha256, MAX_TOKEN_LEN, MIN_KEY_LEN, TOKEN_PREFIX};

/// One key of a ring.
struct TokenKey {
    kid: String,
    // Kept only so the key bytes are wiped on drop together with the derived MAC state.
    _secret: Zeroizing<Vec<u8>>,
    mac: HmacSha256,
}

/// Signing and verification keys, by key id.
pub struct KeyRing {
    keys: Vec<TokenKey>,
    signing: usize,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "kids",
                &self.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            )
            .field("signing", &self.keys[self.signing].kid)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

fn validate_kid(kid: &str) -> Result<()> {
    let ok = (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::TokenKeyInvalid(
            "a kid is 1-64 characters of [A-Za-z0-9._-]".into(),
        ))
    }
}

impl TokenKey {
    fn new(kid: &str, secret: &[u8]) -> Result<Self> {
        validate_kid(kid)?;
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::TokenKeyInvalid(format!(
                "a token key needs at least {MIN_KEY_LEN} bytes, got {}",
                secret.len()
            )));
        }
        let mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
            .map_err(|_| Error::TokenKeyInvalid("unusable key".into()))?;
        Ok(TokenKey {
            kid: kid.to_string(),
            _secret: Zeroizing::new(secret.to_vec()),
            mac,
        })
    }
}

impl KeyRing {
    /// A ring with one key, which signs.
    pub fn new(kid: &str, secret: &[u8]) -> Result<Self> {
        Ok(KeyRing {
            keys: vec![TokenKey::new(kid, secret)?],
            signing: 0,
        })
    }

    /// Adds a key that verifies but does not sign.
    pub fn add_verifying_key(&mut self, kid: &str, secret: &[u8]) -> Result<()> {
        if self.keys.iter().any(|k| k.kid == kid) {
            return Err(Error::TokenKeyInvalid(format!("duplicate kid {kid:?}")));
        }
        self.keys.push(TokenKey::new(kid, secret)?);
        Ok(())
    }

    /// Adds a key and makes it the signing key; the previous ones keep verifying.
    pub fn rotate(&mut self, kid: &str, secret: &[u8]) -> Result<()> {
        self.add_verifying_key(kid, secret)?;
        self.signing = self.keys.len() - 1;
        Ok(())
    }

    /// Removes a verification key; its tokens then fail with `token_unknown_kid`. The signing
    /// key cannot be retired (rotate first).
    pub fn retire(&mut self, kid: &str) -> Result<()> {
        let index = self
            .keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or_else(|| Error::TokenUnknownKid(kid.to_string()))?;
        if index == self.signing {
            return Err(Error::TokenKeyInvalid(
                "the signing key cannot be retired; rotate first".into(),
            ));
        }
        self.keys.remove(index);
        if self.signing > index {
            self.signing -= 1;
        }
        Ok(())
    }

    /// The kid new tokens are signed under.
    pub fn signing_kid(&self) -> &str {
        &self.keys[self.signing].kid
    }

    /// Signs `claims` under the signing key.
    pub fn issue(&self, claims: &Claims) -> Result<String> {
        validate_claims(claims)?;
        let key = &self.keys[self.signing];
        let body =
            postcard::to_allocvec(claims).map_err(|e| Error::TokenClaimsInvalid(e.to_string()))?;
        let mut token =
            String::with_capacity(TOKEN_PREFIX.len() + key.kid.len() + body.len() * 4 / 3 + 52);
        token.push_str(TOKEN_PREFIX);
        token.push('.');
        token.push_str(&key.kid);
        token.push('.');
        let tag = root_tag(&key.mac, &key.kid, &body);
        URL_SAFE_NO_PAD.encode_string(&body, &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::TokenClaimsInvalid(format!(
                "the token would be {} bytes; the limit is {MAX_TOKEN_LEN}",
                token.len()
            )));
        }
        Ok(token)
    }

    /// Verifies a token for a request at `now`, after `uses_so_far` earlier uses.
    ///
    /// Checks, in order: format (`token_malformed`), key (`token_unknown_kid`), MAC chain
    /// (`token_signature_invalid`), `now ≥ iat` (`token_not_yet_valid`), `now < exp` after
    /// every expiry caveat (`token_expired`), method and resource against every scope
    /// (`token_scope_mismatch`), `uses_so_far < maxUses` after every caveat
    /// (`token_uses_exhausted`).
    pub fn verify(
        &self,
        token: &str,
        request: TokenRequest<'_>,
        now: u64,
        uses_so_far: u64,
    ) -> Result<VerifiedToken> {
        let framed = Framed::split(token)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == framed.kid)
            .ok_or_else(|| Error::TokenUnknownKid(framed.kid.to_string()))?;
        let claims_bytes = decode_vec(framed.claims_segment, "claims")?;
        let mut caveat_bytes = Vec::new();
        for segment in framed.caveat_segments() {
            caveat_bytes.push(decode_vec(segment, "caveat")?);
        }
        let mut tag = root_tag(&key.mac, framed.kid, &claims_bytes);
        for caveat in &caveat_bytes {
            tag = chain_tag(&tag, caveat);
        }
        if !constant_time_eq(&tag, &framed.tag) {
            return Err(Error::TokenSignatureInvalid);
        }
        let parsed = Parsed {
            kid: framed.kid,
            claims: parse_body(&claims_bytes, "claims")?,
            caveats: caveat_bytes
                .iter()
                .map(|bytes| parse_body(bytes, "caveat"))
                .collect::<Result<Vec<Caveat>>>()?,
        };
        let caveats = parsed.caveats.len();
        let kid = parsed.kid.to_string();
        let claims = parsed.into_effective_claims();
        check_effective(&claims, request, now, uses_so_far)?;
        Ok(VerifiedToken {
            kid,
            claims,
            caveats,
        })
    }
}
