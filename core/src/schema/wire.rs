//! The catalogue of wire types: one JSON Schema document for the bindings to generate their
//! declarations from. A roof module: it names types from every floor of the core.

use crate::protocol::{AnyRequirements, FacilitatorRequest, PaymentPayload};

/// The JSON Schemas of every wire type a binding's host reads or writes, as one JSON Schema
/// (2020-12) document whose `$defs` are named as the Rust types are.
///
/// This is the one source of the bindings' type declarations: `bindings-js/src/types.ts` is
/// generated from it (`bindings-js/scripts/types.mjs`), and CI fails when either drifts from
/// the Rust types. The schemas describe what the core *accepts* (serde's deserialize side):
/// a field the core defaults is optional here even where the core always writes it.
pub fn wire_schema() -> serde_json::Value {
    use crate::flow::{
        Answer, ClientAction, ClientConfig, ClientEvent, HttpResponse, McpAnswer, McpCall,
        McpClientAction, McpClientEvent, McpPaywallAction, McpPaywallConfig, McpPaywallEvent,
        Payer, PaymentRecord, PaywallAction, PaywallConfig, PaywallEvent, PaywallRoute,
        SignRequest, ToolPrice,
    };
    use crate::money::Asset;
    use crate::policy::{Decision, PaymentIntent, Policy, Rejection, Selection, Usage};
    use crate::pricing::{
        PaymentOption, Price, PriceRule, PriceTier, Pricebook, Quote, QuoteRequest,
    };
    use crate::protocol::{
        ExactAuthorization, ExactPayload, PaymentPayloadV1, PaymentPayloadV2, PaymentRequired,
        PaymentRequiredV1, PaymentRequiredV2, PaymentRequirements, PaymentRequirementsV1,
        ResourceInfo, SettleResponse, SupportedResponse, VerifyResponse,
    };
    use crate::token::{AccessToken, Caveat, Claims, Scope, VerifiedToken};

    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    // Each root is registered by reference, so it lands in `$defs` under its own name.
    macro_rules! roots {
        ($($ty:ty),* $(,)?) => {
            $( generator.subschema_for::<$ty>(); )*
        };
    }
    roots![
        Asset,
        ResourceInfo,
        PaymentRequirements,
        PaymentRequirementsV1,
        PaymentRequiredV2,
        PaymentRequiredV1,
        PaymentRequired,
        PaymentPayloadV2,
        PaymentPayloadV1,
        PaymentPayload,
        AnyRequirements,
        ExactAuthorization,
        ExactPayload,
        FacilitatorRequest,
        VerifyResponse,
        SettleResponse,
        SupportedResponse,
        Policy,
        PaymentIntent,
        Decision,
        Rejection,
        Selection,
        Usage,
        PriceTier,
        Price,
        PriceRule,
        Pricebook,
        QuoteRequest,
        Quote,
        PaymentOption,
        Scope,
        Claims,
        Caveat,
        VerifiedToken,
        AccessToken,
        Payer,
        ClientConfig,
        SignRequest,
        PaymentRecord,
        HttpResponse,
        Answer,
        ClientEvent,
        ClientAction,
        PaywallRoute,
        PaywallConfig,
        PaywallEvent,
        PaywallAction,
        ToolPrice,
        McpPaywallConfig,
        McpPaywallEvent,
        McpPaywallAction,
        McpAnswer,
        McpClientEvent,
        McpCall,
        McpClientAction,
    ];
    let definitions = generator.take_definitions(true);
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Paywire wire types",
        "description": "The JSON shapes that cross every Paywire binding: x402 v1/v2 wire types, and Paywire's policies, pricebooks, quotes, tokens and payment flows. Generated from paywire-core; do not edit.",
        "$defs": definitions,
    })
}
