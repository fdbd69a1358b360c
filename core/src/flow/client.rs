//! The agent's side of a paid request, as a state machine.
//!
//! ```text
//! start ──► Send ──► response ─┬─ not 402 ──────────────────────────────► Deliver
//!                              └─ 402 ──► PaymentRequired ──► pay(usage, now, randomness)
//!   ┌───────────────────────────────────────────────────────────────────┘
//!   ├─ no option allowed ──────────────────────────────────────────────► Refuse
//!   ├─ needs approval ──► AskApproval ──► approval ─┬─ no ─────────────► Refuse
//!   └───────────────────────────────────────────────┴─ yes ──► Sign ──► signed ──► Send (paid)
//!   paid response ─┬─ 402 ──► Refuse (payment_rejected)
//!                  ├─ connection failed, first time ──► Send (the very same payment again)
//!                  └─ otherwise ──► Deliver (spending recorded only when it settled)
//! ```
//!
//! The host carries out each action and feeds the next event: it sends the request with the
//! headers [`ClientAction::Send`] sets, reads usage from its store when a 402 arrives, asks its
//! approver, has its signer sign the [`SignRequest`], and stores what [`ClientAction::Deliver`]
//! hands back (the new usage, a sold access token). Nothing here reads a clock or draws random
//! bytes: `now`, the payment's nonce and its payment identifier come with the events.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{bytes_of, hex_of, HttpResponse, SignRequest};
use crate::error::Error;
use crate::money::AssetRegistry;
use crate::policy::{Policy, Rejection, Selection, Usage};
use crate::protocol::exact::{payable_by, ExactPayload, PayerKind};
use crate::protocol::extensions::with_payment_identifier;
use crate::protocol::header::{self, DEFAULT_HEADER_LIMIT};
use crate::protocol::names::{
    ACCESS_TOKEN_EXTENSION, ACCESS_TOKEN_HEADER, PAYMENT_REQUIRED, PAYMENT_RESPONSE,
    X_PAYMENT_RESPONSE,
};
use crate::protocol::{
    AnyRequirements, PaymentPayload, PaymentRequired, PaymentRequiredV1, PaymentRequiredV2,
    SettleResponse,
};
use crate::token::{AccessToken, Scope};

/// Who pays: the identity the signer signs as.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Payer {
    /// An EVM key: EIP-3009 authorizations on `eip155:*` networks.
    Evm {
        /// The key's address.
        address: String,
    },
    /// A Paywire ledger wallet on `paywire:*` networks.
    #[serde(rename_all = "camelCase")]
    Ledger {
        /// The wallet id.
        wallet_id: String,
    },
}

impl Payer {
    fn kind(&self) -> PayerKind {
        match self {
            Payer::Evm { .. } => PayerKind::Evm,
            Payer::Ledger { .. } => PayerKind::Ledger,
        }
    }

    fn id(&self) -> &str {
        match self {
            Payer::Evm { address } => address,
            Payer::Ledger { wallet_id } => wallet_id,
        }
    }
}

/// What a paying client is configured with.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientConfig {
    /// The spending policy. Required: there is no "spend anything" default.
    pub policy: Policy,
    /// Who pays.
    pub payer: Payer,
    /// Assets whose decimals the policy judges amounts with (the built-in table by default).
    #[serde(default = "AssetRegistry::with_defaults")]
    pub assets: AssetRegistry,
}

/// A payment the client made, as the host reports it to its caller.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// What the provider asked for.
    pub payment_required: PaymentRequired,
    /// The option paid.
    pub requirements: AnyRequirements,
    /// The signed payment sent.
    pub payment: PaymentPayload,
    /// Whole units paid.
    #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
    pub amount: Decimal,
    /// The decoded `PAYMENT-RESPONSE`, when the provider sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<SettleResponse>,
    /// The access token sold with the payment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
}

