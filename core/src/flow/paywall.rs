//! The provider's side of a paid request, as a state machine.
//!
//! ```text
//! request ─┬─ no route, or free ───────────────────────────────────────────► Pass
//!          ├─ access token (with a key ring) ──► CountTokenUse ──► uses ─┬─► Pass
//!          │                                                             └─► Respond 402
//!          ├─ no payment, or one that does not decode or match ────────────► Respond 402
//!          └─ payment ──► Verify ──► facilitator ─┬─ unreachable ──────────► Respond 502
//!                                                 ├─ invalid ──────────────► Respond 402
//!                                                 └─ valid ──► CountTokenUse (deliveries)
//!   deliveries ─┬─ already 2 (an answer, and a re-sent one) ───────────────► Respond 402
//!               └─ otherwise ──► RunHandler ──► handler
//!   handler ─┬─ status ≥ 400 (not charged for) ────────────────────────────► Deliver
//!            └─ otherwise ──► Settle ──► facilitator ─┬─ unreachable ──────► Respond 502
//!                                                     ├─ failed ───────────► Respond 402
//!                                                     └─ settled ──────────► Deliver + PAYMENT-RESPONSE
//! ```
//!
//! The host holds the handler's answer until `Deliver` (nothing is delivered unpaid), makes the
//! facilitator calls `Verify` and `Settle` describe (any x402 facilitator), counts token uses
//! in its store, and sends `Respond` answers as given: every host answers the same 402s and
//! 502s, byte for byte.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{bytes_of, hex_of, Answer, Headers};
use crate::error::{Error, Result};
use crate::network::ChainId;
use crate::pricing::{PaymentOption, PriceRule, Pricebook, Quote, QuoteRequest};
use crate::protocol::extensions::{
    offer_payment_identifier, payment_identifier, PAYMENT_IDENTIFIER,
};
use crate::protocol::header::{self, DEFAULT_HEADER_LIMIT};
use crate::protocol::matching::find_match;
use crate::protocol::names::{
    ACCESS_TOKEN_EXTENSION, ACCESS_TOKEN_HEADER, PAYMENT_REQUIRED, PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE, X_PAYMENT, X_PAYMENT_RESPONSE,
};
use crate::protocol::{
    AnyRequirements, FacilitatorRequest, JsonObject, PaymentPayload, PaymentRequiredV1,
    PaymentRequiredV2, ResourceInfo, SettleResponse, VerifyResponse, Version,
};
use crate::token::{AccessToken, Bundle, KeyRing, TokenRequest};

/// The `error` of a 402 answering a request that carried no payment.
pub const PAYMENT_REQUIRED_ERROR: &str = "payment_required";
/// The `error` of a 402 when the facilitator refused a payment without saying why.
pub const INVALID_PAYMENT_ERROR: &str = "invalid_payment";
/// The `error` of a 402 when settlement failed without a reason.
pub const SETTLEMENT_FAILED_ERROR: &str = "settlement_failed";

/// A priced route; with `bundle`, a payment also buys an access token for more calls.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaywallRoute {
    /// The price rule.
    #[serde(flatten)]
    pub rule: PriceRule,
    /// What a payment also buys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Bundle>,
    /// How this route is paid, instead of the paywall's `accepts` (routes configured the way
    /// Coinbase's middleware takes them carry their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<Vec<PaymentOption>>,
}

/// How a provider's paywall is configured.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaywallConfig {
    /// The priced routes, tried in order.
    pub routes: Vec<PaywallRoute>,
    /// How the provider accepts payment: assets and recipients (a route may name its own).
    #[serde(default)]
    pub accepts: Vec<PaymentOption>,
    /// Decimals of the routes' prices (default 6).
    #[serde(default = "six")]
    pub decimals: u8,
    /// Whether payments must carry a payment identifier.
    #[serde(default)]
    pub require_payment_identifier: bool,
    /// The `iss` of the tokens it sells (default: the request's origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issuer: Option<String>,
}

fn six() -> u8 {
    6
}

