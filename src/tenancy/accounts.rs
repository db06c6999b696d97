//! Sign-up, log-in, the current company and its members.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{Role, passwords};
use crate::ids::{CompanyId, UserId};
use crate::{
    entities::{company, membership, user},
    error::{Error, ErrorKind, Result, is_unique_violation},
    state::StateStore,
    types::{CompanyName, Email, ExternalId, Password, PersonName},
};

pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub name: Option<PersonName>,
    pub company_name: CompanyName,
}

/// Creates a user and their company, with the user as owner, in one transaction.
pub async fn signup(
    db: &DatabaseConnection,
    account: NewAccount,
) -> Result<(user::Model, company::Model)> {
    let password_hash = passwords::hash(&account.password).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let user = user::ActiveModel {
        id: Set(UserId::new()),
        email: Set(account.email.into_inner()),
        name: Set(account.name.map(PersonName::into_inner)),
        password_hash: Set(Some(password_hash)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let user = user::Entity::insert(user)
        .exec_with_returning(&txn)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                Error::conflict(
                    "email_taken",
                    "An account with this email already exists; log in instead.",
                )
            } else {
                err.into()
            }
        })?;
    let company = company::ActiveModel {
        id: Set(CompanyId::new()),
        name: Set(account.company_name.into_inner()),
        external_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let company = company::Entity::insert(company)
        .exec_with_returning(&txn)
        .await?;
    add_membership(&txn, user.id, company.id, Role::Owner).await?;
    txn.commit().await?;
    Ok((user, company))
}

async fn add_membership(
    db: &impl ConnectionTrait,
    user_id: UserId,
    company_id: CompanyId,
    role: Role,
) -> Result<membership::Model> {
    let row = membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        company_id: Set(company_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
    };
    membership::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                Error::conflict(
                    "already_member",
                    "This user is already a member of the company.",
                )
            } else {
                err.into()
            }
        })
}

pub struct LoggedIn {
    pub user: user::Model,
    pub company: company::Model,
    pub role: Role,
}

/// Checks the password and picks the company: the one asked for, or the user's first.
/// Unknown emails and wrong passwords are indistinguishable, in answer and in time.
pub async fn login(
    db: &DatabaseConnection,
    state: &dyn StateStore,
    email: &Email,
    password: &str,
    company_id: Option<CompanyId>,
    address: std::net::IpAddr,
) -> Result<LoggedIn> {
    let throttle = super::throttle::LoginThrottle::new(state, email.as_str(), address);
    throttle.admit().await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let stored_hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let user = match (passwords::verify(password, stored_hash).await?, user) {
        (true, Some(user)) => user,
        _ => {
            throttle.failed().await?;
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "invalid_credentials",
                "The email or password is incorrect.",
            ));
        }
    };
    throttle.succeeded().await?;

    let mut memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id))
        .order_by_asc(membership::Column::CreatedAt);
    if let Some(company_id) = company_id {
        memberships = memberships.filter(membership::Column::CompanyId.eq(company_id));
    }
    let membership = memberships.one(db).await?.ok_or_else(|| match company_id {
        Some(_) => Error::invalid("companyId", "you are not a member of this company"),
        None => Error::new(
            ErrorKind::Forbidden,
            "no_company",
            "This account belongs to no company.",
        ),
    })?;
    let company = company::Entity::find_by_id(membership.company_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("membership without company")))?;
    Ok(LoggedIn {
        user,
        company,
        role: parse_role(&membership.role)?,
    })
}

pub fn parse_role(stored: &str) -> Result<Role> {
    stored
        .parse()
        .map_err(|()| Error::internal(anyhow::anyhow!("unknown role in database: {stored}")))
}

/// The user's role in the company, if they are (still) a member.
pub async fn role_of(
    db: &impl ConnectionTrait,
    user_id: UserId,
    company_id: CompanyId,
) -> Result<Option<Role>> {
    let membership = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::CompanyId.eq(company_id))
        .one(db)
        .await?;
    membership.map(|m| parse_role(&m.role)).transpose()
}

pub async fn company(db: &impl ConnectionTrait, company_id: CompanyId) -> Result<company::Model> {
    company::Entity::find_by_id(company_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("company"))
}

pub async fn user(db: &impl ConnectionTrait, user_id: UserId) -> Result<user::Model> {
    user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("user"))
}

/// Every company the user belongs to, with the role there.
pub async fn companies_of(
    db: &impl ConnectionTrait,
    user_id: UserId,
) -> Result<Vec<(company::Model, Role)>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::CreatedAt)
        .find_also_related(company::Entity)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, c)| c.map(|c| (c, m.role)))
        .map(|(c, role)| Ok((c, parse_role(&role)?)))
        .collect()
}