/// What the host does next.
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum ClientAction {
    /// Send the request, with these header fields set and these removed; forget these stored
    /// tokens (expired, or refused by the provider).
    #[serde(rename_all = "camelCase")]
    Send {
        /// Fields to set, by canonical name.
        set_headers: BTreeMap<String, String>,
        /// Fields to remove.
        remove_headers: Vec<String>,
        /// Stored access tokens to delete.
        forget_tokens: Vec<String>,
        /// Whether this request carries a payment.
        paid: bool,
    },
    /// The provider asks for payment: read the payer's usage and feed `pay` (payments of one
    /// client are decided one at a time, so two 402s cannot both pass a limit only one fits).
    #[serde(rename_all = "camelCase")]
    PaymentRequired {
        /// What the provider asked for.
        payment_required: Box<PaymentRequired>,
        /// Stored access tokens to delete (one the provider refused).
        forget_tokens: Vec<String>,
    },
    /// The policy wants approval for this payment: ask, and feed `approval`.
    #[serde(rename_all = "camelCase")]
    AskApproval {
        /// The resource URL.
        url: String,
        /// Whole units.
        #[cfg_attr(feature = "schemars", schemars(with = "crate::schema::DecimalText"))]
        amount: Decimal,
        /// The option to pay.
        requirements: Box<AnyRequirements>,
        /// What the provider asked for.
        payment_required: Box<PaymentRequired>,
    },
    /// Have the payer's key sign this, and feed `signed`.
    #[serde(rename_all = "camelCase")]
    Sign {
        /// What to sign.
        request: SignRequest,
    },
    /// Hand the response to the caller; store the usage and the token given.
    #[serde(rename_all = "camelCase")]
    Deliver {
        /// The payer's usage after this payment, to store (only when it settled).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        /// A token sold with the payment, to store.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<AccessToken>,
        /// The payment made, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payment: Option<Box<PaymentRecord>>,
    },
    /// Do not pay: fail with this code.
    Refuse {
        /// The stable code.
        code: String,
        /// What happened.
        message: String,
        /// Structured details (a policy's rejections, a provider's 402).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Value>,
    },
    /// The transport failed where a retry cannot help: fail with the transport's own error.
    GiveUp,
}

impl ClientAction {
    fn refuse(error: &Error, details: Option<Value>) -> Self {
        ClientAction::Refuse {
            code: error.code().to_string(),
            message: error.to_string(),
            details,
        }
    }
}

/// What happened, as a host reports it (for bindings and the flow vectors; Rust hosts can
/// call the methods directly).
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ClientEvent {
    /// The caller made a request; here are the stored tokens.
    #[serde(rename_all = "camelCase")]
    Start {
        /// The stored access tokens.
        #[serde(default)]
        tokens: Vec<AccessToken>,
        /// Unix seconds.
        now: u64,
    },
    /// An answer arrived.
    Response(HttpResponse),
    /// The payer's usage, the clock and randomness, after `PaymentRequired`.
    #[serde(rename_all = "camelCase")]
    Pay {
        /// The payer's spending so far.
        #[serde(default)]
        usage: Usage,
        /// Unix seconds.
        now: u64,
        /// 32 random bytes (hex): the authorization's nonce.
        nonce: String,
        /// 16 random bytes (hex): the payment identifier.
        payment_id: String,
    },
    /// The approver answered.
    Approval {
        /// Whether it approved.
        approved: bool,
    },
    /// The signer answered.
    Signed {
        /// The signature, `0x`-hex.
        signature: String,
    },
    /// The request failed before any answer arrived.
    ConnectionFailed,
}

#[derive(Debug, Clone)]
struct Chosen {
    payment_required: PaymentRequired,
    index: usize,
    requirements: AnyRequirements,
    amount: Decimal,
    usage: Usage,
    now: u64,
    payment_id: [u8; 16],
    request: Option<SignRequest>,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    /// The first (unpaid) request is out, with this token if any.
    Sent {
        token: Option<String>,
    },
    /// A 402 arrived and was read.
    Required {
        payment_required: Box<PaymentRequired>,
    },
    /// Waiting for the approver.
    Approving(Box<Chosen>),
    /// Waiting for the signer.
    Signing(Box<Chosen>),
    /// The paid request is out.
    Paid {
        chosen: Box<Chosen>,
        payment: Box<PaymentPayload>,
        resent: bool,
    },
    Done,
}

/// One paid request's flow. Make one per request.
#[derive(Debug, Clone)]
pub struct ClientFlow {
    config: ClientConfig,
    method: String,
    url: String,
    state: State,
}

impl ClientFlow {
    /// A flow for `method url` under `config`.
    pub fn new(config: &ClientConfig, method: &str, url: &str) -> Self {
        ClientFlow {
            config: config.clone(),
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            state: State::Idle,
        }
    }

