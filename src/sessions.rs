//! Browser sessions (tower-sessions) kept in Redis when configured, else in the SQL database:
//! never only in memory, so a restart or a second replica does not log anyone out.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::OnConflict};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{Error as StoreError, ExpiredDeletion, Result as StoreResult},
};

use crate::{entities::session, state::SharedState};

#[derive(Clone)]
pub enum SessionBackend {
    Sql(DatabaseConnection),
    State(SharedState),
}

impl std::fmt::Debug for SessionBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionBackend::Sql(_) => "SessionBackend::Sql",
            SessionBackend::State(_) => "SessionBackend::State",
        })
    }
}

fn backend_err(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}

fn key(id: &Id) -> String {
    format!("session:{id}")
}

fn expires_at(record: &Record) -> DateTime<Utc> {
    DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0).unwrap_or_else(Utc::now)
}

fn ttl(record: &Record) -> Duration {
    let seconds = (record.expiry_date - time::OffsetDateTime::now_utc()).whole_seconds();
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0).max(1))
}

impl SessionBackend {
    async fn insert(&self, record: &Record, only_if_new: bool) -> StoreResult<bool> {
        let data = serde_json::to_string(record).map_err(|e| StoreError::Encode(e.to_string()))?;
        match self {
            SessionBackend::State(state) => {
                let (key, ttl) = (key(&record.id), ttl(record));
                if only_if_new {
                    state
                        .put_if_absent(&key, data.as_bytes(), ttl)
                        .await
                        .map_err(backend_err)
                } else {
                    state
                        .put(&key, data.as_bytes(), ttl)
                        .await
                        .map_err(backend_err)
                        .map(|()| true)
                }
            }
            SessionBackend::Sql(db) => {
                let row = session::ActiveModel {
                    id: sea_orm::Set(record.id.to_string()),
                    data: sea_orm::Set(data),
                    expires_at: sea_orm::Set(expires_at(record)),
                };
                let mut on_conflict = OnConflict::column(session::Column::Id);
                if only_if_new {
                    on_conflict.do_nothing();
                } else {
                    on_conflict.update_columns([session::Column::Data, session::Column::ExpiresAt]);
                }
                let inserted = session::Entity::insert(row)
                    .on_conflict(on_conflict)
                    .exec_without_returning(db)
                    .await
                    .map_err(backend_err)?;
                Ok(inserted > 0)
            }
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for SessionBackend {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        // Session ids are 128 random bits; a collision is astronomically unlikely, but if one
        // happens a fresh id is drawn rather than overwriting someone else's session.
        for _ in 0..8 {
            if self.insert(record, true).await? {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(StoreError::Backend(
            "could not allocate a session id".into(),
        ))
    }

    async fn save(&self, record: &Record) -> StoreResult<()> {
        self.insert(record, false).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let data = match self {
            SessionBackend::State(state) => state
                .get(&key(id))
                .await
                .map_err(backend_err)?
                .and_then(|bytes| String::from_utf8(bytes).ok()),
            SessionBackend::Sql(db) => session::Entity::find_by_id(id.to_string())
                .filter(session::Column::ExpiresAt.gt(Utc::now()))
                .one(db)
                .await
                .map_err(backend_err)?
                .map(|row| row.data),
        };
        data.map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Decode(e.to_string())))
            .transpose()
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        match self {
            SessionBackend::State(state) => {
                state.delete(&key(id)).await.map_err(backend_err)?;
            }
            SessionBackend::Sql(db) => {
                session::Entity::delete_by_id(id.to_string())
                    .exec(db)
                    .await
                    .map_err(backend_err)?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> StoreResult<()> {
        // Redis expires keys by itself; only the SQL table needs sweeping.
        if let SessionBackend::Sql(db) = self {
            session::Entity::delete_many()
                .filter(session::Column::ExpiresAt.lte(Utc::now()))
                .exec(db)
                .await
                .map_err(backend_err)?;
        }
        Ok(())
    }
}
