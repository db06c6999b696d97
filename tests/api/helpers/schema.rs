//! Checking JSON against Discord's official OpenAPI document (vendored in tests/fixtures).
use serde_json::{Value, json};
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Validates `instance` against `#/components/schemas/{schema}` of Discord's OpenAPI document.
pub fn assert_discord_schema(schema: &str, instance: &Value) {
    let errors = discord_schema_errors(schema, instance);
    assert!(
        errors.is_empty(),
        "not a valid Discord {schema}: {errors:#?}"
    );
}

pub fn discord_schema_errors(schema: &str, instance: &Value) -> Vec<String> {
    let path = fixtures().join("discord/openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut document: Value =
        serde_json::from_str(&text).expect("Discord's OpenAPI document parses");
    // The whole document is the root, so every `$ref` inside it resolves; validation starts at
    // the named schema.
    document["$ref"] = json!(format!("#/components/schemas/{schema}"));
    document["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let validator = jsonschema::validator_for(&document).expect("a usable schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Validates a request body against the request schema of `method path` in Discord's OpenAPI
/// document. The one documented disagreement that applies is patched in: overwrite `allow` and
/// `deny` are integers in the spec but strings in the documentation, which wins.
pub fn discord_request_errors(method: &str, path: &str, instance: &Value) -> Vec<String> {
    let text =
        std::fs::read_to_string(fixtures().join("discord/openapi.json")).expect("the fixture");
    let mut document: Value =
        serde_json::from_str(&text).expect("Discord's OpenAPI document parses");
    let bitfield = json!({"type": ["integer", "string", "null"]});
    for pointer in [
        "/components/schemas/ChannelPermissionOverwriteRequest/properties",
        "/paths/~1channels~1{channel_id}~1permissions~1{overwrite_id}/put/requestBody/content/application~1json/schema/properties",
    ] {
        if let Some(properties) = document.pointer_mut(pointer) {
            properties["allow"] = bitfield.clone();
            properties["deny"] = bitfield.clone();
        }
    }
    let schema =
        document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
            .clone();
    assert!(!schema.is_null(), "no request schema for {method} {path}");
    document["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    // Validate at the operation's schema with the whole document as the root for `$ref`s.
    let root = document.as_object_mut().expect("object");
    for (k, v) in schema
        .as_object()
        .cloned()
        .expect("the request schema is an object")
    {
        root.insert(k, v);
    }
    let validator = jsonschema::validator_for(&document).expect("a usable schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
