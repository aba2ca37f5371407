//! The reference helpdesk (`examples/helpdesk`) end to end, in a real browser: headless
//! Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs). The server runs in this process on a temporary SQLite file;
//! customers write through the widget and through signed webhooks built here; an agent
//! works the inbox in the browser.
//!
//! Screenshots of the inbox and of a conversation are written to `target/screenshots/`,
//! and to `docs/screenshots/` with `THROUGHLINE_SCREENSHOTS=docs` (how the committed ones
//! are made).

#[allow(dead_code, unused_imports)]
#[path = "../examples/helpdesk/main.rs"]
mod helpdesk;

#[path = "support/http.rs"]
mod http;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::net::SocketAddr;
use std::time::Duration;

use helpdesk::config::Config;
use helpdesk::directory::{fixed, OTHER_TENANT};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use throughline::channels::twilio;
use throughline::store::InboxView;
use throughline::TenantId;
use webdriver::Browser;

const PASSWORD: &str = "correct horse battery staple";
const PUBLIC_URL: &str = "http://support.example.test";
const TWILIO_TOKEN: &str = "twilio-auth-token";
const META_SECRET: &str = "meta-app-secret";
const MAIL_TOKEN: &str = "mail-token";
const WAIT: Duration = Duration::from_secs(15);

struct Server {
    rt: tokio::runtime::Runtime,
    running: Option<helpdesk::app::Running>,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: dir
                .path()
                .join("helpdesk.db")
                .to_string_lossy()
                .into_owned(),
            demo: true,
            demo_password: Some(PASSWORD.into()),
            public_url: PUBLIC_URL.into(),
            twilio_auth_token: TWILIO_TOKEN.into(),
            meta_app_secret: META_SECRET.into(),
            whatsapp_verify_token: "verify-me".into(),
            email_token: MAIL_TOKEN.into(),
            ..Config::default()
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(helpdesk::app::start(config)).unwrap();
        Server {
            addr: running.addr,
            running: Some(running),
            rt,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> http::Response {
        http::request(self.addr, "POST", path, headers, body)
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> http::Response {
        http::request(self.addr, "GET", path, headers, b"")
    }

    /// A signed Twilio SMS webhook.
    fn sms(&self, sid: &str, from: &str, body: &str, signature: Option<&str>) -> http::Response {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", from),
            ("To", "+31970102030"),
            ("Body", body),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = format!("{PUBLIC_URL}/webhooks/twilio");
        let signed = twilio::sign(&url, &params, TWILIO_TOKEN);
        let form: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        self.post(
            "/webhooks/twilio",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Twilio-Signature", signature.unwrap_or(&signed)),
            ],
            form.as_bytes(),
        )
    }

    /// A signed WhatsApp Cloud API webhook with one text message.
    fn whatsapp(&self, wamid: &str, from: &str, text: &str) -> http::Response {
        let body = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "31970102030", "phone_number_id": "109876543210" },
                "contacts": [{ "profile": { "name": "Bram" }, "wa_id": from }],
                "messages": [{ "from": from, "id": wamid, "timestamp": helpdesk::now().timestamp().to_string(),
                               "type": "text", "text": { "body": text } }]
            }}]}]
        })
        .to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(META_SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = format!(
            "sha256={}",
            helpdesk::auth::hex(&mac.finalize().into_bytes())
        );
        self.post(
            "/webhooks/whatsapp",
            &[
                ("Content-Type", "application/json"),
                ("X-Hub-Signature-256", &signature),
            ],
            body.as_bytes(),
        )
    }

    /// An inbound mail as an inbound-mail service posts it.
    fn mail(&self, from: &str, to: &str, id: &str, text: &str) -> http::Response {
        let date = helpdesk::now().to_rfc2822();
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: My order\r\nMessage-ID: <{id}>\r\nDate: {date}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        );
        let auth = format!("Bearer {MAIL_TOKEN}");
        self.post(
            "/webhooks/email",
            &[("Authorization", &auth)],
            raw.as_bytes(),
        )
    }

    /// Logs in over plain HTTP; the session cookie.
    fn login_cookie(&self, email: &str) -> String {
        let page = self.get("/login", &[]);
        let cookie = session_cookie(&page);
        let token = csrf_of(&page.text());
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", token.as_str()),
                ("email", email),
                ("password", PASSWORD),
            ])
            .finish();
        let done = self.post(
            "/login",
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form.as_bytes(),
        );
        assert_eq!(done.status, 303, "login: {}", done.text());
        session_cookie(&done)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

