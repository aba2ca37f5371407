//! A Friday-evening e-mail under a business-hours SLA: nothing happens over the weekend,
//! the desk warns on Monday morning and records the breach at noon.
//!
//! ```sh
//! cargo run --example sla_breach
//! ```

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use chrono_tz::Europe::Amsterdam;
use throughline::sla::{Basis, BusinessCalendar, Metric, SlaPolicies, SlaPolicy};
use throughline::store::MemoryStore;
use throughline::{Channel, Desk, DeskConfig, Effect, Identifier, Inbound, TenantId};

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam)
        .format("%a %d %b %H:%M")
        .to_string()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut office = BusinessCalendar::builder("Europe/Amsterdam");
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        office = office.hours(d, "09:00", "12:30").hours(d, "13:00", "17:30");
    }
    let sla = SlaPolicies::new()
        .calendar("office", office.build()?)
        .policy(
            SlaPolicy::new("e-mail, business hours")
                .channels(&[Channel::Email])
                .target_all(
                    Metric::FirstReply,
                    TimeDelta::hours(3),
                    Basis::Business("office".into()),
                ),
        )
        .build()?;
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(sla));
    let tenant: TenantId = "01900000-0000-7000-8000-0000000005a1".parse()?;

    let friday: DateTime<Utc> = "2026-03-06T17:45:00Z".parse()?; // 18:45 in Amsterdam
    let got = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("ana@example.com")?,
            "<m1@x>",
            "My refund has not arrived",
        ),
        friday,
    )?;
    println!("{}  e-mail arrives (office closed)", local(friday));
    let clocks = desk
        .sla_clocks((tenant, got.conversation))?
        .expect("clocks run");
    let first = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::FirstReply)
        .expect("first reply clock");
    println!(
        "             first reply due {} (3 business hours)",
        first.deadline.map(local).unwrap_or_default()
    );

    // A host loop: sleep until next_wakeup, then tick.
    let mut now = friday;
    while let Some(wake) = desk.next_wakeup()? {
        now = wake;
        for e in desk.tick(now)? {
            match e {
                Effect::SlaWarning {
                    metric,
                    fraction,
                    deadline,
                    ..
                } => {
                    println!(
                        "{}  warning: {metric:?} {:.0}% used, due {}",
                        local(now),
                        fraction * 100.0,
                        local(deadline)
                    )
                }
                Effect::SlaBreached { metric, at, .. } => {
                    println!("{}  BREACH: {metric:?} missed at {}", local(now), local(at))
                }
                _ => {}
            }
        }
    }
    println!("{}  nothing more scheduled", local(now));
    Ok(())
}
