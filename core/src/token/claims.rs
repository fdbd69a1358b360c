//! What a token says: its claims, its scope, the bundle that sells it, and the checks a
//! request must pass against the effective claims.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a token lets its holder do.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scope {
    /// A resource prefix: `https://api.example.com/v1/` covers everything below it. A prefix
    /// without a trailing `/` covers itself and what follows a `/`, `?` or `#` (so `/v1` does
    /// not cover `/v10`).
    pub resource: String,
    /// HTTP methods allowed (upper case); empty for any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The price rule that sold the token ([`crate::pricing::PriceRule::route_key`]), for a
    /// bundle token: it is valid only where that rule is the one that prices the request, so
    /// a cheap rule's token never opens a pricier rule's path below the same prefix. `None`
    /// for a token issued for a prefix alone. (Always serialized: the token body is postcard,
    /// which has no field names to skip by.)
    #[serde(default)]
    pub route: Option<String>,
}

impl Scope {
    /// Whether the scope allows `method` (compared case-insensitively; empty allows any).
    pub fn allows_method(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Whether the scope covers `method` on `resource` — what a client checks before
    /// presenting a token it holds (verification checks the same, the route that prices the
    /// request, and the MAC).
    pub fn allows(&self, method: &str, resource: &str) -> bool {
        self.allows_method(method) && resource_in_scope(&self.resource, resource)
    }
}

/// What a bundle sells with a payment: further calls within a time window.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    /// Calls the token allows; unlimited within the window when absent.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// How long the token lives, in seconds.
    pub seconds: u64,
}

/// The longest a bundle may last: ten years, in seconds.
pub const MAX_BUNDLE_SECONDS: u64 = 10 * 366 * 86_400;
/// The largest integer JavaScript's numbers hold exactly (2^53 − 1): the most uses a bundle
/// may sell, and the latest expiry a token may carry, so every host reads them exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl Bundle {
    /// Checks what the bundle sells: `seconds` in 1 ..= [`MAX_BUNDLE_SECONDS`], `maxUses`
    /// (when given) in 1 ..= [`MAX_SAFE_INTEGER`]; else `pricing_rule_invalid`.
    pub fn validate(&self) -> Result<()> {
        if self.seconds == 0 || self.seconds > MAX_BUNDLE_SECONDS {
            return Err(Error::PricingRuleInvalid(format!(
                "a bundle lasts 1 to {MAX_BUNDLE_SECONDS} seconds"
            )));
        }
        if self
            .max_uses
            .is_some_and(|n| n == 0 || n > MAX_SAFE_INTEGER)
        {
            return Err(Error::PricingRuleInvalid(format!(
                "a bundle sells 1 to {MAX_SAFE_INTEGER} uses"
            )));
        }
        Ok(())
    }

    /// The claims of the token sold with a payment by `payer` for `resource` (a URL) on the
    /// route `rule`: bound to that rule ([`Scope::route`]), scoped to its literal prefix
    /// ([`bundle_scope`]) and its method (any method for a `*` rule), valid from `now` for
    /// `seconds`.
    pub fn claims(
        &self,
        id: String,
        issuer: &str,
        payer: &str,
        resource: &str,
        rule: &crate::pricing::PriceRule,
        now: u64,
    ) -> Claims {
        Claims {
            id,
            iss: issuer.to_string(),
            sub: payer.to_string(),
            scope: Scope {
                resource: bundle_scope(resource, rule.path.as_str()),
                methods: if rule.method == "*" {
                    vec![]
                } else {
                    vec![rule.method.to_ascii_uppercase()]
                },
                route: Some(rule.route_key()),
            },
            iat: now,
            exp: now.saturating_add(self.seconds),
            max_uses: self.max_uses,
        }
    }
}

/// A token's claims.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Claims {
    /// A unique id chosen by the issuer (random, passed in). Count uses by this id.
    pub id: String,
    /// Who issued it (a provider or the settlement server).
    pub iss: String,
    /// Who paid for it.
    pub sub: String,
    /// What it covers.
    pub scope: Scope,
    /// Issued at, unix seconds; the token is not valid before.
    pub iat: u64,
    /// Expires at, unix seconds; not valid from then on.
    pub exp: u64,
    /// How many uses it allows; unlimited when absent.
    #[serde(default)]
    pub max_uses: Option<u64>,
}

/// A token as its holder keeps it: the token and what the issuer said about it (the
/// `paywire-access-token` extension of a settlement, `{"token", "expiresAt", "maxUses", "scope"}`).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// The token, presented in `PAYWIRE-ACCESS-TOKEN`.
    pub token: String,
    /// Unix seconds from which it no longer works.
    pub expires_at: u64,
    /// How many uses it allows; unlimited when `null`.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// What it covers.
    pub scope: Scope,
}

/// A request a token is presented for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The resource URL (or path, if the scope is written with paths).
    pub resource: &'a str,
    /// The route key of the price rule that prices this request in the verifier's own
    /// pricebook ([`crate::pricing::PriceRule::route_key`]; `None`: no rule does, or the
    /// verifier has no pricebook). A token bound to a route ([`Scope::route`]) verifies only
    /// when this names the same route.
    pub route: Option<&'a str>,
}

