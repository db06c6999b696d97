//! Database connection and migrations: SQLite by default, PostgreSQL when configured.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, if url.starts_with("sqlite:") { 8 } else { 20 }).await
}

/// Connects and brings the schema up to date. On SQLite the migrations run on a connection of
/// their own, closed before the pool opens: a pooled connection opened while a migration
/// changed the schema can keep the old schema (and statements prepared against it) around.
pub async fn connect_migrated(url: &str) -> Result<DatabaseConnection, DbErr> {
    if url.starts_with("sqlite:") {
        let single = connect_with(url, 1).await?;
        migrate(&single).await?;
        single.close().await?;
        connect(url).await
    } else {
        let db = connect(url).await?;
        migrate(&db).await?;
        Ok(db)
    }
}

async fn connect_with(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    let sqlite = url.starts_with("sqlite:");
    options
        // SQLite serialises writers anyway; a few connections let readers proceed (WAL).
        .max_connections(max_connections)
        .min_connections(1)
        // An outage answers 503 within seconds rather than after a long wait for a connection.
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false);
    if sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            // WAL: readers and the writer do not block each other; each commit is still synced
            // to disk before it returns (`synchronous` stays FULL). Writers queue: give a
            // waiting writer time beyond the default 5 s under load.
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(30))
        });
    }
    Database::connect(options).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction that will write. On SQLite it is `IMMEDIATE`: the write lock is taken
/// at the start (waiting out other writers), instead of a read lock that fails with
/// "database is locked" when it must become a write lock under concurrency. Other databases
/// ignore the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
