//! The settlement of x402 payments: one settler per way of moving money, picked once per
//! request from the payment's scheme and network by [`Settler::pick`].
//!
//! | settler | settles | module |
//! | --- | --- | --- |
//! | [`Settler::Ledger`] | `exact` on `paywire:<ledger-id>`, signed with a wallet secret | [`ledger`] |
//! | [`Settler::DevnetEvm`] | `exact` (EIP-3009) on a devnet EVM network, against ledger balances | [`ledger`] |
//! | [`Settler::Chain`] | `exact` (EIP-3009) on a configured EVM chain, as a transaction | [`chain`] |
//!
//! Adding a scheme adds one settler module, one variant here with its arm in
//! [`Settler::pick`], in [`verify`], [`settle`] and [`supported`]; nothing else changes.
//! Every settler answers in the same terms: a [`Refusal`] (an x402 reason) or a [`Settled`]
//! answer whose outcome may be unknown yet (`settlement_pending`).

pub mod chain;
pub mod ledger;

use axum::extract::FromRef;
use paywire_core::protocol::{
    AnyRequirements, FacilitatorRequest, PaymentPayload, SettleResponse, SupportedKind,
    SupportedResponse, VerifyResponse,
};
use paywire_core::Reason;

use crate::base::error::ApiError;
use crate::chain::ChainNetwork;
use crate::infra::connection::ClientAddr;
use crate::services::state::AppState;

/// A refusal in x402's terms: a reason code, a message, and the payer when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The reason code.
    pub reason: Reason,
    /// What exactly failed.
    pub message: String,
    /// Who was paying, when known.
    pub payer: Option<String>,
}

impl Refusal {
    /// A refusal with this reason and message.
    pub fn new(reason: Reason, message: impl Into<String>, payer: Option<&str>) -> Self {
        Refusal {
            reason,
            message: message.into(),
            payer: payer.map(str::to_string),
        }
    }

    /// The refusal of a core error.
    pub fn from_core(error: paywire_core::Error, payer: Option<&str>) -> Self {
        Refusal::new(error.reason(), error.to_string(), payer)
    }
}

/// What `/settle` answered, and whether its outcome is known.
pub struct Settled {
    /// The answer.
    pub response: SettleResponse,
    /// `false` when the settlement may or may not have happened (`settlement_pending`): an
    /// `Idempotency-Key` on the request then stays in progress, and a retry finds out.
    pub known: bool,
}

/// The answer of a refused settlement.
pub fn failed(network: &str, refusal: Refusal) -> Settled {
    Settled {
        response: SettleResponse {
            success: false,
            error_reason: Some(refusal.reason),
            error_message: Some(refusal.message),
            payer: refusal.payer,
            transaction: String::new(),
            network: network.to_string(),
            amount: None,
            extensions: None,
        },
        known: true,
    }
}

/// The most of a payment's resource URL kept with it (payments, events, reports).
pub const MAX_KEPT_RESOURCE: usize = 2048;

/// The resource as kept: the payer wrote it, so at most [`MAX_KEPT_RESOURCE`] bytes of it
/// (cut on a character boundary) go into the payment row and the provider's events.
pub fn kept_resource(resource: Option<&str>) -> Option<&str> {
    let resource = resource?;
    let mut end = resource.len().min(MAX_KEPT_RESOURCE);
    while !resource.is_char_boundary(end) {
        end -= 1;
    }
    Some(&resource[..end])
}

/// The resource URL a payment names: the v2 payload's `resource`, or the v1 requirements'.
pub fn resource_url(request: &FacilitatorRequest) -> Option<String> {
    match (&request.payment_payload, &request.payment_requirements) {
        (PaymentPayload::V2(p), _) => p.resource.as_ref().map(|r| r.url.clone()),
        (_, AnyRequirements::V1(r)) => Some(r.resource.clone()),
        _ => None,
    }
}

/// What the settlement layer holds beside the shared state: the group-commit pipeline of the
/// ledger settler, when batching is on. The facilitator's handlers take it as a substate of
/// the router's ([`FromRef`]); nothing else needs it.
#[derive(Clone, Default)]
pub struct Settlement {
    /// Where ledger settlements are queued; `None` settles each in a transaction of its own.
    pub pipeline: Option<ledger::Pipeline>,
}

impl Settlement {
    /// Settlements one by one, each in a transaction of its own.
    pub fn alone() -> Self {
        Settlement { pipeline: None }
    }

    /// Group commit: settlements arriving together share a transaction (see
    /// [`ledger::Pipeline::start`]); `max` of 1 is no group commit.
    pub fn batched(workers: usize, max: usize, wait: std::time::Duration) -> Self {
        Settlement {
            pipeline: (max > 1).then(|| ledger::Pipeline::start(workers, max, wait)),
        }
    }
}

/// The router's state: what every handler shares, and what the settlement layer holds. Each
/// handler takes the part it needs.
#[derive(Clone)]
pub struct Server {
    /// What every handler shares.
    pub state: AppState,
    /// What the facilitator's handlers add to it.
    pub settlement: Settlement,
}

impl FromRef<Server> for AppState {
    fn from_ref(server: &Server) -> AppState {
        server.state.clone()
    }
}

impl FromRef<Server> for Settlement {
    fn from_ref(server: &Server) -> Settlement {
        server.settlement.clone()
    }
}

/// Which settler carries a payment.
pub enum Settler<'a> {
    /// The Paywire ledger: `exact` signed with a wallet secret.
    Ledger,
    /// A devnet EVM network: EIP-3009 verified for real, settled against ledger balances.
    DevnetEvm,
    /// An EVM chain this server settles on.
    Chain(&'a ChainNetwork),
}