/// A paywall: the validated configuration every request of a provider shares.
#[derive(Debug, Clone)]
pub struct Paywall {
    config: PaywallConfig,
    book: Pricebook,
    extensions: JsonObject,
}

/// What the host does next.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum PaywallAction {
    /// Run the handler and answer with its response, untouched.
    Pass,
    /// Count one use of this token in the store and feed how many uses came before it.
    #[serde(rename_all = "camelCase")]
    CountTokenUse {
        /// The token's claims id (attenuated copies share it).
        id: String,
        /// When it expires (the store may forget it then).
        expires_at: u64,
    },
    /// Answer this instead of running the handler.
    Respond(Answer),
    /// `POST <facilitator>/verify` with this JSON body and feed the answer.
    Verify {
        /// The body.
        #[cfg_attr(
            feature = "schemars",
            schemars(with = "crate::protocol::FacilitatorRequest")
        )]
        body: Value,
    },
    /// The payment verified: run the handler, hold its answer, and feed its status.
    RunHandler,
    /// `POST <facilitator>/settle` with this JSON body and feed the answer.
    Settle {
        /// The body.
        #[cfg_attr(
            feature = "schemars",
            schemars(with = "crate::protocol::FacilitatorRequest")
        )]
        body: Value,
    },
    /// Send the handler's held answer, with these header fields added.
    #[serde(rename_all = "camelCase")]
    Deliver {
        /// Fields to add, by canonical name.
        set_headers: BTreeMap<String, String>,
    },
}

/// What happened, as a host reports it (for bindings and the flow vectors).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum PaywallEvent {
    /// A request arrived.
    #[serde(rename_all = "camelCase")]
    Request {
        /// Its method.
        method: String,
        /// Its full URL.
        url: String,
        /// Its header fields.
        #[serde(default)]
        headers: Headers,
        /// Unix seconds.
        now: u64,
        /// 16 random bytes (hex): the id of a token this request may sell.
        entropy: String,
    },
    /// The token store counted a use.
    TokenUses {
        /// Uses before this one.
        before: u64,
    },
    /// The facilitator answered (any status).
    Facilitator {
        /// The HTTP status.
        status: u16,
        /// The body, when it was JSON.
        #[serde(default)]
        body: Option<Value>,
    },
    /// The facilitator could not be reached.
    FacilitatorUnreachable {
        /// What the transport said.
        message: String,
    },
    /// The handler answered.
    Handler {
        /// Its status.
        status: u16,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    CountingToken {
        token: String,
    },
    Verifying,
    /// The payment verified; its deliveries are being counted.
    CountingDelivery,
    Handling,
    Settling,
    Done,
}

/// One request's flow through a [`Paywall`].
#[derive(Debug, Clone)]
pub struct PaywallFlow {
    stage: Stage,
    method: String,
    url: String,
    now: u64,
    entropy: [u8; 16],
    route: Option<usize>,
    v2: Option<PaymentRequiredV2>,
    v1: Option<PaymentRequiredV1>,
    request: Option<FacilitatorRequest>,
    /// The 402 last answered (v2), for transports that carry it as an object (MCP).
    answered: Option<PaymentRequiredV2>,
    /// The settlement last delivered, likewise.
    settlement: Option<SettleResponse>,
}

impl Paywall {
    /// A paywall over `config`, validated: prices, and every accepted option's network.
    pub fn new(config: PaywallConfig) -> Result<Self> {
        let mut book = Pricebook::new(config.routes.iter().map(|r| r.rule.clone()).collect());
        book.decimals = config.decimals;
        book.validate()?;
        for option in &config.accepts {
            ChainId::parse(&option.asset.network)?;
        }
        for route in &config.routes {
            if let Some(bundle) = &route.bundle {
                bundle.validate()?;
            }
            let options = route.accepts.as_ref().unwrap_or(&config.accepts);
            if options.is_empty() {
                return Err(Error::PricingRuleInvalid(format!(
                    "{} {}: no way to pay (neither the route nor the paywall accepts anything)",
                    route.rule.method,
                    route.rule.path.as_str()
                )));
            }
            for option in options {
                ChainId::parse(&option.asset.network)?;
            }
        }
        let mut extensions = JsonObject::new();
        extensions.insert(
            PAYMENT_IDENTIFIER.into(),
            offer_payment_identifier(config.require_payment_identifier),
        );
        Ok(Paywall {
            config,
            book,
            extensions,
        })
    }

