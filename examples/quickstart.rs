//! The foundation story: a customer chats, e-mails and WhatsApps about one return; the
//! agent sees one conversation and answers on the channel she used last.
//!
//! ```sh
//! cargo run --example quickstart                       # in memory
//! cargo run --example quickstart -- --db desk.db       # on a SQLite file (re-runnable)
//! cargo run --features postgres --example quickstart -- --postgres "host=... user=..."
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::{MemoryStore, Store};
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Status, TenantId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    let tenant: TenantId = "01900000-0000-7000-8000-00000000c0de".parse()?;
    let mut desk = Desk::new(open_store()?, DeskConfig::default());
    let ana = Identifier::email("ana@example.com")?;

    // 09:00 web chat.
    let chat = Inbound::new(
        tenant,
        Channel::WebChat,
        ana.clone(),
        "chat-1",
        "I want to return the shoes from order 1042",
    )
    .sent_at(t0);
    let got = desk.ingest(chat.clone(), t0)?;
    if got.duplicate {
        // Re-run on the same database: the story is already stored; show it.
        println!("this database already holds the story (the first webhook is a duplicate):");
        for m in desk.timeline(tenant, got.customer)? {
            println!(
                "  {}  {:<9} {:?}  {}",
                m.sent_at.format("%a %H:%M"),
                m.channel,
                m.direction,
                m.body
            );
        }
        println!(
            "conversations of the customer: {}",
            desk.conversations_of(tenant, got.customer)?.len()
        );
        return Ok(());
    }
    // The chat provider retries its webhook: nothing new is stored.
    let again = desk.ingest(chat, t0 + TimeDelta::seconds(3))?;
    println!(
        "webhook redelivered: duplicate = {}, same message = {}",
        again.duplicate,
        again.message.id == got.message.id
    );

    // 10:00 e-mail from the same address.
    let t1 = t0 + TimeDelta::hours(1);
    desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email(" ana@Example.COM")?,
            "<m1@mail.example.com>",
            "Any news on my return?",
        )
        .sent_at(t1),
        t1,
    )?;

    // The shop links her phone number; the next day she writes on WhatsApp.
    let phone = Identifier::whatsapp("+31 6 1234 5678", None)?;
    desk.link_identifier(tenant, got.customer, phone.clone(), true, t1)?;
    let t2 = t0 + TimeDelta::days(1);
    let wa = desk.ingest(
        Inbound::new(
            tenant,
            Channel::WhatsApp,
            phone,
            "wamid.HBgL",
            "Hello? Still waiting",
        )
        .sent_at(t2),
        t2,
    )?;
    for e in &wa.effects {
        if let Effect::ChannelSwitched { from, to, .. } = e {
            println!("channel switch recorded: {from} -> {to}");
        }
    }

    println!(
        "\nTimeline of customer {} (one conversation: {}):",
        got.customer,
        wa.conversation == got.conversation
    );
    for m in desk.timeline(tenant, got.customer)? {
        println!(
            "  {}  {:<9} {:<8} {}",
            m.sent_at.format("%a %H:%M"),
            m.channel,
            format!("{:?}", m.direction),
            m.body
        );
    }

    // The agent answers; it goes out on WhatsApp, the channel she used last.
    let agent: AgentId = "01900000-0000-7000-8000-0000000a9e47".parse()?;
    let effects = desk.reply(
        (tenant, got.conversation),
        agent,
        "Your return is approved; the refund follows in 3 days.",
        t2 + TimeDelta::minutes(4),
    )?;
    for e in &effects {
        if let Effect::Send(out) = e {
            println!(
                "\nsend on {} to {}: {}",
                out.channel,
                out.to.value(),
                out.body
            );
            desk.mark_sent(
                tenant,
                out.message,
                Some("wamid.OUT1"),
                t2 + TimeDelta::minutes(4),
            )?;
        }
    }

    // Solved and closed; a month later she writes again: a new, linked conversation.
    desk.set_status(
        (tenant, got.conversation),
        Status::Solved,
        t2 + TimeDelta::hours(1),
    )?;
    desk.set_status(
        (tenant, got.conversation),
        Status::Closed,
        t2 + TimeDelta::days(4),
    )?;
    let t3 = t0 + TimeDelta::days(31);
    let next = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            ana,
            "<m2@mail.example.com>",
            "Can I exchange a jacket?",
        )
        .sent_at(t3),
        t3,
    )?;
    let conv = desk.conversation((tenant, next.conversation))?;
    println!(
        "\na month later: new conversation {} follows {:?}, same customer: {}",
        conv.id,
        conv.previous,
        next.customer == got.customer
    );
    println!(
        "conversations of the customer: {}",
        desk.conversations_of(tenant, got.customer)?.len()
    );
    Ok(())
}

/// The store named on the command line: `--db PATH` (SQLite), `--postgres URL`, or memory.
fn open_store() -> Result<Box<dyn Store>, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => Ok(Box::new(MemoryStore::new())),
        ["--db", path] => Ok(Box::new(throughline::store::SqliteStore::open(path)?)),
        #[cfg(feature = "postgres")]
        ["--postgres", url] => Ok(Box::new(throughline::store::PostgresStore::connect(url)?)),
        #[cfg(not(feature = "postgres"))]
        ["--postgres", _] => Err("--postgres needs the `postgres` feature: \
             cargo run --features postgres --example quickstart -- --postgres URL"
            .into()),
        _ => Err("usage: quickstart [--db PATH | --postgres URL]".into()),
    }
}
