//! Live updates: `GET /events` is a server-sent event stream of the logged-in agent's
//! tenant. Each event names the conversation that changed (`conversation` events) or
//! just says the tenant's views moved (`inbox` events); the page's script reloads the
//! part it shows. Another tenant's changes never reach the stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use throughline::{ConversationId, TenantId};
use tokio::sync::broadcast::error::RecvError;

use super::app::App;
use super::auth::Current;

/// Something changed in a tenant.
#[derive(Clone, Debug)]
pub struct Live {
    /// Whose.
    pub tenant: TenantId,
    /// The conversation, when one changed.
    pub conversation: Option<ConversationId>,
}

/// `GET /events`.
pub async fn events(
    State(app): State<App>,
    me: Current,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let tenant = me.user.tenant;
    let rx = app.live.subscribe();
    let stream = stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(live) if live.tenant == tenant => {
                    let event = match live.conversation {
                        Some(c) => Event::default().event("conversation").data(c.to_string()),
                        None => Event::default().event("inbox").data("changed"),
                    };
                    return Some((Ok(event), rx));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    return Some((Ok(Event::default().event("inbox").data("lagged")), rx));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
