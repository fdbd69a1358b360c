//! Verification and parties: the payment's signature and terms (paywire-core), its payer's
//! and payee's wallets, the bundle the payee sells with it, and — for `/verify` — the ledger
//! as it stands. Nothing about earlier payments is read before the payment verified.

use paywire_core::idempotency::fingerprint;
use paywire_core::money::Amount;
use paywire_core::pricing::{Pricebook, QuoteRequest};
use paywire_core::protocol::ledger::{self as ledger_scheme, WalletSecret};
use paywire_core::protocol::{evm, ExactPayload, FacilitatorRequest, PaymentPayload};
use paywire_core::settlement::ledger::{
    AcceptedAsset, BundleOffer, LedgerRules, LedgerSnapshot, PaymentFacts,
};
use paywire_core::settlement::terms_fingerprint;
use paywire_core::Reason;
use sqlx::AnyConnection;

use crate::base::error::ApiError;
use crate::base::ledger::{asset_key, url_path, LEDGER_DECIMALS, PLATFORM_WALLET};
use crate::services::state::AppState;
use crate::settle::{resource_url, Refusal};
use crate::store;

/// How a ledger-settled payment is signed, and so verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    /// `exact` on the Paywire ledger: an HMAC under the paying wallet's secret.
    Ledger,
    /// `exact` on a devnet EVM network: an EIP-3009 signature by the payer's key.
    DevnetEvm,
}

/// A payment whose signature and terms verified, with the ledger's parties resolved.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the core's decision needs to know about the payment.
    pub facts: PaymentFacts,
    /// The paying wallet.
    pub payer_wallet: String,
    /// The provider's payout wallet.
    pub payee_wallet: String,
    /// The provider.
    pub provider_id: Option<String>,
    /// The balance key of the asset.
    pub asset_key: String,
    /// `0x` + 64 hex digits, lower case.
    pub nonce: String,
}

/// Verifies the payment (in paywire-core) the way its settler's `kind` signs it, and resolves
/// payer and payee. The payload is parsed once, here.
pub async fn check(
    state: &AppState,
    kind: Payment,
    request: &FacilitatorRequest,
    body: &[u8],
    now: u64,
) -> Result<Result<Checked, Refusal>, ApiError> {
    let requirements = &request.payment_requirements;
    let network = requirements.network().to_string();
    // Parsed once. The ledger scheme names its wallet in the payload, so the ledger reads it
    // first; an EVM payment is parsed after the core's verification, whose check order (scheme
    // first) decides the reason of a malformed one.
    let parse = || ExactPayload::from_object(request.payment_payload.payload());
    let (exact, payer, payer_wallet, decimals) = match kind {
        Payment::Ledger => {
            let exact = match parse() {
                Ok(exact) => exact,
                Err(e) => return Ok(Err(Refusal::from_core(e, None))),
            };
            let wallet_id = exact.authorization.from.clone();
            let secret = wallet_secret(state, &wallet_id).await?;
            let verified =
                ledger_scheme::verify_payment(&request.payment_payload, requirements, now, |_| {
                    secret
                });
            if let Err(e) = verified {
                return Ok(Err(Refusal::from_core(e, None)));
            }
            (exact, wallet_id.clone(), wallet_id, LEDGER_DECIMALS)
        }
        Payment::DevnetEvm => {
            // Public-key recovery is ~50 µs of CPU: it runs on the blocking pool, not on the
            // threads that serve connections.
            let (payload, terms) = (request.payment_payload.clone(), requirements.clone());
            let verified =
                tokio::task::spawn_blocking(move || evm::verify_payment(&payload, &terms, now))
                    .await
                    .map_err(|e| ApiError::Internal(format!("EVM verification task: {e}")))?;
            let verified = match verified {
                Ok(verified) => verified,
                Err(e) => return Ok(Err(Refusal::from_core(e, None))),
            };
            let payer = verified.payer.to_checksum();
            let Some(asset) = paywire_core::AssetRegistry::with_defaults()
                .find(&network, requirements.asset())
                .cloned()
            else {
                return Ok(Err(Refusal::new(
                    Reason::InvalidPaymentRequirements,
                    "unknown asset on this devnet network",
                    Some(&payer),
                )));
            };
            let Some(wallet) = store::wallets::by_address(&state.pool, &payer).await? else {
                return Ok(Err(Refusal::new(
                    Reason::InsufficientFunds,
                    "this address has no devnet funds",
                    Some(&payer),
                )));
            };
            (parse()?, payer, wallet, asset.decimals)
        }
    };
    let payee = match kind {
        Payment::Ledger => {
            store::wallets::provider_wallet(&state.pool, requirements.pay_to()).await?
        }
        Payment::DevnetEvm => match evm::Address::parse(requirements.pay_to()) {
            Ok(address) => {
                store::wallets::provider_wallet_by_address(&state.pool, &address.to_checksum())
                    .await?
            }
            Err(_) => None,
        },
    };
    let Some((payee_wallet, provider_id)) = payee else {
        return Ok(Err(Refusal::new(
            Reason::InvalidExactEvmRecipientMismatch,
            "payTo is not a provider of this ledger",
            Some(&payer),
        )));
    };
    let identifier = match &request.payment_payload {
        PaymentPayload::V2(p) => {
            paywire_core::protocol::extensions::payment_identifier(p.extensions.as_ref())?
                .map(str::to_string)
        }
        PaymentPayload::V1(_) => None,
    };
    let asset = paywire_core::money::Asset::new(&network, requirements.asset(), "", decimals)?;
    let amount = requirements.amount();
    Ok(Ok(Checked {
        facts: PaymentFacts {
            network: network.clone(),
            payer,
            amount,
            // An amount beyond a Decimal is refused by the decision (it cannot fit a balance).
            amount_decimal: asset
                .to_decimal(amount)
                .unwrap_or(rust_decimal::Decimal::MAX),
            asset: requirements.asset().to_string(),
            pay_to: requirements.pay_to().to_string(),
            resource: resource_url(request),
            request_fingerprint: fingerprint("POST", "/settle", body),
            identifier,
            terms_fingerprint: terms_fingerprint(requirements),
        },
        payer_wallet,
        payee_wallet,
        provider_id,
        asset_key: asset_key(&network, requirements.asset()),
        nonce: exact.authorization.nonce.to_ascii_lowercase(),
    }))
}