    /// Feeds an event in its JSON form.
    pub fn feed(&mut self, event: ClientEvent) -> ClientAction {
        match event {
            ClientEvent::Start { tokens, now } => self.start(&tokens, now),
            ClientEvent::Response(response) => self.on_response(&response),
            ClientEvent::Pay {
                usage,
                now,
                nonce,
                payment_id,
            } => match (
                bytes_of::<32>(&nonce, "nonce"),
                bytes_of::<16>(&payment_id, "paymentId"),
            ) {
                (Ok(nonce), Ok(id)) => self.pay(usage, now, &nonce, &id),
                (Err(e), _) | (_, Err(e)) => ClientAction::refuse(&e, None),
            },
            ClientEvent::Approval { approved } => self.on_approval(approved),
            ClientEvent::Signed { signature } => self.on_signed(&signature),
            ClientEvent::ConnectionFailed => self.on_connection_failed(),
        }
    }

    /// Starts the request: presents the first stored token that is alive and covers it, and
    /// drops the expired ones.
    pub fn start(&mut self, tokens: &[AccessToken], now: u64) -> ClientAction {
        let mut forget = vec![];
        let mut presented = None;
        for token in tokens {
            if token.expires_at <= now {
                forget.push(token.token.clone());
            } else if presented.is_none() && scope_allows(&token.scope, &self.method, &self.url) {
                presented = Some(token.token.clone());
            }
        }
        let mut set_headers = BTreeMap::new();
        if let Some(token) = &presented {
            set_headers.insert(ACCESS_TOKEN_HEADER.to_string(), token.clone());
        }
        self.state = State::Sent { token: presented };
        ClientAction::Send {
            set_headers,
            remove_headers: vec![],
            forget_tokens: forget,
            paid: false,
        }
    }

    /// An answer arrived (to the first request, or to the paid one).
    pub fn on_response(&mut self, response: &HttpResponse) -> ClientAction {
        let settlement = response
            .headers
            .get(PAYMENT_RESPONSE)
            .or_else(|| response.headers.get(X_PAYMENT_RESPONSE))
            .and_then(|h| header::decode_settle_response(h, DEFAULT_HEADER_LIMIT).ok());
        let payment_required = (response.status == 402).then(|| read_payment_required(response));
        self.on_reply(Reply {
            status: response.status,
            payment_required,
            settlement,
        })
    }

    /// The payment sent, while the paid request is out.
    pub(crate) fn sent_payment(&self) -> Option<&PaymentPayload> {
        match &self.state {
            State::Paid { payment, .. } => Some(payment),
            _ => None,
        }
    }

