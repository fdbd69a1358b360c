//! The shared test vectors of Paywire: how a case is run, and how the files are read.
//!
//! Every file in `tests/vectors/` is `{"concept", "description", "cases": [...]}`; each case is
//! `{"title", "op", "input", "expected"}` or `{"title", "op", "input", "error"}` where `error`
//! is a stable error code. [`run`] executes one `op` through `paywire-core`; the wasm, Node and
//! Python test suites implement the same ops over their bindings and load the same files.
//!
//! Conventions, so that every language reads the inputs alike: amounts and any integer that
//! may exceed 2^53 are decimal strings; secrets, nonces and fingerprints are lowercase hex;
//! JSON shapes are the x402 / Paywire wire shapes (camelCase).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paywire_core::flow::{ClientAction, ClientConfig, ClientEvent, ClientFlow};
use paywire_core::flow::{
    McpClientAction, McpClientEvent, McpClientFlow, McpPaywall, McpPaywallAction, McpPaywallEvent,
    McpPaywallFlow,
};
use paywire_core::flow::{Paywall, PaywallAction, PaywallEvent, PaywallFlow};
use paywire_core::idempotency::{
    fingerprint, Begin, IdempotencyConfig, IdempotencyKey, IdempotencyStore, MemoryStore,
    StoredOutcome,
};
use paywire_core::money::{Amount, Asset};
use paywire_core::network;
use paywire_core::policy::{PaymentIntent, Policy, Usage};
use paywire_core::pricing::{
    pricebook_from_json, split_fee, PathPattern, PaymentOption, QuoteRequest,
};
use paywire_core::protocol::{
    evm, header, ledger, matching, AnyRequirements, FacilitatorRequest, PaymentRequired,
    PaymentRequirements, ResourceInfo,
};
use paywire_core::token::{self, Caveat, Claims, KeyRing, TokenRequest};
use paywire_core::{AssetRegistry, Error};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One file of vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorFile {
    /// The concept (the file's stem).
    pub concept: String,
    /// What the file covers.
    pub description: String,
    /// The cases.
    pub cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// What it checks.
    pub title: String,
    /// Which operation runs it (see [`run`]).
    pub op: String,
    /// The operation's input.
    pub input: Value,
    /// The expected output, when the operation succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// The expected error code, when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What running a case produced: an output or an error code.
pub type Outcome = Result<Value, String>;

/// The folder holding the vector files, found from this crate's manifest.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

/// Reads every vector file, sorted by name.
pub fn load_all(dir: &Path) -> std::io::Result<Vec<(PathBuf, VectorFile)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let file: VectorFile = serde_json::from_str(&text)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            Ok((path, file))
        })
        .collect()
}

/// Runs one case: `op` applied to `input`.
pub fn run(op: &str, input: &Value) -> Outcome {
    run_op(op, input).map_err(|e| e.code().to_string())
}

/// Compares a case's expectation with what running it produced.
pub fn check(case: &Case) -> Result<(), String> {
    let outcome = run(&case.op, &case.input);
    match (&case.expected, &case.error, outcome) {
        (Some(expected), None, Ok(actual)) if *expected == actual => Ok(()),
        (None, Some(code), Err(actual)) if *code == actual => Ok(()),
        (expected, error, actual) => Err(format!(
            "{}: expected {} but got {}",
            case.title,
            match (expected, error) {
                (Some(v), _) => v.to_string(),
                (_, Some(code)) => format!("error {code}"),
                _ => "nothing (a case needs expected or error)".into(),
            },
            match actual {
                Ok(v) => v.to_string(),
                Err(code) => format!("error {code}"),
            }
        )),
    }
}

fn field<T: DeserializeOwned>(input: &Value, name: &str) -> Result<T, Error> {
    let value = input.get(name).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| Error::InvalidPayload(format!("vector input {name}: {e}")))
}

fn text(input: &Value, name: &str) -> Result<String, Error> {
    field(input, name)
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| Error::InvalidPayload(e.to_string()))
}

fn hex_bytes(input: &Value, name: &str) -> Result<Vec<u8>, Error> {
    hex::decode(text(input, name)?)
        .map_err(|_| Error::InvalidPayload(format!("vector input {name} is not hex")))
}

