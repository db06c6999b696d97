use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    /// `discord`, `github`, … (see `integrations::ProviderId`).
    pub provider: String,
    pub status: IntegrationStatus,
    /// Non-secret facts about the connection (guild, account login, scopes).
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    /// AES-256-GCM ciphertexts (`crypto::TokenCipher`); never plaintext.
    pub access_token_enc: Option<String>,
    pub refresh_token_enc: Option<String>,
    pub expires_at: Option<DateTimeUtc>,
    pub connected_by_user_id: Option<crate::ids::UserId>,
    pub connected_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub error_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// GitHub: the webhook secret, encrypted like the tokens.
    pub webhook_secret_enc: Option<String>,
    /// GitHub: when the webhook last delivered (polling runs while it is quiet).
    pub last_webhook_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a company's grant from a provider stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum IntegrationStatus {
    /// Connected and working.
    #[sea_orm(string_value = "active")]
    Active,
    /// The provider refused the grant on its last use; reconnect.
    #[sea_orm(string_value = "error")]
    Error,
    /// Disconnected; the row and its history stay.
    #[sea_orm(string_value = "revoked")]
    Revoked,
}