fn session_cookie(r: &http::Response) -> String {
    let set = r.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_string()
}

fn csrf_of(html: &str) -> String {
    let at =
        html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_string()
}

fn screenshot(browser: &Browser, name: &str) {
    let png = browser.screenshot_png();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    let dir = match std::env::var("THROUGHLINE_SCREENSHOTS").as_deref() {
        Ok("docs") => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"),
        _ => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// The texts of the elements matching `css`, read in one script: the page's live updates
/// replace its elements at any time, so element references may go stale between calls.
fn texts(browser: &Browser, css: &str) -> Vec<String> {
    let got = browser.execute(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim());",
        vec![serde_json::json!(css)],
    );
    serde_json::from_value(got).unwrap_or_default()
}

/// The value of `attr` on each element matching `css`, read in one script.
fn attrs(browser: &Browser, css: &str, attr: &str) -> Vec<String> {
    let got = browser.execute(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getAttribute(arguments[1]) || '');",
        vec![serde_json::json!(css), serde_json::json!(attr)],
    );
    serde_json::from_value(got).unwrap_or_default()
}

/// The text of the first element matching `css` ("" when there is none).
fn text(browser: &Browser, css: &str) -> String {
    texts(browser, css).into_iter().next().unwrap_or_default()
}

fn browser_or_skip() -> Option<Browser> {
    if Browser::available() {
        return Some(Browser::start());
    }
    if std::env::var("CI").is_ok() {
        panic!("chromium and chromedriver are required: .ci/run installs them");
    }
    eprintln!("notice: chromium or chromedriver missing; the browser test is skipped");
    None
}

