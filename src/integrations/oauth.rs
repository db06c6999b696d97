//! Plumbing shared by OAuth providers built on the `oauth2` crate.
use oauth2::{
    HttpRequest, HttpResponse, RequestTokenError, StandardErrorResponse,
    basic::BasicErrorResponseType,
};

use super::providers::ProviderError;

/// Sends an OAuth request with our HTTP client. GitHub answers token errors with HTTP 200 and an
/// `error` member; the `oauth2` crate would then report a missing `access_token`. So an `error`
/// member is looked for first, and such an answer is handed on as the 400 it means.
pub async fn send(
    http: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, reqwest::Error> {
    let response = http.execute(reqwest::Request::try_from(request)?).await?;
    let mut status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    if status == reqwest::StatusCode::OK
        && serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .is_some_and(|v| v.get("error").is_some_and(serde_json::Value::is_string))
    {
        status = reqwest::StatusCode::BAD_REQUEST;
    }
    let mut out = http::Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

pub type TokenError =
    RequestTokenError<reqwest::Error, StandardErrorResponse<BasicErrorResponseType>>;

pub fn map_error(err: TokenError) -> ProviderError {
    match err {
        RequestTokenError::ServerResponse(e) => ProviderError::Rejected {
            error: e.error().as_ref().to_owned(),
            description: e.error_description().cloned(),
        },
        RequestTokenError::Request(e) => ProviderError::Unreachable(e.without_url().to_string()),
        RequestTokenError::Parse(e, _) => ProviderError::Invalid(e.to_string()),
        RequestTokenError::Other(e) => ProviderError::Invalid(e),
    }
}

/// `{base}{path}` without doubling the slash between them.
pub fn endpoint(base: &url::Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}