impl<'a> Settler<'a> {
    /// Picks the settler of a request — once: every later step follows from it. Every
    /// settler today speaks `exact`, and its own verification refuses another scheme with the
    /// reason the official facilitators give (`invalid_exact_evm_scheme`); a new scheme adds
    /// its arm here, before the network's. A network the operator settles on a real chain is
    /// settled there even when it is also a devnet network (Base Sepolia is both).
    pub fn pick(state: &'a AppState, request: &FacilitatorRequest) -> Result<Self, Refusal> {
        let network = request.payment_requirements.network();
        if let Some(chain) = state.chains.get(network) {
            Ok(Settler::Chain(chain))
        } else if network == state.ledger_network {
            Ok(Settler::Ledger)
        } else if state.devnet_networks.iter().any(|n| n == network) {
            Ok(Settler::DevnetEvm)
        } else {
            Err(Refusal::new(
                Reason::UnsupportedScheme,
                format!(
                    "this facilitator settles exact on {} and its devnet networks",
                    state.ledger_network
                ),
                None,
            ))
        }
    }
}

/// v1 payments name EVM networks by their v1 names (`base-sepolia`); the ledger keys balances
/// by CAIP-2, so both the payload and the requirements are read in CAIP-2 form.
pub fn normalize_v1_network(
    state: &AppState,
    mut request: FacilitatorRequest,
) -> FacilitatorRequest {
    if let (PaymentPayload::V1(payment), AnyRequirements::V1(requirements)) = (
        &mut request.payment_payload,
        &mut request.payment_requirements,
    ) {
        if let Some(caip2) = paywire_core::network::to_caip2(&requirements.network) {
            let caip2 = caip2.into_owned();
            if (state.devnet_networks.contains(&caip2) || state.chains.get(&caip2).is_some())
                && payment.network == requirements.network
            {
                payment.network.clone_from(&caip2);
                requirements.network = caip2;
            }
        }
    }
    request
}

/// `POST /verify`: what `settle` would check, without moving money.
pub async fn verify(
    state: &AppState,
    client: Option<ClientAddr>,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<VerifyResponse, ApiError> {
    let refused =
        |refusal: Refusal| VerifyResponse::invalid(refusal.reason, refusal.message, refusal.payer);
    Ok(match Settler::pick(state, request) {
        Err(refusal) => refused(refusal),
        Ok(Settler::Chain(chain)) => {
            match chain::verify(state, chain, client, request, body, now).await? {
                Ok(payer) => VerifyResponse::valid(payer),
                Err(refusal) => refused(refusal),
            }
        }
        Ok(Settler::Ledger) => {
            ledger::verify(state, ledger::Payment::Ledger, request, body, now).await?
        }
        Ok(Settler::DevnetEvm) => {
            ledger::verify(state, ledger::Payment::DevnetEvm, request, body, now).await?
        }
    })
}

/// `POST /settle`: settles a payment exactly once, by its settler.
pub async fn settle(
    state: &AppState,
    settlement: &Settlement,
    client: Option<ClientAddr>,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Settled, ApiError> {
    let network = request.payment_requirements.network();
    let settled = match Settler::pick(state, request) {
        Err(refusal) => Ok(failed(network, refusal)),
        Ok(Settler::Chain(chain)) => chain::settle(state, chain, client, request, body, now).await,
        Ok(Settler::Ledger) => {
            ledger::settle(
                state,
                settlement,
                ledger::Payment::Ledger,
                request,
                body,
                now,
            )
            .await
        }
        Ok(Settler::DevnetEvm) => {
            ledger::settle(
                state,
                settlement,
                ledger::Payment::DevnetEvm,
                request,
                body,
                now,
            )
            .await
        }
    }?;
    // A v1 request is answered in v1 terms: x402 1.x names networks only by their v1 names
    // (the request was read in CAIP-2 form; stored answers are kept in it).
    Ok(match request.payment_payload.version() {
        1 => Settled {
            response: settled.response.into_v1_form(),
            ..settled
        },
        _ => settled,
    })
}

/// `GET /supported`: every settler's kinds, each listed concretely (the TypeScript SDK
/// matches kinds exactly): v2 and, where the network has a v1 name, v1.
pub fn supported(state: &AppState) -> SupportedResponse {
    type Extra = Option<serde_json::Map<String, serde_json::Value>>;
    let kind = |version: u8, network: &str, extra: &Extra| SupportedKind {
        x402_version: version,
        scheme: "exact".into(),
        network: network.to_string(),
        extra: extra.clone(),
    };
    // The ledger network has no v1 name: v1 clients name it by its CAIP-2 id too.
    let mut kinds = vec![
        kind(2, &state.ledger_network, &None),
        kind(1, &state.ledger_network, &None),
    ];
    let devnet: Extra = serde_json::json!({"devnet": true}).as_object().cloned();
    let evm = state
        .devnet_networks
        .iter()
        .map(|network| (network.clone(), devnet.clone()))
        .chain(state.chains.networks().into_iter().map(|n| (n, None)));
    for (network, extra) in evm {
        kinds.push(kind(2, &network, &extra));
        let v1 = paywire_core::network::ChainId::parse(&network)
            .ok()
            .and_then(|id| id.v1_name());
        if let Some(name) = v1 {
            kinds.push(kind(1, name, &extra));
        }
    }
    SupportedResponse {
        kinds,
        extensions: vec![paywire_core::protocol::extensions::PAYMENT_IDENTIFIER.into()],
        signers: state.chains.signers().into_iter().collect(),
    }
}
