//! The wire format: `pw1.<kid>.<claims>[.<caveat>]….<tag>`, split and decoded (strictly), and
//! hashed for storage.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::token::caveat::{apply_caveat, check_narrows, Caveat};
use crate::token::claims::{Claims, VerifiedToken};
use crate::token::{HmacSha256, MAX_TOKEN_LEN, TOKEN_PREFIX};

pub(super) fn decode_vec(segment: &str, what: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::TokenMalformed(format!("{what} is not base64url")))
}

/// Decodes a postcard body that must be consumed exactly: trailing bytes are malformed.
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err(Error::TokenMalformed(format!("{what} has trailing bytes"))),
        Err(e) => Err(Error::TokenMalformed(format!("{what}: {e}"))),
    }
}

/// A token split into its segments; nothing decoded or verified yet.
pub(super) struct Framed<'a> {
    pub(super) kid: &'a str,
    pub(super) claims_segment: &'a str,
    /// The caveat segments joined by `.`, or empty.
    pub(super) caveats: &'a str,
    /// Everything before the final `.`: what the next caveat is appended to.
    pub(super) body: &'a str,
    pub(super) tag: [u8; 32],
}

impl<'a> Framed<'a> {
    pub(super) fn split(token: &'a str) -> Result<Self> {
        let malformed = |m: &str| Error::TokenMalformed(m.to_string());
        if token.len() > MAX_TOKEN_LEN {
            return Err(malformed("token is too long"));
        }
        let rest = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| malformed("token does not start with pw1."))?;
        let (kid, rest) = rest.split_once('.').ok_or_else(|| malformed("no claims"))?;
        let (body_rest, tag_segment) = rest.rsplit_once('.').ok_or_else(|| malformed("no tag"))?;
        let (claims_segment, caveats) = body_rest.split_once('.').unwrap_or((body_rest, ""));
        if kid.is_empty() || claims_segment.is_empty() {
            return Err(malformed("empty kid or claims"));
        }
        if !caveats.is_empty() && caveats.split('.').any(str::is_empty) {
            return Err(malformed("empty caveat"));
        }
        let mut tag = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(tag_segment, &mut tag) {
            Ok(32) => {}
            _ => return Err(malformed("the tag is not 32 bytes of base64url")),
        }
        Ok(Framed {
            kid,
            claims_segment,
            caveats,
            body: &token[..token.len() - tag_segment.len() - 1],
            tag,
        })
    }

    pub(super) fn caveat_segments(&self) -> impl Iterator<Item = &'a str> {
        let caveats = self.caveats;
        caveats.split('.').filter(move |_| !caveats.is_empty())
    }

    pub(super) fn decode(&self) -> Result<Parsed<'a>> {
        Ok(Parsed {
            kid: self.kid,
            claims: parse_body(&decode_vec(self.claims_segment, "claims")?, "claims")?,
            caveats: self
                .caveat_segments()
                .map(|segment| parse_body(&decode_vec(segment, "caveat")?, "caveat"))
                .collect::<Result<Vec<Caveat>>>()?,
        })
    }
}

/// A token's claims and caveats, decoded.
pub(super) struct Parsed<'a> {
    pub(super) kid: &'a str,
    pub(super) claims: Claims,
    pub(super) caveats: Vec<Caveat>,
}

impl Parsed<'_> {
    /// The claims with every caveat folded in: the minimum expiry and uses, the last (and
    /// narrowest, since each must lie inside the previous) resource, the intersection of
    /// method lists.
    pub(super) fn into_effective_claims(self) -> Claims {
        let mut claims = self.claims;
        for caveat in &self.caveats {
            apply_caveat(&mut claims, caveat);
        }
        claims
    }
}

/// The claims of a token, decoded but **not verified**, for display and routing (e.g. to pick
/// the issuer). Never use them for a decision.
pub fn inspect(token: &str) -> Result<VerifiedToken> {
    let parsed = Framed::split(token)?.decode()?;
    Ok(VerifiedToken {
        kid: parsed.kid.to_string(),
        caveats: parsed.caveats.len(),
        claims: parsed.into_effective_claims(),
    })
}

/// The SHA-256 of a token, lowercase hex: what to store at rest instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(super) fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// `tag₀`: the MAC of `pw1.<kid>.<claims-bytes>` under the key's precomputed state.
pub(super) fn root_tag(key: &HmacSha256, kid: &str, claims_bytes: &[u8]) -> [u8; 32] {
    let mut mac = key.clone();
    mac.update(TOKEN_PREFIX.as_bytes());
    mac.update(b".");
    mac.update(kid.as_bytes());
    mac.update(b".");
    mac.update(claims_bytes);
    mac.finalize().into_bytes().into()
}

/// `tagᵢ`: the MAC of a caveat's bytes keyed by the previous tag.
pub(super) fn chain_tag(previous: &[u8; 32], caveat_bytes: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(previous).expect("any key length");
    mac.update(caveat_bytes);
    mac.finalize().into_bytes().into()
}

/// Appends a caveat to a token, offline and without any key. Fails with `token_caveat_widens`
/// if the caveat would not narrow the token (later expiry, a resource outside the current
/// scope, a method not currently allowed, more uses), and with `token_malformed` for a token
/// that does not parse. The signature is not checked here: the holder has no key to check it.
pub fn attenuate(token: &str, caveat: &Caveat) -> Result<String> {
    let framed = Framed::split(token)?;
    let current = framed.decode()?.into_effective_claims();
    check_narrows(&current, caveat)?;
    let bytes = postcard::to_allocvec(caveat).map_err(|e| Error::TokenMalformed(e.to_string()))?;
    let segment = URL_SAFE_NO_PAD.encode(&bytes);
    let tag = chain_tag(&framed.tag, &bytes);
    let attenuated = format!("{}.{segment}.{}", framed.body, URL_SAFE_NO_PAD.encode(tag));
    if attenuated.len() > MAX_TOKEN_LEN {
        return Err(Error::TokenMalformed(format!(
            "the attenuated token would exceed {MAX_TOKEN_LEN} bytes"
        )));
    }
    Ok(attenuated)
}