async fn wallet_secret(
    state: &AppState,
    wallet_id: &str,
) -> Result<Option<WalletSecret>, ApiError> {
    let secret = crate::services::auth::wallet_secret_hex(state, wallet_id).await?;
    Ok(secret.and_then(|hex_text| WalletSecret::from_hex(&hex_text).ok()))
}

/// What the ledger knows about payer and payee as it stands, for `/verify` (settling reads
/// it under the payers' locks, in [`super::posting`]).
pub async fn snapshot(
    state: &AppState,
    conn: &mut AnyConnection,
    checked: &Checked,
) -> Result<LedgerSnapshot, ApiError> {
    let (policy, usage) =
        store::wallets::policy_and_usage(conn, state.dialect, &checked.payer_wallet, false).await?;
    let facts = &checked.facts;
    let earlier_by_nonce =
        store::payments::by_nonce(conn, &facts.network, &facts.payer, &checked.nonce).await?;
    let earlier_by_identifier = match &facts.identifier {
        Some(id) => store::payments::by_identifier(conn, &facts.network, &facts.payer, id).await?,
        None => None,
    };
    let amount = |v: i64| Amount::new(u128::try_from(v).unwrap_or(0));
    let payee_balance =
        amount(store::ledger::balance(conn, &checked.payee_wallet, &checked.asset_key).await?);
    let platform_balance =
        amount(store::ledger::balance(conn, PLATFORM_WALLET, &checked.asset_key).await?);
    Ok(LedgerSnapshot {
        payer_balance: amount(
            store::ledger::balance(conn, &checked.payer_wallet, &checked.asset_key).await?,
        ),
        policy,
        usage,
        earlier_by_nonce,
        earlier_by_identifier,
        payee_balance,
        platform_balance,
    })
}

/// The bundle the payee sells with payments for this resource, priced for this payer, if any.
pub async fn bundle_offer(
    state: &AppState,
    checked: &Checked,
    token_id: String,
) -> Result<Option<BundleOffer>, ApiError> {
    let (Some(provider), Some(resource)) = (&checked.provider_id, &checked.facts.resource) else {
        return Ok(None);
    };
    let (book, bundles) = crate::services::pricing::pricebook(state, provider).await?;
    let path = url_path(resource);
    // The rule that prices this path (the first whose pattern matches its canonical form; a
    // payment names no method) is the one that sells, or none does: a bundle of a later,
    // cheaper rule is never sold for a path an earlier rule prices.
    let canonical = paywire_core::pricing::canonical_path(path);
    let Some((rule, Some(bundle))) = book
        .rules
        .iter()
        .zip(bundles)
        .find(|(rule, _)| rule.path.matches(&canonical))
    else {
        return Ok(None);
    };
    // The rule's own price for this payer (overrides included), as a quote would give it.
    let mut single = Pricebook::new(vec![rule.clone()]);
    single.decimals = book.decimals;
    let method = if rule.method == "*" {
        "GET"
    } else {
        &rule.method
    };
    let mut request = QuoteRequest::new(method, path);
    request.consumer = Some(checked.facts.payer.clone());
    let quote = single.quote(&request)?;
    let accepted = crate::services::pricing::payment_options(state, provider)
        .await?
        .into_iter()
        .map(|option| AcceptedAsset {
            network: option.asset.network,
            asset: option.asset.address,
            decimals: option.asset.decimals,
        })
        .collect();
    Ok(Some(BundleOffer {
        rule: rule.clone(),
        bundle,
        price: quote.amount,
        price_decimals: book.decimals,
        accepted,
        issuer: state.ledger_network.clone(),
        token_id,
    }))
}

/// The ledger's rules for the decision: the platform fee and the largest balance it holds.
pub fn rules(state: &AppState) -> LedgerRules {
    LedgerRules {
        fee_bps: state.fee_bps,
        max_balance: Amount::new(store::ledger::MAX_BALANCE as u128),
    }
}