fn asset_with_decimals(decimals: u8) -> Result<Asset, Error> {
    Asset::new(
        "eip155:1",
        "0x0000000000000000000000000000000000000001",
        "T",
        decimals,
    )
}

fn ring_from(input: &Value) -> Result<KeyRing, Error> {
    #[derive(Deserialize)]
    struct Key {
        kid: String,
        secret: String,
    }
    let keys: Vec<Key> = field(input, "keys")?;
    let mut keys = keys.into_iter();
    let first = keys
        .next()
        .ok_or_else(|| Error::InvalidPayload("vector needs at least one key".into()))?;
    let decode = |hex_text: &str| {
        hex::decode(hex_text).map_err(|_| Error::InvalidPayload("key is not hex".into()))
    };
    let mut ring = KeyRing::new(&first.kid, &decode(&first.secret)?)?;
    for key in keys {
        ring.add_verifying_key(&key.kid, &decode(&key.secret)?)?;
    }
    Ok(ring)
}

fn run_op(op: &str, input: &Value) -> Result<Value, Error> {
    match op {
        // A flow case is a sequence of events; the expectation is the action after each.
        "flow.client" => {
            let config: ClientConfig = field(input, "config")?;
            let events: Vec<ClientEvent> = field(input, "events")?;
            let mut flow = ClientFlow::new(&config, &text(input, "method")?, &text(input, "url")?);
            let actions: Vec<ClientAction> = events.into_iter().map(|e| flow.feed(e)).collect();
            to_json(&json!({"actions": actions}))
        }
        "flow.paywall" => {
            let paywall = Paywall::from_json(input.get("config").cloned().unwrap_or(Value::Null))?;
            let keys = match input.get("keys") {
                Some(_) => Some(ring_from(input)?),
                None => None,
            };
            let events: Vec<PaywallEvent> = field(input, "events")?;
            let mut flow = PaywallFlow::default();
            let actions: Vec<PaywallAction> = events
                .into_iter()
                .map(|e| paywall.feed(&mut flow, e, keys.as_ref()))
                .collect();
            to_json(&json!({"actions": actions}))
        }
        "flow.mcp_paywall" => {
            let paywall =
                McpPaywall::from_json(input.get("config").cloned().unwrap_or(Value::Null))?;
            let keys = match input.get("keys") {
                Some(_) => Some(ring_from(input)?),
                None => None,
            };
            let events: Vec<McpPaywallEvent> = field(input, "events")?;
            let mut flow = McpPaywallFlow::default();
            let actions: Vec<McpPaywallAction> = events
                .into_iter()
                .map(|e| paywall.feed(&mut flow, e, keys.as_ref()))
                .collect();
            to_json(&json!({"actions": actions}))
        }
        "flow.mcp_tool_meta" => {
            let paywall =
                McpPaywall::from_json(input.get("config").cloned().unwrap_or(Value::Null))?;
            let tools: Vec<String> = field(input, "tools")?;
            let now: u64 = field(input, "now")?;
            let listed: serde_json::Map<String, Value> = tools
                .iter()
                .map(|tool| (tool.clone(), json!(paywall.tool_meta(tool, now))))
                .collect();
            Ok(json!({"meta": listed}))
        }
        "flow.mcp_client" => {
            let config: ClientConfig = field(input, "config")?;
            let events: Vec<McpClientEvent> = field(input, "events")?;
            let mut flow = McpClientFlow::new(&config, &text(input, "tool")?)?;
            let actions: Vec<McpClientAction> = events.into_iter().map(|e| flow.feed(e)).collect();
            to_json(&json!({"actions": actions}))
        }
        // ---- money ----
        "money.parse_price" => {
            let asset = asset_with_decimals(field(input, "decimals")?)?;
            let amount = asset.parse_price(&text(input, "text")?)?;
            Ok(json!({"atomic": amount}))
        }
        "money.parse_atomic" => Ok(json!({"atomic": Amount::parse_atomic(&text(input, "text")?)?})),
        "money.to_decimal" => {
            let asset = asset_with_decimals(field(input, "decimals")?)?;
            let decimal = asset.to_decimal(field(input, "atomic")?)?;
            Ok(json!({"decimal": decimal.to_string()}))
        }
        "money.from_decimal" => {
            let asset = asset_with_decimals(field(input, "decimals")?)?;
            let value: String = field(input, "decimal")?;
            let decimal = value
                .parse::<Decimal>()
                .map_err(|_| Error::AmountInvalid(value.clone()))?;
            Ok(json!({"atomic": asset.from_decimal(decimal)?}))
        }
        "money.format" => {
            let asset = asset_with_decimals(field(input, "decimals")?)?;
            Ok(json!({"text": asset.format(field(input, "atomic")?)}))
        }
        "money.rescale" => {
            let amount: Amount = field(input, "atomic")?;
            let rescaled =
                amount.rescale(field(input, "fromDecimals")?, field(input, "toDecimals")?)?;
            Ok(json!({"atomic": rescaled}))
        }
        // ---- pricing ----
        "pricing.quote" => {
            let book = pricebook_from_json(&input["pricebook"])?;
            to_json(&book.quote(&field::<QuoteRequest>(input, "request")?)?)
        }
        "pricing.split_fee" => {
            let (fee, net) = split_fee(field(input, "gross")?, field(input, "feeBps")?)?;
            Ok(json!({"fee": fee, "net": net}))
        }
        "pricing.path_matches" => {
            let pattern = PathPattern::parse(&text(input, "pattern")?)?;
            Ok(json!({"matches": pattern.matches(&text(input, "path")?)}))
        }
        "pricing.payment_required" => {
            let book = pricebook_from_json(&input["pricebook"])?;
            let quote = book.quote(&field::<QuoteRequest>(input, "request")?)?;
            let options: Vec<PaymentOption> = field(input, "options")?;
            let resource: ResourceInfo = field(input, "resource")?;
            match field::<u8>(input, "x402Version")? {
                1 => to_json(&quote.payment_required_v1(
                    &options,
                    &resource,
                    "X-PAYMENT header is required",
                )?),
                _ => to_json(&quote.payment_required_v2(
                    &options,
                    resource,
                    Some("Payment required".into()),
                    None,
                )?),
            }
        }
        // ---- policy ----
        "policy.evaluate" => {
            let policy = Policy::from_json(input["policy"].clone())?;
            let intent: PaymentIntent = field(input, "intent")?;
            let usage: Usage = field(input, "usage")?;
            to_json(&policy.evaluate(&intent, &usage, field(input, "now")?))
        }
        "policy.select" => {
            let policy = Policy::from_json(input["policy"].clone())?;
            let required = PaymentRequired::from_json_value(input["paymentRequired"].clone())?;
            let usage: Usage = field(input, "usage")?;
            let selection = policy.select(
                &required,
                &usage,
                field(input, "now")?,
                &AssetRegistry::with_defaults(),
            );
            to_json(&selection)
        }
        "policy.record_then_evaluate" => {
            // Folds payments into an empty usage, then evaluates the last intent.
            let policy = Policy::from_json(input["policy"].clone())?;
            #[derive(Deserialize)]
            struct Payment {
                amount: Decimal,
                at: u64,
            }
            let mut usage = Usage::default();
            for payment in field::<Vec<Payment>>(input, "payments")? {
                policy.record(&mut usage, payment.amount, payment.at);
            }
            let intent: PaymentIntent = field(input, "intent")?;
            to_json(&policy.evaluate(&intent, &usage, field(input, "now")?))
        }
        // ---- token ----
        "token.issue" => {
            let ring = ring_from(input)?;
            Ok(json!({"token": ring.issue(&field::<Claims>(input, "claims")?)?}))
        }
        "token.verify" => {
            let ring = ring_from(input)?;
            let method = text(input, "method")?;
            let resource = text(input, "resource")?;
            let verified = ring.verify(
                &text(input, "token")?,
                TokenRequest::new(&method, &resource),
                field(input, "now")?,
                field(input, "uses")?,
            )?;
            to_json(&verified)
        }
        "token.attenuate" => {
            let caveat: Caveat = field(input, "caveat")?;
            Ok(json!({"token": token::attenuate(&text(input, "token")?, &caveat)?}))
        }
        "token.hash" => Ok(json!({"hash": token::token_hash(&text(input, "token")?)})),
        // ---- webhooks ----
        "webhook.sign" => Ok(json!({"header": paywire_core::webhook::sign(
            text(input, "secret")?.as_bytes(),
            field(input, "timestamp")?,
            text(input, "body")?.as_bytes(),
        )})),
        "webhook.verify" => {
            let tolerance = match input.get("toleranceSeconds") {
                Some(value) if !value.is_null() => field(input, "toleranceSeconds")?,
                _ => paywire_core::webhook::DEFAULT_TOLERANCE_SECONDS,
            };
            let timestamp = paywire_core::webhook::verify(
                &text(input, "header")?,
                text(input, "secret")?.as_bytes(),
                text(input, "body")?.as_bytes(),
                field(input, "now")?,
                tolerance,
            )?;
            Ok(json!({"timestamp": timestamp}))
        }
        // ---- idempotency ----
        "idempotency.validate_key" => {
            Ok(json!({"key": IdempotencyKey::parse(&text(input, "key")?)?.as_str()}))
        }
        "idempotency.fingerprint" => {
            let body = text(input, "body")?;
            let fp = fingerprint(
                &text(input, "method")?,
                &text(input, "path")?,
                body.as_bytes(),
            );
            Ok(json!({"fingerprint": fp.to_hex()}))
        }
        "idempotency.sequence" => idempotency_sequence(input),
        // ---- protocol ----
        "protocol.decode_payment_payload" => {
            let limit =
                field::<Option<usize>>(input, "limit")?.unwrap_or(header::DEFAULT_HEADER_LIMIT);
            to_json(&header::decode_payment_payload(
                &text(input, "header")?,
                limit,
            )?)
        }
        "protocol.decode_payment_required" => {
            let limit =
                field::<Option<usize>>(input, "limit")?.unwrap_or(header::DEFAULT_HEADER_LIMIT);
            to_json(&header::decode_payment_required(
                &text(input, "header")?,
                limit,
            )?)
        }
        "protocol.encode_header" => Ok(json!({"header": header::encode(&input["value"])})),
        "protocol.resolve_network" => {
            let id = network::resolve(&text(input, "network")?)?;
            Ok(
                json!({"caip2": id.as_str(), "namespace": id.namespace(), "reference": id.reference(),
                      "evmChainId": id.evm_chain_id(), "v1Name": id.v1_name()}),
            )
        }
        "protocol.requirements_match" => {
            let accepted: PaymentRequirements = field(input, "accepted")?;
            let offered: PaymentRequirements = field(input, "offered")?;
            Ok(json!({"matches": matching::requirements_match(&accepted, &offered)}))
        }
        "protocol.facilitator_request" => {
            let request: FacilitatorRequest = serde_json::from_value(input["body"].clone())
                .map_err(|e| Error::InvalidPayload(e.to_string()))?;
            Ok(
                json!({"x402Version": request.version(), "scheme": request.payment_payload.scheme(),
                      "network": request.payment_payload.network(),
                      "amount": request.payment_requirements.amount()}),
            )
        }
        // ---- ledger scheme ----
        "ledger.sign" => {
            let requirements = any_requirements(&input["requirements"])?;
            let secret = ledger::WalletSecret::from_bytes(&hex_bytes(input, "secret")?)?;
            let nonce: [u8; 32] = hex_bytes(input, "nonce")?
                .try_into()
                .map_err(|_| Error::InvalidPayload("nonce must be 32 bytes".into()))?;
            let exact = ledger::sign_payment(
                &requirements,
                &text(input, "walletId")?,
                &secret,
                &nonce,
                field(input, "now")?,
            )?;
            to_json(&exact)
        }
        "ledger.verify" => {
            let payment =
                paywire_core::PaymentPayload::from_json_value(input["paymentPayload"].clone())?;
            let requirements = any_requirements(&input["requirements"])?;
            let secrets: BTreeMap<String, String> = field(input, "secrets")?;
            let verified =
                ledger::verify_payment(&payment, &requirements, field(input, "now")?, |id| {
                    secrets
                        .get(id)
                        .and_then(|h| hex::decode(h).ok())
                        .and_then(|b| ledger::WalletSecret::from_bytes(&b).ok())
                })?;
            Ok(json!({"payer": verified.payer, "value": verified.authorization.value}))
        }
        // ---- EVM exact scheme ----
        "evm.verify" => {
            let payment =
                paywire_core::PaymentPayload::from_json_value(input["paymentPayload"].clone())?;
            let requirements = any_requirements(&input["requirements"])?;
            let verified = evm::verify_payment(&payment, &requirements, field(input, "now")?)?;
            Ok(json!({"payer": verified.payer, "value": verified.authorization.value}))
        }
        "evm.sign" => {
            let requirements = any_requirements(&input["requirements"])?;
            let key = evm::PrivateKey::from_hex(&text(input, "privateKey")?)?;
            let nonce: [u8; 32] = hex_bytes(input, "nonce")?
                .try_into()
                .map_err(|_| Error::InvalidPayload("nonce must be 32 bytes".into()))?;
            to_json(&evm::sign_payment(
                &requirements,
                &key,
                &nonce,
                field(input, "now")?,
            )?)
        }
        "evm.hashes" => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Domain {
                name: String,
                version: String,
                chain_id: u64,
                verifying_contract: evm::Address,
            }
            let domain: Domain = field(input, "domain")?;
            let domain = evm::Eip712Domain::new(
                &domain.name,
                &domain.version,
                domain.chain_id,
                domain.verifying_contract,
            );
            let message: paywire_core::protocol::ExactAuthorization = field(input, "message")?;
            let transfer = evm::TransferWithAuthorization {
                from: evm::Address::parse(&message.from)?,
                to: evm::Address::parse(&message.to)?,
                value: message.value,
                valid_after: message.valid_after,
                valid_before: message.valid_before,
                nonce: paywire_core::protocol::parse_nonce(&message.nonce)?,
            };
            Ok(
                json!({"domainSeparator": format!("0x{}", hex::encode(domain.separator())),
                      "structHash": format!("0x{}", hex::encode(transfer.struct_hash())),
                      "digest": format!("0x{}", hex::encode(domain.signing_digest(&transfer)))}),
            )
        }
        "evm.address" => {
            let address = evm::Address::parse(&text(input, "text")?)?;
            Ok(json!({"checksum": address.to_checksum()}))
        }
        other => Err(Error::InvalidPayload(format!(
            "unknown vector op {other:?}"
        ))),
    }
}

