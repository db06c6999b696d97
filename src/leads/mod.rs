//! Leads: the people a company talks to. Every query starts from [`find_for`].
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};

pub mod activity;
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
    /// Matches the name, email or Discord username, ignoring case.
    pub search: Option<Search>,
}

/// A search term: 1 to 100 characters, matched anywhere in a field, ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>> {
        let term = raw.trim();
        if term.is_empty() {
            return Ok(None);
        }
        if term.chars().count() > Self::MAX_CHARS || term.chars().any(char::is_control) {
            return Err(Error::invalid(
                field,
                format!(
                    "must be at most {} characters, without control characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Some(Self(term.to_lowercase())))
    }

    /// A `LIKE` pattern matching the term anywhere, its own `%`, `_` and `\\` taken literally.
    fn pattern(&self) -> String {
        let mut out = String::from("%");
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('%');
        out
    }
}

/// The order of a lead list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeadSort {
    /// Newest lead first.
    #[default]
    Created,
    /// Most recent message first (the inbox's order); a lead without messages counts from its
    /// creation.
    Recent,
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
        last_activity_at: Set(activity::stored_time(now)),
        last_message_preview: Set(None),
        last_message_direction: Set(None),
        last_message_author: Set(None),
        last_message_at: Set(None),
        unread_count: Set(0),
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

/// One page of the company's leads in `sort` order. Ids are UUIDv7 (time-ordered), so the
/// `created` cursor is the last id seen; the `recent` cursor is the last lead's activity time
/// and id ([`ActivityCursor`]).
pub async fn list(
    db: &impl ConnectionTrait,
    company_id: CompanyId,
    filter: LeadFilter,
    sort: LeadSort,
    limit: u64,
    cursor: Option<&str>,
) -> Result<Page<lead::Model>> {
    let mut query = find_for(company_id);
    if let Some(status) = filter.status {
        query = query.filter(lead::Column::Status.eq(status.as_str()));
    }
    if let Some(owner) = filter.owner_user_id {
        query = query.filter(lead::Column::OwnerUserId.eq(owner));
    }
    if let Some(search) = &filter.search {
        let like = |column: lead::Column| {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(LikeExpr::new(search.pattern()).escape('\\'))
        };
        query = query.filter(
            Condition::any()
                .add(like(lead::Column::Name))
                .add(like(lead::Column::Email))
                .add(like(lead::Column::DiscordUsername)),
        );
    }
    match sort {
        LeadSort::Created => {
            if let Some(cursor) = cursor.map(Cursor::decode).transpose()? {
                query = query.filter(lead::Column::Id.lt(cursor.0));
            }
            let rows = query
                .order_by_desc(lead::Column::Id)
                .limit(limit + 1)
                .all(db)
                .await?;
            Ok(Page::from_rows(rows, limit, |l| l.id.0))
        }
        LeadSort::Recent => {
            if let Some(ActivityCursor { at, id }) =
                cursor.map(ActivityCursor::decode).transpose()?
            {
                query = query.filter(
                    Condition::any()
                        .add(lead::Column::LastActivityAt.lt(at))
                        .add(
                            Condition::all()
                                .add(lead::Column::LastActivityAt.eq(at))
                                .add(lead::Column::Id.lt(id)),
                        ),
                );
            }
            let mut rows = query
                .order_by_desc(lead::Column::LastActivityAt)
                .order_by_desc(lead::Column::Id)
                .limit(limit + 1)
                .all(db)
                .await?;
            let more = rows.len() as u64 > limit;
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let next_cursor = more.then(|| rows.last()).flatten().map(|l| {
                ActivityCursor {
                    at: l.last_activity_at,
                    id: l.id,
                }
                .encode()
            });
            Ok(Page {
                items: rows,
                next_cursor,
            })
        }
    }
}

/// A position in the `recent` order: the last lead's activity time and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivityCursor {
    pub at: DateTime<Utc>,
    pub id: LeadId,
}

impl ActivityCursor {
    pub fn encode(self) -> String {
        let micros = self.at.timestamp_micros();
        B64.encode(format!("{micros}.{}", self.id.0))
    }

    pub fn decode(raw: &str) -> Result<Self> {
        B64.decode(raw)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                let (micros, id) = text.split_once('.')?;
                Some(Self {
                    at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
                    id: LeadId(id.parse().ok()?),
                })
            })
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor returned by this API"))
    }
}

/// A teammate read the conversation: nothing in it is unread any more. Tells the live streams
/// (`lead.updated`) when that changed something, so every teammate's inbox agrees.
pub async fn mark_read(
    app: &Services,
    company_id: CompanyId,
    lead_id: LeadId,
) -> Result<lead::Model> {
    let mut change = app.begin().await?;
    let lead = get(&change, company_id, lead_id).await?;
    if lead.unread_count == 0 {
        return Ok(lead);
    }
    let mut active = lead.into_active_model();
    active.unread_count = Set(0);
    let lead = active.update(&change).await?;
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
