//! The conversation page: the unified timeline across channels, the customer panel, the
//! routing explanation and the agent's actions (reply, note, status, priority, assign,
//! transfer, unassign, merge suggestions). Another tenant's conversation is a 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{DateTime, Utc};
use throughline::conversation::Transfer;
use throughline::knowledge::{Activity, ActivityKind};
use throughline::message::Direction;
use throughline::sla::SlaClocks;
use throughline::triage::TriageOutcome;
use throughline::{
    AgentId, Channel, Conversation, ConversationId, CustomerView, Delivery, MergeSuggestion,
    Message, Priority, ReplyOptions, Status, TenantId,
};

use super::app::App;
use super::auth::Current;
use super::html::{csrf, esc, page, relative, when};
use super::pages::{desk_fail, fail, tenant_name, Fields};

/// Everything the page shows, read in one call on the desk thread.
struct View {
    conversation: Conversation,
    messages: Vec<Message>,
    customer: CustomerView,
    activity: Vec<Activity>,
    suggestions: Vec<MergeSuggestion>,
    triage: Option<TriageOutcome>,
    sla: Option<SlaClocks>,
    waiting_in: Option<(String, DateTime<Utc>)>,
    agents: Vec<(AgentId, String, u32, u32)>,
    label: Option<String>,
}

fn read(
    d: &mut throughline::Desk<super::app::AnyStore>,
    tenant: TenantId,
    id: ConversationId,
) -> throughline::Result<View> {
    let now = super::now();
    let conversation = d.conversation((tenant, id))?;
    // The newest 500: a long history is not read whole.
    let messages = d.recent_messages((tenant, id), 500)?;
    let customer = d.customer_view(tenant, conversation.customer, now)?;
    let activity = d.self_service_context((tenant, id))?;
    let mine = |s: &MergeSuggestion| {
        s.primary == conversation.customer || s.other == conversation.customer
    };
    let suggestions = d
        .merge_suggestions(tenant)?
        .into_iter()
        .filter(mine)
        .collect();
    let triage = d.triage_of((tenant, id))?;
    let sla = d.sla_clocks((tenant, id))?;
    let state = d.routing_state(tenant)?;
    let waiting_in = state
        .held(id)
        .filter(|w| w.agent.is_none())
        .map(|w| (w.item.requirements.queue.clone(), w.item.enqueued_at));
    let agents = state
        .agents
        .iter()
        .map(|a| (a.agent.id, a.agent.name.clone(), a.load, a.agent.capacity))
        .collect();
    let label = super::pages::label(d, tenant, conversation.customer);
    Ok(View {
        label,
        conversation,
        messages,
        customer,
        activity,
        suggestions,
        triage,
        sla,
        waiting_in,
        agents,
    })
}

/// `GET /conversations/{id}`.
pub async fn conversation(State(app): State<App>, me: Current, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<ConversationId>() else {
        return fail(StatusCode::NOT_FOUND, "not found");
    };
    let tenant = me.user.tenant;
    let view = match app.desk.call(move |d| read(d, tenant, id)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) | Err(e) => return desk_fail(e),
    };
    let explanation = app
        .explanations
        .lock()
        .ok()
        .and_then(|m| m.get(&id).cloned());
    let body = render(&me, &view, explanation.as_deref());
    let title = view.label.clone().unwrap_or_else(|| "Conversation".into());
    page(
        &me,
        &tenant_name(&app, tenant),
        &title,
        &id.to_string(),
        &body,
    )
    .into_response()
}