/// Requirements of either version (v1 has `maxAmountRequired`).
fn any_requirements(value: &Value) -> Result<AnyRequirements, Error> {
    AnyRequirements::from_json_value(value.clone())
}

fn idempotency_sequence(input: &Value) -> Result<Value, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Step {
        action: String,
        key: String,
        body: String,
        now: u64,
        #[serde(default)]
        status: Option<u16>,
    }
    let config = IdempotencyConfig {
        retention_seconds: field(input, "retentionSeconds")?,
        lease_seconds: input
            .get("leaseSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(paywire_core::idempotency::DEFAULT_LEASE_SECONDS),
    };
    let mut store = MemoryStore::new(field(input, "capacity")?, config);
    let mut results = vec![];
    for step in field::<Vec<Step>>(input, "steps")? {
        let key = IdempotencyKey::parse(&step.key)?;
        let fp = fingerprint("POST", "/v1/pay", step.body.as_bytes());
        let result = match step.action.as_str() {
            "begin" => match store.begin(&key, &fp, step.now) {
                Ok(Begin::Proceed) => json!({"action": "proceed"}),
                Ok(Begin::Replay(outcome)) => {
                    json!({"action": "replay", "status": outcome.status, "body": outcome.body})
                }
                Err(e) => json!({"error": e.code()}),
            },
            "complete" => {
                let outcome = StoredOutcome {
                    status: step.status.unwrap_or(200),
                    body: format!("outcome of {}", step.body),
                };
                match store.complete(&key, &fp, outcome, step.now) {
                    Ok(()) => json!({"completed": true}),
                    Err(e) => json!({"error": e.code()}),
                }
            }
            "abandon" => {
                store.abandon(&key, &fp);
                json!({"abandoned": true})
            }
            other => return Err(Error::InvalidPayload(format!("unknown step {other}"))),
        };
        results.push(result);
    }
    Ok(json!({"results": results}))
}
