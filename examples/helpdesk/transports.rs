//! The outbound transports, one per channel. They build the provider's exact request with
//! the crate's adapters (Twilio's Messages API, WhatsApp's Graph API, an RFC 5322 mail)
//! and, instead of calling the internet, record it for the Outbox page. A real host
//! replaces `deliver` with its HTTP client or SMTP relay and keeps everything else.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use throughline::channels::{email, twilio, whatsapp};
use throughline::{Channel, Outbound, TenantId};

use super::app::App;

/// One request a transport would have sent.
#[derive(Clone, Debug)]
pub struct Sent {
    /// When.
    pub at: DateTime<Utc>,
    /// For which tenant.
    pub tenant: TenantId,
    /// The channel.
    pub channel: Channel,
    /// `POST`, or `SMTP` for mail.
    pub method: String,
    /// The provider URL (or `smtp:` with the recipient).
    pub url: String,
    /// Headers, without credentials.
    pub headers: Vec<(String, String)>,
    /// The body, as text.
    pub body: String,
    /// The id the provider would have answered with.
    pub provider_id: String,
    /// The web chat visitor it goes to (web chat only).
    pub visitor: Option<String>,
}

/// One built request: method, URL, headers, body, web chat visitor.
type Built = (
    String,
    String,
    Vec<(String, String)>,
    String,
    Option<String>,
);

/// Every request recorded, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    sent: Mutex<Vec<Sent>>,
}

impl Outbox {
    /// Builds and records the requests of one send; the provider id of the first, or why
    /// it cannot be sent.
    pub fn send(&self, app: &App, out: &Outbound) -> Result<String, String> {
        let tenant = app
            .tenant(out.tenant)
            .ok_or_else(|| format!("tenant {} has no inboxes on this host", out.tenant))?;
        let now = super::now();
        let provider_id = format!("{}", out.message.as_uuid().simple());
        let requests: Vec<Built> = match out.channel {
            Channel::Sms => {
                let callback = format!(
                    "{}/webhooks/twilio?tenant={}",
                    app.config.public_url, out.tenant
                );
                let callback = twilio::with_message_param(&callback, out.message);
                twilio::request(
                    out,
                    &app.config.twilio_account_sid,
                    &tenant.phone,
                    Some(&callback),
                )
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|r| (r.method.to_string(), r.url, r.headers, text(&r.body), None))
                .collect()
            }
            Channel::WhatsApp => whatsapp::requests(out, &tenant.whatsapp_id, now)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|r| (r.method.to_string(), r.url, r.headers, text(&r.body), None))
                .collect(),
            Channel::Email => {
                let mail = email::build(out, &tenant.email, &tenant.mail_domain, now)
                    .map_err(|e| e.to_string())?;
                let headers = vec![
                    ("MAIL FROM".to_string(), tenant.email.clone()),
                    ("RCPT TO".to_string(), out.to.value().to_string()),
                ];
                vec![(
                    "SMTP".into(),
                    format!("smtp:{}", out.to.value()),
                    headers,
                    text(&mail),
                    None,
                )]
            }
            Channel::WebChat => {
                let visitor = out.to.value().to_string();
                let body = serde_json::json!({ "visitor": visitor, "text": out.body }).to_string();
                vec![(
                    "PUSH".into(),
                    format!("/chat/replies?visitor={visitor}"),
                    vec![("Content-Type".into(), "application/json".into())],
                    body,
                    Some(visitor),
                )]
            }
            ref other => return Err(format!("no transport for {other} in this example")),
        };
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| "the outbox lock is poisoned")?;
        for (method, url, headers, body, visitor) in requests {
            println!(
                "outbox: {} {method} {url} ({} bytes)",
                out.channel,
                body.len()
            );
            sent.push(Sent {
                at: now,
                tenant: out.tenant,
                channel: out.channel.clone(),
                method,
                url,
                headers,
                body,
                provider_id: provider_id.clone(),
                visitor,
            });
        }
        Ok(provider_id)
    }

    /// The requests recorded for `tenant`, newest first.
    pub fn of(&self, tenant: TenantId) -> Vec<Sent> {
        let sent = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        sent.into_iter()
            .rev()
            .filter(|s| s.tenant == tenant)
            .collect()
    }

    /// The web chat replies to `visitor`, oldest first.
    pub fn chat_replies(&self, visitor: &str) -> Vec<Sent> {
        let sent = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        sent.into_iter()
            .filter(|s| s.visitor.as_deref() == Some(visitor))
            .collect()
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}
