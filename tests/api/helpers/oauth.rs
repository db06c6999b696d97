//! Drives the OAuth popup the way a person does: authorize, the provider's consent page, a
//! decision, and the callback page the popup lands on.
use reqwest::{Client, Method};
use serde_json::Value;

use super::{Account, Auth, Reply, TestApp};

pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `(name, value)` of every hidden input in a page.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split("name=\"").nth(1)?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

/// `(value, label)` of every option in a page.
pub fn options(html: &str) -> Vec<(String, String)> {
    html.split("<option value=\"")
        .skip(1)
        .filter_map(|rest| {
            let (value, rest) = rest.split_once('"')?;
            let label = rest.strip_prefix('>')?.split("</option>").next()?;
            Some((unescape(value), unescape(label)))
        })
        .collect()
}

/// The message the callback page posts to its opener.
pub fn popup_message(html: &str) -> Value {
    html.split("var message = ")
        .nth(1)
        .and_then(|rest| rest.split(";\n").next())
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or(Value::Null)
}

pub struct Consent {
    /// The consent page's URL.
    pub url: String,
    pub html: String,
    pub state: String,
}

pub async fn start(app: &TestApp, browser: &Client, account: &Account, provider: &str) -> Consent {
    let auth = app
        .send(
            browser.post(app.url(&format!("/api/integrations/{provider}/authorize"))),
            Auth::Bearer(&account.token),
            None,
        )
        .await;
    auth.assert_status(200);
    let url = auth.body["authorizeUrl"]
        .as_str()
        .expect("authorizeUrl")
        .to_owned();
    let state = url::Url::parse(&url)
        .expect("URL")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("state in the URL");
    let page = browser.get(&url).send().await.expect("consent page");
    assert_eq!(page.status().as_u16(), 200, "the consent page opens");
    Consent {
        url,
        html: page.text().await.expect("html"),
        state,
    }
}

/// Submits the consent form and returns where the provider redirects the popup.
pub async fn decide(
    browser: &Client,
    consent: &Consent,
    approve: bool,
    guild: Option<&str>,
) -> String {
    let mut form = hidden_inputs(&consent.html);
    // Like a browser: a <select> submits its first option unless another is picked.
    let first = options(&consent.html).first().map(|(v, _)| v.clone());
    if let Some(guild) = guild.map(str::to_owned).or(first) {
        form.push(("guild_id".into(), guild));
    }
    form.push((
        "decision".into(),
        if approve { "approve" } else { "deny" }.into(),
    ));
    let action = url::Url::parse(&consent.url)
        .expect("URL")
        .join("authorize")
        .expect("form action");
    let response = browser
        .post(action)
        .form(&form)
        .send()
        .await
        .expect("consent decision");
    let status = response.status();
    if !status.is_redirection() {
        panic!(
            "the provider redirects back: {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

pub async fn land(app: &TestApp, browser: &Client, location: &str) -> (Reply, Value) {
    let reply = app
        .send(browser.request(Method::GET, location), Auth::None, None)
        .await;
    let message = popup_message(&reply.text);
    (reply, message)
}

/// The whole flow, approving; `guild` picks a Discord server (the first one when `None`).
pub async fn connect(
    app: &TestApp,
    browser: &Client,
    account: &Account,
    provider: &str,
    guild: Option<&str>,
) -> (Reply, Value) {
    let consent = start(app, browser, account, provider).await;
    let guild = guild
        .map(str::to_owned)
        .or_else(|| options(&consent.html).first().map(|(v, _)| v.clone()));
    let location = decide(browser, &consent, true, guild.as_deref()).await;
    land(app, browser, &location).await
}

/// A Discord server of the sandbox, made for this test.
pub async fn sandbox_guild(app: &TestApp, name: &str) -> String {
    let reply = app
        .request(
            Method::POST,
            "/sandbox/discord/servers",
            Auth::None,
            Some(serde_json::json!({ "name": name })),
        )
        .await;
    reply.assert_status(201);
    reply.body["id"].as_str().expect("guild id").to_owned()
}

/// The provider's redirect with its `code` replaced (a forged or stale code).
pub fn with_code(location: &str, code: &str) -> String {
    let mut url = url::Url::parse(location).expect("URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "code" {
                code.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}
