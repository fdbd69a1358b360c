//! Pricebooks: any JSON becomes a pricebook or a coded error; a valid one quotes any request
//! without panicking, and every quote splits into fee + net = amount. Any request path has one
//! canonical form (a fixed point, rooted, free of dot segments) that routes without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paywire_core::pricing::{canonical_path, pricebook_from_json, QuoteRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (book, request) = match &value {
        serde_json::Value::Array(parts) if parts.len() == 2 => (
            parts[0].clone(),
            serde_json::from_value::<QuoteRequest>(parts[1].clone()).ok(),
        ),
        other => (other.clone(), None),
    };
    let Ok(book) = pricebook_from_json(&book) else {
        return;
    };
    let request = request.unwrap_or_else(|| QuoteRequest::new("GET", "/v1/weather/paris"));
    let canonical = canonical_path(&request.path);
    assert!(canonical.starts_with('/'), "{canonical:?}");
    assert_eq!(canonical_path(&canonical), canonical, "canonical form is a fixed point");
    assert!(canonical.split('/').all(|s| s != "." && s != ".."), "{canonical:?}");
    let _ = book.route_unambiguous(&request.method, &request.path);
    if let Ok(quote) = book.quote(&request) {
        assert_eq!(
            quote.fee.checked_add(quote.net).expect("fee + net fits"),
            quote.amount
        );
    }
});
