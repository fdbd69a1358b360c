//! The OpenAPI document of the API (`server/openapi.json`), generated: the paths from the route
//! table below, every schema from the Rust types the handlers take and return (core wire types
//! and the request and response types of each module of [`crate::api`]). `cargo run -p paywire-server --bin paywire-openapi` rewrites the
//! file; a test fails when the checked-in file differs from what this module generates.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::api::{
    endpoints, health, keys, page, payments, payouts, reports, tenants, tokens, wallets, webhooks,
};
use paywire_core::policy::Policy;
use paywire_core::protocol::{
    FacilitatorRequest, SettleResponse, SupportedResponse, VerifyResponse,
};

/// A schema, generated on demand.
type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One documented route.
struct Route {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    /// Whether it takes `Authorization: Bearer <key>`.
    auth: bool,
    request: Option<SchemaOf>,
    /// The query parameters, as the schema of an object whose properties they are.
    query: Option<SchemaOf>,
    response: SchemaOf,
    /// Whether the answer is not JSON of a schema (this document, pages, text formats).
    raw: bool,
    /// The media types a raw answer comes in.
    media: &'static [&'static str],
}

const fn route(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    response: SchemaOf,
) -> Route {
    Route {
        method,
        path,
        tag,
        summary,
        description: None,
        auth: true,
        request: None,
        query: None,
        response,
        raw: false,
        media: &["application/json"],
    }
}

impl Route {
    const fn open(mut self) -> Self {
        self.auth = false;
        self
    }
    const fn body(mut self, request: SchemaOf) -> Self {
        self.request = Some(request);
        self
    }
    /// A raw answer in these media types.
    const fn raw(mut self, media: &'static [&'static str]) -> Self {
        self.raw = true;
        self.media = media;
        self
    }
    const fn query(mut self, query: SchemaOf) -> Self {
        self.query = Some(query);
        self
    }
    const fn described(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }
}