    /// A paywall from its JSON configuration: a route that does not read is
    /// `pricing_rule_invalid`, any other shape error `invalid_argument`.
    ///
    /// `routes` is a list of Paywire price rules, or an object keyed `"GET /path"` as Coinbase's
    /// x402 middleware takes routes (see [`super::routes`]). A price may be written in dollars
    /// (`"$0.01"`) as well as in atomic units at the configuration's `decimals`.
    pub fn from_json(config: Value) -> Result<Self> {
        let config = super::routes::normalize(config)?;
        match serde_json::from_value::<PaywallConfig>(config.clone()) {
            Ok(config) => Paywall::new(config),
            Err(error) => {
                let routes = config.get("routes").cloned().unwrap_or(Value::Null);
                if let Err(route_error) = serde_json::from_value::<Vec<PaywallRoute>>(routes) {
                    return Err(Error::PricingRuleInvalid(route_error.to_string()));
                }
                Err(Error::InvalidArgument(format!(
                    "paywall configuration: {error}"
                )))
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PaywallConfig {
        &self.config
    }

    /// Feeds an event in its JSON form. A `request` event starts `flow` over.
    pub fn feed(
        &self,
        flow: &mut PaywallFlow,
        event: PaywallEvent,
        keys: Option<&KeyRing>,
    ) -> PaywallAction {
        match event {
            PaywallEvent::Request {
                method,
                url,
                headers,
                now,
                entropy,
            } => match bytes_of::<16>(&entropy, "entropy") {
                Ok(entropy) => {
                    let (started, action) =
                        self.request(&method, &url, &headers, now, &entropy, keys);
                    *flow = started;
                    action
                }
                Err(error) => error_answer(500, &error),
            },
            PaywallEvent::TokenUses { before } => flow.on_token_uses(self, before, keys),
            PaywallEvent::Facilitator { status, body } => {
                flow.on_facilitator(self, Ok((status, body)), keys)
            }
            PaywallEvent::FacilitatorUnreachable { message } => {
                flow.on_facilitator(self, Err(message), keys)
            }
            PaywallEvent::Handler { status } => flow.on_handler(status),
        }
    }

    /// A request arrived: starts its flow and says what to do first. `entropy` names a token
    /// this request may sell; `keys` verify presented tokens and sign sold ones.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &Headers,
        now: u64,
        entropy: &[u8; 16],
        keys: Option<&KeyRing>,
    ) -> (PaywallFlow, PaywallAction) {
        let presented = Presented {
            token: headers.get(ACCESS_TOKEN_HEADER),
            payment: headers
                .get(PAYMENT_SIGNATURE)
                .or_else(|| headers.get(X_PAYMENT))
                .map(|header| header::decode_payment_payload(header, DEFAULT_HEADER_LIMIT)),
        };
        self.start(method, url, presented, now, entropy, keys)
    }

    /// A request arrived with what it presents, however its transport carried it (HTTP
    /// headers, MCP `_meta`): starts its flow and says what to do first.
    pub(crate) fn start(
        &self,
        method: &str,
        url: &str,
        presented: Presented<'_>,
        now: u64,
        entropy: &[u8; 16],
        keys: Option<&KeyRing>,
    ) -> (PaywallFlow, PaywallAction) {
        let mut flow = PaywallFlow {
            stage: Stage::Done,
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            now,
            entropy: *entropy,
            ..PaywallFlow::default()
        };
        let path = path_of(url);
        let route = match self.book.route_unambiguous(&flow.method, path) {
            Ok(Some(route)) => route,
            Ok(None) => return (flow, PaywallAction::Pass),
            // `/free/../paid`: the host's router may run another rule's handler than the one
            // the canonical path prices; neither a payment nor a token is taken for it.
            Err(error) => return (flow, error_answer(400, &error)),
        };
        let quote = match self.book.quote(&QuoteRequest::new(&flow.method, path)) {
            Ok(quote) => quote,
            Err(error) => return (flow, error_answer(500, &error)),
        };
        if quote.amount.is_zero() {
            return (flow, PaywallAction::Pass);
        }
        flow.route = Some(route);
        match self.offers(route, &quote, url) {
            Ok((v2, v1)) => {
                flow.v2 = Some(v2);
                flow.v1 = Some(v1);
            }
            Err(error) => return (flow, error_answer(500, &error)),
        }
        if let (Some(token), Some(keys)) = (presented.token, keys) {
            // First without counting: a forged or expired token must not consume anything.
            let route_key = self.book.rules[route].route_key();
            let request = TokenRequest::new(&flow.method, url).priced_by(Some(&route_key));
            let action = match keys.verify(token, request, now, 0) {
                Ok(verified) => {
                    flow.stage = Stage::CountingToken {
                        token: token.to_string(),
                    };
                    PaywallAction::CountTokenUse {
                        id: verified.claims.id,
                        expires_at: verified.claims.exp,
                    }
                }
                // A token that no longer works is not an error of the request: ask for payment.
                Err(error) => flow.payment_required(error.code(), &error.to_string()),
            };
            return (flow, action);
        }
        let Some(payment) = presented.payment else {
            let action =
                flow.payment_required(PAYMENT_REQUIRED_ERROR, "this resource needs a payment");
            return (flow, action);
        };
        let action = match payment.and_then(|payment| self.read_payment(&flow, payment)) {
            Ok(request) => {
                let body = serde_json::to_value(&request).unwrap_or(Value::Null);
                flow.request = Some(request);
                flow.stage = Stage::Verifying;
                PaywallAction::Verify { body }
            }
            Err(error) => flow.payment_required(error.code(), &error.to_string()),
        };
        (flow, action)
    }

    /// A presented payment matched to the offer of its version.
    fn read_payment(
        &self,
        flow: &PaywallFlow,
        payment: PaymentPayload,
    ) -> Result<FacilitatorRequest> {
        let offers: Vec<AnyRequirements> = match &payment {
            PaymentPayload::V1(_) => flow
                .v1
                .iter()
                .flat_map(|r| r.accepts.iter().cloned().map(AnyRequirements::V1))
                .collect(),
            PaymentPayload::V2(_) => flow
                .v2
                .iter()
                .flat_map(|r| r.accepts.iter().cloned().map(AnyRequirements::V2))
                .collect(),
        };
        let requirements = find_match(&offers, &payment)?.clone();
        if let PaymentPayload::V2(v2) = &payment {
            let id = payment_identifier(v2.extensions.as_ref())?;
            if id.is_none() && self.config.require_payment_identifier {
                return Err(Error::PaymentIdentifierInvalid(
                    "this resource requires a payment identifier".into(),
                ));
            }
        }
        Ok(FacilitatorRequest {
            payment_payload: payment,
            payment_requirements: requirements,
        })
    }

    fn offers(
        &self,
        route: usize,
        quote: &Quote,
        url: &str,
    ) -> Result<(PaymentRequiredV2, PaymentRequiredV1)> {
        let route = &self.config.routes[route];
        let accepts = route.accepts.as_ref().unwrap_or(&self.config.accepts);
        let mut resource = ResourceInfo::new(url);
        resource.description = route.rule.description.clone();
        // Every option, for matching a v1 payment; the body a v1 client reads lists only the
        // options it can parse (see `payment_required`).
        let v1 = PaymentRequiredV1 {
            x402_version: Version,
            error: "X-PAYMENT header is required".into(),
            accepts: quote.requirements_v1(accepts, &resource)?,
        };
        let v2 =
            quote.payment_required_v2(accepts, resource, None, Some(self.extensions.clone()))?;
        Ok((v2, v1))
    }

    fn issue_bundle_token(
        &self,
        flow: &PaywallFlow,
        keys: &KeyRing,
        payer: &str,
    ) -> Option<AccessToken> {
        let route = &self.config.routes[flow.route?];
        let bundle = route.bundle.as_ref()?;
        let issuer = self
            .config
            .token_issuer
            .clone()
            .unwrap_or_else(|| origin_of(&flow.url).to_string());
        let claims = bundle.claims(
            format!("tok_{}", hex_of(&flow.entropy)),
            &issuer,
            payer,
            &flow.url,
            &route.rule,
            flow.now,
        );
        let token = keys.issue(&claims).ok()?;
        Some(AccessToken {
            token,
            expires_at: claims.exp,
            max_uses: claims.max_uses,
            scope: claims.scope,
        })
    }
}

/// What a request presents to a paywall: an access token, and a payment (decoded, or why it
/// could not be).
#[derive(Debug, Default)]
pub(crate) struct Presented<'a> {
    pub(crate) token: Option<&'a str>,
    pub(crate) payment: Option<Result<PaymentPayload>>,
}

impl Default for PaywallFlow {
    /// A flow with no request yet: feed it a `request` event.
    fn default() -> Self {
        PaywallFlow {
            stage: Stage::Done,
            method: String::new(),
            url: String::new(),
            now: 0,
            entropy: [0; 16],
            route: None,
            v2: None,
            v1: None,
            request: None,
            answered: None,
            settlement: None,
        }
    }
}

impl PaywallFlow {
    /// The 402 this flow last answered, in its v2 form.
    pub(crate) fn answered(&self) -> Option<&PaymentRequiredV2> {
        self.answered.as_ref()
    }

