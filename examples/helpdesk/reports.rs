//! The supervisor's pages: the metrics report with its charts (inline SVG), the irritant
//! report, and the tenant's settings (business hours and SLA targets) edited through
//! `Desk::set_tenant_settings`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{TimeDelta, Weekday};
use throughline::metrics::{Durations, Filter};
use throughline::settings::TenantSettings;
use throughline::sla::{Basis, BusinessCalendar, Metric, SlaPolicies, SlaPolicy};
use throughline::Channel;

use super::app::App;
use super::auth::Current;
use super::html::{csrf, esc, page, when};
use super::pages::{desk_fail, fail, tenant_name, Fields};

/// `GET /reports`: the last 30 days.
pub async fn reports(State(app): State<App>, me: Current) -> Response {
    if let Err(r) = me.supervisor() {
        return r;
    }
    let tenant = me.user.tenant;
    let to = super::now() + TimeDelta::minutes(1);
    let from = to - TimeDelta::days(30);
    let got = app
        .desk
        .call(move |d| -> throughline::Result<_> {
            // Business-hours figures when the tenant set its hours on the settings page.
            let period = Filter::period(from, to);
            let report = d
                .report(tenant, &period.clone().business_hours("business"))
                .or_else(|_| d.report(tenant, &period))?;
            Ok((report, d.irritant_report(tenant, from, to)?))
        })
        .await;
    let (report, irritants) = match got {
        Ok(Ok(v)) => v,
        Ok(Err(e)) | Err(e) => return desk_fail(e),
    };
    let mix: Vec<(String, f64)> = report
        .channel_mix
        .iter()
        .map(|(k, v)| (k.clone(), *v as f64))
        .collect();
    let mut times = vec![
        (
            "first reply, median (min)".to_string(),
            minutes(&report.first_reply),
        ),
        (
            "resolution, median (min)".to_string(),
            minutes(&report.resolution),
        ),
    ];
    if let (Some(f), Some(r)) = (&report.first_reply_business, &report.resolution_business) {
        times.push(("first reply, business hours (min)".into(), minutes(f)));
        times.push(("resolution, business hours (min)".into(), minutes(r)));
    }
    let irritant_rows: String = irritants
        .rows
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{:.2}</td><td>{:.0}%</td></tr>",
                esc(&r.intent),
                r.disposition,
                r.contacts,
                r.total_cost,
                r.absorbed_share * 100.0
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Report, last 30 days</h1>
<div class="figures" id="report">
<p><strong>{conversations}</strong> conversations · <strong>{inbound}</strong> customer messages · <strong>{switches}</strong> with a channel switch · <strong>{solved}</strong> solved · first-contact resolution {fcr} · CSAT {csat}</p></div>
<h2>Conversations by channel</h2>{mix}
<h2>Response times</h2>{times}
<h2>Irritants</h2><p>Unrecognised contacts: {unrecognised}; absorbed by self-service: {absorbed:.0}%.</p>
<table id="irritants"><thead><tr><th>Intent</th><th>Disposition</th><th>Contacts</th><th>Cost</th><th>Absorbed</th></tr></thead><tbody>{irritant_rows}</tbody></table>"#,
        conversations = report.conversations,
        inbound = report.inbound_messages,
        switches = report.with_channel_switch,
        solved = report.solved,
        fcr = report
            .fcr_rate
            .map_or("–".into(), |r| format!("{:.0}%", r * 100.0)),
        csat = report.csat.map_or("–".into(), |c| format!("{c:.1}")),
        mix = bars("chart-channels", &mix),
        times = bars("chart-times", &times),
        unrecognised = irritants.unrecognised,
        absorbed = irritants.absorbed_share * 100.0,
    );
    page(&me, &tenant_name(&app, tenant), "Reports", "", &body).into_response()
}

fn minutes(d: &Durations) -> f64 {
    d.median_secs.map_or(0.0, |s| s as f64 / 60.0)
}

/// A horizontal bar chart as inline SVG.
fn bars(id: &str, data: &[(String, f64)]) -> String {
    if data.is_empty() {
        return r#"<p class="empty">No data yet.</p>"#.into();
    }
    let max = data.iter().map(|d| d.1).fold(0.0_f64, f64::max).max(1e-9);
    let row_h = 26;
    let mut svg = format!(
        r#"<svg id="{id}" class="chart" width="560" height="{}" role="img">"#,
        data.len() * row_h + 4
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = i * row_h + 2;
        let w = (value / max * 300.0).round();
        svg += &format!(
            r#"<text x="0" y="{ty}" class="label">{label}</text><rect x="200" y="{y}" width="{w}" height="18" class="bar"/><text x="{tx}" y="{ty}">{value:.1}</text>"#,
            ty = y + 14,
            tx = 206.0 + w,
            label = esc(label),
        );
    }
    svg + "</svg>"
}

