use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::{error::Error, http::AppState};

/// The client's address: the connection's peer, or, behind a reverse proxy that is trusted
/// (`TRUST_FORWARDED_FOR=1`), the address that proxy appended last to `X-Forwarded-For` (the
/// only entry a client cannot forge).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if state.settings.trust_forwarded_for
            && let Some(forwarded) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Ok(Self(forwarded));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                Error::internal(anyhow::anyhow!("the connection's address is unknown"))
            })?;
        Ok(Self(peer))
    }
}