    /// The settlement this flow last delivered.
    pub(crate) fn settlement(&self) -> Option<&SettleResponse> {
        self.settlement.as_ref()
    }

    /// The network of the payment being settled, once one was matched.
    pub(crate) fn network(&self) -> Option<&str> {
        self.request
            .as_ref()
            .map(|request| request.payment_requirements.network())
    }

    /// Whether the facilitator is settling this flow's payment (a 402 now is a failed
    /// settlement, not a refused payment).
    pub(crate) fn is_settling(&self) -> bool {
        self.stage == Stage::Settling
    }

    /// The token store counted a use: `before` uses came before this one.
    pub fn on_token_uses(
        &mut self,
        paywall: &Paywall,
        before: u64,
        keys: Option<&KeyRing>,
    ) -> PaywallAction {
        let token = match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::CountingToken { token } => token,
            Stage::CountingDelivery if before < DELIVERIES_PER_PAYMENT => {
                self.stage = Stage::Handling;
                return PaywallAction::RunHandler;
            }
            Stage::CountingDelivery => {
                let error = Error::PaymentAlreadyDelivered(format!(
                    "this payment's answer went out {before} times; a payment buys one answer and one re-send of a lost answer"
                ));
                return self.payment_required(error.code(), &error.to_string());
            }
            other => {
                self.stage = other;
                return self.out_of_order("a token use count");
            }
        };
        let Some(keys) = keys else {
            return self.out_of_order("a token use count without keys");
        };
        let route_key = self
            .route
            .and_then(|route| paywall.book.rules.get(route))
            .map(PriceRule::route_key);
        let request = TokenRequest::new(&self.method, &self.url).priced_by(route_key.as_deref());
        match keys.verify(&token, request, self.now, before) {
            Ok(_) => PaywallAction::Pass,
            Err(error) => self.payment_required(error.code(), &error.to_string()),
        }
    }