fn routes() -> Vec<Route> {
    vec![
        route("get", "/healthz", "operations", "Liveness", of::<health::Health>).open(),
        route("get", "/readyz", "operations", "Readiness: the database answers", of::<health::Health>).open(),
        route("get", "/openapi.json", "operations", "This document", of::<Value>).open().raw(&["application/json"]),
        route("get", "/supported", "facilitator", "Supported scheme/network kinds (x402)", of::<SupportedResponse>).open(),
        route("post", "/verify", "facilitator", "Verify a payment without settling it (x402); always 200 with isValid", of::<VerifyResponse>)
            .open()
            .body(of::<FacilitatorRequest>),
        route("post", "/settle", "facilitator", "Settle a payment exactly once (x402); always 200 with success", of::<SettleResponse>)
            .open()
            .body(of::<FacilitatorRequest>)
            .described("Idempotent after verification: the very same payment (same nonce) and a re-signed retry under the same payment-identifier (same payer, same terms) are answered with the first outcome; the identifier under other terms is 409 idempotency_key_reused. An outcome not known yet is success false with errorReason settlement_pending, never a failure: retry the same payment."),
        route("post", "/v1/providers", "accounts", "Create a provider, its payout wallet and an API key (operator)", of::<tenants::CreatedTenant>)
            .body(of::<tenants::NewProvider>),
        route("post", "/v1/agents", "accounts", "Create an agent, its wallet (with signing secret) and an API key (operator)", of::<tenants::CreatedTenant>)
            .body(of::<tenants::NewAgent>),
        route("get", "/v1/tenants", "accounts", "List providers and agents, newest first, with their webhook endpoints' health (operator)", of::<page::ListOf<tenants::TenantView>>)
            .query(of::<tenants::TenantQuery>),
        route("get", "/v1/wallets/{id}", "accounts", "A wallet's balances, policy and usage (operator or owner)", of::<wallets::WalletView>),
        route("post", "/v1/wallets/{id}/fund", "accounts", "Deposit ledger dollars (operator)", of::<wallets::Funded>)
            .body(of::<wallets::Funding>),
        route("put", "/v1/wallets/{id}/policy", "accounts", "Set an agent wallet's spending policy (operator, or an owner key with the manage scope)", of::<wallets::PolicySet>)
            .body(of::<Policy>)
            .described("The agent runtime's own key (read, write) cannot loosen its limits; that needs the operator or a key with the manage scope."),
        route("post", "/v1/evm/fund", "accounts", "Credit an EVM address on a devnet network (operator)", of::<wallets::Funded>)
            .body(of::<wallets::EvmFunding>),
        route("get", "/v1/tenants/{id}/api-keys", "accounts", "List a tenant's API keys (never the keys themselves)", of::<keys::KeyList>),
        route("post", "/v1/tenants/{id}/api-keys", "accounts", "Create an API key (shown once); a tenant key can only grant scopes it holds", of::<keys::KeyCreated>)
            .body(of::<keys::NewKey>),
        route("delete", "/v1/tenants/{id}/api-keys/{keyId}", "accounts", "Revoke an API key (a tenant key can only revoke keys whose scopes it holds)", of::<keys::ApiKeyInfo>),
        route("post", "/v1/providers/{id}/endpoints", "pricing", "Register a priced endpoint (price rule, optional bundle)", of::<endpoints::EndpointCreated>)
            .body(of::<endpoints::NewEndpoint>),
        route("post", "/v1/providers/{id}/quote", "pricing", "Price a request and get its x402 402 body", of::<endpoints::QuoteAnswer>)
            .body(of::<endpoints::QuoteBody>),
        route("put", "/v1/providers/{id}/webhook", "accounts", "Set the webhook URL; returns a new signing secret (shown once)", of::<webhooks::WebhookSet>)
            .body(of::<webhooks::WebhookSettings>)
            .described("The URL must be https:// to a public address: it is parsed (WHATWG rules) and every address its host resolves to is checked; user info, other schemes, and loopback, private, link-local (cloud metadata), shared and reserved addresses are refused with webhook_url_invalid. Loopback (and http:// to it) only when the server allows loopback webhooks for development. The secret is sealed at rest and shown once."),
        route("get", "/v1/events", "operations", "List events, newest first (the caller's; the operator's: all, or ?tenant=)", of::<page::ListOf<webhooks::EventView>>)
            .query(of::<webhooks::EventQuery>)
            .described("Cursor pagination: limit (1-100, default 10), starting_after (the last id of the previous page), has_more. A starting_after that names no row of this list is 400 cursor_invalid."),
        route("get", "/v1/events/{id}", "operations", "An event and its delivery state", of::<webhooks::EventView>),
        route("post", "/v1/events/{id}/resend", "operations", "Queue an event for the tenant's webhook endpoint again, now (write scope)", of::<webhooks::Resent>),
        route("get", "/v1/webhook-deliveries", "operations", "List webhook delivery attempts, newest first", of::<page::ListOf<webhooks::DeliveryView>>)
            .query(of::<webhooks::DeliveryQuery>),
        route("get", "/v1/payments", "operations", "List settled payments, newest first (a provider's received, an agent's made)", of::<page::ListOf<payments::PaymentView>>)
            .query(of::<payments::PaymentQuery>),
        route("get", "/v1/payments/{id}", "operations", "One settled payment", of::<payments::PaymentView>),
        route("get", "/v1/payments/export.csv", "operations", "The caller's payments as CSV (the list's filters, no paging, at most 100,000)", of::<Value>)
            .raw(&["text/csv"])
            .query(of::<payments::PaymentQuery>),
        route("get", "/v1/providers/{id}/revenue", "operations", "A provider's revenue from the journal: gross, fees, net by day or month, by endpoint, top payers", of::<reports::Report>)
            .query(of::<reports::ReportQuery>),
        route("get", "/v1/agents/{id}/spending", "operations", "An agent's spending from the journal by day or month, by provider and endpoint, with its policy and usage", of::<reports::Report>)
            .query(of::<reports::ReportQuery>),
        route("get", "/v1/providers/{id}/endpoints", "pricing", "List a provider's endpoints, newest first", of::<page::ListOf<endpoints::EndpointView>>)
            .query(of::<page::PageQuery>),
        route("get", "/v1/providers/{id}/endpoints/{endpointId}", "pricing", "One endpoint", of::<endpoints::EndpointView>),
        route("post", "/v1/providers/{id}/endpoints/{endpointId}", "pricing", "Disable or enable an endpoint (write); a disabled one is no longer priced", of::<endpoints::EndpointView>)
            .body(of::<endpoints::EndpointUpdate>),
        route("get", "/v1/wallets/{id}/journal", "accounts", "A wallet's journal postings, newest first", of::<page::ListOf<wallets::PostingView>>)
            .query(of::<page::PageQuery>),
        route("get", "/v1/tenants/{id}/api-keys/{keyId}", "accounts", "One API key (never the key itself)", of::<keys::ApiKeyInfo>),
        route("get", "/v1/me", "accounts", "Who this key belongs to: kind, tenant, name, wallet, scopes", of::<tenants::Me>),
        route("post", "/v1/payouts", "payouts", "Pay out a provider's balance (pending: the amount leaves its balance)", of::<payouts::PayoutView>)
            .body(of::<payouts::NewPayout>)
            .described("A provider's key (write) pays out its own balance; the operator names providerId. amount defaults to the whole balance; below the minimum is payout_below_minimum, more than the balance insufficient_funds. Idempotent under Idempotency-Key (the payout's id derives from it). Events: payout.created, then payout.paid or payout.failed."),
        route("get", "/v1/payouts", "payouts", "List payouts, newest first", of::<page::ListOf<payouts::PayoutView>>)
            .query(of::<payouts::PayoutQuery>),
        route("get", "/v1/payouts/{id}", "payouts", "One payout", of::<payouts::PayoutView>),
        route("post", "/v1/payouts/{id}/paid", "payouts", "Mark a pending payout paid: the amount leaves the ledger (operator)", of::<payouts::PayoutView>),
        route("post", "/v1/payouts/{id}/failed", "payouts", "Mark a pending payout failed: the amount returns to the provider (operator)", of::<payouts::PayoutView>)
            .body(of::<payouts::PayoutFailure>),
        route("get", "/dashboard", "operations", "The dashboard page (HTML; sign in with a provider or agent key)", of::<Value>).open().raw(&["text/html"]),
        route("get", "/dashboard/{asset}", "operations", "The dashboard's script and stylesheet (app.js, style.css)", of::<Value>).open().raw(&["text/javascript", "text/css"]),
        route("get", "/metrics", "operations", "Prometheus metrics (operator)", of::<Value>).raw(&["text/plain"]),
        route("post", "/v1/tokens/verify", "tokens", "Verify an access token for a request and count one use, atomically (issuing provider)", of::<tokens::TokenVerified>)
            .body(of::<tokens::VerifyToken>),
    ]
}