    /// An answer arrived, read from its transport (see [`Reply`]).
    pub(crate) fn on_reply(&mut self, reply: Reply) -> ClientAction {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Sent { token } => {
                let Some(payment_required) = reply.payment_required else {
                    return deliver(None, None, None);
                };
                if let Some(failed) = reply.settlement.filter(|s| !s.success) {
                    // A 402 that reports a failed settlement answers a payment already made
                    // (by this agent or another): paying again on one's own could pay twice.
                    let reason = failed
                        .error_reason
                        .as_ref()
                        .map_or("no reason given", |r| r.as_str())
                        .to_string();
                    return ClientAction::refuse(
                        &Error::PaymentRejected(format!(
                            "the provider reports a failed settlement ({reason}); not paying again"
                        )),
                        serde_json::to_value(&failed).ok(),
                    );
                }
                // The provider refused the token it was shown: it is spent or revoked.
                let forget_tokens: Vec<String> = token.into_iter().collect();
                match payment_required {
                    Ok(payment_required) => {
                        let payment_required = Box::new(payment_required);
                        self.state = State::Required {
                            payment_required: payment_required.clone(),
                        };
                        ClientAction::PaymentRequired {
                            payment_required,
                            forget_tokens,
                        }
                    }
                    Err(error) => ClientAction::refuse(&error, None),
                }
            }
            State::Paid {
                chosen, payment, ..
            } => self.on_paid_reply(reply, *chosen, *payment),
            other => self.out_of_order(other, "a response"),
        }
    }

    /// The payer's usage, the clock and randomness: choose what to pay.
    pub fn pay(
        &mut self,
        usage: Usage,
        now: u64,
        nonce: &[u8; 32],
        payment_id: &[u8; 16],
    ) -> ClientAction {
        let payment_required = match std::mem::replace(&mut self.state, State::Done) {
            State::Required { payment_required } => payment_required,
            other => return self.out_of_order(other, "pay"),
        };
        let kind = self.config.payer.kind();
        // Only the options this payer can sign for, and where each sits in the 402.
        let mut indexes = vec![];
        for index in 0..payment_required.len() {
            if payment_required
                .requirements(index)
                .is_ok_and(|r| payable_by(&r, kind))
            {
                indexes.push(index);
            }
        }
        let payable = only(&payment_required, &indexes);
        let selection = self
            .config
            .policy
            .select(&payable, &usage, now, &self.config.assets);
        let (position, amount, needs_approval) = match selection {
            Selection::Selected {
                index,
                amount,
                needs_approval,
            } => (index, amount, needs_approval),
            Selection::NoneAllowed { ref rejections } => {
                let reason = selection
                    .primary_reason()
                    .unwrap_or(crate::error::DenyReason::NoOptions)
                    .code();
                return ClientAction::Refuse {
                    code: reason.to_string(),
                    message: format!("no payment option is allowed: {reason}"),
                    details: serde_json::to_value(rejections as &Vec<Rejection>).ok(),
                };
            }
        };
        let index = indexes[position];
        let requirements = match payment_required.requirements(index) {
            Ok(requirements) => requirements,
            Err(error) => return ClientAction::refuse(&error, None),
        };
        let mut chosen = Chosen {
            payment_required: *payment_required,
            index,
            requirements,
            amount,
            usage,
            now,
            payment_id: *payment_id,
            request: None,
        };
        match SignRequest::build(
            &chosen.requirements,
            kind,
            self.config.payer.id(),
            nonce,
            now,
        ) {
            Ok(request) => chosen.request = Some(request),
            Err(error) => return ClientAction::refuse(&error, None),
        }
        if needs_approval {
            let action = ClientAction::AskApproval {
                url: self.url.clone(),
                amount: chosen.amount,
                requirements: Box::new(chosen.requirements.clone()),
                payment_required: Box::new(chosen.payment_required.clone()),
            };
            self.state = State::Approving(Box::new(chosen));
            return action;
        }
        self.sign(chosen)
    }

    fn sign(&mut self, chosen: Chosen) -> ClientAction {
        let request = chosen.request.clone().expect("built before signing");
        self.state = State::Signing(Box::new(chosen));
        ClientAction::Sign { request }
    }

    /// The approver answered.
    pub fn on_approval(&mut self, approved: bool) -> ClientAction {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Approving(chosen) if approved => self.sign(*chosen),
            State::Approving(chosen) => ClientAction::refuse(
                &Error::PolicyDenied(crate::error::DenyReason::ApprovalDenied),
                Some(serde_json::json!({"amount": chosen.amount, "url": self.url})),
            ),
            other => self.out_of_order(other, "an approval"),
        }
    }

    /// The signer answered: check the signature, then send the payment.
    pub fn on_signed(&mut self, signature: &str) -> ClientAction {
        let chosen = match std::mem::replace(&mut self.state, State::Done) {
            State::Signing(chosen) => chosen,
            other => return self.out_of_order(other, "a signature"),
        };
        let request = chosen.request.as_ref().expect("built before signing");
        if let Err(error) = request.check_signature(signature) {
            return ClientAction::refuse(&error, None);
        }
        let exact = ExactPayload {
            signature: signature.to_string(),
            authorization: request.authorization.clone(),
        };
        let mut payment = match chosen
            .payment_required
            .payment(chosen.index, exact.to_object())
        {
            Ok(payment) => payment,
            Err(error) => return ClientAction::refuse(&error, None),
        };
        if let PaymentPayload::V2(v2) = &mut payment {
            // A fresh id per payment: a re-sent copy is answered with the first outcome
            // instead of being charged again.
            let id = format!("pay_{}", hex_of(&chosen.payment_id));
            match with_payment_identifier(v2.extensions.as_ref(), &id) {
                Ok(extensions) => v2.extensions = Some(extensions),
                Err(error) => return ClientAction::refuse(&error, None),
            }
        }
        let action = paid_send(&payment);
        self.state = State::Paid {
            chosen,
            payment: Box::new(payment),
            resent: false,
        };
        action
    }

    /// The request failed before an answer arrived. A paid request is sent once more as the
    /// very same payment (same nonce, same identifier: it is settled at most once); anything
    /// else gives up.
    pub fn on_connection_failed(&mut self) -> ClientAction {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Paid {
                chosen,
                payment,
                resent: false,
            } => {
                let action = paid_send(&payment);
                self.state = State::Paid {
                    chosen,
                    payment,
                    resent: true,
                };
                action
            }
            _ => ClientAction::GiveUp,
        }
    }

    fn on_paid_reply(
        &mut self,
        reply: Reply,
        chosen: Chosen,
        payment: PaymentPayload,
    ) -> ClientAction {
        if let Some(payment_required) = reply.payment_required {
            let refusal = payment_required.ok();
            let reason = refusal.as_ref().and_then(|r| match r {
                PaymentRequired::V1(v1) => Some(v1.error.clone()).filter(|e| !e.is_empty()),
                PaymentRequired::V2(v2) => v2.error.clone(),
            });
            let error = Error::PaymentRejected(match &reason {
                Some(reason) => format!("the provider refused the payment: {reason}"),
                None => "the provider refused the payment".into(),
            });
            return ClientAction::refuse(
                &error,
                refusal.and_then(|r| serde_json::to_value(r).ok()),
            );
        }
        let settlement = reply.settlement;
        // Spent only when the provider delivered: a facilitator outage (502) or a failed
        // settlement charged nothing and must not eat into the limits. An answer without a
        // readable PAYMENT-RESPONSE counts as spent: over-counting never passes a limit.
        let delivered =
            (200..300).contains(&reply.status) && settlement.as_ref().is_none_or(|s| s.success);
        let usage = delivered.then(|| {
            let mut usage = chosen.usage.clone();
            self.config
                .policy
                .record(&mut usage, chosen.amount, chosen.now);
            usage
        });
        let token = settlement
            .as_ref()
            .and_then(|s| s.extensions.as_ref())
            .and_then(|e| e.get(ACCESS_TOKEN_EXTENSION))
            .and_then(|t| serde_json::from_value::<AccessToken>(t.clone()).ok());
        let record = PaymentRecord {
            payment_required: chosen.payment_required,
            requirements: chosen.requirements,
            payment,
            amount: chosen.amount,
            settlement,
            access_token: token.clone(),
        };
        deliver(usage, token, Some(record))
    }

    fn out_of_order(&mut self, state: State, event: &str) -> ClientAction {
        self.state = state;
        ClientAction::refuse(
            &Error::InvalidArgument(format!("{event} does not fit where this request stands")),
            None,
        )
    }
}