    /// The facilitator answered `Ok((status, JSON body or None))`, or could not be reached
    /// (`Err(what the transport said)`).
    pub fn on_facilitator(
        &mut self,
        paywall: &Paywall,
        answer: std::result::Result<(u16, Option<Value>), String>,
        keys: Option<&KeyRing>,
    ) -> PaywallAction {
        let stage = std::mem::replace(&mut self.stage, Stage::Done);
        let action = match stage {
            Stage::Verifying => "verify",
            Stage::Settling => "settle",
            other => {
                self.stage = other;
                return self.out_of_order("a facilitator answer");
            }
        };
        let json = match answer {
            Err(message) => {
                return error_answer(
                    502,
                    &Error::FacilitatorUnavailable(format!("could not be reached: {message}")),
                )
            }
            Ok((status, None)) => {
                return error_answer(
                    502,
                    &Error::FacilitatorUnavailable(format!("answered {status} without JSON")),
                )
            }
            Ok((status, Some(json))) => (status, json),
        };
        if action == "verify" {
            match serde_json::from_value::<VerifyResponse>(json.1.clone()) {
                Ok(verified) if verified.is_valid => match &self.request {
                    // Before the handler runs: how often this payment's answer went out.
                    Some(request) => {
                        let (id, expires_at) = delivery_key(request, self.now);
                        self.stage = Stage::CountingDelivery;
                        PaywallAction::CountTokenUse { id, expires_at }
                    }
                    None => self.out_of_order("a verification without a payment"),
                },
                Ok(verified) => self.payment_required(
                    verified
                        .invalid_reason
                        .as_ref()
                        .map_or(INVALID_PAYMENT_ERROR, |r| r.as_str()),
                    verified
                        .invalid_message
                        .as_deref()
                        .unwrap_or("the payment is not valid"),
                ),
                Err(_) => unreadable(json, action),
            }
        } else {
            match serde_json::from_value::<SettleResponse>(json.1.clone()) {
                Ok(settled) if settled.success => self.settled(paywall, settled, keys),
                Ok(settled) => self.payment_required(
                    settled
                        .error_reason
                        .as_ref()
                        .map_or(SETTLEMENT_FAILED_ERROR, |r| r.as_str()),
                    settled
                        .error_message
                        .as_deref()
                        .unwrap_or("the payment could not be settled"),
                ),
                Err(_) => unreadable(json, action),
            }
        }
    }

