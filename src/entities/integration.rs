use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: Uuid,
    /// `discord`, `github`, … (see `integrations::ProviderId`).
    pub provider: String,
    /// `active`, `error` or `revoked`.
    pub status: String,
    /// Non-secret facts about the connection (guild, account login, scopes).
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    /// AES-256-GCM ciphertexts (`crypto::TokenCipher`); never plaintext.
    pub access_token_enc: Option<String>,
    pub refresh_token_enc: Option<String>,
    pub expires_at: Option<DateTimeUtc>,
    pub connected_by_user_id: Option<Uuid>,
    pub connected_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub error_count: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
