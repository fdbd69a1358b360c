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

/// The canonical form of a request path, as RFC 3986 normalizes it: the query string and
/// fragment dropped, percent-escapes of unreserved characters decoded (`%2e` is `.`, `%41` is
/// `A`) and other escapes' hex digits upper-cased, empty segments dropped (`//` is `/`), and
/// the dot segments resolved (`/a/./b/../c` is `/a/c`; `..` never climbs above the root). A
/// trailing `/` is kept. Escapes of reserved characters (`%2F`) stay escaped: decoding them
/// would change which segments the path has.
///
/// Prices, token scopes and token routes are decided on this form, so a request cannot reach
/// a rule other than the one its path means by spelling it differently.
pub fn canonical_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut segments: Vec<String> = vec![];
    let mut trailing = path.ends_with('/');
    for raw in path.split('/') {
        if raw.is_empty() {
            continue;
        }
        let segment = decode_unreserved(raw);
        trailing = false;
        match segment.as_str() {
            "." => trailing = true,
            ".." => {
                segments.pop();
                trailing = true;
            }
            _ => segments.push(segment),
        }
    }
    if path.ends_with('/') {
        trailing = true;
    }
    let mut canonical = String::with_capacity(path.len() + 1);
    for segment in &segments {
        canonical.push('/');
        canonical.push_str(segment);
    }
    if canonical.is_empty() || trailing {
        canonical.push('/');
    }
    canonical
}

/// Decodes `%XX` escapes of unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) and
/// upper-cases the hex of every other escape; a `%` not followed by two hex digits stays.
fn decode_unreserved(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_string();
    }
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]));
            if let (Some(high), Some(low)) = hex {
                let byte = high << 4 | low;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
                continue;
            }
        }
        // Not an escape: copy one whole character (the text is UTF-8).
        let width = segment[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&segment[i..i + width]);
        i += width;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
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
    use crate::error::code;

    #[test]
    fn canonical_paths_resolve_dots_escapes_and_slashes() {
        let cases = [
            ("/v1/weather/paris", "/v1/weather/paris"),
            ("/v1/weather/../admin", "/v1/admin"),
            ("/v1/weather/%2e%2e/admin", "/v1/admin"),
            ("/v1/weather/%2E%2e/admin", "/v1/admin"),
            ("/v1/weather/.%2E/admin", "/v1/admin"),
            ("/v1/./weather//paris", "/v1/weather/paris"),
            ("//v1///weather/", "/v1/weather/"),
            ("/../../etc", "/etc"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/%76%31/x", "/v1/x"),
            ("/a%2fb/c", "/a%2Fb/c"),
            ("/a%zz/%4", "/a%zz/%4"),
            ("/caf\u{e9}/%7e", "/caf\u{e9}/~"),
            ("", "/"),
            ("/", "/"),
            ("/x?y=/../z#f", "/x"),
        ];
        for (path, canonical) in cases {
            assert_eq!(canonical_path(path), canonical, "{path}");
            assert_eq!(
                canonical_path(canonical),
                canonical,
                "{canonical} is a fixed point"
            );
        }
    }

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
                code::error::PricingRuleInvalid,
                "{bad}"
            );
        }
    }
}