#[test]
fn an_agent_answers_a_customer_who_moved_from_sms_to_whatsapp_in_the_browser() {
    let Some(browser) = browser_or_skip() else {
        return;
    };
    let server = Server::start();

    // Ana writes on the web chat widget with her e-mail address, then by e-mail.
    browser.goto(&server.url("/widget"));
    browser.find("#email").send_keys("ana@example.com");
    browser
        .find("#text")
        .send_keys("Hello, where is my order 1042?");
    browser.find("#send button").click();
    browser.wait_until(
        |b| texts(b, "#log li").len() == 1,
        WAIT,
        "the chat message shown",
    );
    let r = server.mail(
        "Ana <ana@example.com>",
        "support@demo.example",
        "ana-1@example.com",
        "Any news?",
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Bram writes by SMS, then on WhatsApp from the same number.
    let r = server.sms(
        "SM0123456789abcdef0123456789abcdef",
        "+31612345678",
        "My parcel is late",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // WhatsApp dates a message in whole seconds: the customer switches a moment later.
    std::thread::sleep(Duration::from_millis(1100));
    let r = server.whatsapp(
        "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTRBNjU5OUFGRjk3MkIzN0U0OQA=",
        "31612345678",
        "Sending the photo here",
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // A forged SMS is refused and stored nowhere; a redelivered WhatsApp webhook is one message.
    let forged = server.sms(
        "SM0123456789abcdef0123456789abcdee",
        "+31612345678",
        "forged",
        Some("bm9wZQ=="),
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    let again = server.whatsapp(
        "wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTRBNjU5OUFGRjk3MkIzN0U0OQA=",
        "31612345678",
        "Sending the photo here",
    );
    assert_eq!(again.status, 200, "{}", again.text());
    assert!(again.text().contains("1 duplicate"), "{}", again.text());
    let malformed = server.post(
        "/webhooks/whatsapp",
        &[("X-Hub-Signature-256", "sha256=00")],
        b"{}",
    );
    assert_eq!(malformed.status, 403);

    // The agent logs in and sees both conversations unassigned.
    browser.goto(&server.url("/login"));
    browser
        .find("input[name=email]")
        .send_keys("agent@demo.example");
    browser.find("input[name=password]").send_keys(PASSWORD);
    browser.find("#login button").click();
    browser.wait_for("#view-unassigned", WAIT);
    let rows = texts(&browser, "#conversations li.conversation");
    assert_eq!(rows.len(), 2, "two conversations unassigned: {rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.contains("ana@example.com") && r.contains("webchat") && r.contains("email")),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("+31612345678") && r.contains("sms") && r.contains("whatsapp")),
        "{rows:?}"
    );
    assert!(!rows.iter().any(|r| r.contains("forged")));
    assert_eq!(text(&browser, "#view-unassigned .count"), "2");
    screenshot(&browser, "inbox.png");

    // A new SMS appears in the open inbox by itself (server-sent events).
    let r = server.sms(
        "SM0123456789abcdef0123456789abcd01",
        "+31687654321",
        "Is the shop open on Sunday?",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    browser.wait_until(
        |b| texts(b, "#conversations li.conversation").len() == 3,
        WAIT,
        "the live update of the inbox",
    );

    // She opens Bram's: SMS then WhatsApp, in order, one message each.
    let rows = texts(&browser, "#conversations li.conversation");
    let links = attrs(&browser, "#conversations li.conversation a", "href");
    let bram = rows
        .iter()
        .position(|r| r.contains("+31612345678"))
        .expect("Bram's conversation");
    browser.goto(&server.url(&links[bram]));
    browser.wait_for("#timeline", WAIT);
    let channels = attrs(&browser, "#timeline li.message.inbound", "data-channel");
    assert_eq!(
        channels,
        ["sms", "whatsapp"],
        "both channels in order, the redelivery not twice"
    );
    assert!(text(&browser, "#timeline").contains("Switched from sms to whatsapp"));
    let conversation_url = browser.current_url();

    // Assigns it to herself and replies: the reply goes out on WhatsApp, the last channel.
    browser.find("#assign-me button").click();
    browser.wait_until(
        |b| text(b, "#assignee") == "Ada Agent",
        WAIT,
        "the assignment",
    );
    browser
        .find("#reply textarea")
        .send_keys("Thanks Bram, a new parcel ships today.");
    browser.find("#reply button").click();
    browser.wait_until(
        |b| {
            texts(b, "#timeline li.message.outbound")
                .iter()
                .any(|t| t.contains("a new parcel ships today"))
        },
        WAIT,
        "the reply in the timeline",
    );
    assert_eq!(
        attrs(&browser, "#timeline li.message.outbound", "data-channel"),
        ["whatsapp"]
    );
    assert!(text(&browser, "#timeline").contains("Assigned to Ada Agent by Ada Agent"));
    screenshot(&browser, "conversation.png");

    // The Outbox shows the exact WhatsApp Cloud API request the reply produced.
    browser.goto(&server.url("/outbox"));
    let row = "#outbox tr.request[data-channel=whatsapp]";
    browser.wait_for(row, WAIT);
    assert_eq!(text(&browser, &format!("{row} .method")), "POST");
    let url = text(&browser, &format!("{row} .url"));
    assert!(
        url.contains("graph.facebook.com") && url.contains("/109876543210/messages"),
        "{url}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&text(&browser, &format!("{row} pre.body"))).unwrap();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], "31612345678");
    assert_eq!(
        body["text"]["body"],
        "Thanks Bram, a new parcel ships today."
    );

    // A form without its CSRF token is refused, and nothing is added.
    browser.goto(&conversation_url);
    browser.wait_for("#note", WAIT);
    browser.execute(
        "document.querySelector('#note input[name=csrf]').remove();",
        vec![],
    );
    browser
        .find("#note textarea")
        .send_keys("this note must not be stored");
    browser.find("#note button").click();
    browser.wait_until(
        |b| b.source().contains("CSRF token is missing or wrong"),
        WAIT,
        "the refusal",
    );
    browser.goto(&conversation_url);
    browser.wait_for("#timeline", WAIT);
    assert!(!text(&browser, "#timeline").contains("must not be stored"));

    // Another tenant's conversation is a 404, in the browser and over HTTP.
    let r = server.mail(
        "Olga <olga@example.com>",
        "support@other.example",
        "olga-1@example.com",
        "Hello other company",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let other: TenantId = fixed(OTHER_TENANT);
    let app = server.running.as_ref().unwrap().app.clone();
    let theirs = server
        .rt
        .block_on(
            app.desk
                .call(move |d| d.inbox(other, &InboxView::Unassigned, None, 10)),
        )
        .unwrap()
        .unwrap()
        .conversations[0]
        .id;
    browser.goto(&server.url(&format!("/conversations/{theirs}")));
    assert!(browser.source().contains("not found"));
    let cookie = server.login_cookie("agent@demo.example");
    let r = server.get(&format!("/conversations/{theirs}"), &[("Cookie", &cookie)]);
    assert_eq!(r.status, 404);
    let mine = server.get(
        &format!("/conversations/{theirs}"),
        &[("Cookie", &server.login_cookie("agent@other.example"))],
    );
    assert_eq!(mine.status, 200, "its own agent sees it");
}

#[test]
fn pages_need_a_login_and_the_session_cookie_is_http_only_and_strict() {
    let server = Server::start();
    let r = server.get("/inbox", &[]);
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let page = server.get("/login", &[]);
    let set = page.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    // A wrong password is refused without a session.
    let token = csrf_of(&page.text());
    let form = format!("csrf={token}&email=agent%40demo.example&password=wrong");
    let r = server.post(
        "/login",
        &[
            ("Cookie", &session_cookie(&page)),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    assert_eq!(r.status, 401);
    assert!(r.text().contains("Wrong e-mail or password"));
    // A login form without the session's token is refused.
    let form = "csrf=0000&email=agent%40demo.example&password=x";
    let r = server.post(
        "/login",
        &[
            ("Cookie", &session_cookie(&page)),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    assert_eq!(r.status, 403);
    // An agent is not a supervisor.
    let cookie = server.login_cookie("agent@demo.example");
    assert_eq!(server.get("/reports", &[("Cookie", &cookie)]).status, 403);
    let lead = server.login_cookie("lead@demo.example");
    let reports = server.get("/reports", &[("Cookie", &lead)]);
    assert_eq!(reports.status, 200);
    assert!(reports.text().contains("chart-channels") || reports.text().contains("No data yet"));
}

#[test]
fn a_supervisor_changes_business_hours_and_sla_targets_through_the_settings_api() {
    let server = Server::start();
    let lead = server.login_cookie("lead@demo.example");
    let page = server.get("/settings", &[("Cookie", &lead)]);
    assert!(
        page.text().contains("Version 1 by demo"),
        "the demo's triage catalogue"
    );
    let token = csrf_of(&page.text());
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", token.as_str()),
            ("zone", "Europe/Amsterdam"),
            ("opens", "08:30"),
            ("closes", "17:30"),
            ("live_minutes", "10"),
            ("email_hours", "4"),
        ])
        .finish();
    let form_headers = [
        ("Cookie", lead.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let r = server.post("/settings", &form_headers, form.as_bytes());
    assert_eq!(r.status, 303, "{}", r.text());
    let page = server.get("/settings", &[("Cookie", &lead)]).text();
    assert!(page.contains("Version 2 by lead@demo.example"), "{page}");
    let app = server.running.as_ref().unwrap().app.clone();
    let demo: TenantId = fixed(helpdesk::directory::DEMO_TENANT);
    let stored = server
        .rt
        .block_on(app.desk.call(move |d| d.tenant_settings(demo)))
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        stored.settings.triage.is_some(),
        "the rest of the settings is kept"
    );
    let sla = stored.settings.sla.expect("SLA policies stored");
    assert_eq!(
        sla.calendar_named("business")
            .map(|c| c.zone().to_string())
            .as_deref(),
        Some("Europe/Amsterdam")
    );
    // A bad time zone is refused whole: nothing changes.
    let bad = form.replace("Europe%2FAmsterdam", "Mars%2FOlympus");
    let r = server.post("/settings", &form_headers, bad.as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    let page = server.get("/settings", &[("Cookie", &lead)]).text();
    assert!(page.contains("Version 2 by"), "{page}");
}

#[test]
fn the_bot_collects_an_order_number_on_the_chat_and_the_agent_sees_the_hand_over() {
    let server = Server::start();
    let chat = |text: &str, id: &str| {
        let body = serde_json::json!({ "visitor": "v-77", "text": text, "id": id }).to_string();
        let r = server.post(
            "/chat",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    chat("Hi, I need a return label for my shoes", "v-77-1");
    // The bot asks on the chat (the widget polls its replies).
    let replies = server.get("/chat/replies?visitor=v-77", &[]).text();
    assert!(replies.contains("What is your order number?"), "{replies}");
    chat("It is order 104233", "v-77-2");
    // The agent finds it unassigned, with what the bot collected.
    let cookie = server.login_cookie("agent@demo.example");
    let inbox = server.get("/inbox", &[("Cookie", &cookie)]).text();
    let at = inbox.find("/conversations/").expect("a conversation link");
    let link: String = inbox[at..].chars().take_while(|c| *c != '"').collect();
    let page = server.get(&link, &[("Cookie", &cookie)]).text();
    assert!(page.contains(r#"id="triage""#), "the bot panel");
    assert!(
        page.contains("Intent return_label, handed to a human"),
        "{page}"
    );
    assert!(page.contains("<li>order: 104233</li>"), "{page}");
}
