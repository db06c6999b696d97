//! Companies, users, memberships and the credentials that resolve to a [`Principal`].
pub mod accounts;
pub mod api_keys;
pub mod passwords;
pub mod throttle;
pub mod tokens;

use std::{fmt, str::FromStr};

use crate::ids::{CompanyId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A member's role in a company. Ordered: `Member < Admin < Owner`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "member" => Ok(Role::Member),
            "admin" => Ok(Role::Admin),
            "owner" => Ok(Role::Owner),
            _ => Err(()),
        }
    }
}

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A bearer JWT; its id and expiry allow revocation on logout.
    Token {
        jti: String,
        expires_at: i64,
    },
    ApiKey {
        key_id: Uuid,
    },
    Session,
    /// The service itself (CLI tasks, background work).
    System,
}

/// Who is calling, for which company, with which role. Handlers get the tenant from here and
/// never from the request body.
#[derive(Clone, Debug)]
pub struct Principal {
    pub company_id: CompanyId,
    /// `None` for API keys: a CRM backend acts for the company, not for a person.
    pub user_id: Option<UserId>,
    pub role: Role,
    pub method: AuthMethod,
}

impl Principal {
    /// The service acting for a company on its own (CLI tasks, background work).
    pub fn system(company_id: CompanyId) -> Self {
        Self {
            company_id,
            user_id: None,
            role: Role::Owner,
            method: AuthMethod::System,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role >= Role::Admin
    }

    /// The actor for audit entries: `user:{id}` or `api_key:{id}`.
    pub fn actor(&self) -> String {
        match (&self.method, self.user_id) {
            (AuthMethod::ApiKey { key_id }, _) => format!("api_key:{key_id}"),
            (AuthMethod::System, _) => "system".to_owned(),
            (_, Some(user)) => format!("user:{user}"),
            (_, None) => "unknown".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Member < Role::Admin && Role::Admin < Role::Owner);
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
