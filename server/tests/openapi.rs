//! The checked-in OpenAPI document lists exactly the server's routes, and each is served.

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::{Backend, TestApp};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn the_document_lists_exactly_the_routes_and_each_is_served() {
    let document: serde_json::Value = serde_json::from_str(paywire_server::OPENAPI).unwrap();
    let mut documented = vec![];
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = paywire_server::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);

    let app = TestApp::new(Backend::Sqlite).await;
    for (method, path) in paywire_server::ROUTES {
        let uri = path
            .replace("{id}", "nonexistent")
            .replace("{keyId}", "key_nonexistent");
        let request = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
            .uri(&uri)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", common::ADMIN))
            .body(Body::from("{}"))
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        // Every answer is JSON (but the metrics, in Prometheus' text format, and CSV); a routing miss
        // says so in its message or code.
        if *path == "/metrics" {
            assert_eq!(status, 200);
            assert!(String::from_utf8_lossy(&bytes).contains("# TYPE"));
            continue;
        }
        if *path == "/dashboard" {
            assert_eq!(status, 200);
            assert!(String::from_utf8_lossy(&bytes).starts_with("<!doctype html>"));
            continue;
        }
        if path.ends_with(".csv") {
            assert_eq!(status, 200);
            assert!(String::from_utf8_lossy(&bytes).starts_with("id,created,"));
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{method} {uri} answered {status} without JSON"));
        assert_ne!(
            json["error"]["message"], "route not found",
            "{method} {uri}"
        );
        assert_ne!(
            json["error"]["code"], "method_not_allowed",
            "{method} {uri}"
        );
    }
    let (status, served) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(served["openapi"], "3.1.0");
    app.finish().await;
}

#[test]
fn the_checked_in_document_is_what_the_types_generate() {
    // Regenerate with `cargo run -p paywire-server --bin paywire-openapi`.
    assert!(
        paywire_server::OPENAPI == paywire_server::api::openapi::document_text(),
        "server/openapi.json is out of date: run `cargo run -p paywire-server --bin paywire-openapi`"
    );
}

#[test]
fn every_schema_the_paths_use_is_defined() {
    let document: serde_json::Value = serde_json::from_str(paywire_server::OPENAPI).unwrap();
    let text = document.to_string();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is referenced but not defined"
        );
    }
    assert!(schemas.len() > 40);
}
