//! The server: the desk on its own thread (`hosting::DeskHandle`), the routes, and the
//! ticker that wakes the desk when something falls due.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;
use throughline::hosting::DeskHandle;
use throughline::store::{SqliteStore, Store};
use throughline::{ConversationId, Desk, Preparer, TenantId};
use tokio::sync::{broadcast, oneshot};

use super::auth::Keys;
use super::config::Config;
use super::directory::{self, Directory};
use super::live::Live;
use super::transports::Outbox;
use super::{conversation, effects, live, pages, reports, webhooks};

/// The store behind the desk: SQLite or PostgreSQL, chosen at start.
pub type AnyStore = Box<dyn Store>;

/// What every handler shares (cheap to clone).
#[derive(Clone)]
pub struct App(Arc<Inner>);

/// The shared parts.
pub struct Inner {
    /// The desk, on its thread.
    pub desk: DeskHandle<AnyStore>,
    /// Message checks and language detection, run in the handlers.
    pub preparer: Preparer,
    /// The flags.
    pub config: Config,
    /// Tenants and users.
    pub directory: Directory,
    /// Session and CSRF keys.
    pub keys: Keys,
    /// The outbound transports' record.
    pub outbox: Outbox,
    /// Live updates for the pages.
    pub live: broadcast::Sender<Live>,
    /// The last routing explanation of each conversation this instance routed.
    pub explanations: Mutex<HashMap<ConversationId, String>>,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Lines to print at start (how to log in).
    pub banner: Vec<String>,
    /// Its state, for tests.
    pub app: App,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops serving and shuts the desk down.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        // Open event streams (the pages' live updates) never end by themselves: give the
        // other requests a few seconds to finish, then close what is left.
        let abort = self.served.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(3), self.served)
            .await
            .is_err()
        {
            abort.abort();
        }
        let _ = self.app.desk.clone().shutdown().await;
    }
}

/// Opens the store, sets the demo up when asked, and serves.
pub async fn start(config: Config) -> Result<Running, String> {
    let store_config = (config.db.clone(), config.postgres.clone());
    let desk = DeskHandle::start(move || open(store_config))
        .await
        .map_err(|e| e.to_string())?;
    let preparer = desk
        .call(|d| d.preparer())
        .await
        .map_err(|e| e.to_string())?;
    let mut banner = Vec::new();
    let directory = match (&config.demo, &config.demo_password) {
        (true, Some(password)) => {
            let dir = directory::demo(password)?;
            effects::set_up_demo(&desk, &dir).await?;
            banner.push(format!(
                "demo: log in at {}/login as agent@demo.example or lead@demo.example \
                 (supervisor) with the --demo-password; the widget is at {}/widget",
                config.public_url, config.public_url
            ));
            dir
        }
        _ => Directory::default(),
    };
    let keys = Keys::new(
        config.session_secret.as_deref(),
        config.public_url.starts_with("https://"),
    );
    let (live, _) = broadcast::channel(256);
    let app = App(Arc::new(Inner {
        desk,
        preparer,
        config: config.clone(),
        directory,
        keys,
        outbox: Outbox::default(),
        live,
        explanations: Mutex::new(HashMap::new()),
    }));
    tokio::spawn(ticker(app.clone()));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = routes(app.clone());
    let served = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Running {
        addr,
        banner,
        app,
        stop,
        served,
    })
}

fn open((db, postgres): (String, Option<String>)) -> throughline::Result<Desk<AnyStore>> {
    let store: AnyStore =
        match postgres {
            #[cfg(feature = "postgres")]
            Some(url) => Box::new(throughline::store::PostgresStore::connect(&url)?),
            #[cfg(not(feature = "postgres"))]
            Some(_) => return Err(throughline::Error::Config(
                "--postgres needs the postgres feature: cargo run --release --example helpdesk \
                 --features postgres -- --postgres URL"
                    .into(),
            )),
            None => Box::new(SqliteStore::open(&db)?),
        };
    Desk::try_new(store, effects::desk_config())
}

/// Every route.
fn routes(app: App) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/inbox", get(pages::inbox))
        .route("/conversations/{id}", get(conversation::conversation))
        .route("/conversations/{id}/{action}", post(conversation::act))
        .route("/merge/{action}", post(conversation::merge))
        .route("/presence", post(pages::presence))
        .route("/outbox", get(pages::outbox))
        .route("/reports", get(reports::reports))
        .route(
            "/settings",
            get(reports::settings_page).post(reports::save_settings),
        )
        .route("/events", get(live::events))
        .route("/assets/{file}", get(pages::asset))
        .route("/widget", get(pages::widget))
        .route("/chat", post(webhooks::chat))
        .route("/chat/replies", get(webhooks::chat_replies))
        .route("/webhooks/twilio", post(webhooks::twilio))
        .route(
            "/webhooks/whatsapp",
            get(webhooks::whatsapp_handshake).post(webhooks::whatsapp),
        )
        .route("/webhooks/email", post(webhooks::email))
        .layer(axum::extract::DefaultBodyLimit::max(
            throughline::channels::email::MAX_MAIL_BYTES,
        ))
        .with_state(app)
}

/// Sleeps until the desk's next wakeup and ticks: SLA warnings and breaches, routing
/// escalations and shift starts, retries of failed sends.
async fn ticker(app: App) {
    let desk = app.desk.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tick = desk.run_ticks(super::now, move |outcome| {
        let _ = tx.send(outcome);
    });
    let handle = async move {
        while let Some(outcome) = rx.recv().await {
            match outcome {
                Ok(effects) => effects::handle(&app, None, effects).await,
                Err(e) => eprintln!("helpdesk: tick failed: {e}"),
            }
        }
    };
    tokio::join!(tick, handle);
}

impl App {
    /// The tenant `id` if this host serves it.
    pub fn tenant(&self, id: TenantId) -> Option<&directory::Tenant> {
        self.directory.tenant(id)
    }
}
