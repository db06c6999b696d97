//! GitHub's own payloads and signature vectors (tests/fixtures/github, from octokit/webhooks and
//! GitHub's documentation): the product's payload types read them, every field they read is one
//! GitHub's schema requires, and the signature check accepts GitHub's signatures.
use std::path::PathBuf;

use serde_json::Value;
use switchboard::github::{
    payload::{IssuesEvent, PullRequestEvent},
    signature,
};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).expect("fixture")
}

fn json(path: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("JSON")
}

/// The schemas an object's definition is made of: itself, its `$ref` and its `allOf` parts.
fn parts(schema: &Value, dir: &PathBuf) -> Vec<Value> {
    let mut out = vec![schema.clone()];
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let path = dir.join(reference);
        out.extend(parts(&json(path), dir));
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.extend(parts(part, dir));
    }
    out
}

/// Asserts that each step of `path` is a required property in the event's schema.
fn assert_required(event_schema: &str, path: &[&str]) {
    let dir = fixtures().join("schemas");
    let mut current = json(dir.join(event_schema));
    for (i, step) in path.iter().enumerate() {
        let definitions = parts(&current, &dir);
        let required = definitions.iter().any(|d| {
            d.get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|v| v == step))
        });
        assert!(
            required,
            "{event_schema}: {} is not required",
            path[..=i].join(".")
        );
        current = definitions
            .iter()
            .find_map(|d| d.get("properties").and_then(|p| p.get(*step)).cloned())
            .unwrap_or_else(|| panic!("{event_schema}: no property {step}"));
    }
}

#[test]
fn every_field_the_issues_type_reads_is_required_by_githubs_schema() {
    for path in [
        &["action"][..],
        &["issue", "number"],
        &["issue", "title"],
        &["repository", "full_name"],
    ] {
        assert_required("issues/closed.schema.json", path);
    }
}

#[test]
fn every_field_the_pull_request_type_reads_is_required_by_githubs_schema() {
    for path in [
        &["action"][..],
        &["number"],
        &["pull_request", "title"],
        &["pull_request", "merged"],
        &["repository", "full_name"],
    ] {
        assert_required("pull_request/closed.schema.json", path);
    }
}

#[test]
fn the_required_field_check_fails_for_an_optional_field() {
    let result = std::panic::catch_unwind(|| {
        assert_required("issues/closed.schema.json", &["issue", "pull_request"]);
    });
    assert!(
        result.is_err(),
        "issue.pull_request is optional in GitHub's schema"
    );
}

#[test]
fn a_closed_issue_payload_reads_as_a_close() {
    let event: IssuesEvent =
        serde_json::from_slice(&bytes("issues.closed.SYNTHESIZED.payload.json")).expect("parses");
    let change = event.state_change().expect("a state change");
    assert!(change.closed);
    assert!(!change.is_pull_request);
    assert_eq!(change.repository, "Codertocat/Hello-World");
    assert_eq!(change.number, 1);
}

#[test]
fn a_reopened_issue_payload_reads_as_a_reopen() {
    let event: IssuesEvent =
        serde_json::from_slice(&bytes("issues.reopened.payload.json")).expect("parses");
    let change = event.state_change().expect("a state change");
    assert!(!change.closed);
}

#[test]
fn closed_pull_request_payloads_read_as_closes_with_their_merge_state() {
    for name in [
        "pull_request.closed.payload.json",
        "pull_request.closed.with-organization.payload.json",
    ] {
        let raw: Value = serde_json::from_slice(&bytes(name)).expect("JSON");
        let event: PullRequestEvent = serde_json::from_slice(&bytes(name)).expect("parses");
        let change = event.state_change().expect("a state change");
        assert!(change.closed && change.is_pull_request, "{name}");
        assert_eq!(
            Some(change.merged),
            raw["pull_request"]["merged"].as_bool(),
            "{name}"
        );
        assert_eq!(
            i64::from(change.number),
            raw["number"].as_i64().expect("number")
        );
    }
}

#[test]
fn githubs_signatures_of_the_saved_payloads_verify() {
    let vectors: Value = serde_json::from_slice(&bytes("hmac-vectors.json")).expect("JSON");
    let doc = &vectors["doc_vector"];
    signature::verify(
        doc["secret"].as_str().expect("secret").as_bytes(),
        doc["payload"].as_str().expect("payload").as_bytes(),
        doc["X-Hub-Signature-256"].as_str(),
    )
    .expect("GitHub's documented vector verifies");
    for name in [
        "pull_request.closed.payload.json",
        "issues.closed.SYNTHESIZED.payload.json",
    ] {
        let vector = &vectors[name];
        let body = bytes(name);
        assert_eq!(
            body.len() as u64,
            vector["bytes"].as_u64().expect("size"),
            "{name}"
        );
        let secret = vector["secret"].as_str().expect("secret").as_bytes();
        signature::verify(secret, &body, vector["X-Hub-Signature-256"].as_str())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert!(
            signature::verify(secret, &tampered, vector["X-Hub-Signature-256"].as_str()).is_err(),
            "{name}: a changed body must not verify"
        );
    }
}
