//! The reference helpdesk: a support app built on throughline, served by axum.
//!
//! ```text
//! cargo run --release --example helpdesk -- --demo --demo-password secret
//! ```
//!
//! Webhooks for Twilio SMS, the WhatsApp Cloud API, inbound e-mail and a web chat widget;
//! an agent inbox with login, live updates and the supervisor's reports and settings. The
//! outbound transports do not call the providers: they record the exact request on the
//! Outbox page. `docs/hosting.md` says what to copy and what to replace.

pub mod app;
pub mod auth;
pub mod config;
pub mod conversation;
pub mod directory;
pub mod effects;
pub mod html;
pub mod live;
pub mod pages;
pub mod reports;
pub mod transports;
pub mod webhooks;

/// The host's clock: the one place the helpdesk reads the time (the library reads none;
/// every operation takes `now`).
#[allow(clippy::disallowed_methods)]
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[tokio::main]
async fn main() {
    let config = match config::Config::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let running = match app::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("helpdesk: {e}");
            std::process::exit(1);
        }
    };
    println!("helpdesk: serving on http://{}", running.addr);
    for line in &running.banner {
        println!("{line}");
    }
    let _ = tokio::signal::ctrl_c().await;
    println!("helpdesk: stopping");
    running.stop().await;
}