    /// The handler answered with `status`: a failed response is not charged for.
    pub fn on_handler(&mut self, status: u16) -> PaywallAction {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Handling if status >= 400 => PaywallAction::Deliver {
                set_headers: BTreeMap::new(),
            },
            Stage::Handling => {
                self.stage = Stage::Settling;
                PaywallAction::Settle {
                    body: self
                        .request
                        .as_ref()
                        .and_then(|r| serde_json::to_value(r).ok())
                        .unwrap_or(Value::Null),
                }
            }
            other => {
                self.stage = other;
                self.out_of_order("a handler status")
            }
        }
    }

    fn settled(
        &mut self,
        paywall: &Paywall,
        mut settled: SettleResponse,
        keys: Option<&KeyRing>,
    ) -> PaywallAction {
        let has_token = settled
            .extensions
            .as_ref()
            .is_some_and(|e| e.contains_key(ACCESS_TOKEN_EXTENSION));
        if !has_token {
            let payer = settled.payer.clone().unwrap_or_else(|| "anonymous".into());
            let token = keys.and_then(|keys| paywall.issue_bundle_token(self, keys, &payer));
            if let Some(token) = token.and_then(|t| serde_json::to_value(t).ok()) {
                settled
                    .extensions
                    .get_or_insert_with(JsonObject::new)
                    .insert(ACCESS_TOKEN_EXTENSION.into(), token);
            }
        }
        let (name, settled) = match self.request.as_ref().map(|r| r.version()) {
            Some(1) => (X_PAYMENT_RESPONSE, settled.into_v1_form()),
            _ => (PAYMENT_RESPONSE, settled),
        };
        let action = PaywallAction::Deliver {
            set_headers: BTreeMap::from([(name.to_string(), header::encode(&settled))]),
        };
        self.settlement = Some(settled);
        action
    }

    /// A 402 with a fresh `PAYMENT-REQUIRED` (whose `error` is `code`) and the v1 JSON body.
    fn payment_required(&mut self, code: &str, message: &str) -> PaywallAction {
        self.stage = Stage::Done;
        let (Some(v2), Some(v1)) = (&self.v2, &self.v1) else {
            return error_answer(500, &Error::InvalidArgument(message.to_string()));
        };
        let mut v2 = v2.clone();
        v2.error = Some(code.to_string());
        let mut v1 = v1.clone();
        v1.error = code.to_string();
        v1.accepts
            .retain(|requirements| crate::network::is_v1_name(&requirements.network));
        let mut body = serde_json::to_value(&v1).unwrap_or(Value::Null);
        if let Some(object) = body.as_object_mut() {
            object.insert("message".into(), Value::String(message.to_string()));
        }
        let action = PaywallAction::Respond(Answer {
            status: 402,
            headers: BTreeMap::from([
                ("content-type".into(), "application/json".into()),
                (PAYMENT_REQUIRED.into(), header::encode(&v2)),
            ]),
            body: body.to_string(),
        });
        self.answered = Some(v2);
        action
    }

    fn out_of_order(&mut self, event: &str) -> PaywallAction {
        error_answer(
            500,
            &Error::InvalidArgument(format!("{event} does not fit where this request stands")),
        )
    }
}