const DESCRIPTION: &str = "x402 facilitator over a double-entry ledger. Amounts are decimal strings \
(atomic units in x402 bodies, whole units in `amount` fields of the /v1 API); never JSON numbers. Errors \
are `{\"error\": {\"code\", \"message\"}}` with stable codes — also for unknown routes (404), wrong \
methods (405), timeouts (408), oversized bodies (413) and headers (431).";

const IDEMPOTENCY: &str = "Stripe's contract: the same key and request replay the first outcome; another \
request under the key is 409 idempotency_key_reused; while the first is running, 409 \
idempotency_in_progress. An attempt that died holds the key only for the lease (60 s by default); a retry \
after it runs again and finds what the dead attempt committed. Replays never show a secret again: secret \
fields are null and listed in redacted. The key is scoped to the caller's credentials: on the facilitator \
calls, which take none, a key without an Authorization header is ignored (/settle is idempotent by the \
payment's nonce and payment identifier, answered only after the payment verifies).";

/// The whole document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let error = generator.subschema_for::<crate::base::error::ErrorBody>();
    let mut paths = Map::new();
    for route in routes() {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        if let Some(description) = route.description {
            operation.insert("description".into(), json!(description));
        }
        operation.insert("tags".into(), json!([route.tag]));
        let mut parameters = vec![];
        for segment in route.path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                parameters.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
            }
        }
        if let Some(query) = route.query {
            // Inlined (not a reference): each property becomes one query parameter.
            let schema = query(
                &mut SchemaSettings::draft2020_12()
                    .with(|s| s.inline_subschemas = true)
                    .into_generator(),
            );
            let properties = schema
                .as_value()
                .get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (name, property) in properties {
                let mut property = property;
                let description = property
                    .as_object_mut()
                    .and_then(|p| p.remove("description"));
                // An absent parameter is the Option's None: a query string has no null.
                if let Some(types) = property.get("type").and_then(Value::as_array).cloned() {
                    let present: Vec<Value> = types.into_iter().filter(|t| t != "null").collect();
                    if present.len() == 1 {
                        property["type"] = present[0].clone();
                    }
                }
                let mut parameter =
                    json!({"name": name, "in": "query", "required": false, "schema": property});
                if let Some(description) = description {
                    parameter["description"] = description;
                }
                parameters.push(parameter);
            }
        }
        if route.method != "get" {
            parameters.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if route.auth {
            operation.insert("security".into(), json!([{"bearer": []}]));
        }
        if let Some(request) = route.request {
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": request(&mut generator)}}}),
            );
        }
        let ok = if route.raw {
            let content: Map<String, Value> = route
                .media
                .iter()
                .map(|media| {
                    let schema = if *media == "application/json" {
                        json!({"type": "object"})
                    } else {
                        json!({"type": "string"})
                    };
                    (media.to_string(), json!({"schema": schema}))
                })
                .collect();
            json!({"description": "OK", "content": content})
        } else {
            json!({"description": "OK", "content": {"application/json": {"schema": (route.response)(&mut generator)}}})
        };
        operation.insert(
            "responses".into(),
            json!({"200": ok, "4XX": {"$ref": "#/components/responses/Error"}, "5XX": {"$ref": "#/components/responses/Error"}}),
        );
        let item = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item.as_object_mut()
            .expect("a path item")
            .insert(route.method.into(), Value::Object(operation));
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Paywire settlement server", "version": env!("CARGO_PKG_VERSION"), "description": DESCRIPTION},
        "servers": [{"url": "http://127.0.0.1:4020"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"Error": {"description": "An error with a stable code", "content": {"application/json": {"schema": error}}}},
            "parameters": {"IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255}, "description": IDEMPOTENCY}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The operator's admin key or a tenant API key (sk_…)."}},
        },
    })
}

/// The document as the checked-in file holds it: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("a JSON document");
    text.push('\n');
    text
}
