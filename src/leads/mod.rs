//! Leads: the people a company talks to. Every query starts from [`find_for`].
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

pub mod view;

pub use view::LeadView;

use crate::ids::{CompanyId, LeadId, UserId};
use crate::{
    entities::lead::{self, Entity as Leads},
    error::{Error, Result},
    events::EventBody,
    pagination::{Cursor, Page},
    services::Services,
    tenancy::accounts,
    types::{DiscordUsername, Email, PersonName, Snowflake},
};

pub use crate::entities::lead::LeadStatus;

/// The company's leads. The only way into the table for tenant-facing code.
pub fn find_for(company_id: CompanyId) -> Select<Leads> {
    Leads::find().filter(lead::Column::CompanyId.eq(company_id))
}

pub async fn get(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<lead::Model> {
    find_for(company_id)
        .filter(lead::Column::Id.eq(lead_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("lead"))
}

pub struct NewLead {
    pub name: PersonName,
    pub email: Option<Email>,
    pub discord_user_id: Option<Snowflake>,
    pub discord_username: Option<DiscordUsername>,
    pub owner_user_id: Option<UserId>,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Default)]
pub struct LeadUpdate {
    pub name: Option<PersonName>,
    pub email: Option<Option<Email>>,
    pub discord_user_id: Option<Option<Snowflake>>,
    pub discord_username: Option<Option<DiscordUsername>>,
    pub owner_user_id: Option<Option<UserId>>,
    pub status: Option<LeadStatus>,
}

#[derive(Default)]
pub struct LeadFilter {
    pub status: Option<LeadStatus>,
    pub owner_user_id: Option<UserId>,
}

async fn check_owner(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    owner: Option<UserId>,
) -> Result<()> {
    if let Some(owner) = owner
        && accounts::role_of(db, owner, company_id).await?.is_none()
    {
        return Err(Error::invalid(
            "ownerUserId",
            "is not a member of this company",
        ));
    }
    Ok(())
}

pub async fn create(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    new: NewLead,
) -> Result<lead::Model> {
    check_owner(db, company_id, new.owner_user_id).await?;
    let now = Utc::now();
    let row = lead::ActiveModel {
        id: Set(LeadId::new()),
        company_id: Set(company_id),
        owner_user_id: Set(new.owner_user_id),
        name: Set(new.name.into_inner()),
        email: Set(new.email.map(Email::into_inner)),
        discord_user_id: Set(new.discord_user_id),
        discord_username: Set(new.discord_username.map(DiscordUsername::into_inner)),
        discord_channel_id: Set(None),
        discord_invite_sent: Set(false),
        discord_joined_channel: Set(false),
        status: Set(LeadStatus::Open),
        last_contact_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(Leads::insert(row).exec_with_returning(db).await?)
}

pub async fn update(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
    update: LeadUpdate,
) -> Result<lead::Model> {
    let mut model = get(db, company_id, lead_id).await?.into_active_model();
    if let Some(owner) = update.owner_user_id {
        check_owner(db, company_id, owner).await?;
        model.owner_user_id = Set(owner);
    }
    if let Some(name) = update.name {
        model.name = Set(name.into_inner());
    }
    if let Some(email) = update.email {
        model.email = Set(email.map(Email::into_inner));
    }
    if let Some(id) = update.discord_user_id {
        model.discord_user_id = Set(id);
    }
    if let Some(username) = update.discord_username {
        model.discord_username = Set(username.map(DiscordUsername::into_inner));
    }
    if let Some(status) = update.status {
        model.status = Set(status);
    }
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

/// Applies `update` and tells the live streams (`lead.updated`), in one change.
pub async fn edit(
    app: &Services,
    company_id: CompanyId,
    lead_id: LeadId,
    update: LeadUpdate,
) -> Result<lead::Model> {
    let mut change = app.begin().await?;
    let lead = self::update(&change, company_id, lead_id, update).await?;
    change
        .event(
            company_id,
            Some(lead.id),
            EventBody::lead_updated(lead.clone())?,
        )
        .await?;
    change.commit().await?;
    Ok(lead)
}

pub async fn delete(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<()> {
    let result = Leads::delete_many()
        .filter(lead::Column::CompanyId.eq(company_id))
        .filter(lead::Column::Id.eq(lead_id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::not_found("lead"));
    }
    Ok(())
}

/// Newest first. Ids are UUIDv7 (time-ordered), so the cursor is simply the last id seen.
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    filter: LeadFilter,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Page<lead::Model>> {
    let mut query = find_for(company_id);
    if let Some(status) = filter.status {
        query = query.filter(lead::Column::Status.eq(status.as_str()));
    }
    if let Some(owner) = filter.owner_user_id {
        query = query.filter(lead::Column::OwnerUserId.eq(owner));
    }
    if let Some(cursor) = cursor {
        query = query.filter(lead::Column::Id.lt(cursor.0));
    }
    let rows = query
        .order_by_desc(lead::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(Page::from_rows(rows, limit, |l| l.id.0))
}