impl<'a> TokenRequest<'a> {
    /// A request for `method resource` that no price rule is known to price: tokens bound to
    /// a route are refused for it.
    pub fn new(method: &'a str, resource: &'a str) -> Self {
        TokenRequest {
            method,
            resource,
            route: None,
        }
    }

    /// The same request, priced by the rule named `route`.
    pub fn priced_by(self, route: Option<&'a str>) -> Self {
        TokenRequest { route, ..self }
    }
}

/// A verified token: the claims with every caveat applied (the narrowest expiry, scope and
/// use count), and how many caveats it carried.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedToken {
    /// The key id the token was signed under.
    pub kid: String,
    /// The effective claims.
    pub claims: Claims,
    /// How many caveats were appended.
    pub caveats: usize,
}

pub(super) fn validate_claims(claims: &Claims) -> Result<()> {
    let invalid = |m: &str| Err(Error::TokenClaimsInvalid(m.to_string()));
    if claims.id.is_empty() {
        return invalid("id must not be empty");
    }
    if claims.exp <= claims.iat {
        return invalid("exp must be after iat");
    }
    if claims.scope.resource.is_empty() {
        return invalid("scope.resource must not be empty");
    }
    if claims.max_uses == Some(0) {
        return invalid("maxUses must be at least 1");
    }
    if claims.exp > MAX_SAFE_INTEGER || claims.max_uses.is_some_and(|n| n > MAX_SAFE_INTEGER) {
        return invalid("exp and maxUses must be at most 2^53 - 1 (JavaScript's exact integers)");
    }
    if !methods_ok(&claims.scope.methods) {
        return invalid("methods must be upper-case HTTP method names");
    }
    Ok(())
}

pub(super) fn methods_ok(methods: &[String]) -> bool {
    methods
        .iter()
        .all(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()))
}

/// The scope prefix of a token sold for `resource` (a URL) on a route whose path pattern is
/// `pattern`: the URL's origin and the pattern's literal part before its first parameter or
/// wildcard — `https://a.com/v1/weather/paris` on `/v1/weather/:city` gives
/// `https://a.com/v1/weather/`. A resource that is a bare path gives the literal part alone.
pub fn bundle_scope(resource: &str, pattern: &str) -> String {
    let origin = match resource.find("://") {
        Some(scheme) => {
            let authority_start = scheme + 3;
            let end = resource[authority_start..]
                .find(['/', '?', '#'])
                .map_or(resource.len(), |at| authority_start + at);
            &resource[..end]
        }
        None => "",
    };
    let literal = match pattern.find(['*', ':', '{']) {
        Some(cut) => &pattern[..cut],
        None => pattern,
    };
    format!("{origin}{literal}")
}

/// Whether `resource` lies under the scope `prefix` (see [`Scope::resource`]). The
/// resource's path is compared in canonical form ([`crate::pricing::canonical_path`]), so
/// `/v1/weather/../admin` and `/v1/weather/%2e%2e/admin` are not under `/v1/weather/`.
pub fn resource_in_scope(prefix: &str, resource: &str) -> bool {
    let resource = canonical_resource(resource);
    match resource.strip_prefix(prefix) {
        None => false,
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with(['/', '?', '#']),
    }
}

/// A resource URL (or bare path) with its path in canonical form and its query string and
/// fragment dropped: `https://a.com/v1/x/../y?z` is `https://a.com/v1/y`.
pub fn canonical_resource(resource: &str) -> String {
    let authority_end = match resource.find("://") {
        Some(scheme) => {
            let start = scheme + 3;
            resource[start..]
                .find(['/', '?', '#'])
                .map_or(resource.len(), |at| start + at)
        }
        None => 0,
    };
    let (origin, path) = resource.split_at(authority_end);
    if path.is_empty() || path.starts_with(['?', '#']) {
        return format!("{origin}/");
    }
    format!("{origin}{}", crate::pricing::canonical_path(path))
}

pub(super) fn check_effective(
    claims: &Claims,
    request: TokenRequest<'_>,
    now: u64,
    uses: u64,
) -> Result<()> {
    if now < claims.iat {
        return Err(Error::TokenNotYetValid {
            valid_from: claims.iat,
        });
    }
    if now >= claims.exp {
        return Err(Error::TokenExpired {
            expired_at: claims.exp,
        });
    }
    if !claims.scope.allows_method(request.method) {
        return Err(Error::TokenScopeMismatch(format!(
            "method {} is not allowed",
            crate::error::truncate_for_message(request.method)
        )));
    }
    if !resource_in_scope(&claims.scope.resource, request.resource) {
        return Err(Error::TokenScopeMismatch(
            "the resource is outside the token's scope".into(),
        ));
    }
    if let Some(route) = &claims.scope.route {
        if request.route != Some(route.as_str()) {
            return Err(Error::TokenScopeMismatch(format!(
                "the token was sold by the route {}; another price rule prices this request",
                crate::error::truncate_for_message(route)
            )));
        }
    }
    if let Some(max_uses) = claims.max_uses {
        if uses >= max_uses {
            return Err(Error::TokenUsesExhausted {
                used: uses,
                max_uses,
            });
        }
    }
    Ok(())
}
