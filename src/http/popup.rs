//! The small page the OAuth popup ends on: it tells the opener how it went and closes itself.
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use rand::RngCore;
use serde::Serialize;

/// What the OAuth popup's last page posts to `window.opener` with `postMessage`, only to the
/// web app's origin (`FRONTEND_ORIGIN`). The web app accepts it only from the service's origin
/// (`PUBLIC_URL`).
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = OAuthPopupMessage)]
pub struct PopupMessage {
    #[serde(rename = "type")]
    pub kind: PopupMessageType,
    /// `discord` or `github`.
    pub provider: String,
    pub status: PopupStatus,
    /// The problem's `code` when `status` is `error` (`access_denied`, `state_invalid`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The message's kind: always `switchboard:oauth`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub enum PopupMessageType {
    #[serde(rename = "switchboard:oauth")]
    SwitchboardOauth,
}

/// How the connection went.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PopupStatus {
    Success,
    Error,
}

impl PopupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
        }
    }
}

impl PopupMessage {
    pub fn success(provider: &str, message: String) -> Self {
        Self {
            kind: PopupMessageType::SwitchboardOauth,
            provider: provider.to_owned(),
            status: PopupStatus::Success,
            code: None,
            message: Some(message),
        }
    }

    pub fn error(provider: &str, code: &'static str, message: String) -> Self {
        Self {
            kind: PopupMessageType::SwitchboardOauth,
            provider: provider.to_owned(),
            status: PopupStatus::Error,
            code: Some(code),
            message: Some(message),
        }
    }
}

/// JSON that is safe inside a `<script>` element.
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn render(message: &PopupMessage, frontend_origin: &str, status: StatusCode) -> Response {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let nonce = B64.encode(nonce);
    let provider = match message.provider.as_str() {
        "discord" => "Discord",
        "github" => "GitHub",
        other => other,
    };
    let (title, text) = if message.status == PopupStatus::Success {
        (
            format!("{provider} connected"),
            message.message.clone().unwrap_or_default(),
        )
    } else {
        (
            format!("{provider} was not connected"),
            message.message.clone().unwrap_or_default(),
        )
    };
    let code = message
        .code
        .map(|c| {
            format!(
                r#"<p class="code">Error code: <code>{}</code></p>"#,
                escape_html(c)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard · {title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh; background: #f6f7f9; color: #1d2330; }}
main {{ max-width: 28rem; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.25rem; margin: 0 0 .5rem; }}
.code {{ color: #5b6270; font-size: .875rem; }}
</style>
</head>
<body>
<main data-status="{status_attr}">
<h1>{title_html}</h1>
<p>{text_html}</p>
{code}
<p class="code">You can close this window.</p>
</main>
<script nonce="{nonce}">
(function () {{
  var message = {message_json};
  var origin = {origin_json};
  if (window.opener && !window.opener.closed) {{
    try {{ window.opener.postMessage(message, origin); }} catch (e) {{}}
    window.close();
  }}
}})();
</script>
</body>
</html>
"#,
        title = escape_html(&title),
        title_html = escape_html(&title),
        text_html = escape_html(&text),
        status_attr = message.status.as_str(),
        message_json = script_json(message),
        origin_json = script_json(&frontend_origin),
    );
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    // The URL carries the authorisation code: never cache it, never leak it in a Referer.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let m = PopupMessage::error("discord", "x", "</script><script>alert(1)</script>".into());
        assert!(!script_json(&m).contains("</script>"));
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(escape_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
