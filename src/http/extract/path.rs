use axum::{
    extract::{FromRequestParts, Path, rejection::PathRejection},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// Path parameters; a malformed one (an id that is not a UUID) is 422 naming the parameter.
/// Use a struct with named fields so the parameter's name is known.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                use axum::extract::path::ErrorKind as K;
                let field = match err.kind() {
                    K::ParseErrorAtKey { key, .. }
                    | K::InvalidUtf8InPathParam { key }
                    | K::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                Err(Error::invalid(field, "is not a valid identifier"))
            }
            Err(other) => Err(Error::internal(anyhow::anyhow!("path extraction: {other}"))),
        }
    }
}
