//! Access tokens: issue and verify with a key ring, attenuate offline, hash for storage.

use std::sync::RwLock;

use paywire_core::token::{self, Caveat, Claims, TokenRequest, VerifiedToken};

use crate::{parse, text, whole_number, Result};

/// HMAC-SHA256 keys by key id: one signs, all verify. Secrets are wiped when it is dropped.
pub struct KeyRing {
    ring: RwLock<token::KeyRing>,
}

impl KeyRing {
    /// A ring whose signing key is `secret` under `kid`; a short key is `token_key_invalid`.
    pub fn new(kid: &str, secret: &[u8]) -> Result<Self> {
        Ok(KeyRing {
            ring: RwLock::new(token::KeyRing::new(kid, secret)?),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, token::KeyRing> {
        // Every change is one call on the ring, so a poisoned lock still holds a whole ring.
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, token::KeyRing> {
        self.ring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with the core's ring (for the paywall flow).
    pub fn with<R>(&self, f: impl FnOnce(&token::KeyRing) -> R) -> R {
        f(&self.read())
    }

    /// Adds a key that verifies but does not sign.
    pub fn add_verifying_key(&self, kid: &str, secret: &[u8]) -> Result<()> {
        self.write().add_verifying_key(kid, secret)
    }

    /// Makes `kid` the signing key (adding it with `secret`); the old key still verifies.
    pub fn rotate(&self, kid: &str, secret: &[u8]) -> Result<()> {
        self.write().rotate(kid, secret)
    }

    /// Removes a verifying key.
    pub fn retire(&self, kid: &str) -> Result<()> {
        self.write().retire(kid)
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> String {
        self.read().signing_kid().to_string()
    }

    /// Signs claims (JSON) into a token.
    pub fn issue(&self, claims: &str) -> Result<String> {
        let claims: Claims = parse(claims, "claims")?;
        self.read().issue(&claims)
    }

    /// Verifies a token for `method resource` at `now`, after `uses` earlier uses.
    pub fn verify(
        &self,
        token: &str,
        method: &str,
        resource: &str,
        now: f64,
        uses: f64,
    ) -> Result<VerifiedToken> {
        let now = whole_number(now, "now")?;
        let uses = whole_number(uses, "uses")?;
        self.read()
            .verify(token, TokenRequest::new(method, resource), now, uses)
    }

    /// [`KeyRing::verify`] answering one string ([`flat_verified`]): the hot call's form for
    /// the JavaScript engines, which shape it (an object built across the boundary costs
    /// several times more).
    pub fn verify_flat(
        &self,
        token: &str,
        method: &str,
        resource: &str,
        now: f64,
        uses: f64,
    ) -> Result<String> {
        flat_verified(self.verify(token, method, resource, now, uses)?)
    }

    /// [`KeyRing::verify_flat`] taking token, method and resource as one string
    /// ([`unpack_token_request`]): uniffi's Python converts each string argument, so one
    /// string instead of three is measurably faster.
    pub fn verify_packed(&self, request: &str, now: f64, uses: f64) -> Result<String> {
        let (token, method, resource) = unpack_token_request(request)?;
        self.verify_flat(token, method, resource, now, uses)
    }
}

/// Appends a caveat (JSON) to a token, without any key.
pub fn attenuate_token(token: &str, caveat: &str) -> Result<String> {
    let caveat: Caveat = parse(caveat, "caveat")?;
    token::attenuate(token, &caveat)
}

/// A token's effective claims (JSON), read WITHOUT verifying its MAC.
pub fn inspect_token(token: &str) -> Result<String> {
    text(&token::inspect(token)?)
}

/// Whether a scope's resource prefix covers a resource URL.
pub fn resource_in_scope(prefix: &str, resource: &str) -> bool {
    token::resource_in_scope(prefix, resource)
}

/// The scope prefix of a token sold for `resource` on a route `pattern`.
pub fn bundle_scope(resource: &str, pattern: &str) -> String {
    token::bundle_scope(resource, pattern)
}

/// Whether a scope (JSON `{resource, methods}`) covers `method` on `resource`.
pub fn scope_allows(scope: &str, method: &str, resource: &str) -> Result<bool> {
    let scope: token::Scope = parse(scope, "scope")?;
    Ok(scope.allows(method, resource))
}

/// The claims (JSON) of the token a bundle (JSON) sells with a payment on a rule (JSON).
pub fn bundle_claims(
    bundle: &str,
    rule: &str,
    id: &str,
    issuer: &str,
    payer: &str,
    resource: &str,
    now: f64,
) -> Result<String> {
    let bundle: token::Bundle = parse(bundle, "bundle")?;
    let rule: paywire_core::pricing::PriceRule = parse(rule, "rule")?;
    let now = whole_number(now, "now")?;
    text(&bundle.claims(id.to_string(), issuer, payer, resource, &rule, now))
}

/// The SHA-256 of a token (lowercase hex), which a store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    token::token_hash(token)
}

/// A verified token as one string for JavaScript hosts — `kid`, caveats, `id`, `iss`, `sub`,
/// `iat`, `exp`, `maxUses` (empty for none), the scope's route (empty for none: a route key is
/// never empty), resource and methods, each as
/// `<UTF-16 length>:<text>` — which their entries slice into `{kid, claims, caveats}`
/// (`bindings-js/src/flat.ts`). Token verification is a paywall's per-request call, and
/// building the object property by property across the boundary costs several times the
/// verification itself.
pub fn flat_verified(verified: VerifiedToken) -> Result<String> {
    let claims = verified.claims;
    let number =
        |value: u64, what: &str| crate::exact_number(value, what).map(|_| value.to_string());
    let mut flat = String::with_capacity(128 + claims.scope.resource.len());
    let mut field = |text: &str| {
        flat.push_str(&text.encode_utf16().count().to_string());
        flat.push(':');
        flat.push_str(text);
    };
    field(&verified.kid);
    field(&verified.caveats.to_string());
    field(&claims.id);
    field(&claims.iss);
    field(&claims.sub);
    field(&number(claims.iat, "iat")?);
    field(&number(claims.exp, "exp")?);
    field(
        &claims
            .max_uses
            .map(|n| number(n, "maxUses"))
            .transpose()?
            .unwrap_or_default(),
    );
    field(claims.scope.route.as_deref().unwrap_or_default());
    field(&claims.scope.resource);
    for method in &claims.scope.methods {
        field(method);
    }
    Ok(flat)
}

/// A token request from its one-string form for hosts whose strings cross slowly (uniffi's
/// Python lowers each string argument in Python, ~16 µs apiece): the token, the method and the
/// resource separated by U+001F, which none of them holds (the hosts refuse fields that do).
pub fn unpack_token_request(packed: &str) -> Result<(&str, &str, &str)> {
    let mut fields = packed.split(crate::policy::SEPARATOR);
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(token), Some(method), Some(resource), None) => Ok((token, method, resource)),
        _ => Err(paywire_core::Error::InvalidArgument(
            "token request: expected a token, a method and a resource".into(),
        )),
    }
}
