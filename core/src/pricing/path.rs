//! Path patterns of price rules: literal segments, `:param` / `{param}`, and a final `*`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A path pattern: `/weather`, `/items/:id` (or `/items/{id}`), `/files/*`.
///
/// Segments compare literally (case-sensitive); a `:name` or `{name}` segment matches any one
/// segment; a final `*` matches whatever follows, including nothing. Query strings and
/// fragments of the request path are ignored, and so are empty segments (`/a//b/` is `/a/b`).
#[derive(Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

impl PathPattern {
    /// Parses a pattern, or [`Error::PricingRuleInvalid`].
    pub fn parse(text: &str) -> Result<Self> {
        if !text.starts_with('/') {
            return Err(Error::PricingRuleInvalid(format!(
                "path pattern {text:?} must start with '/'"
            )));
        }
        let raw: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
        let mut segments = Vec::with_capacity(raw.len());
        for (i, segment) in raw.iter().enumerate() {
            let parsed = if *segment == "*" {
                if i + 1 != raw.len() {
                    return Err(Error::PricingRuleInvalid(format!(
                        "in {text:?}, '*' may only be the last segment"
                    )));
                }
                Segment::Rest
            } else if (segment.starts_with(':') && segment.len() > 1)
                || (segment.starts_with('{') && segment.ends_with('}') && segment.len() > 2)
            {
                Segment::Param
            } else if segment.contains(['*', '?', '#']) {
                return Err(Error::PricingRuleInvalid(format!(
                    "segment {segment:?} of {text:?} is neither literal, a parameter nor '*'"
                )));
            } else {
                Segment::Literal((*segment).to_string())
            };
            segments.push(parsed);
        }
        Ok(PathPattern {
            text: text.to_string(),
            segments,
        })
    }

    /// Whether `path` (which may carry a query string) matches. Never allocates.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::Param => {
                    if parts.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(literal) => {
                    if parts.next() != Some(literal.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({:?})", self.text)
    }
}

impl FromStr for PathPattern {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        PathPattern::parse(text)
    }
}

impl Serialize for PathPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        PathPattern::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_by_segment() {
        let p = PathPattern::parse("/items/:id/reviews").unwrap();
        assert!(p.matches("/items/42/reviews"));
        assert!(p.matches("/items/42/reviews/?sort=new"));
        assert!(!p.matches("/items/42"));
        assert!(!p.matches("/items/42/reviews/9"));
        let rest = PathPattern::parse("/files/*").unwrap();
        assert!(rest.matches("/files"));
        assert!(rest.matches("/files/a/b.txt"));
        assert!(!rest.matches("/filesystem"));
        assert!(PathPattern::parse("/{id}").unwrap().matches("/x"));
        for bad in ["items", "/a/*/b", "/a*b"] {
            assert_eq!(
                PathPattern::parse(bad).unwrap_err().code(),
                "pricing_rule_invalid",
                "{bad}"
            );
        }
    }
}
