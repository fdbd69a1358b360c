//! Access tokens: issue and verify with a key ring, attenuate offline, hash for storage.

use std::cell::RefCell;

use paywire_core::token::{self, Claims, TokenRequest};
use wasm_bindgen::prelude::*;

use crate::convert::{bytes_arg, exact_number, from_js, string_arg, whole_number, ObjectBuilder};
use crate::error::{JsResult, OrThrow};

/// HMAC-SHA256 keys by key id: one signs, all verify. Secrets are at least 32 bytes; they are
/// wiped from wasm memory when the ring is freed (`ring.free()`).
///
/// ```js
/// const ring = new KeyRing("k1", crypto.getRandomValues(new Uint8Array(32)));
/// const token = ring.issue({ id: "t1", iss: "api", sub: "agent", scope: { resource: "https://api.example.com/v1/", methods: ["GET"] }, iat: now, exp: now + 3600, maxUses: 5 });
/// ring.verify(token, "GET", "https://api.example.com/v1/weather", now, 0).claims.sub // "agent"
/// ```
#[wasm_bindgen]
pub struct KeyRing {
    // `&self` methods only (see `Usage`); the borrow never outlives one call.
    pub(crate) ring: RefCell<token::KeyRing>,
}

#[wasm_bindgen]
impl KeyRing {
    /// A ring whose signing key is `secret` under `kid`; a short key throws `token_key_invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] kid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
    ) -> JsResult<KeyRing> {
        let kid = &string_arg(&kid, "kid")?;
        let secret = &bytes_arg(&secret, "secret")?;
        Ok(KeyRing {
            ring: RefCell::new(token::KeyRing::new(kid, secret).or_throw()?),
        })
    }

    /// Adds a key that verifies but does not sign (a key being phased in or out).
    #[wasm_bindgen(js_name = addVerifyingKey)]
    pub fn add_verifying_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] kid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
    ) -> JsResult<()> {
        let kid = &string_arg(&kid, "kid")?;
        let secret = &bytes_arg(&secret, "secret")?;
        self.ring
            .borrow_mut()
            .add_verifying_key(kid, secret)
            .or_throw()
    }

    /// Makes `kid` the signing key (adding it with `secret`); the old key still verifies.
    pub fn rotate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] kid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] secret: JsValue,
    ) -> JsResult<()> {
        let kid = &string_arg(&kid, "kid")?;
        let secret = &bytes_arg(&secret, "secret")?;
        self.ring.borrow_mut().rotate(kid, secret).or_throw()
    }

    /// Removes a verifying key; tokens signed with it then fail with `token_unknown_kid`.
    pub fn retire(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] kid: JsValue,
    ) -> JsResult<()> {
        let kid = &string_arg(&kid, "kid")?;
        self.ring.borrow_mut().retire(kid).or_throw()
    }

    /// The id of the key that signs.
    #[wasm_bindgen(getter, js_name = signingKid)]
    pub fn signing_kid(&self) -> String {
        self.ring.borrow().signing_kid().to_string()
    }

    /// Signs claims (`{id, iss, sub, scope: {resource, methods}, iat, exp, maxUses?}`) into a
    /// `pw1.` token.
    pub fn issue(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Claims")] claims: JsValue,
    ) -> JsResult<String> {
        let claims: Claims = from_js(claims, "claims")?;
        self.ring.borrow().issue(&claims).or_throw()
    }

    /// Verifies a token for `method resource` at `now`, after `uses` earlier uses of its
    /// claims id: `{kid, claims, caveats}` with every caveat applied, or a thrown
    /// `token_malformed`, `token_unknown_kid`, `token_signature_invalid`,
    /// `token_not_yet_valid`, `token_expired`, `token_scope_mismatch` or
    /// `token_uses_exhausted`.
    #[wasm_bindgen(unchecked_return_type = "VerifiedToken")]
    pub fn verify(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] resource: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] uses: JsValue,
    ) -> JsResult<JsValue> {
        let token = &string_arg(&token, "token")?;
        let method = &string_arg(&method, "method")?;
        let resource = &string_arg(&resource, "resource")?;
        let now = whole_number(&now, "now")?;
        let uses = whole_number(&uses, "uses")?;
        let verified = self
            .ring
            .borrow()
            .verify(token, TokenRequest::new(method, resource), now, uses)
            .or_throw()?;
        verified_to_js(&verified)
    }
}

#[wasm_bindgen]
impl KeyRing {
    /// `verify`, its result as one string (`paywire_bindings_common::token::flat_verified`):
    /// the entry (`ts/engine.ts`) shapes it into `{kid, claims, caveats}` with plain
    /// JavaScript, which is several times cheaper than building the object from wasm.
    #[wasm_bindgen(js_name = "__verifyFlat")]
    pub fn verify_flat(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] resource: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] uses: JsValue,
    ) -> JsResult<String> {
        let token = &string_arg(&token, "token")?;
        let method = &string_arg(&method, "method")?;
        let resource = &string_arg(&resource, "resource")?;
        let now = whole_number(&now, "now")?;
        let uses = whole_number(&uses, "uses")?;
        let verified = self
            .ring
            .borrow()
            .verify(token, TokenRequest::new(method, resource), now, uses)
            .or_throw()?;
        paywire_bindings_common::token::flat_verified(verified).or_throw()
    }
}

/// `{kid, claims, caveats}` built directly: this is the edge's per-request call, and the JSON
/// round trip would cost several times the verification itself.
fn verified_to_js(verified: &token::VerifiedToken) -> JsResult<JsValue> {
    let claims = &verified.claims;
    let methods: js_sys::Array = claims
        .scope
        .methods
        .iter()
        .map(|m| JsValue::from_str(m))
        .collect();
    let scope = ObjectBuilder::new()
        .set("resource", claims.scope.resource.as_str())
        .set("methods", methods);
    let max_uses = match claims.max_uses {
        Some(uses) => JsValue::from_f64(exact_number(uses, "maxUses")?),
        None => JsValue::NULL,
    };
    let claims = ObjectBuilder::new()
        .set("id", claims.id.as_str())
        .set("iss", claims.iss.as_str())
        .set("sub", claims.sub.as_str())
        .set("scope", scope.build())
        .set_integer("iat", claims.iat)?
        .set_integer("exp", claims.exp)?
        .set("maxUses", max_uses);
    Ok(ObjectBuilder::new()
        .set("kid", verified.kid.as_str())
        .set("claims", claims.build())
        .set("caveats", verified.caveats as f64)
        .build())
}
