//! Caveats: restrictions a holder appends to a token offline, which can only narrow it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::token::claims::{methods_ok, resource_in_scope, Claims};

/// A restriction appended to a token by its holder.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Caveat {
    /// Expire no later than this.
    Exp(u64),
    /// Cover only this narrower resource prefix.
    Resource(String),
    /// Allow only these methods.
    Methods(Vec<String>),
    /// Allow at most this many uses.
    MaxUses(u64),
}

pub(super) fn apply_caveat(claims: &mut Claims, caveat: &Caveat) {
    match caveat {
        Caveat::Exp(exp) => claims.exp = claims.exp.min(*exp),
        Caveat::MaxUses(n) => claims.max_uses = Some(claims.max_uses.map_or(*n, |m| m.min(*n))),
        Caveat::Resource(prefix) => {
            // Verification must hold even for a caveat that was appended without going
            // through `attenuate`: a resource outside the current scope empties the scope.
            if resource_in_scope(&claims.scope.resource, prefix) {
                claims.scope.resource.clone_from(prefix);
            } else {
                claims.scope.resource = String::from("\u{0}no-resource");
            }
        }
        Caveat::Methods(methods) => {
            let narrowed: Vec<String> = if claims.scope.methods.is_empty() {
                methods.clone()
            } else {
                claims
                    .scope
                    .methods
                    .iter()
                    .filter(|m| methods.iter().any(|n| n.eq_ignore_ascii_case(m)))
                    .cloned()
                    .collect()
            };
            // An empty intersection must not read as "any method".
            claims.scope.methods = if narrowed.is_empty() {
                vec![String::from("\u{0}NONE")]
            } else {
                narrowed
            };
        }
    }
}

/// Refuses, with `token_caveat_widens`, a caveat that would not narrow the `current` effective
/// claims (a later expiry, more uses, a resource outside the scope, a method not allowed).
pub(super) fn check_narrows(current: &Claims, caveat: &Caveat) -> Result<()> {
    let widens = |m: &str| Err(Error::TokenCaveatWidens(m.to_string()));
    match caveat {
        Caveat::Exp(exp) if *exp > current.exp => {
            return widens("expiry is later than the token's")
        }
        Caveat::MaxUses(n) if current.max_uses.is_some_and(|m| *n > m) => {
            return widens("more uses than the token allows")
        }
        Caveat::MaxUses(0) => return widens("maxUses must be at least 1"),
        Caveat::Resource(prefix) if !resource_in_scope(&current.scope.resource, prefix) => {
            return widens("resource is outside the token's scope")
        }
        Caveat::Methods(methods) => {
            if methods.is_empty() || !methods_ok(methods) {
                return widens("methods must be a non-empty list of upper-case names");
            }
            let all_allowed = current.scope.methods.is_empty()
                || methods.iter().all(|m| current.scope.methods.contains(m));
            if !all_allowed {
                return widens("a method the token does not allow");
            }
        }
        _ => {}
    }
    Ok(())
}
