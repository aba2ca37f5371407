//! A chat visitor becomes a known customer, an agent merges the two, and the merge is
//! undone when it turns out to be wrong.
//!
//! ```sh
//! cargo run --example identity_merge
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::MemoryStore;
use throughline::{
    Channel, Desk, DeskConfig, Identifier, IdentifierKind, Inbound, ProfileUpdate, TenantId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-02T08:30:00Z")?.to_utc();
    let tenant: TenantId = "01900000-0000-7000-8000-0000000000e1".parse()?;
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());

    // An anonymous visitor chats on the web shop.
    let visitor = Identifier::handle(IdentifierKind::WebVisitor, "cookie-7f3a")?;
    let chat = desk.ingest(
        Inbound::new(
            tenant,
            Channel::WebChat,
            visitor.clone(),
            "chat-1",
            "Do you ship to Portugal?",
        ),
        t0,
    )?;
    // Ana, a known customer, e-mailed earlier and has a profile.
    let ana = Identifier::email("ana@example.com")?;
    let mail = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            ana.clone(),
            "<m1@x>",
            "Where is order 1042?",
        ),
        t0 - TimeDelta::hours(1),
    )?;
    desk.update_profile(
        tenant,
        mail.customer,
        ProfileUpdate::default()
            .name("Ana Pereira")
            .time_zone("Europe/Lisbon")
            .attribute("plan", "gold"),
        t0,
    )?;
    println!(
        "before: visitor is customer {}, ana is customer {}",
        chat.customer, mail.customer
    );

    // The visitor logs in as Ana: the agent merges the visitor into Ana.
    let merge = desk.merge_customers(
        tenant,
        chat.customer,
        mail.customer,
        "visitor logged in as ana@example.com",
        t0 + TimeDelta::minutes(5),
    )?;
    let view = desk.customer_view(tenant, mail.customer, t0 + TimeDelta::hours(2))?;
    println!("\nafter merge {merge}:");
    println!(
        "  {} — {} identifiers, {} conversations",
        view.customer.name.as_deref().unwrap_or("?"),
        view.identifiers.len(),
        view.conversations.len()
    );
    for r in &view.recent {
        println!("  recent: {} ({})", r.summary, r.channel);
    }
    println!(
        "  the visitor cookie now resolves to {}",
        desk.resolve(tenant, &visitor)?
            .map(|c| c.to_string())
            .unwrap_or_default()
    );

    // It was her flatmate on the same laptop: undo the merge.
    desk.unmerge(tenant, merge, t0 + TimeDelta::hours(3))?;
    println!("\nafter unmerge:");
    println!(
        "  visitor resolves to {} (its own customer again: {})",
        desk.resolve(tenant, &visitor)?
            .map(|c| c.to_string())
            .unwrap_or_default(),
        desk.resolve(tenant, &visitor)? == Some(chat.customer)
    );
    println!(
        "  ana keeps {} identifier(s) and {} conversation(s)",
        desk.identifiers(tenant, mail.customer)?.len(),
        desk.conversations_of(tenant, mail.customer)?.len()
    );
    let log = desk.merges(tenant, mail.customer)?;
    println!(
        "  merge log: {} entry, undone at {}",
        log.len(),
        log[0].undone_at.map(|t| t.to_rfc3339()).unwrap_or_default()
    );
    Ok(())
}
