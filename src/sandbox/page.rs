//! Minimal HTML for the simulators' consent pages.
use axum::response::Html;

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn hidden(name: &str, value: &str) -> String {
    format!(
        r#"<input type="hidden" name="{}" value="{}">"#,
        escape(name),
        escape(value)
    )
}

pub fn render(title: &str, banner: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; background: #313338; color: #f2f3f5; display: grid; place-items: center; min-height: 100vh; margin: 0; }}
main {{ background: #2b2d31; padding: 2rem; border-radius: 8px; width: min(28rem, 90vw); }}
.banner {{ background: #f0b232; color: #111; font-size: .8rem; padding: .25rem .5rem; border-radius: 4px; display: inline-block; }}
label, select, button {{ display: block; width: 100%; margin-top: .75rem; font: inherit; }}
select {{ padding: .5rem; }}
button {{ padding: .6rem; border: 0; border-radius: 4px; cursor: pointer; }}
button[value=approve] {{ background: #5865f2; color: #fff; }}
button[value=deny] {{ background: transparent; color: #dbdee1; }}
button.primary {{ background: #5865f2; color: #fff; }}
button.secondary {{ background: #4e5058; color: #fff; }}
textarea, input {{ display: block; width: 100%; box-sizing: border-box; margin-top: .25rem; padding: .5rem; font: inherit; background: #383a40; color: #f2f3f5; border: 0; border-radius: 4px; }}
a {{ color: #00a8fc; }}
ol.messages {{ list-style: none; padding: 0; max-height: 50vh; overflow-y: auto; }}
ol.messages li {{ padding: .4rem 0; border-bottom: 1px solid #3f4147; overflow-wrap: anywhere; white-space: pre-wrap; }}
time, small {{ color: #949ba4; font-size: .75rem; }}
.error {{ color: #fa777c; }}
ul {{ padding-left: 1.25rem; }}
</style>
</head>
<body><main><p class="banner">{banner}</p>{body}</main></body>
</html>
"#,
        title = escape(title),
        banner = escape(banner),
    ))
}
