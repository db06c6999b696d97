//! One file per resource; handlers are short and call into the domain modules.
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod channels;
pub mod companies;
pub mod config;
pub mod events;
pub mod github;
pub mod health;
pub mod integrations;
pub mod leads;
pub mod messages;
pub mod routing;
pub mod sandbox;
pub mod webhook_endpoints;

/// `{leadId}` in a path: every route about one lead takes it.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct LeadPath {
    #[param(value_type = uuid::Uuid)]
    pub lead_id: crate::ids::LeadId,
}

/// Double option for PATCH bodies: absent → `None`, `null` → `Some(None)`.
pub(crate) fn nullable<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}
