//! The webhook GitHub calls for a company: its address, its secret (generated at connect time,
//! encrypted at rest like tokens, rotatable), and the hooks registered on linked repositories.
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::client::ApiError;
use crate::{
    config::Secret,
    entities::{
        github_hook::{self, Entity as Hooks, HookState},
        integration, lead_link,
    },
    error::Result,
    integrations::store,
    services::Services,
    tenancy::Principal,
};

/// Where GitHub delivers this integration's events.
pub fn url(app: &Services, integration_id: Uuid) -> String {
    format!(
        "{}/api/webhooks/github/{integration_id}",
        app.settings.public_url.as_str().trim_end_matches('/')
    )
}

/// The integration's webhook secret, if it has one.
pub fn secret(app: &Services, row: &integration::Model) -> Result<Option<Secret<String>>> {
    store::token(&app.cipher, row, store::WEBHOOK_SECRET)
}

/// Gives the integration a secret if it has none (connecting GitHub makes one; this covers
/// rows connected before webhooks existed).
pub async fn ensure_secret(
    db: &impl ConnectionTrait,
    app: &Services,
    row: integration::Model,
) -> Result<(integration::Model, Secret<String>)> {
    if let Some(secret) = secret(app, &row)? {
        return Ok((row, secret));
    }
    store_secret(db, app, row).await
}

async fn store_secret(
    db: &impl ConnectionTrait,
    app: &Services,
    row: integration::Model,
) -> Result<(integration::Model, Secret<String>)> {
    let secret = store::new_webhook_secret();
    let sealed = store::seal_webhook_secret(&app.cipher, &row, &secret);
    let mut active = row.into_active_model();
    active.webhook_secret_enc = Set(Some(sealed));
    active.updated_at = Set(Utc::now());
    Ok((active.update(db).await?, secret))
}

/// Replaces the secret, and tells every hook Switchboard registered. Hooks set up by hand must
/// be given the new secret by hand; until then their deliveries are refused (401).
pub async fn rotate(
    app: &Services,
    principal: &Principal,
    row: integration::Model,
) -> Result<integration::Model> {
    let change = app.begin().await?;
    let (row, secret) = store_secret(&change, app, row).await?;
    change
        .audit(
            row.company_id,
            &principal.actor(),
            "integration.webhook_secret_rotated",
            &format!("integration:{}", row.id),
            serde_json::json!({ "provider": "github" }),
        )
        .await?;
    change.commit().await?;
    let hooks = registered(&app.db, row.id).await?;
    if hooks.is_empty() {
        return Ok(row);
    }
    let Some(token) = store::token(&app.cipher, &row, store::ACCESS_TOKEN)? else {
        return Ok(row);
    };
    let url = url(app, row.id);
    for hook in hooks {
        let Some(hook_id) = hook.hook_id else {
            continue;
        };
        let result = app
            .github
            .update_hook_secret(&token, &hook.repository, hook_id, &url, &secret)
            .await;
        if let Err(err) = result {
            tracing::warn!(github.repository = %hook.repository, error = %err, "could not give a hook the new secret");
            mark(
                &app.db,
                hook,
                None,
                Some(format!("could not update the secret: {err}")),
            )
            .await?;
        }
    }
    Ok(row)
}

/// The hooks of this integration, by repository.
pub async fn list(
    db: &impl ConnectionTrait,
    integration_id: Uuid,
) -> Result<Vec<github_hook::Model>> {
    Ok(Hooks::find()
        .filter(github_hook::Column::IntegrationId.eq(integration_id))
        .order_by_asc(github_hook::Column::Repository)
        .all(db)
        .await?)
}

async fn registered(
    db: &impl ConnectionTrait,
    integration_id: Uuid,
) -> Result<Vec<github_hook::Model>> {
    Ok(list(db, integration_id)
        .await?
        .into_iter()
        .filter(|h| h.state == HookState::Active && h.hook_id.is_some())
        .collect())
}