/// How often one payment's answer is delivered at most: once, and once more for the payer's
/// re-send of a lost answer (the very same payment, settled once). Without a bound, a payer
/// could re-send its own payment for as long as its authorization is valid and have the
/// handler run each time for one charge.
pub const DELIVERIES_PER_PAYMENT: u64 = 2;

/// The key a payment's deliveries are counted under in the token-use store, and until when it
/// matters (the authorization's expiry; a payment that cannot verify after it cannot be
/// delivered either). Keyed on what the payer signed — network, payer and nonce for `exact` —
/// so that re-encoding the payment's unsigned parts does not make it new.
fn delivery_key(request: &FacilitatorRequest, now: u64) -> (String, u64) {
    let network = request.payment_requirements.network();
    let payload = request.payment_payload.payload();
    match crate::protocol::exact::ExactPayload::from_object(payload) {
        Ok(exact) => (
            format!(
                "payment:{network}:{}:{}",
                exact.authorization.from.to_ascii_lowercase(),
                exact.authorization.nonce.to_ascii_lowercase()
            ),
            exact.authorization.valid_before,
        ),
        Err(_) => {
            use sha2::Digest;
            let signed = serde_json::to_vec(payload).unwrap_or_default();
            let digest = sha2::Sha256::digest(&signed);
            (
                format!("payment:{network}:{}", hex_of(&digest)),
                now.saturating_add(24 * 3600),
            )
        }
    }
}

fn error_answer(status: u16, error: &Error) -> PaywallAction {
    PaywallAction::Respond(Answer::error(status, error.code(), &error.to_string()))
}

/// A facilitator answer that is not an x402 result: pass on a Paywire error code (e.g.
/// `settlement_pending`) if it carries one.
fn unreadable(json: (u16, Value), action: &str) -> PaywallAction {
    let (status, body) = json;
    match body
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
    {
        Some(code) => PaywallAction::Respond(Answer::error(
            502,
            code,
            &format!("the facilitator could not {action} the payment ({code})"),
        )),
        None => error_answer(
            502,
            &Error::FacilitatorUnavailable(format!("answered {status} with no {action} result")),
        ),
    }
}

/// The path of a URL, without its query: `https://a/b/c?d` → `/b/c`.
fn path_of(url: &str) -> &str {
    let rest = url.find("://").map_or(url, |at| &url[at + 3..]);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// The origin of a URL: `https://a.com:8080/x` → `https://a.com:8080`.
fn origin_of(url: &str) -> &str {
    match url.find("://") {
        Some(at) => {
            let rest = &url[at + 3..];
            &url[..at + 3 + rest.find('/').unwrap_or(rest.len())]
        }
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(path_of("https://a.com/v1/x?y=1"), "/v1/x");
        assert_eq!(path_of("https://a.com"), "/");
        assert_eq!(path_of("/v1/x#f"), "/v1/x");
        assert_eq!(origin_of("https://a.com:8080/v1/x"), "https://a.com:8080");
        assert_eq!(origin_of("https://a.com"), "https://a.com");
    }
}
