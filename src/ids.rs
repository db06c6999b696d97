//! Typed ids: a lead's id is not a company's, and the compiler says so. Each is a UUID in the
//! database and on the wire; fields of these types are documented as `format: uuid`
//! (`#[schema(value_type = Uuid)]`).
use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Defines an id type over a UUID: a sea-orm value type over the UUID column, serde-transparent,
/// with `Display`, `FromStr`, conversions from and to `Uuid`, and `new()` (UUIDv7).
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
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
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        /// Primary keys are UUIDs, never numbers a database assigned.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

uuid_id!(
    /// A lead's id (UUIDv7: time-ordered).
    LeadId
);

uuid_id!(
    /// A company's id (UUIDv7: time-ordered): the tenant every scoped query filters on.
    CompanyId
);

uuid_id!(
    /// A user's id (UUIDv7: time-ordered): a person who logs in, whatever companies they join.
    UserId
);
