//! The Discord gateway in tests: the simulator's controls, posting as a member, waiting for
//! what routing stored or decided.
use super::{
    Account, Auth, TestApp,
    views::{Lead, Message, RoutingEvent},
};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

pub async fn control(app: &TestApp, method: Method, path: &str, body: Value) -> super::Reply {
    app.request(method, path, Auth::None, Some(body)).await
}

/// A member posts in the channel: the message as Discord shapes it (tests compare its id with
/// the product's, and forge copies of it).
pub async fn post_as(app: &TestApp, channel: &str, author: &str, content: &str) -> Value {
    let reply = control(
        app,
        Method::POST,
        &format!("/sandbox/discord/channels/{channel}/messages"),
        json!({ "authorId": author, "content": content }),
    )
    .await;
    reply.assert_status(201);
    reply.body
}

/// The simulator's gateway status (`GET /sandbox/discord/gateway/status`).
#[derive(Clone, Debug, Deserialize)]
pub struct GatewayStatus {
    pub sessions: Vec<GatewaySession>,
    pub identifies: u64,
    pub resumes: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GatewaySession {
    pub connected: bool,
}

pub async fn gateway_status(app: &TestApp) -> GatewayStatus {
    let reply = app.get("/sandbox/discord/gateway/status", "").await;
    reply.assert_status(200);
    reply.json()
}

/// Waits until the product's gateway client holds a connected session, and returns the
/// simulator's gateway status.
pub async fn gateway_up(app: &TestApp) -> GatewayStatus {
    for _ in 0..300 {
        let status = gateway_status(app).await;
        if status.sessions.iter().any(|s| s.connected) {
            // READY's handler (and its catch-up) runs right after the session starts.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway did not connect");
}

/// The lead's inbound messages.
pub async fn inbound(app: &TestApp, account: &Account, lead: &Lead) -> Vec<Message> {
    let reply = app
        .get(
            &format!("/api/leads/{}/messages?limit=100", lead.id),
            &account.token,
        )
        .await;
    reply.assert_status(200);
    reply
        .items::<Message>()
        .into_iter()
        .filter(|m| m.direction == "inbound")
        .collect()
}

/// The company's routing events; `query` adds filters (`&decision=routed`).
pub async fn routing_events(app: &TestApp, account: &Account, query: &str) -> Vec<RoutingEvent> {
    let reply = app
        .get(
            &format!("/api/routing-events?limit=100{query}"),
            &account.token,
        )
        .await;
    reply.assert_status(200);
    reply.items()
}

pub async fn wait_for<T>(mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached in 30 s");
}

/// The content of every inbound message stored.
pub async fn inbound_contents(app: &TestApp) -> Vec<String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    switchboard::entities::message::Entity::find()
        .filter(switchboard::entities::message::Column::Direction.eq("inbound"))
        .all(&app.state.db)
        .await
        .expect("messages")
        .into_iter()
        .map(|m| m.content)
        .collect()
}
