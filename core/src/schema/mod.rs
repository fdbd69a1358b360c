//! JSON Schemas (feature `schemars`) of the types whose wire form is written by hand: amounts
//! and versions, codes, path patterns, header maps, the facilitator request. The derived
//! schemas of every other wire type refer to these.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::error::DenyReason;
use crate::error::Reason;
use crate::flow::Headers;
use crate::money::Amount;
use crate::pricing::PathPattern;
use crate::protocol::{AnyRequirements, FacilitatorRequest, PaymentPayload, Version};

mod wire;
pub use wire::wire_schema;

/// A `rust_decimal::Decimal` as the wire carries it: a decimal string (`"0.01"`), never a
/// JSON number.
pub(crate) struct DecimalText;

impl JsonSchema for DecimalText {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "A decimal number as a string, in whole units (\"0.01\").",
        })
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "A count of an asset's atomic units, as a decimal string (up to 2^128 − 1).",
        })
    }
}

impl<const N: u8> JsonSchema for Version<N> {
    fn schema_name() -> Cow<'static, str> {
        format!("X402Version{N}").into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "const": N})
    }
}

impl JsonSchema for Reason {
    fn schema_name() -> Cow<'static, str> {
        "Reason".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An x402 reason code (invalidReason, errorReason): one of the known codes, or any other string.",
            "examples": Reason::KNOWN,
        })
    }
}

impl JsonSchema for DenyReason {
    fn schema_name() -> Cow<'static, str> {
        "DenyReason".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let codes: Vec<&str> = DenyReason::ALL.iter().map(|r| r.code()).collect();
        json_schema!({"type": "string", "enum": codes})
    }
}

impl JsonSchema for PathPattern {
    fn schema_name() -> Cow<'static, str> {
        "PathPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A path pattern: literal segments, `:name` or `{name}` for any one segment, a final `*` for the rest.",
            "examples": ["/v1/weather/:city", "/files/*"],
        })
    }
}

impl JsonSchema for Headers {
    fn schema_name() -> Cow<'static, str> {
        "Headers".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "HTTP header fields by name (compared case-insensitively).",
        })
    }
}

impl JsonSchema for FacilitatorRequest {
    fn schema_name() -> Cow<'static, str> {
        "FacilitatorRequest".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "The body of POST /verify and POST /settle.",
            "required": ["x402Version", "paymentPayload", "paymentRequirements"],
            "properties": {
                "x402Version": {"type": "integer", "enum": [1, 2]},
                "paymentPayload": generator.subschema_for::<PaymentPayload>(),
                "paymentRequirements": generator.subschema_for::<AnyRequirements>(),
            },
        })
    }
}