/// An answer as the flow reads it, whatever carried it: an HTTP response, or an MCP tool
/// result or error.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status, or the one an HTTP answer of the same meaning would have (402, 200, 500).
    pub(crate) status: u16,
    /// For a 402: what it asks for, or why that could not be read.
    pub(crate) payment_required: Option<crate::Result<PaymentRequired>>,
    /// The settlement it reports, if it carries a readable one.
    pub(crate) settlement: Option<SettleResponse>,
}

fn deliver(
    usage: Option<Usage>,
    token: Option<AccessToken>,
    payment: Option<PaymentRecord>,
) -> ClientAction {
    ClientAction::Deliver {
        usage,
        token,
        payment: payment.map(Box::new),
    }
}

fn paid_send(payment: &PaymentPayload) -> ClientAction {
    ClientAction::Send {
        set_headers: BTreeMap::from([(payment.header_name().to_string(), header::encode(payment))]),
        remove_headers: vec![ACCESS_TOKEN_HEADER.to_string()],
        forget_tokens: vec![],
        paid: true,
    }
}

/// What a 402 asks for: the `PAYMENT-REQUIRED` header, else a v1 JSON body.
fn read_payment_required(response: &HttpResponse) -> crate::Result<PaymentRequired> {
    if let Some(value) = response.headers.get(PAYMENT_REQUIRED) {
        return header::decode_payment_required(value, DEFAULT_HEADER_LIMIT);
    }
    let body = response.body.as_deref().unwrap_or_default();
    let json: Value = serde_json::from_str(body).map_err(|_| {
        Error::InvalidPayload("a 402 without PAYMENT-REQUIRED and without a JSON body".into())
    })?;
    PaymentRequired::from_json_value(json)
}

/// The 402 with only the options at `indexes`.
fn only(required: &PaymentRequired, indexes: &[usize]) -> PaymentRequired {
    match required {
        PaymentRequired::V1(v1) => PaymentRequired::V1(PaymentRequiredV1 {
            accepts: indexes.iter().map(|&i| v1.accepts[i].clone()).collect(),
            ..v1.clone()
        }),
        PaymentRequired::V2(v2) => PaymentRequired::V2(PaymentRequiredV2 {
            accepts: indexes.iter().map(|&i| v2.accepts[i].clone()).collect(),
            ..v2.clone()
        }),
    }
}

fn scope_allows(scope: &Scope, method: &str, url: &str) -> bool {
    scope.allows(method, url)
}
