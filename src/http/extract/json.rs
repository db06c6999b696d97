use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};

/// A JSON body whose every failure is problem+json: a wrong content type is 415, a too-large
/// body 413, and anything else — malformed JSON, a missing or mistyped field, a NUL character —
/// is 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                "unsupported_media_type",
                "Send the body as application/json.",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorKind::PayloadTooLarge,
                    "payload_too_large",
                    "The request body is too large.",
                )
            } else {
                Error::invalid("body", "could not be read")
            }
        })?;
        parse(&body).map(Self)
    }
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(mime) = content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    mime.type_() == "application"
        && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    // serde accepts a JSON array for a struct (fields by position); every body of this API is
    // an object, so anything else is refused rather than read positionally.
    if body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b != b'{')
    {
        return Err(Error::invalid("body", "must be a JSON object"));
    }
    if let Some(field) = nul_escape(body) {
        return Err(Error::invalid(field, "must not contain NUL characters"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            let mut e = Error::invalid("body", format!("is not valid JSON ({inner})"));
            e.code = "malformed_json";
            return e;
        }
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        // serde reports a missing field at the parent's path; name the field itself.
        let field = match (message.strip_prefix("missing field `"), path.as_str()) {
            (Some(rest), ".") => rest.trim_end_matches('`').to_owned(),
            (Some(rest), parent) => format!("{parent}.{}", rest.trim_end_matches('`')),
            (None, ".") => "body".to_owned(),
            (None, p) => p.to_owned(),
        };
        Error::invalid(field, message)
    })?;
    de.end().map_err(|_| {
        let mut e = Error::invalid("body", "has trailing characters after the JSON value");
        e.code = "malformed_json";
        e
    })?;
    Ok(value)
}

/// Finds a `\u0000` escape inside a JSON string (raw NUL bytes are already invalid JSON).
/// PostgreSQL text cannot hold NUL, so it is refused here for every field at once; the name
/// reported is the nearest preceding object key, which is the field in flat bodies.
fn nul_escape(body: &[u8]) -> Option<String> {
    let mut i = 0;
    let mut last_key = "body".to_owned();
    let mut string_start = None;
    while i < body.len() {
        match body[i] {
            b'"' => match string_start.take() {
                None => string_start = Some(i + 1),
                Some(start) => {
                    let rest = body[i + 1..].iter().find(|b| !b.is_ascii_whitespace());
                    if rest == Some(&b':') {
                        last_key = String::from_utf8_lossy(&body[start..i]).into_owned();
                    }
                }
            },
            b'\\' if string_start.is_some() => {
                if body.get(i + 1) == Some(&b'u')
                    && body.get(i + 2..i + 6).is_some_and(|h| h == b"0000")
                {
                    return Some(last_key);
                }
                i += 1; // skip the escaped character, so `\\` and `\"` are not misread
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[expect(
        dead_code,
        reason = "the fields are only deserialised, to see what is refused"
    )]
    struct Body {
        company_name: String,
        size: Option<u32>,
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse::<Body>(br#"{"size": 1}"#).expect_err("missing");
        assert_eq!(err.errors[0].field, "companyName");
    }

    #[test]
    fn a_mistyped_field_is_named_by_its_json_name() {
        let err = parse::<Body>(br#"{"companyName": "x", "size": "big"}"#).expect_err("mistyped");
        assert_eq!(err.errors[0].field, "size");
    }

    #[test]
    fn malformed_json_is_a_body_error() {
        let err = parse::<Body>(b"{nope").expect_err("malformed");
        assert_eq!(
            (err.code, err.errors[0].field.as_str()),
            ("malformed_json", "body")
        );
    }

    #[test]
    fn an_array_is_not_read_as_a_struct() {
        let err = parse::<Body>(br#"["x", 1]"#).expect_err("array");
        assert_eq!(err.errors[0].field, "body");
    }

    #[test]
    fn an_escaped_nul_is_refused_naming_the_field() {
        let err = parse::<Body>(br#"{"size": 1, "companyName": "a\u0000b"}"#).expect_err("nul");
        assert_eq!(err.errors[0].field, "companyName");
    }

    #[test]
    fn an_escaped_backslash_before_u0000_text_is_not_a_nul() {
        assert!(parse::<Body>(br#"{"companyName": "a\\u0000b"}"#).is_ok());
    }
}