pub struct CompanyUpdate {
    pub name: Option<CompanyName>,
    /// `Some(None)` clears it.
    pub external_id: Option<Option<ExternalId>>,
}

pub async fn update_company(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    update: CompanyUpdate,
) -> Result<company::Model> {
    let mut model = company(db, company_id).await?.into_active_model();
    if let Some(name) = update.name {
        model.name = Set(name.into_inner());
    }
    if let Some(external_id) = update.external_id {
        model.external_id = Set(external_id.map(ExternalId::into_inner));
    }
    model.updated_at = Set(Utc::now());
    model.update(db).await.map_err(|err| {
        if is_unique_violation(&err) {
            Error::conflict(
                "external_id_taken",
                "Another company already uses this externalId.",
            )
        } else {
            err.into()
        }
    })
}

pub struct Member {
    pub user: user::Model,
    pub role: Role,
    pub joined_at: chrono::DateTime<Utc>,
}

pub async fn members(db: &impl ConnectionTrait, company_id: CompanyId) -> Result<Vec<Member>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::CompanyId.eq(company_id))
        .order_by_asc(membership::Column::CreatedAt)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, u)| u.map(|u| (m, u)))
        .map(|(m, user)| {
            Ok(Member {
                role: parse_role(&m.role)?,
                joined_at: m.created_at,
                user,
            })
        })
        .collect()
}

async fn member(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    user_id: UserId,
) -> Result<Member> {
    members(db, company_id)
        .await?
        .into_iter()
        .find(|m| m.user.id == user_id)
        .ok_or_else(|| Error::not_found("member"))
}

/// Adds an existing Switchboard user to the company. Only an owner may make owners.
pub async fn add_member(
    db: &DatabaseConnection,
    company_id: CompanyId,
    actor_role: Role,
    email: &Email,
    role: Role,
) -> Result<Member> {
    if role == Role::Owner && actor_role < Role::Owner {
        return Err(Error::forbidden("Only an owner can add another owner."));
    }
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "email",
                "no Switchboard account has this email; ask them to sign up first",
            )
        })?;
    add_membership(db, user.id, company_id, role).await?;
    member(db, company_id, user.id).await
}

/// Changes a member's role, keeping at least one owner.
pub async fn change_role(
    db: &DatabaseConnection,
    company_id: CompanyId,
    actor_role: Role,
    user_id: UserId,
    role: Role,
) -> Result<Member> {
    let txn = crate::db::begin_write(db).await?;
    let current = member(&txn, company_id, user_id).await?;
    if (current.role == Role::Owner || role == Role::Owner) && actor_role < Role::Owner {
        return Err(Error::forbidden(
            "Only an owner can grant or take away the owner role.",
        ));
    }
    if current.role == Role::Owner && role != Role::Owner {
        ensure_another_owner(&txn, company_id).await?;
    }
    membership::Entity::update_many()
        .col_expr(
            membership::Column::Role,
            sea_orm::sea_query::Expr::value(role.as_str()),
        )
        .filter(membership::Column::CompanyId.eq(company_id))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    member(db, company_id, user_id).await
}

/// Removes a member (or lets one leave), keeping at least one owner.
pub async fn remove_member(
    db: &DatabaseConnection,
    company_id: CompanyId,
    actor_role: Role,
    user_id: UserId,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let current = member(&txn, company_id, user_id).await?;
    if current.role == Role::Owner {
        if actor_role < Role::Owner {
            return Err(Error::forbidden("Only an owner can remove an owner."));
        }
        ensure_another_owner(&txn, company_id).await?;
    }
    membership::Entity::delete_many()
        .filter(membership::Column::CompanyId.eq(company_id))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    // Their keys go with them (they would be refused anyway: see `api_keys::effective_role`).
    super::api_keys::revoke_made_by(&txn, company_id, user_id).await?;
    txn.commit().await?;
    Ok(())
}

async fn ensure_another_owner(db: &impl ConnectionTrait, company_id: CompanyId) -> Result<()> {
    // FOR UPDATE on PostgreSQL: two owners demoting each other at once are serialised, so the
    // second sees the first's change and the company keeps an owner. (SQLite serialises
    // writing transactions by itself.)
    let owners = membership::Entity::find()
        .filter(membership::Column::CompanyId.eq(company_id))
        .filter(membership::Column::Role.eq(Role::Owner.as_str()))
        .lock_exclusive()
        .all(db)
        .await?
        .len();
    if owners <= 1 {
        return Err(Error::conflict(
            "last_owner",
            "A company must keep at least one owner.",
        ));
    }
    Ok(())
}
