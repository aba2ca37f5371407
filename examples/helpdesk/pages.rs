//! The agent's pages: login, the inbox views, the outbox, presence; the vendored assets
//! and the widget. The conversation page is in `conversation.rs`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{TimeDelta, Utc};
use throughline::routing::Presence;
use throughline::store::InboxView;
use throughline::{Conversation, Status, TenantId};

use super::app::App;
use super::auth::Current;
use super::html::{bare, csrf, esc, page, relative, when};

/// A form's fields.
pub type Fields = HashMap<String, String>;

/// A failure shown to the agent: status and text.
pub fn fail(status: StatusCode, text: impl std::fmt::Display) -> Response {
    (status, format!("{text}\n")).into_response()
}

/// The status a desk error shows as: 404 for what the tenant does not have.
pub fn desk_fail(e: throughline::Error) -> Response {
    match e {
        throughline::Error::NotFound { .. } => fail(StatusCode::NOT_FOUND, "not found"),
        throughline::Error::Invalid { .. }
        | throughline::Error::InvalidTransition { .. }
        | throughline::Error::ConversationClosed(_)
        | throughline::Error::Restricted(_)
        | throughline::Error::Busy(_) => fail(StatusCode::UNPROCESSABLE_ENTITY, e),
        other => fail(StatusCode::INTERNAL_SERVER_ERROR, other),
    }
}

/// The tenant's name.
pub fn tenant_name(app: &App, tenant: TenantId) -> String {
    app.tenant(tenant)
        .map_or_else(|| tenant.to_string(), |t| t.name.clone())
}

/// `GET /`.
pub async fn home() -> Redirect {
    Redirect::to("/inbox")
}