fn render(me: &Current, v: &View, explanation: Option<&str>) -> String {
    let c = &v.conversation;
    let now = super::now();
    format!(
        r#"<div class="conversation-page" id="conversation" data-id="{id}">
<section class="thread"><h1>{subject}</h1>
<p class="meta"><span id="status" class="status">{status}</span> · priority <span id="priority">{priority:?}</span> · {assignee} · channels {channels}</p>
<ol id="timeline">{timeline}</ol>
{actions}</section>
<aside>{customer}{routing}{sla}{triage}{activity}{suggestions}</aside></div>"#,
        id = c.id,
        subject = esc(c.subject.as_deref().unwrap_or("Conversation")),
        status = c.status,
        priority = c.priority,
        assignee = match c.assignee {
            Some(a) => format!(
                r#"assigned to <span id="assignee">{}</span>"#,
                esc(&agent_name(v, a))
            ),
            None => r#"<span id="assignee">unassigned</span>"#.to_string(),
        },
        channels = esc(&c
            .channels
            .iter()
            .map(|ch| ch.to_string())
            .collect::<Vec<_>>()
            .join(", ")),
        timeline = timeline(v, now),
        actions = actions(me, v),
        customer = customer_panel(v, now),
        routing = routing_panel(v, explanation, now),
        sla = sla_panel(v, now),
        triage = triage_panel(v),
        activity = activity_panel(v),
        suggestions = suggestions_panel(me, v),
    )
}

fn agent_name(v: &View, id: AgentId) -> String {
    v.agents
        .iter()
        .find(|a| a.0 == id)
        .map_or_else(|| id.to_string(), |a| a.1.clone())
}

