//! The providers' webhooks and the web chat: verify, parse with the crate's adapters,
//! hand each event to the desk. A bad signature or token is 403 and nothing is stored;
//! malformed input is 400 with the adapter's reason; a redelivered webhook is 200 and the
//! desk keeps one message (it deduplicates on the provider's message id); a store
//! failure is 500, so that the provider delivers again.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use throughline::channels::{email, meta, twilio, whatsapp, Event};
use throughline::{Channel, Error, Identifier, Inbound, TenantId};

use super::app::App;
use super::effects;

/// A refusal: status and reason.
pub struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn forbidden(e: impl std::fmt::Display) -> Refused {
    Refused(StatusCode::FORBIDDEN, format!("refused: {e}\n"))
}

fn bad(e: impl std::fmt::Display) -> Refused {
    Refused(StatusCode::BAD_REQUEST, format!("malformed: {e}\n"))
}

/// The status a desk error answers with.
fn desk_error(e: Error) -> Refused {
    match e {
        Error::Invalid { .. } | Error::BodyTooLarge { .. } | Error::ChannelDisabled { .. } => {
            bad(e)
        }
        other => Refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("not stored: {other}\n"),
        ),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Hands a webhook's events to the desk; the answer says how many were new.
async fn deliver(
    app: &App,
    tenant: TenantId,
    channel: Channel,
    events: Vec<Event>,
) -> Result<String, Refused> {
    let (mut new, mut duplicates, mut receipts) = (0, 0, 0);
    for event in events {
        let now = super::now();
        match event {
            Event::Message(inbound) => {
                let prepared = app.preparer.prepare(*inbound).map_err(desk_error)?;
                // Concurrent webhooks are committed together (group commit).
                let got = app.desk.ingest(prepared, now).await.map_err(desk_error)?;
                if got.duplicate {
                    duplicates += 1;
                } else {
                    new += 1;
                }
                effects::handle(app, Some(tenant), got.effects).await;
            }
            Event::Receipt(receipt) => {
                let ch = channel.clone();
                let done = app
                    .desk
                    .call(move |d| d.record_receipt(tenant, &ch, &receipt, now))
                    .await
                    .map_err(desk_error)?;
                match done {
                    Ok(effects) => {
                        receipts += 1;
                        effects::handle(app, Some(tenant), effects).await;
                    }
                    // A receipt for a message this desk never sent: nothing to retry.
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => return Err(desk_error(e)),
                }
            }
            Event::Consent(change) => {
                app.desk
                    .call(move |d| d.record_consent(tenant, &change, now))
                    .await
                    .map_err(desk_error)?
                    .map_err(desk_error)?;
            }
            _ => {}
        }
    }
    Ok(format!(
        "ok: {new} new, {duplicates} duplicate, {receipts} receipts\n"
    ))
}

/// The URL the provider called, as it signed it: the public URL, the path and the query.
fn called_url(app: &App, uri: &OriginalUri) -> String {
    let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
    format!("{}{pq}", app.config.public_url)
}

/// `POST /webhooks/twilio`: an SMS, or a status callback of one of ours.
pub async fn twilio(
    State(app): State<App>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, Refused> {
    let url = called_url(&app, &uri);
    let signature = header(&headers, twilio::SIGNATURE_HEADER);
    twilio::verify_body(&url, &body, signature, &app.config.twilio_auth_token)
        .map_err(forbidden)?;
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let query_tenant = uri
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "tenant"))
        .and_then(|(_, v)| v.parse::<TenantId>().ok())
        .and_then(|t| app.tenant(t));
    let tenant = query_tenant
        .or_else(|| param("To").and_then(|to| app.directory.by_phone(to)))
        .or_else(|| param("From").and_then(|from| app.directory.by_phone(from)))
        .ok_or_else(|| bad("no tenant has the number this webhook names"))?
        .id;
    let mut events = twilio::parse_params(&params, tenant, super::now()).map_err(bad)?;
    let ours = twilio::parse_status_callback_url(&url).ok().flatten();
    for e in &mut events {
        if let Event::Receipt(r) = e {
            r.message = r.message.or(ours);
        }
    }
    deliver(&app, tenant, Channel::Sms, events).await
}

