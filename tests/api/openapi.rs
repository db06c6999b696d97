use std::path::Path;

/// `openapi/openapi.json` is generated (`switchboard openapi -o openapi/openapi.json`); this
/// fails when the code and the checked-in document drift apart.
#[test]
fn the_checked_in_spec_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = switchboard::http::openapi::spec_json();
    assert!(
        checked_in == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi -o openapi/openapi.json`"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problem_json() {
    let spec: serde_json::Value =
        serde_json::from_str(&switchboard::http::openapi::spec_json()).expect("spec is JSON");
    let paths = spec["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
                assert!(responses.contains_key("422"), "{method} {path} lacks 422");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("422"), "{method} {path} lacks 422");
            }
            let public = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().all(|r| r == &serde_json::json!({})));
            if !public {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            assert!(
                op.get("summary").is_some(),
                "{method} {path} has no summary"
            );
        }
    }
}

#[test]
fn the_spec_declares_bearer_api_key_and_cookie_security() {
    let spec: serde_json::Value =
        serde_json::from_str(&switchboard::http::openapi::spec_json()).expect("spec is JSON");
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["apiKey"]["in"], "header");
    assert_eq!(schemes["session"]["in"], "cookie");
}

/// Every `$ref` points at something the document defines: a schema used only by a query
/// parameter is easy to leave out of `components`, and generators then refuse the document.
#[test]
fn every_reference_resolves() {
    fn walk(value: &serde_json::Value, at: &str, refs: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    if key == "$ref"
                        && let Some(target) = child.as_str()
                    {
                        refs.push((at.to_owned(), target.to_owned()));
                    }
                    walk(child, &format!("{at}/{key}"), refs);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), refs);
                }
            }
            _ => {}
        }
    }
    let spec: serde_json::Value =
        serde_json::from_str(&switchboard::http::openapi::spec_json()).expect("spec is JSON");
    let mut refs = Vec::new();
    walk(&spec, "#", &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<_> = refs
        .into_iter()
        .filter(|(_, target)| {
            let pointer = target.trim_start_matches('#');
            !target.starts_with('#') || spec.pointer(pointer).is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "unresolved references: {dangling:#?}");
}