async fn mark(
    db: &impl ConnectionTrait,
    hook: github_hook::Model,
    hook_id: Option<i64>,
    error: Option<String>,
) -> Result<github_hook::Model> {
    let mut active = hook.into_active_model();
    if hook_id.is_some() {
        active.hook_id = Set(hook_id);
    }
    active.state = Set(if error.is_some() {
        HookState::Failed
    } else {
        HookState::Active
    });
    active.last_error = Set(error);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Registers the hook on `repository` (`owner/repo`) unless it is registered already. Never
/// fails the caller: a refusal is recorded on the hook's row (shown to admins), and polling
/// covers the repository meanwhile.
pub async fn ensure(app: &Services, row: &integration::Model, repository: &str) {
    if let Err(err) = try_ensure(app, row, repository).await {
        tracing::warn!(github.repository = %repository, error = %err, "could not register the GitHub hook");
    }
}

async fn try_ensure(app: &Services, row: &integration::Model, repository: &str) -> Result<()> {
    let key = repository.to_lowercase();
    let existing = Hooks::find()
        .filter(github_hook::Column::IntegrationId.eq(row.id))
        .filter(github_hook::Column::Repository.eq(key.as_str()))
        .one(&app.db)
        .await?;
    if existing
        .as_ref()
        .is_some_and(|h| h.state == HookState::Active)
    {
        return Ok(());
    }
    let hook = match existing {
        Some(hook) => hook,
        None => {
            let now = Utc::now();
            let fresh = github_hook::ActiveModel {
                id: Set(Uuid::now_v7()),
                company_id: Set(row.company_id),
                integration_id: Set(row.id),
                repository: Set(key.clone()),
                hook_id: Set(None),
                state: Set(HookState::Failed),
                last_error: Set(Some("not registered yet".into())),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match Hooks::insert(fresh).exec_with_returning(&app.db).await {
                Ok(hook) => hook,
                // Another request is registering it right now.
                Err(err) if crate::error::is_unique_violation(&err) => return Ok(()),
                Err(err) => return Err(err.into()),
            }
        }
    };
    // One registration per repository at a time, across replicas: a second one would be
    // refused as a duplicate and record a failure over the first one's success.
    let lease = format!("github_hook:{}:{key}", row.id);
    if !app.state.put_if_absent(&lease, b"1", HOOK_LEASE).await? {
        return Ok(());
    }
    let result = register(app, row, repository, hook).await;
    app.state.delete(&lease).await?;
    result
}

/// How long one replica may take to register a hook before another may try.
const HOOK_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

async fn register(
    app: &Services,
    row: &integration::Model,
    repository: &str,
    hook: github_hook::Model,
) -> Result<()> {
    let (row, secret) = ensure_secret(&app.db, app, row.clone()).await?;
    let Some(token) = store::token(&app.cipher, &row, store::ACCESS_TOKEN)? else {
        return Ok(());
    };
    let url = url(app, row.id);
    let created = match app
        .github
        .create_hook(&token, repository, &url, &secret)
        .await
    {
        // GitHub refuses a second hook with the same address (422): one made by an earlier
        // attempt, or by hand. Adopt it.
        Err(ApiError::Unprocessable(message)) => {
            match app.github.find_hook(&token, repository, &url).await {
                Ok(Some(id)) => Ok(id),
                Ok(None) => Err(ApiError::Unprocessable(message)),
                Err(err) => Err(err),
            }
        }
        other => other,
    };
    match created {
        Ok(id) => {
            mark(&app.db, hook, Some(id), None).await?;
            tracing::info!(github.repository = %repository, github.hook_id = id, "GitHub hook registered");
        }
        Err(err) => {
            mark(&app.db, hook, None, Some(err.to_string())).await?;
        }
    }
    Ok(())
}

/// Registers hooks on the linked repositories that have none yet (after GitHub was connected
/// again, say). Repositories whose registration failed are left to the next link.
pub async fn ensure_missing<'a>(
    app: &Services,
    row: &integration::Model,
    repositories: impl IntoIterator<Item = &'a str>,
) {
    let known: std::collections::HashSet<String> = match list(&app.db, row.id).await {
        Ok(hooks) => hooks.into_iter().map(|h| h.repository).collect(),
        Err(err) => {
            tracing::warn!(error = %err, "could not read the GitHub hooks");
            return;
        }
    };
    let mut missing: Vec<&str> = repositories
        .into_iter()
        .filter(|r| !known.contains(&r.to_lowercase()))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for repository in missing {
        ensure(app, row, repository).await;
    }
}

/// Removes the hooks of repositories the company no longer links to. Run after a link is
/// deleted, and by the poller (leads deleted with their links).
pub async fn remove_unused(app: &Services, row: &integration::Model) {
    let linked = match super::links::find_for(row.company_id).all(&app.db).await {
        Ok(links) => links
            .into_iter()
            .map(|l: lead_link::Model| l.repository.to_lowercase())
            .collect::<std::collections::HashSet<_>>(),
        Err(err) => {
            tracing::warn!(error = %err, "could not read the links to tidy GitHub hooks");
            return;
        }
    };
    remove_where(app, row, |repository| !linked.contains(repository)).await;
}

/// Removes every hook of the integration: GitHub is being disconnected, and once the grant is
/// revoked they could no longer be removed.
pub async fn remove_all(app: &Services, row: &integration::Model) {
    remove_where(app, row, |_| true).await;
}

async fn remove_where(app: &Services, row: &integration::Model, remove: impl Fn(&str) -> bool) {
    if let Err(err) = try_remove_where(app, row, remove).await {
        tracing::warn!(error = %err, "could not remove GitHub hooks");
    }
}

async fn try_remove_where(
    app: &Services,
    row: &integration::Model,
    remove: impl Fn(&str) -> bool,
) -> Result<()> {
    let hooks = list(&app.db, row.id).await?;
    if hooks.is_empty() {
        return Ok(());
    }
    let token = store::token(&app.cipher, row, store::ACCESS_TOKEN)?;
    for hook in hooks {
        if !remove(&hook.repository) {
            continue;
        }
        if let (Some(hook_id), Some(token)) = (hook.hook_id, &token) {
            if let Err(err) = app
                .github
                .delete_hook(token, &hook.repository, hook_id)
                .await
            {
                tracing::warn!(github.repository = %hook.repository, error = %err, "could not remove the GitHub hook");
                continue;
            }
            tracing::info!(github.repository = %hook.repository, "GitHub hook removed");
        }
        Hooks::delete_by_id(hook.id).exec(&app.db).await?;
    }
    Ok(())
}
