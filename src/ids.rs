//! Typed ids: a lead's id is not a company's, and the compiler says so. Each is a UUID in the
//! database and on the wire; fields of these types are documented as `format: uuid`
//! (`#[schema(value_type = Uuid)]`).
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A lead's id (UUIDv7: time-ordered).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    DeriveValueType,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct LeadId(pub Uuid);

impl LeadId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for LeadId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for LeadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for LeadId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<LeadId> for Uuid {
    fn from(id: LeadId) -> Self {
        id.0
    }
}

/// Primary keys are UUIDs, never numbers a database assigned.
impl sea_orm::TryFromU64 for LeadId {
    fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
        Err(sea_orm::DbErr::ConvertFromU64("LeadId"))
    }
}

impl std::str::FromStr for LeadId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}
