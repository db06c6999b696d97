//! One unit of work: every change the domain makes runs in a [`Change`], a write transaction
//! that collects the change's audit entries, live events and routing-cache invalidations.
//! [`Change::commit`] commits, then publishes the events and invalidates the cache on every
//! replica, so no path can forget a side effect or run one before its data is visible.
//!
//! A `Change` is a connection (`ConnectionTrait`): queries and the `&impl ConnectionTrait`
//! helpers of `leads`, `jobs` and `audit` take it as they take a transaction. Dropped without
//! `commit`, it rolls back and nothing is published.
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};

use crate::ids::{CompanyId, LeadId};
use crate::{
    audit,
    error::Result,
    events::{self, EventBody, Recorded},
    routing::cache::Key,
    services::Services,
};

pub struct Change<'a> {
    services: &'a Services,
    txn: DatabaseTransaction,
    events: Recorded,
    invalidations: Vec<Key>,
}

impl Services {
    /// Starts a change (a write transaction: SQLite takes its write lock at once).
    pub async fn begin(&self) -> Result<Change<'_>> {
        Ok(Change {
            services: self,
            txn: crate::db::begin_write(&self.db).await?,
            events: Recorded::default(),
            invalidations: Vec::new(),
        })
    }
}

impl<'a> Change<'a> {
    /// Writes an audit entry with the change.
    pub async fn audit(
        &self,
        company_id: CompanyId,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        audit::record(&self.txn, company_id, actor, action, target, detail).await
    }

    /// Records a live event, published once the change has committed.
    pub async fn event(
        &mut self,
        company_id: CompanyId,
        lead_id: Option<LeadId>,
        body: EventBody,
    ) -> Result<()> {
        let recorded = events::record(&self.txn, company_id, lead_id, body).await?;
        self.events.merge(recorded);
        Ok(())
    }

    /// Records several of the company's live events, in this order, in one insert.
    pub async fn events(
        &mut self,
        company_id: CompanyId,
        bodies: Vec<(Option<LeadId>, EventBody)>,
    ) -> Result<()> {
        let recorded = events::record_all(&self.txn, company_id, bodies).await?;
        self.events.merge(recorded);
        Ok(())
    }

    /// Takes events recorded by a helper that wrote them through this change.
    pub fn recorded(&mut self, recorded: Recorded) {
        self.events.merge(recorded);
    }

    /// Forgets the cached routing entry on every replica once the change has committed.
    pub fn invalidate(&mut self, key: Key) {
        if !self.invalidations.contains(&key) {
            self.invalidations.push(key);
        }
    }

    /// Commits, and leaves publishing the events and applying the invalidations to a task of
    /// their own: for a caller that need not wait for them (a routing batch, whose next batch
    /// should not queue behind the company's event ids). Nothing is lost if that task fails:
    /// pending events are published by the leftover sweep, and cached entries expire.
    pub async fn commit_in_background(self) -> Result<()> {
        let (services, after) = self.commit_only().await?;
        let services = services.clone();
        tokio::spawn(async move { after.apply(&services).await });
        Ok(())
    }

    /// Commits, then publishes the events and applies the invalidations. A failure after the
    /// commit loses nothing: pending events are published by the leftover sweep, and cached
    /// entries expire.
    pub async fn commit(self) -> Result<()> {
        let (services, after) = self.commit_only().await?;
        after.apply(services).await;
        Ok(())
    }

    async fn commit_only(self) -> Result<(&'a Services, AfterCommit)> {
        let Self {
            services,
            txn,
            events,
            invalidations,
        } = self;
        txn.commit().await?;
        Ok((
            services,
            AfterCommit {
                events,
                invalidations,
            },
        ))
    }
}

/// What a committed change still has to tell: its events and its cache invalidations.
struct AfterCommit {
    events: Recorded,
    invalidations: Vec<Key>,
}

impl AfterCommit {
    async fn apply(self, services: &Services) {
        services.events.publish(self.events).await;
        for key in self.invalidations {
            services.routing.invalidate(key).await;
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Change<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> std::result::Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> std::result::Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(
        &self,
        stmt: Statement,
    ) -> std::result::Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> std::result::Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}
