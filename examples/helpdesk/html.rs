//! Server-rendered HTML: escaping and the page frame. Every value from a customer, an
//! agent or a provider goes through [`esc`]; the frame loads only the vendored
//! `/assets/style.css` and `/assets/app.js`.

use axum::response::Html;
use chrono::{DateTime, Utc};

use super::auth::Current;
use super::directory::Role;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A hidden CSRF field for a form of this page.
pub fn csrf(me: &Current) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(&me.csrf)
    )
}

/// A time as `YYYY-MM-DD HH:MM` UTC.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How far `at` is from `now`, in words: `in 12 min`, `3 h ago`.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    if secs.abs() < 10 {
        return "just now".into();
    }
    let (n, unit) = match secs.unsigned_abs() {
        s if s < 90 => (s, "s"),
        s if s < 90 * 60 => (s / 60, "min"),
        s if s < 36 * 3600 => (s / 3600, "h"),
        s => (s / 86400, "d"),
    };
    if secs >= 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    }
}

/// A whole page for a logged-in user: header, navigation, `body`. `live` names what the
/// script reloads on a live event (`inbox`, or a conversation id).
pub fn page(me: &Current, tenant_name: &str, title: &str, live: &str, body: &str) -> Html<String> {
    let supervisor = if me.user.role == Role::Supervisor {
        r#"<a href="/reports">Reports</a><a href="/settings">Settings</a>"#
    } else {
        ""
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · {tenant}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/style.css"></head>
<body data-live="{live}">
<header><strong>{tenant}</strong>
<nav><a href="/inbox">Inbox</a><a href="/outbox">Outbox</a>{supervisor}</nav>
<span class="me">{name}</span>
<form method="post" action="/logout" class="inline">{csrf}<button>Log out</button></form>
</header>
<main id="main">{body}</main>
<script src="/assets/app.js"></script>
</body></html>"#,
        title = esc(title),
        tenant = esc(tenant_name),
        live = esc(live),
        name = esc(&me.user.name),
        csrf = csrf(me),
    ))
}

/// A page for someone not logged in.
pub fn bare(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/style.css"></head>
<body class="bare"><main>{body}</main></body></html>"#,
        title = esc(title)
    ))
}
