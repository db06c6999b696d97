use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Query parameters whose failures are 422 problem+json naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.contains('\0') || key.contains('\0') {
                return Err(Error::invalid(
                    key.into_owned(),
                    "must not contain NUL characters",
                ));
            }
        }
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Self)
            .map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = match message.strip_prefix("missing field `") {
                    Some(rest) => rest.trim_end_matches('`').to_owned(),
                    None if path == "." => "query".to_owned(),
                    None => path,
                };
                Error::invalid(field, message)
            })
    }
}
