//! The dashboard page (`/dashboard`): one HTML page, its script and its stylesheet, compiled
//! into the binary (no CDN, nothing fetched from elsewhere), served under a Content Security
//! Policy that lets the page load only its own files and call only this API. It signs in with
//! a provider's or an agent's API key and reads the same `/v1` routes any client reads.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::base::error::ApiError;

const INDEX: &str = include_str!("../../dashboard/index.html");
const SCRIPT: &str = include_str!("../../dashboard/app.js");
const STYLE: &str = include_str!("../../dashboard/style.css");

/// Only this origin's files and API; no inline script, no framing.
const POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /dashboard`.
pub async fn get_index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

/// `GET /dashboard/{asset}`: `app.js` or `style.css`.
pub async fn get_asset(Path(asset): Path<String>) -> Result<Response, ApiError> {
    match asset.as_str() {
        "app.js" => Ok(page("text/javascript; charset=utf-8", SCRIPT)),
        "style.css" => Ok(page("text/css; charset=utf-8", STYLE)),
        _ => Err(ApiError::NotFound("dashboard file")),
    }
}