fn timeline(v: &View, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut last_customer_channel: Option<&Channel> = None;
    for m in &v.messages {
        if m.direction == Direction::Inbound {
            if let Some(prev) = last_customer_channel.filter(|p| **p != m.channel) {
                out += &format!(
                    r#"<li class="switch">Switched from {} to {}</li>"#,
                    esc(&prev.to_string()),
                    esc(&m.channel.to_string())
                );
            }
            last_customer_channel = Some(&m.channel);
        }
        let (class, who) = match m.direction {
            Direction::Inbound => ("inbound", "Customer".to_string()),
            Direction::Outbound => ("outbound", author(v, &m.author)),
            Direction::Note => ("note", format!("Note by {}", author(v, &m.author))),
            _ => ("event", String::new()),
        };
        let text = match (&m.direction, &m.event) {
            (Direction::Event, Some(e)) => event_text(v, e),
            _ => m.body.clone(),
        };
        let delivery = m.delivery.as_ref().map_or(String::new(), |d| {
            format!(r#" <span class="delivery">{}</span>"#, esc(&delivery(d)))
        });
        out += &format!(
            r#"<li class="message {class}" data-channel="{channel}"><span class="who">{who}</span> <span class="channel">{channel}</span> <time title="{at}">{ago}</time>{delivery}<div class="body">{text}</div></li>"#,
            channel = esc(&m.channel.to_string()),
            who = esc(&who),
            at = when(m.received_at),
            ago = relative(m.received_at, now),
            text = esc(&text),
        );
    }
    out
}

fn author(v: &View, a: &throughline::Author) -> String {
    match a {
        throughline::Author::Agent(id) => agent_name(v, *id),
        throughline::Author::Bot(_) => "Bot".into(),
        throughline::Author::Customer(_) => "Customer".into(),
        _ => "System".into(),
    }
}

fn event_text(v: &View, e: &throughline::conversation::ConversationEvent) -> String {
    let mut text = e.text();
    for (id, name, ..) in &v.agents {
        text = text.replace(&id.to_string(), name);
    }
    text
}

fn delivery(d: &Delivery) -> String {
    match d {
        Delivery::Pending => "pending".into(),
        Delivery::Sent { .. } => "sent".into(),
        Delivery::Delivered { .. } => "delivered".into(),
        Delivery::Read { .. } => "read".into(),
        Delivery::Retrying {
            failures, reason, ..
        } => format!("retrying after {failures} failures: {reason}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn actions(me: &Current, v: &View) -> String {
    let c = &v.conversation;
    let token = csrf(me);
    let base = format!("/conversations/{}", c.id);
    let channel_options: String =
        std::iter::once(r#"<option value="">the customer's last channel</option>"#.to_string())
            .chain(
                c.channels
                    .iter()
                    .map(|ch| format!(r#"<option value="{0}">{0}</option>"#, esc(&ch.to_string()))),
            )
            .collect();
    let statuses: String = [
        Status::Open,
        Status::Pending,
        Status::OnHold,
        Status::Solved,
    ]
    .iter()
    .map(|s| {
        format!(
            r#"<option value="{s}"{sel}>{s}</option>"#,
            sel = if *s == c.status { " selected" } else { "" }
        )
    })
    .collect();
    let priorities: String = Priority::ALL
        .iter()
        .map(|p| {
            format!(
                r#"<option value="{p:?}"{sel}>{p:?}</option>"#,
                sel = if *p == c.priority { " selected" } else { "" }
            )
        })
        .collect();
    let agents: String = v
        .agents
        .iter()
        .map(|(id, name, load, cap)| {
            format!(
                r#"<option value="{id}">{} ({load}/{cap})</option>"#,
                esc(name)
            )
        })
        .collect();
    let assign_me = if c.assignee == Some(me.user.id) {
        format!(
            r#"<form method="post" action="{base}/unassign" id="unassign" class="inline">{token}<button>Unassign</button></form>"#
        )
    } else {
        format!(
            r#"<form method="post" action="{base}/assign" id="assign-me" class="inline">{token}<input type="hidden" name="agent" value="{}"><button>Assign to me</button></form>"#,
            me.user.id
        )
    };
    format!(
        r#"<form method="post" action="{base}/reply" id="reply">{token}<textarea name="body" rows="3" placeholder="Reply to the customer" required></textarea>
<label>on <select name="channel">{channel_options}</select></label> <button>Send reply</button></form>
<form method="post" action="{base}/note" id="note">{token}<textarea name="body" rows="2" placeholder="Internal note" required></textarea><button>Add note</button></form>
<div class="row">{assign_me}
<form method="post" action="{base}/transfer" id="transfer" class="inline">{token}<select name="to">{agents}<option value="queue:default">the queue</option></select><input name="note" placeholder="note for the next agent"><button>Transfer</button></form>
<form method="post" action="{base}/status" id="set-status" class="inline">{token}<select name="status">{statuses}</select><button>Set status</button></form>
<form method="post" action="{base}/priority" id="set-priority" class="inline">{token}<select name="priority">{priorities}</select><button>Set priority</button></form></div>"#
    )
}

fn customer_panel(v: &View, _now: DateTime<Utc>) -> String {
    let cv = &v.customer;
    let ids: String = cv
        .identifiers
        .iter()
        .map(|r| {
            format!(
                r#"<li class="identifier">{kind}: {value}{verified}</li>"#,
                kind = esc(&r.identifier.kind().name()),
                value = esc(r.identifier.value()),
                verified = if r.verified { " ✓" } else { "" }
            )
        })
        .collect();
    let recent: String = cv
        .recent
        .iter()
        .map(|r| format!(r#"<li class="recent">{}</li>"#, esc(&r.summary)))
        .collect();
    let others = cv.conversations.len().saturating_sub(1);
    format!(
        r#"<section id="customer"><h2>{name}</h2><ul class="identifiers">{ids}</ul><ul class="recent-contacts">{recent}</ul><p>{others} other conversation(s)</p></section>"#,
        name = esc(v.label.as_deref().unwrap_or("Customer")),
    )
}

fn routing_panel(v: &View, explanation: Option<&str>, now: DateTime<Utc>) -> String {
    let mut lines = Vec::new();
    if let Some((queue, since)) = &v.waiting_in {
        lines.push(format!(
            "Waiting in queue {} since {}.",
            esc(queue),
            relative(*since, now)
        ));
    }
    if let Some(e) = explanation {
        let mut e = e.to_string();
        for (id, name, ..) in &v.agents {
            e = e.replace(&id.to_string(), name);
        }
        lines.push(esc(&e));
    }
    if lines.is_empty() {
        lines.push("Routing has nothing on record for it on this instance.".into());
    }
    format!(
        r#"<section id="routing"><h2>Routing</h2><p>{}</p></section>"#,
        lines.join("<br>")
    )
}

fn sla_panel(v: &View, now: DateTime<Utc>) -> String {
    let Some(s) = &v.sla else {
        return String::new();
    };
    let rows: String = s
        .clocks
        .iter()
        .map(|c| {
            let due = c.deadline.map_or("no deadline".to_string(), |d| {
                let class = if d <= now { "breached" } else { "due" };
                format!(
                    r#"<span class="{class}" data-due="{}">{}</span>"#,
                    d.to_rfc3339(),
                    relative(d, now)
                )
            });
            format!("<li>{:?}: {:?}, {due}</li>", c.metric, c.state)
        })
        .collect();
    format!(
        r#"<section id="sla"><h2>SLA</h2><p>Policy {}</p><ul>{rows}</ul></section>"#,
        esc(s.policy.as_deref().unwrap_or("none"))
    )
}

fn triage_panel(v: &View) -> String {
    let Some(t) = &v.triage else {
        return String::new();
    };
    let collected: String = t
        .collected
        .iter()
        .map(|(k, val)| format!("<li>{}: {}</li>", esc(k), esc(val)))
        .collect();
    format!(
        r#"<section id="triage"><h2>Bot and triage</h2><p>Intent {}, {}.</p><ul class="collected">{collected}</ul></section>"#,
        esc(t.intent.as_deref().unwrap_or("unknown")),
        if t.needs_human {
            "handed to a human"
        } else {
            "handled by self-service"
        },
    )
}

fn activity_panel(v: &View) -> String {
    if v.activity.is_empty() {
        return String::new();
    }
    let items: String = v
        .activity
        .iter()
        .map(|a| {
            let what = match &a.kind {
                ActivityKind::ArticleViewed { article, title } => {
                    format!("read “{}”", esc(title.as_deref().unwrap_or(article)))
                }
                ActivityKind::Searched { query } => format!("searched “{}”", esc(query)),
                ActivityKind::BotTurn { text, .. } => format!("told the bot “{}”", esc(text)),
                _ => "did something".into(),
            };
            format!("<li>{what}</li>")
        })
        .collect();
    format!(r#"<section id="self-service"><h2>Before writing</h2><ul>{items}</ul></section>"#)
}

fn suggestions_panel(me: &Current, v: &View) -> String {
    if v.suggestions.is_empty() {
        return String::new();
    }
    let token = csrf(me);
    let items: String = v
        .suggestions
        .iter()
        .map(|s| {
            let evidence: Vec<String> = s.evidence.iter().map(|i| esc(i.value())).collect();
            let hidden = format!(
                r#"{token}<input type="hidden" name="primary" value="{}"><input type="hidden" name="other" value="{}"><input type="hidden" name="back" value="{}">"#,
                s.primary, s.other, v.conversation.id
            );
            format!(
                r#"<li class="suggestion">Same person? Shares {}.
<form method="post" action="/merge/accept" class="inline">{hidden}<button>Merge</button></form>
<form method="post" action="/merge/dismiss" class="inline">{hidden}<button>Dismiss</button></form></li>"#,
                evidence.join(", ")
            )
        })
        .collect();
    format!(
        r#"<section id="merge-suggestions"><h2>Merge suggestions</h2><ul>{items}</ul></section>"#
    )
}

/// One operation to run on the desk thread.
type Op = Box<
    dyn FnOnce(
            &mut throughline::Desk<super::app::AnyStore>,
        ) -> throughline::Result<Vec<throughline::Effect>>
        + Send,
>;

/// `POST /conversations/{id}/{action}`.
pub async fn act(
    State(app): State<App>,
    me: Current,
    Path((id, action)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = me.check(&app, f.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let Ok(id) = id.parse::<ConversationId>() else {
        return fail(StatusCode::NOT_FOUND, "not found");
    };
    let (tenant, agent) = (me.user.tenant, me.user.id);
    let field = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let r = (tenant, id);
    let now = super::now();
    let op: Op = match action.as_str() {
        "reply" => {
            let mut options = ReplyOptions::new(agent, field("body"));
            if let Ok(ch) = field("channel").parse::<Channel>() {
                options = options.on(ch);
            }
            Box::new(move |d| d.reply_with(r, options, now))
        }
        "note" => {
            let body = field("body");
            Box::new(move |d| d.note(r, agent, body, now).map(|_| Vec::new()))
        }
        "status" => match field("status").parse::<Status>() {
            Ok(s) => Box::new(move |d| d.set_status_as(r, s, agent, now)),
            Err(e) => return fail(StatusCode::BAD_REQUEST, e),
        },
        "priority" => match Priority::ALL
            .into_iter()
            .find(|p| format!("{p:?}") == field("priority"))
        {
            Some(p) => Box::new(move |d| d.set_priority(r, p, agent, now).map(|()| Vec::new())),
            None => return fail(StatusCode::BAD_REQUEST, "unknown priority"),
        },
        "assign" => match field("agent").parse::<AgentId>() {
            Ok(to) => Box::new(move |d| d.assign(r, to, agent, now)),
            Err(e) => return fail(StatusCode::BAD_REQUEST, e),
        },
        "unassign" => Box::new(move |d| d.unassign(r, agent, now)),
        "transfer" => {
            let to = field("to");
            let to = match to.strip_prefix("queue:") {
                Some(q) => Transfer::Queue(q.to_string()),
                None => match to.parse::<AgentId>() {
                    Ok(a) => Transfer::Agent(a),
                    Err(e) => return fail(StatusCode::BAD_REQUEST, e),
                },
            };
            let note = field("note");
            Box::new(move |d| d.transfer(r, to, &note, agent, now))
        }
        _ => return fail(StatusCode::NOT_FOUND, "no such action"),
    };
    match app.desk.call(op).await {
        Ok(Ok(effects)) => {
            super::effects::handle(&app, Some(tenant), effects).await;
            Redirect::to(&format!("/conversations/{id}")).into_response()
        }
        Ok(Err(e)) | Err(e) => desk_fail(e),
    }
}

/// `POST /merge/{accept|dismiss}`: a merge suggestion of the customer panel.
pub async fn merge(
    State(app): State<App>,
    me: Current,
    Path(action): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = me.check(&app, f.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    let get = |k: &str| f.get(k).and_then(|v| v.parse().ok());
    let (Some(primary), Some(other)) = (get("primary"), get("other")) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "primary and other customer ids are required",
        );
    };
    let (tenant, agent, now) = (me.user.tenant, me.user.id, super::now());
    let done = match action.as_str() {
        "accept" => {
            app.desk
                .call(move |d| {
                    d.merge_customers_as(
                        tenant,
                        other,
                        primary,
                        "accepted suggestion",
                        Some(agent),
                        now,
                    )
                    .map(|_| ())
                })
                .await
        }
        "dismiss" => {
            app.desk
                .call(move |d| d.dismiss_suggestion(tenant, primary, other))
                .await
        }
        _ => return fail(StatusCode::NOT_FOUND, "no such action"),
    };
    match done {
        Ok(Ok(())) => {
            let back = f.get("back").cloned().unwrap_or_default();
            let back = back
                .parse::<ConversationId>()
                .map_or("/inbox".to_string(), |c| format!("/conversations/{c}"));
            Redirect::to(&back).into_response()
        }
        Ok(Err(e)) | Err(e) => desk_fail(e),
    }
}
