//! The Discord simulator's chat pages: a person reads a server's channels and posts as one of
//! its members (a lead replying), as they would in Discord's client. Posts go through the
//! same path as the `POST /sandbox/discord/channels/{id}/messages` control, so the gateway
//! announces them and the product routes them.
//!
//! - `GET /sandbox/discord/chat`: servers with the bot, and their text channels.
//! - `GET /sandbox/discord/chat/{channel_id}`: the channel's latest messages and a form to post.
//! - `POST /sandbox/discord/chat/{channel_id}`: posts (form: `authorId`, `content`).
//! - `POST /sandbox/discord/chat/{channel_id}/members`: adds a member (form: `username`).
use std::sync::Arc;

use axum::{
    Form, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use chrono::SecondsFormat;
use serde::Deserialize;

use super::{
    channels::id,
    control,
    state::{MAX_CONTENT_CHARS, MAX_USERNAME_CHARS, SimChannel, SimMember},
};
use crate::sandbox::{
    Sandbox,
    page::{escape, render},
};

const BANNER: &str = "Discord sandbox: simulated client";
/// Messages shown on a channel page, newest last.
const SHOWN: usize = 50;

pub fn router() -> Router<Arc<Sandbox>> {
    Router::new()
        .route("/chat", get(index))
        .route("/chat/{channel_id}", get(channel_page).post(post_message))
        .route("/chat/{channel_id}/members", post(add_member))
}

fn page_path(channel_id: u64) -> String {
    format!("/sandbox/discord/chat/{channel_id}")
}

async fn index(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let mut body = String::from("<h1>Servers</h1>");
    let mut guilds: Vec<_> = sandbox
        .discord
        .guilds()
        .into_iter()
        .filter(|g| g.bot_member)
        .collect();
    guilds.sort_by_key(|g| g.id);
    if guilds.is_empty() {
        body.push_str("<p>No server has the bot yet: connect Discord from the app first.</p>");
    }
    for guild in guilds {
        let mut texts: Vec<SimChannel> = sandbox
            .discord
            .channels
            .channels_of(guild.id)
            .into_iter()
            .filter(SimChannel::is_text)
            .collect();
        texts.sort_by_key(|c| c.id);
        body.push_str(&format!("<h2>{}</h2><ul>", escape(&guild.name)));
        if texts.is_empty() {
            body.push_str("<li>No text channels.</li>");
        }
        for channel in texts {
            let count = sandbox.discord.channels.messages_of(channel.id).len();
            body.push_str(&format!(
                r#"<li><a href="{}">#{}</a> <small>{count} messages</small></li>"#,
                page_path(channel.id),
                escape(&channel.name),
            ));
        }
        body.push_str("</ul>");
    }
    render("Discord sandbox", BANNER, &body).into_response()
}

async fn channel_page(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
) -> Response {
    match sandbox.discord.channels.channel(id(&channel)) {
        Some(channel) => chat(&sandbox, &channel, None, "", StatusCode::OK),
        None => unknown_channel(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostForm {
    author_id: String,
    content: String,
}

async fn post_message(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
    Form(form): Form<PostForm>,
) -> Response {
    let Some(channel) = sandbox.discord.channels.channel(id(&channel)) else {
        return unknown_channel();
    };
    match control::post_member_message(&sandbox, &channel, id(&form.author_id), &form.content) {
        // Post/redirect/get: reloading the page does not post twice.
        Ok(_) => Redirect::to(&page_path(channel.id)).into_response(),
        Err(refusal) => chat(
            &sandbox,
            &channel,
            Some(refusal.text()),
            &form.content,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    }
}

#[derive(Deserialize)]
struct MemberForm {
    username: String,
}

async fn add_member(
    State(sandbox): State<Arc<Sandbox>>,
    Path(channel): Path<String>,
    Form(form): Form<MemberForm>,
) -> Response {
    let Some(channel) = sandbox.discord.channels.channel(id(&channel)) else {
        return unknown_channel();
    };
    let username = form.username.trim();
    if !control::valid_username(username) {
        return chat(
            &sandbox,
            &channel,
            Some("Usernames are 2 to 32 characters."),
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let user_id = sandbox.discord.snowflake();
    sandbox
        .discord
        .channels
        .add_member(channel.guild_id, user_id, username);
    Redirect::to(&page_path(channel.id)).into_response()
}

fn unknown_channel() -> Response {
    let body = r#"<h1>Unknown channel</h1><p><a href="/sandbox/discord/chat">All servers</a></p>"#;
    (
        StatusCode::NOT_FOUND,
        render("Unknown channel", BANNER, body),
    )
        .into_response()
}

/// The channel page: its latest messages, then the form to post as a member.
fn chat(
    sandbox: &Sandbox,
    channel: &SimChannel,
    problem: Option<&str>,
    draft: &str,
    status: StatusCode,
) -> Response {
    let members = {
        let mut m = sandbox.discord.channels.members_of(channel.guild_id);
        m.sort_by_key(|m| m.user_id);
        m
    };
    let name_of = |user_id: u64| -> String {
        if user_id.to_string() == sandbox.discord.bot_id() {
            "Switchboard (bot)".to_owned()
        } else {
            members
                .iter()
                .find(|m| m.user_id == user_id)
                .map_or_else(|| format!("user{user_id}"), |m| m.username.clone())
        }
    };
    let messages = sandbox.discord.channels.messages_of(channel.id);
    let mut body = format!(
        r#"<p><a href="/sandbox/discord/chat">All servers</a></p><h1>#{}</h1>"#,
        escape(&channel.name)
    );
    if let Some(topic) = &channel.topic {
        body.push_str(&format!("<p><small>{}</small></p>", escape(topic)));
    }
    body.push_str(r#"<ol class="messages">"#);
    if messages.is_empty() {
        body.push_str("<li>No messages yet.</li>");
    }
    for message in messages.iter().skip(messages.len().saturating_sub(SHOWN)) {
        body.push_str(&format!(
            r#"<li data-message-id="{}"><b>{}</b> <time>{}</time><br>{}</li>"#,
            message.id,
            escape(&name_of(message.author_id)),
            message.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true),
            escape(&message.content),
        ));
    }
    body.push_str("</ol>");
    if let Some(problem) = problem {
        body.push_str(&format!(
            r#"<p class="error" role="alert">{}</p>"#,
            escape(problem)
        ));
    }
    if members.is_empty() {
        body.push_str("<p>This server has no members to post as yet: add one below.</p>");
    } else {
        // The lead is the member the channel was opened for (a member permission overwrite).
        let lead = lead_member(channel, &members);
        let options: String = members
            .iter()
            .map(|m| {
                format!(
                    r#"<option value="{}"{}>{}</option>"#,
                    m.user_id,
                    if Some(m.user_id) == lead {
                        " selected"
                    } else {
                        ""
                    },
                    escape(&m.username)
                )
            })
            .collect();
        body.push_str(&format!(
            r#"<form method="post" action="{action}">
<label for="authorId">Post as</label><select id="authorId" name="authorId">{options}</select>
<label for="content">Message</label><textarea id="content" name="content" rows="3" maxlength="{MAX_CONTENT_CHARS}" required>{draft}</textarea>
<button type="submit" class="primary">Send</button>
</form>"#,
            action = page_path(channel.id),
            draft = escape(draft),
        ));
    }
    body.push_str(&format!(
        r#"<form method="post" action="{}/members">
<label for="username">Add a member</label><input id="username" name="username" minlength="2" maxlength="{MAX_USERNAME_CHARS}" required>
<button type="submit" class="secondary">Add</button>
</form>
<p><a href="{}">Refresh</a></p>"#,
        page_path(channel.id),
        page_path(channel.id),
    ));
    let mut response = (
        status,
        render(
            &format!("#{} · Discord sandbox", channel.name),
            BANNER,
            &body,
        ),
    )
        .into_response();
    // A page that shows live state: never from a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// The member who has their own permission overwrite on the channel: the lead it was opened
/// for.
fn lead_member(channel: &SimChannel, members: &[SimMember]) -> Option<u64> {
    channel
        .overwrites
        .iter()
        .filter(|o| o.kind == 1)
        .map(|o| o.id)
        .find(|id| members.iter().any(|m| m.user_id == *id))
}
