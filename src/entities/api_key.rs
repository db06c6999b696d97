use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub company_id: crate::ids::CompanyId,
    pub created_by_user_id: Option<crate::ids::UserId>,
    pub name: String,
    /// The first characters of the key, shown in listings so a key can be recognised.
    pub prefix: String,
    /// SHA-256 of the whole key, hex. The key itself is shown once and never stored.
    pub key_hash: String,
    pub role: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
