//! What the desk's effects become: sends go to their channel's transport (then
//! `mark_sent`, or `mark_failed` for the retry schedule), routing explanations are kept
//! for the conversation page, and every change is announced to the live pages.

use throughline::hosting::DeskHandle;
use throughline::routing::{Agent, Presence, RoutingConfig};
use throughline::settings::TenantSettings;
use throughline::triage::{Accept, Intent, IntentCatalogue, Value};
use throughline::{AgentId, ConversationId, DeskConfig, Effect, TenantId};

use super::app::{AnyStore, App};
use super::directory::Directory;
use super::live::Live;

/// The desk's configuration: the defaults (SLA in calendar time, the reopen window, the
/// identity rules) with routing on; each tenant's settings page changes its own.
pub fn desk_config() -> DeskConfig {
    DeskConfig::default().routing(RoutingConfig::default())
}

/// The demo company's triage: a return label is automated (the bot asks for the order
/// number, then hands over with it), so the conversation page has a bot hand-over to show.
fn demo_catalogue() -> throughline::Result<IntentCatalogue> {
    IntentCatalogue::new().with(
        Intent::new("return_label", Value::Low, Value::High)
            .cost(6.0)
            .phrases("en", &["return label"])
            .phrases("nl", &["retourlabel"])
            .field(
                "order",
                "What is your order number?",
                Accept::Digits { min: 4, max: 12 },
            ),
    )
}

/// Makes the demo users routing agents, once: an agent starts away, so that new work
/// waits in the queue until she goes online (the inbox's "Go online"). The demo company
/// gets its triage catalogue, once.
pub async fn set_up_demo(desk: &DeskHandle<AnyStore>, dir: &Directory) -> Result<(), String> {
    let demo = dir.chat_tenant().map(|t| t.id);
    desk.call(move |d| -> throughline::Result<()> {
        let Some(t) = demo else { return Ok(()) };
        if d.tenant_settings(t)?.is_none() {
            let mut settings = TenantSettings::default();
            settings.triage = Some(demo_catalogue()?);
            d.set_tenant_settings(t, settings, "demo", super::now())?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("cannot set up the demo triage: {e}"))?;
    for tenant in dir.tenants() {
        let users: Vec<(AgentId, String)> = dir
            .users_of(tenant.id)
            .map(|u| (u.id, u.name.clone()))
            .collect();
        let t = tenant.id;
        desk.call(move |d| -> throughline::Result<()> {
            let state = d.routing_state(t)?;
            for (id, name) in users {
                if state.agent(id).is_none() {
                    let mut agent = Agent::new(id, t, name);
                    agent.capacity = 5;
                    agent.presence = Presence::Away;
                    d.upsert_agent(agent, super::now())?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot set up the demo agents: {e}"))?;
    }
    Ok(())
}

/// Hands the effects of one operation on: sends to the transports, explanations to the
/// conversation pages, a live event per conversation touched. `tenant` is the
/// operation's tenant when it had one (a tick's effects name their own).
pub async fn handle(app: &App, tenant: Option<TenantId>, effects: Vec<Effect>) {
    let mut touched: Vec<(TenantId, ConversationId)> = Vec::new();
    for effect in effects {
        if let Some(c) = conversation_of(&effect) {
            if !touched.contains(&c) {
                touched.push(c);
            }
        }
        match effect {
            Effect::Send(out) => send(app, out).await,
            Effect::Assigned {
                conversation,
                explanation,
                ..
            }
            | Effect::Queued {
                conversation,
                explanation,
                ..
            } => {
                if let Ok(mut map) = app.explanations.lock() {
                    map.insert(conversation, explanation);
                }
            }
            Effect::DeliveryFailed { reason, .. } => {
                eprintln!("helpdesk: a send failed for good: {reason}");
            }
            _ => {}
        }
    }
    for (t, c) in touched {
        let _ = app.live.send(Live {
            tenant: t,
            conversation: Some(c),
        });
    }
    if let Some(t) = tenant {
        let _ = app.live.send(Live {
            tenant: t,
            conversation: None,
        });
    }
}

/// One send: the channel's transport records the provider request; the desk learns the
/// provider's id, or that it failed (it is retried on the desk's schedule).
async fn send(app: &App, out: throughline::Outbound) {
    let (tenant, message) = (out.tenant, out.message);
    let result = app.outbox.send(app, &out);
    let now = super::now();
    let marked = match result {
        Ok(provider_id) => {
            app.desk
                .call(move |d| {
                    d.mark_sent(tenant, message, Some(&provider_id), now)
                        .map(|()| Vec::new())
                })
                .await
        }
        Err(reason) => {
            eprintln!("helpdesk: cannot send {message}: {reason}");
            app.desk
                .call(move |d| d.mark_failed(tenant, message, reason, now))
                .await
        }
    };
    if let Ok(Err(e)) | Err(e) = marked.map(|r| r.map(|_| ())) {
        eprintln!("helpdesk: cannot record the send of {message}: {e}");
    }
}

fn conversation_of(effect: &Effect) -> Option<(TenantId, ConversationId)> {
    Some(match effect {
        Effect::Send(out) => (out.tenant, out.conversation),
        Effect::DeliveryFailed {
            tenant,
            conversation,
            ..
        }
        | Effect::ConversationOpened {
            tenant,
            conversation,
            ..
        }
        | Effect::ConversationReopened {
            tenant,
            conversation,
        }
        | Effect::ChannelSwitched {
            tenant,
            conversation,
            ..
        }
        | Effect::StatusChanged {
            tenant,
            conversation,
            ..
        }
        | Effect::SlaWarning {
            tenant,
            conversation,
            ..
        }
        | Effect::SlaBreached {
            tenant,
            conversation,
            ..
        }
        | Effect::Triaged {
            tenant,
            conversation,
            ..
        }
        | Effect::HandedOver {
            tenant,
            conversation,
            ..
        }
        | Effect::Assigned {
            tenant,
            conversation,
            ..
        }
        | Effect::Queued {
            tenant,
            conversation,
            ..
        }
        | Effect::Escalated {
            tenant,
            conversation,
            ..
        } => (*tenant, *conversation),
        _ => return None,
    })
}