/// `GET /settings`.
pub async fn settings_page(State(app): State<App>, me: Current) -> Response {
    if let Err(r) = me.supervisor() {
        return r;
    }
    let tenant = me.user.tenant;
    let stored = match app.desk.call(move |d| d.tenant_settings(tenant)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) | Err(e) => return desk_fail(e),
    };
    let current = match &stored {
        Some(s) => format!(
            r#"<p id="settings-version">Version {} by {} at {}.</p><pre class="settings">{}</pre>"#,
            s.version,
            esc(&s.changed_by),
            when(s.changed_at),
            esc(&serde_json::to_string_pretty(&s.settings).unwrap_or_default())
        ),
        None => {
            r#"<p id="settings-version">The desk's defaults: no settings stored yet.</p>"#.into()
        }
    };
    let body = format!(
        r#"<h1>Settings</h1>
<form method="post" action="/settings" id="settings">{csrf}
<fieldset><legend>Business hours (Monday to Friday)</legend>
<label>Time zone <input name="zone" value="Europe/Amsterdam"></label>
<label>Opens <input name="opens" value="09:00" pattern="[0-2][0-9]:[0-5][0-9]"></label>
<label>Closes <input name="closes" value="17:00" pattern="[0-2][0-9]:[0-5][0-9]"></label></fieldset>
<fieldset><legend>SLA targets, in business time</legend>
<label>Live channels (chat, WhatsApp, SMS): first and next reply within <input name="live_minutes" value="15" type="number" min="1"> minutes</label>
<label>E-mail: first reply within <input name="email_hours" value="8" type="number" min="1"> hours</label></fieldset>
<button>Save</button></form>
<h2>Stored</h2>{current}"#,
        csrf = csrf(&me)
    );
    page(&me, &tenant_name(&app, tenant), "Settings", "", &body).into_response()
}

/// `POST /settings`: validated whole by the desk; running SLA clocks are re-targeted.
pub async fn save_settings(State(app): State<App>, me: Current, Form(f): Form<Fields>) -> Response {
    if let Err(r) = me.check(&app, f.get("csrf").map_or("", String::as_str)) {
        return r;
    }
    if let Err(r) = me.supervisor() {
        return r;
    }
    let sla = match policies(&f) {
        Ok(s) => s,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e),
    };
    let tenant = me.user.tenant;
    let by = me.user.email.clone();
    let done = app
        .desk
        .call(move |d| {
            let mut settings = d
                .tenant_settings(tenant)?
                .map_or_else(TenantSettings::default, |s| s.settings);
            settings.sla = Some(sla);
            d.set_tenant_settings(tenant, settings, &by, super::now())
        })
        .await;
    match done {
        Ok(Ok(effects)) => {
            super::effects::handle(&app, Some(tenant), effects).await;
            Redirect::to("/settings").into_response()
        }
        Ok(Err(e)) | Err(e) => desk_fail(e),
    }
}

fn policies(f: &Fields) -> Result<SlaPolicies, String> {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let number = |k: &str| -> Result<i64, String> {
        get(k)
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("{k} must be a positive whole number"))
    };
    let (opens, closes) = (get("opens"), get("closes"));
    let mut cal = BusinessCalendar::builder(&get("zone"));
    for day in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        cal = cal.hours(day, &opens, &closes);
    }
    let cal = cal.build().map_err(|e| e.to_string())?;
    let business = Basis::Business("business".into());
    let live = TimeDelta::minutes(number("live_minutes")?);
    let mail = TimeDelta::hours(number("email_hours")?);
    SlaPolicies::new()
        .calendar("business", cal)
        .policy(
            SlaPolicy::new("live")
                .channels(&[Channel::WebChat, Channel::WhatsApp, Channel::Sms])
                .target_all(Metric::FirstReply, live, business.clone())
                .target_all(Metric::NextReply, live, business.clone()),
        )
        .policy(SlaPolicy::new("email").target_all(Metric::FirstReply, mail, business))
        .build()
        .map_err(|e| e.to_string())
}