/// The handshake's query.
#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// `GET /webhooks/whatsapp`: Meta's subscription handshake.
pub async fn whatsapp_handshake(
    State(app): State<App>,
    Query(q): Query<Handshake>,
) -> Result<String, Refused> {
    let query: Vec<(&str, String)> = [
        ("hub.mode", q.mode),
        ("hub.verify_token", q.token),
        ("hub.challenge", q.challenge),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    meta::handshake(&query, &app.config.whatsapp_verify_token).map_err(forbidden)
}

/// `POST /webhooks/whatsapp`: the Cloud API webhook.
pub async fn whatsapp(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, Refused> {
    let signature = header(&headers, "x-hub-signature-256");
    meta::verify_signature(&body, signature, &app.config.meta_app_secret).map_err(forbidden)?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(bad)?;
    let number = value
        .pointer("/entry/0/changes/0/value/metadata/phone_number_id")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let tenant = app
        .directory
        .by_whatsapp(number)
        .ok_or_else(|| bad(format!("no tenant has the WhatsApp number id {number:?}")))?
        .id;
    let events = whatsapp::parse(&body, tenant).map_err(bad)?;
    deliver(&app, tenant, Channel::WhatsApp, events).await
}

/// `POST /webhooks/email`: one raw RFC 5322 message, `Authorization: Bearer <token>`.
pub async fn email(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<String, Refused> {
    let token = header(&headers, "authorization")
        .strip_prefix("Bearer ")
        .unwrap_or("");
    let expected = &app.config.email_token;
    if expected.is_empty() || !super::auth::constant_eq(token.as_bytes(), expected.as_bytes()) {
        return Err(forbidden("the bearer token is missing or wrong"));
    }
    // The inbox is `Delivered-To`, or a `To`/`Cc` address at the domain the mail is
    // parsed for: try each tenant's domain until one of them receives it.
    let mut found = None;
    for t in app.directory.tenants() {
        let mail = email::parse(&body, t.id, &t.mail_domain).map_err(bad)?;
        let Some(owner) = mail.inbox().and_then(|i| app.directory.by_email(i)) else {
            continue;
        };
        found = Some(if owner.id == t.id {
            (owner, mail)
        } else {
            (
                owner,
                email::parse(&body, owner.id, &owner.mail_domain).map_err(bad)?,
            )
        });
        break;
    }
    let (tenant, mail) = found.ok_or_else(|| bad("no tenant receives mail at its recipients"))?;
    deliver(&app, tenant.id, Channel::Email, mail.into_events()).await
}

/// What the widget posts.
#[derive(Deserialize)]
pub struct ChatMessage {
    visitor: String,
    email: Option<String>,
    text: String,
    /// The widget's id of the message, so that a retried post is one message.
    id: Option<String>,
}

/// `POST /chat`: the web chat widget.
pub async fn chat(State(app): State<App>, body: Bytes) -> Result<Json<serde_json::Value>, Refused> {
    let msg: ChatMessage = serde_json::from_slice(&body).map_err(bad)?;
    let tenant = app
        .directory
        .chat_tenant()
        .ok_or_else(|| bad("no tenant takes web chat on this host"))?
        .id;
    let from = Identifier::external("webchat", &msg.visitor).map_err(bad)?;
    let id = match msg.id {
        Some(id) if !id.trim().is_empty() => id,
        _ => format!("{}", throughline::MessageId::new_v7()),
    };
    let mut inbound = Inbound::new(tenant, Channel::WebChat, from, id, msg.text);
    if let Some(address) = msg.email.filter(|e| !e.trim().is_empty()) {
        inbound.also.push(Identifier::email(&address).map_err(bad)?);
    }
    let answer = deliver(
        &app,
        tenant,
        Channel::WebChat,
        vec![Event::Message(Box::new(inbound))],
    )
    .await?;
    Ok(Json(serde_json::json!({ "ok": answer.trim() })))
}

/// The widget's poll.
#[derive(Deserialize)]
pub struct Visitor {
    visitor: String,
}

/// `GET /chat/replies?visitor=…`: the agents' replies to this visitor, oldest first (the
/// web chat transport's delivery).
pub async fn chat_replies(
    State(app): State<App>,
    Query(v): Query<Visitor>,
) -> Json<serde_json::Value> {
    let replies: Vec<serde_json::Value> = app
        .outbox
        .chat_replies(&v.visitor)
        .into_iter()
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s.body).ok())
        .map(|b| serde_json::json!({ "text": b["text"] }))
        .collect();
    Json(serde_json::json!({ "replies": replies }))
}