/// `GET /login`: the form, with a fresh anonymous session for its CSRF token.
pub async fn login_page(State(app): State<App>, headers: HeaderMap) -> Response {
    let (session, cookie) = match app.keys.read(&headers) {
        Some(s) => (s, None),
        None => {
            let (s, c) = app.keys.issue(None);
            (s, Some(c))
        }
    };
    let form = login_form(&app.keys.csrf(&session), "");
    let mut response = bare("Log in", &form).into_response();
    if let Some(c) = cookie {
        if let Ok(v) = c.parse() {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    response
}

fn login_form(csrf: &str, error: &str) -> String {
    let error = if error.is_empty() {
        String::new()
    } else {
        format!(r#"<p class="error" id="login-error">{}</p>"#, esc(error))
    };
    format!(
        r#"<h1>throughline helpdesk</h1>{error}
<form method="post" action="/login" id="login">
<input type="hidden" name="csrf" value="{csrf}">
<label>E-mail <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>"#,
        csrf = esc(csrf)
    )
}

/// `POST /login`: checks the CSRF token of the anonymous session, then the password
/// (argon2, off the runtime threads); a new session on success.
pub async fn login(State(app): State<App>, headers: HeaderMap, Form(f): Form<Fields>) -> Response {
    let Some(session) = app.keys.read(&headers) else {
        return fail(
            StatusCode::FORBIDDEN,
            "no session: load the login page first",
        );
    };
    if !app
        .keys
        .csrf_ok(&session, f.get("csrf").map_or("", String::as_str))
    {
        return fail(
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong",
        );
    }
    let email = f.get("email").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let checker = app.clone();
    let user = tokio::task::spawn_blocking(move || {
        checker.directory.login(&email, &password).map(|u| u.id)
    })
    .await
    .ok()
    .flatten();
    let Some(user) = user else {
        let form = login_form(&app.keys.csrf(&session), "Wrong e-mail or password.");
        return (StatusCode::UNAUTHORIZED, bare("Log in", &form)).into_response();
    };
    let (_, cookie) = app.keys.issue(Some(user));
    ([(header::SET_COOKIE, cookie)], Redirect::to("/inbox")).into_response()
}

/// `POST /logout`.
pub async fn logout(State(app): State<App>, me: Current, Form(f): Form<Fields>) -> Response {
    if let Err(r) = me.check(&app, f.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    (
        [(header::SET_COOKIE, app.keys.clear())],
        Redirect::to("/login"),
    )
        .into_response()
}

/// The inbox views, by their query name.
const VIEWS: &[(&str, &str)] = &[
    ("unassigned", "Unassigned"),
    ("mine", "Mine"),
    ("open", "All open"),
    ("queue", "Waiting in queue"),
    ("breaching", "Breaching within the hour"),
];

/// The store's views a named view is made of: "all open" is every status before solved.
fn view(name: &str, me: &Current) -> Vec<InboxView> {
    match name {
        "mine" => vec![InboxView::Assignee(me.user.id)],
        "open" => [Status::New, Status::Open, Status::Pending, Status::OnHold]
            .into_iter()
            .map(InboxView::Status)
            .collect(),
        "queue" => vec![InboxView::Queue("default".into())],
        "breaching" => vec![InboxView::SlaDueBefore(super::now() + TimeDelta::hours(1))],
        _ => vec![InboxView::Unassigned],
    }
}

/// A customer as the inbox names them: their name, else an e-mail address, else the
/// first identifier.
pub fn label(
    d: &throughline::Desk<super::app::AnyStore>,
    tenant: TenantId,
    customer: throughline::CustomerId,
) -> Option<String> {
    if let Some(name) = d.customer(tenant, customer).ok().and_then(|c| c.name) {
        return Some(name);
    }
    let ids = d.identifiers(tenant, customer).ok()?;
    let email = ids
        .iter()
        .find(|r| *r.identifier.kind() == throughline::IdentifierKind::Email);
    email
        .or(ids.first())
        .map(|r| r.identifier.value().to_string())
}

/// `GET /inbox?view=…`.
pub async fn inbox(State(app): State<App>, me: Current, Query(q): Query<Fields>) -> Response {
    let name = q
        .get("view")
        .map_or("unassigned", String::as_str)
        .to_string();
    let tenant = me.user.tenant;
    let views: Vec<(String, String, Vec<InboxView>)> = VIEWS
        .iter()
        .map(|(n, label)| (n.to_string(), label.to_string(), view(n, &me)))
        .collect();
    let chosen = view(&name, &me);
    let me_id = me.user.id;
    let got = app
        .desk
        .call(move |d| -> throughline::Result<_> {
            let counts = views
                .iter()
                .map(|(n, l, vs)| {
                    let count = vs
                        .iter()
                        .map(|v| d.inbox_count(tenant, v))
                        .sum::<throughline::Result<u64>>()?;
                    Ok((n.clone(), l.clone(), count))
                })
                .collect::<throughline::Result<Vec<_>>>()?;
            let mut conversations = Vec::new();
            for v in &chosen {
                conversations.extend(d.inbox(tenant, v, None, 100)?.conversations);
            }
            if chosen.len() > 1 {
                conversations.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
                conversations.truncate(100);
            }
            let rows = conversations
                .into_iter()
                .map(|c| {
                    let due = d
                        .sla_clocks((tenant, c.id))
                        .ok()
                        .flatten()
                        .and_then(|s| s.next_due());
                    let name = label(d, tenant, c.customer);
                    (c, due, name)
                })
                .collect::<Vec<_>>();
            let presence = d
                .routing_state(tenant)?
                .agent(me_id)
                .map(|a| a.agent.presence);
            Ok((counts, rows, presence))
        })
        .await;
    let (counts, rows, presence) = match got {
        Ok(Ok(v)) => v,
        Ok(Err(e)) | Err(e) => return desk_fail(e),
    };
    let tabs: String = counts
        .iter()
        .map(|(n, l, count)| {
            let current = if *n == name { r#" class="view current""# } else { r#" class="view""# };
            format!(r#"<a id="view-{n}"{current} href="/inbox?view={n}">{l} <span class="count">{count}</span></a>"#)
        })
        .collect();
    let now = super::now();
    let list: String = rows
        .iter()
        .map(|(c, due, who)| row(c, *due, who.as_deref(), now))
        .collect();
    let list = if list.is_empty() {
        r#"<p class="empty">Nothing here.</p>"#.to_string()
    } else {
        format!(r#"<ul id="conversations">{list}</ul>"#)
    };
    let online = presence == Some(Presence::Available);
    let (label, next) = if online {
        ("Go away", "away")
    } else {
        ("Go online", "available")
    };
    let body = format!(
        r#"<div class="bar"><nav class="views">{tabs}</nav>
<form method="post" action="/presence" id="presence" class="inline">{csrf}<input type="hidden" name="presence" value="{next}">
<span class="presence">{state}</span> <button>{label}</button></form></div>
{list}"#,
        csrf = csrf(&me),
        state = if online {
            "Online: new work comes to you"
        } else {
            "Away: new work waits in the queue"
        },
    );
    page(&me, &tenant_name(&app, tenant), "Inbox", "inbox", &body).into_response()
}

fn row(
    c: &Conversation,
    due: Option<chrono::DateTime<Utc>>,
    who: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> String {
    let channels: Vec<String> = c
        .channels
        .iter()
        .map(|ch| format!(r#"<span class="channel">{}</span>"#, esc(&ch.to_string())))
        .collect();
    let due = due.map_or(String::new(), |d| {
        let class = if d <= now { "sla breached" } else { "sla" };
        format!(
            r#"<span class="{class}" data-due="{}">SLA {}</span>"#,
            d.to_rfc3339(),
            relative(d, now)
        )
    });
    format!(
        r#"<li class="conversation" data-id="{id}"><a href="/conversations/{id}">{who}</a> {channels} <span class="status">{status}</span> <span class="priority">{priority:?}</span> {due} <span class="updated">{updated}</span></li>"#,
        id = c.id,
        who = esc(who.unwrap_or(c.subject.as_deref().unwrap_or("(no name)"))),
        channels = channels.join(" "),
        status = c.status,
        priority = c.priority,
        updated = relative(c.updated_at, now),
    )
}

/// `POST /presence`: online (new work is routed to me) or away.
pub async fn presence(State(app): State<App>, me: Current, Form(f): Form<Fields>) -> Response {
    if let Err(r) = me.check(&app, f.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let presence = match f.get("presence").map(String::as_str) {
        Some("available") => Presence::Available,
        _ => Presence::Away,
    };
    let (tenant, agent) = (me.user.tenant, me.user.id);
    match app
        .desk
        .call(move |d| d.set_presence(tenant, agent, presence, super::now()))
        .await
    {
        Ok(Ok(effects)) => {
            super::effects::handle(&app, Some(tenant), effects).await;
            Redirect::to("/inbox").into_response()
        }
        Ok(Err(e)) | Err(e) => desk_fail(e),
    }
}

/// `GET /outbox`: what the transports would have sent, newest first.
pub async fn outbox(State(app): State<App>, me: Current) -> Response {
    let sent = app.outbox.of(me.user.tenant);
    let rows: String = sent
        .iter()
        .map(|s| {
            let headers: String = s
                .headers
                .iter()
                .map(|(k, v)| format!("{}: {}\n", esc(k), esc(v)))
                .collect();
            format!(
                r#"<tr class="request" data-channel="{channel}"><td>{at}</td><td class="channel">{channel}</td><td class="method">{method}</td><td class="url">{url}<br><small class="provider-id">{provider_id}</small></td><td><pre class="headers">{headers}</pre><pre class="body">{body}</pre></td></tr>"#,
                at = when(s.at),
                channel = esc(&s.channel.to_string()),
                method = esc(&s.method),
                url = esc(&s.url),
                body = esc(&s.body),
                provider_id = esc(&s.provider_id),
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Outbox</h1><p>The requests the transports would have sent to the providers (credentials left out).</p>
<table id="outbox"><thead><tr><th>When</th><th>Channel</th><th>Method</th><th>URL</th><th>Request</th></tr></thead><tbody>{rows}</tbody></table>"#
    );
    page(
        &me,
        &tenant_name(&app, me.user.tenant),
        "Outbox",
        "outbox",
        &body,
    )
    .into_response()
}

/// `GET /assets/{file}`: the vendored stylesheet and script.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (kind, text) = match file.as_str() {
        "style.css" => ("text/css", include_str!("assets/style.css")),
        "app.js" => ("text/javascript", include_str!("assets/app.js")),
        _ => return fail(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        text,
    )
        .into_response()
}

/// `GET /widget`: the web chat widget, to try the chat.
pub async fn widget() -> Html<&'static str> {
    Html(include_str!("assets/widget.html"))
}
