//! Identity graph stories: recognise one person across channels, merge without loss, undo.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::MemoryStore;
use throughline::{
    Channel, Desk, DeskConfig, Effect, Error, Identifier, IdentifierKind, Inbound, ProfileUpdate,
    TenantId,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn desk() -> Desk<MemoryStore> {
    Desk::new(MemoryStore::new(), DeskConfig::default())
}

fn msg(tenant: TenantId, ch: Channel, from: Identifier, ext: &str) -> Inbound {
    Inbound::new(tenant, ch, from, ext, format!("message {ext}"))
}

#[test]
fn a_chat_visitor_becomes_a_known_customer_and_the_merge_is_undone() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let visitor = Identifier::handle(IdentifierKind::WebVisitor, "cookie-7f3a")?;
    let ana = Identifier::email("ana@example.com")?;
    let chat = desk.ingest(msg(tn, Channel::WebChat, visitor.clone(), "c1"), t0())?;
    let mail = desk.ingest(
        msg(tn, Channel::Email, ana.clone(), "m1"),
        t0() + TimeDelta::minutes(5),
    )?;
    assert_ne!(chat.customer, mail.customer);
    desk.update_profile(
        tn,
        chat.customer,
        ProfileUpdate::default().name("Ana").attribute("cart", 3),
        t0(),
    )?;
    desk.update_profile(
        tn,
        mail.customer,
        ProfileUpdate::default()
            .attribute("cart", 1)
            .time_zone("Europe/Lisbon"),
        t0(),
    )?;

    let merge = desk.merge_customers(
        tn,
        chat.customer,
        mail.customer,
        "visitor logged in as ana",
        t0() + TimeDelta::minutes(10),
    )?;
    assert_eq!(desk.resolve(tn, &visitor)?, Some(mail.customer));
    let view = desk.customer_view(tn, mail.customer, t0() + TimeDelta::hours(2))?;
    assert_eq!(view.identifiers.len(), 2);
    assert_eq!(view.conversations.len(), 2);
    assert_eq!(
        view.customer.name.as_deref(),
        Some("Ana"),
        "filled from the visitor"
    );
    assert_eq!(
        view.customer.attributes["cart"], 1,
        "into keeps its value on conflict"
    );
    assert_eq!(view.merged_from, vec![chat.customer]);
    let summaries: Vec<&str> = view.recent.iter().map(|r| r.summary.as_str()).collect();
    assert_eq!(
        summaries,
        vec!["e-mailed this morning", "chatted this morning"]
    );
    let record = desk.merge_record(tn, merge)?;
    assert_eq!(record.conflicts.len(), 1);
    assert_eq!(record.conflicts[0].field, "attributes.cart");
    // The timeline shows both, and later messages on the visitor id land on Ana.
    assert_eq!(desk.timeline(tn, mail.customer)?.len(), 2);
    let later = desk.ingest(
        msg(tn, Channel::WebChat, visitor.clone(), "c2"),
        t0() + TimeDelta::minutes(20),
    )?;
    assert_eq!(later.customer, mail.customer);
    // The timeline of the tombstone is the live customer's.
    assert_eq!(desk.timeline(tn, chat.customer)?.len(), 3);

    // Undo.
    let effects = desk.unmerge(tn, merge, t0() + TimeDelta::hours(1))?;
    assert!(matches!(effects[0], Effect::MergeUndone { .. }));
    assert_eq!(desk.resolve(tn, &visitor)?, Some(chat.customer));
    assert_eq!(desk.resolve(tn, &ana)?, Some(mail.customer));
    let visitor_side = desk.customer(tn, chat.customer)?;
    assert_eq!(visitor_side.merged_into, None);
    assert_eq!(
        desk.customer(tn, mail.customer)?.name,
        None,
        "filled name removed again"
    );
    // The conversation of the visitor went back, with the message that arrived during the merge.
    assert_eq!(desk.timeline(tn, chat.customer)?.len(), 2);
    assert_eq!(desk.timeline(tn, mail.customer)?.len(), 1);
    assert!(matches!(
        desk.unmerge(tn, merge, t0()),
        Err(Error::MergeRefused(_))
    ));
    assert_eq!(
        desk.merges(tn, mail.customer)?.len(),
        1,
        "the log keeps the undone merge"
    );
    Ok(())
}

#[test]
fn identifiers_of_two_customers_in_one_message_suggest_a_merge_and_never_merge() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let email = Identifier::email("bob@example.com")?;
    let phone = Identifier::phone("+31612345678", None)?;
    let a = desk.ingest(msg(tn, Channel::Email, email.clone(), "m1"), t0())?;
    let b = desk.ingest(msg(tn, Channel::Sms, phone.clone(), "s1"), t0())?;
    // A chat carrying both (the widget knows the e-mail and the phone).
    let chat = desk.ingest(
        msg(tn, Channel::WebChat, phone.clone(), "c1").also(email.clone()),
        t0() + TimeDelta::minutes(1),
    )?;
    assert_eq!(chat.customer, a.customer, "e-mail outranks phone");
    assert!(chat.effects.contains(&Effect::MergeSuggested {
        tenant: tn,
        primary: a.customer,
        other: b.customer
    }));
    assert_eq!(
        desk.resolve(tn, &phone)?,
        Some(b.customer),
        "not moved silently"
    );
    let suggestions = desk.merge_suggestions(tn)?;
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].evidence, vec![phone.clone()]);
    // A second message with both does not pile up suggestions.
    desk.ingest(
        msg(tn, Channel::WebChat, phone.clone(), "c2").also(email.clone()),
        t0() + TimeDelta::minutes(2),
    )?;
    assert_eq!(desk.merge_suggestions(tn)?.len(), 1);
    // Accepting it = merging; the suggestion goes away.
    desk.merge_customers(
        tn,
        b.customer,
        a.customer,
        "suggestion accepted",
        t0() + TimeDelta::minutes(3),
    )?;
    assert!(desk.merge_suggestions(tn)?.is_empty());
    assert_eq!(desk.resolve(tn, &phone)?, Some(a.customer));
    Ok(())
}

#[test]
fn bad_merges_are_refused_without_side_effects() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let a = desk
        .ingest(
            msg(tn, Channel::Email, Identifier::email("a@x.example")?, "1"),
            t0(),
        )?
        .customer;
    let b = desk
        .ingest(
            msg(tn, Channel::Email, Identifier::email("b@x.example")?, "2"),
            t0(),
        )?
        .customer;
    let c = desk
        .ingest(
            msg(tn, Channel::Email, Identifier::email("c@x.example")?, "3"),
            t0(),
        )?
        .customer;
    assert!(matches!(
        desk.merge_customers(tn, a, a, "self", t0()),
        Err(Error::MergeRefused(_))
    ));
    desk.merge_customers(tn, a, b, "same person", t0())?;
    // A -> B -> A: B is live, A is a tombstone.
    assert!(matches!(
        desk.merge_customers(tn, b, a, "cycle", t0()),
        Err(Error::MergeRefused(_))
    ));
    assert!(matches!(
        desk.merge_customers(tn, a, c, "again", t0()),
        Err(Error::MergeRefused(_))
    ));
    let other = TenantId::new_v7();
    assert!(matches!(
        desk.merge_customers(other, b, c, "cross-tenant", t0()),
        Err(Error::NotFound { .. })
    ));
    // Two different host user ids are two people.
    desk.link_identifier(tn, b, Identifier::external("shop", "u-1")?, true, t0())?;
    desk.link_identifier(tn, c, Identifier::external("shop", "u-2")?, true, t0())?;
    let err = desk
        .merge_customers(tn, c, b, "conflicting ids", t0())
        .unwrap_err();
    assert!(err.to_string().contains("external:shop"), "{err}");
    assert_eq!(desk.identifiers(tn, c)?.len(), 2);
    assert_eq!(desk.customer(tn, c)?.merged_into, None);
    Ok(())
}

#[test]
fn a_hundred_hop_merge_chain_resolves_to_the_end_and_ingest_follows_it() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let mut ids = Vec::new();
    for i in 0..101 {
        let e = Identifier::email(&format!("p{i}@x.example"))?;
        ids.push((
            desk.ingest(msg(tn, Channel::Email, e.clone(), &format!("m{i}")), t0())?
                .customer,
            e,
        ));
    }
    for i in 0..100 {
        desk.merge_customers(tn, ids[i].0, ids[i + 1].0, "chain", t0())?;
    }
    let last = ids[100].0;
    for (_, e) in &ids {
        assert_eq!(desk.resolve(tn, e)?, Some(last));
    }
    // Ingest to the very first (merged-away) identity lands on the live end.
    let got = desk.ingest(msg(tn, Channel::Email, ids[0].1.clone(), "late"), t0())?;
    assert_eq!(got.customer, last);
    assert_eq!(desk.timeline(tn, ids[0].0)?.len(), 102);
    assert_eq!(desk.merges(tn, last)?.len(), 100);
    Ok(())
}

#[test]
fn placeholders_never_identify_anybody_and_limits_hold() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let err = desk
        .ingest(
            msg(
                tn,
                Channel::Email,
                Identifier::email("noreply@shop.example")?,
                "1",
            ),
            t0(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("no-reply"), "{err}");
    let unknown = Identifier::external("crm", "unknown")?;
    let a = desk.ingest(
        msg(tn, Channel::Email, Identifier::email("a@x.example")?, "2").also(unknown.clone()),
        t0(),
    )?;
    let b = desk.ingest(
        msg(tn, Channel::Email, Identifier::email("b@x.example")?, "3").also(unknown.clone()),
        t0(),
    )?;
    assert_ne!(
        a.customer, b.customer,
        "a placeholder must not tie two people together"
    );
    assert_eq!(desk.resolve(tn, &unknown)?, None);
    // At most one external id per customer: a second one is not attached.
    desk.ingest(
        msg(tn, Channel::Email, Identifier::email("a@x.example")?, "4")
            .also(Identifier::external("shop", "1")?),
        t0(),
    )?;
    desk.ingest(
        msg(tn, Channel::Email, Identifier::email("a@x.example")?, "5")
            .also(Identifier::external("shop", "2")?),
        t0(),
    )?;
    assert_eq!(desk.resolve(tn, &Identifier::external("shop", "2")?)?, None);
    assert_eq!(
        desk.resolve(tn, &Identifier::external("shop", "1")?)?,
        Some(a.customer)
    );
    Ok(())
}

#[test]
fn the_same_whatsapp_user_under_two_spellings_is_one_customer() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let a = desk.ingest(
        msg(
            tn,
            Channel::WhatsApp,
            Identifier::whatsapp("5511987654321", None)?,
            "w1",
        ),
        t0(),
    )?;
    let b = desk.ingest(
        msg(
            tn,
            Channel::WhatsApp,
            Identifier::whatsapp("551187654321@s.whatsapp.net", None)?,
            "w2",
        ),
        t0(),
    )?;
    assert_eq!(a.customer, b.customer);
    assert_eq!(a.conversation, b.conversation);
    Ok(())
}

#[test]
fn hostile_identifier_input_is_rejected_or_stored_as_data() -> R {
    for bad in [
        "",
        " ",
        "a",
        "a@b@c.example",
        "a@b.example.",
        &format!("a@{}.example", "d".repeat(300)),
        "ana@exa mple.com",
    ] {
        assert!(Identifier::email(bad).is_err(), "{bad:?}");
    }
    for (bad, region) in [
        ("+", None),
        ("+31 6 1234 ABCD", None),
        ("12345678901234567", Some("US")),
        ("0612345678", None),
        ("++31612345678", None),
    ] {
        assert!(Identifier::phone(bad, region).is_err(), "{bad:?}");
    }
    assert!(
        Identifier::handle(IdentifierKind::Instagram, "ana\u{202E}moc").is_err(),
        "RTL override"
    );
    assert!(
        Identifier::handle(IdentifierKind::Line, "\u{200F}u123").is_err(),
        "RLM"
    );
    assert!(Identifier::handle(IdentifierKind::Messenger, "\t\n").is_err());
    // Look-alikes are different identifiers, never folded together.
    let latin = Identifier::handle(IdentifierKind::Twitter, "@paypal")?;
    let cyrillic = Identifier::handle(IdentifierKind::Twitter, "@pаypal")?; // Cyrillic а
    assert_ne!(latin, cyrillic);
    // SQL-looking text is just data.
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let sql = Identifier::external("shop", "1'OR'1'='1';DROP_TABLE--")?;
    let got = desk.ingest(
        msg(
            tn,
            Channel::Email,
            Identifier::email("x@y.example")?,
            "'; DROP TABLE messages; --",
        )
        .also(sql.clone()),
        t0(),
    )?;
    assert_eq!(desk.resolve(tn, &sql)?, Some(got.customer));
    Ok(())
}

#[test]
fn linking_an_identifier_of_someone_else_is_an_error_not_a_silent_move() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let e = Identifier::email("shared@x.example")?;
    let a = desk
        .ingest(msg(tn, Channel::Email, e.clone(), "1"), t0())?
        .customer;
    let b = desk
        .ingest(
            msg(
                tn,
                Channel::Sms,
                Identifier::phone("+31612345678", None)?,
                "2",
            ),
            t0(),
        )?
        .customer;
    let err = desk
        .link_identifier(tn, b, e.clone(), true, t0())
        .unwrap_err();
    assert!(err.to_string().contains("merge"), "{err}");
    assert_eq!(desk.resolve(tn, &e)?, Some(a));
    Ok(())
}

#[test]
fn identifier_records_keep_where_they_came_from_and_when_they_were_seen() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let email = Identifier::email("ana@example.com")?;
    let got = desk.ingest(msg(tn, Channel::Email, email.clone(), "e1"), t0())?;
    let record = |desk: &Desk<MemoryStore>, id: &Identifier| {
        desk.identifiers(tn, got.customer)
            .unwrap()
            .into_iter()
            .find(|r| &r.identifier == id)
            .expect("the identifier's record")
    };
    let r = record(&desk, &email);
    assert_eq!(
        (r.source.clone(), r.verified),
        (Some(Channel::Email), false)
    );
    assert_eq!((r.first_seen, r.last_seen), (t0(), t0()));
    // Seen again within a minute: last seen is not rewritten; two hours later it is.
    desk.ingest(
        msg(tn, Channel::Email, email.clone(), "e2"),
        t0() + TimeDelta::seconds(30),
    )?;
    assert_eq!(record(&desk, &email).last_seen, t0());
    let later = t0() + TimeDelta::hours(2);
    desk.ingest(msg(tn, Channel::Email, email.clone(), "e3"), later)?;
    let r = record(&desk, &email);
    assert_eq!((r.first_seen, r.last_seen), (t0(), later));
    // The host verifies it: verified, and still first seen on e-mail.
    desk.link_identifier(
        tn,
        got.customer,
        email.clone(),
        true,
        t0() + TimeDelta::hours(3),
    )?;
    let r = record(&desk, &email);
    assert_eq!(
        (r.source.clone(), r.verified, r.first_seen),
        (Some(Channel::Email), true, t0())
    );
    // A number the host links has no channel of origin.
    let phone = Identifier::phone("+31612345678", None)?;
    let linked = t0() + TimeDelta::hours(4);
    desk.link_identifier(tn, got.customer, phone.clone(), false, linked)?;
    let r = record(&desk, &phone);
    assert_eq!(
        (r.source, r.verified, r.first_seen, r.last_seen),
        (None, false, linked, linked)
    );
    Ok(())
}

#[test]
fn linking_and_activity_obey_the_identity_rules() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let got = desk.ingest(
        msg(
            tn,
            Channel::Email,
            Identifier::email("ana@example.com")?,
            "e1",
        ),
        t0(),
    )?;
    let before = desk.identifiers(tn, got.customer)?;
    // A no-reply address never identifies anybody: refused, with the rule named.
    let noreply = Identifier::email("noreply@shop.example")?;
    let err = desk
        .link_identifier(tn, got.customer, noreply.clone(), true, t0())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if *field == "identifier"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("never identifies anybody"),
        "{err}"
    );
    // One host id per customer (the default limit of external ids).
    let first = Identifier::external("shop", "u-1")?;
    desk.link_identifier(tn, got.customer, first.clone(), true, t0())?;
    let err = desk
        .link_identifier(
            tn,
            got.customer,
            Identifier::external("shop", "u-2")?,
            true,
            t0(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    let after = desk.identifiers(tn, got.customer)?;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "only the first host id was linked"
    );
    assert!(after.iter().any(|r| r.identifier == first));
    // Re-linking what the customer already has is not over the limit.
    desk.link_identifier(tn, got.customer, first, true, t0())?;
    // A help-centre visit under a blocked value makes no customer of it.
    let err = desk
        .article_viewed(tn, &noreply, "kb-1", Some("Returns"), t0())
        .unwrap_err();
    assert!(
        err.to_string().contains("never identifies anybody"),
        "{err}"
    );
    assert_eq!(desk.resolve(tn, &noreply)?, None);
    Ok(())
}

#[test]
fn a_merge_suggestion_shows_what_differs_and_can_be_dismissed() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let email = Identifier::email("ana@example.com")?;
    let phone = Identifier::phone("+31612345678", None)?;
    let a = desk.ingest(msg(tn, Channel::Email, email.clone(), "e1"), t0())?;
    let b = desk.ingest(msg(tn, Channel::Sms, phone.clone(), "s1"), t0())?;
    desk.update_profile(
        tn,
        a.customer,
        ProfileUpdate::default().name("Ana de Vries"),
        t0(),
    )?;
    desk.update_profile(
        tn,
        b.customer,
        ProfileUpdate::default().name("A. de Vries").language("nl"),
        t0(),
    )?;
    // One message carries both: a suggestion, not a merge.
    let mut both = msg(tn, Channel::Email, email, "e2");
    both.also.push(phone.clone());
    let got = desk.ingest(both, t0() + TimeDelta::minutes(5))?;
    assert!(got
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { .. })));
    let suggestions = desk.merge_suggestions(tn)?;
    assert_eq!(suggestions.len(), 1);
    let s = &suggestions[0];
    assert_eq!((s.primary, s.other), (a.customer, b.customer));
    assert_eq!(s.evidence, vec![phone]);
    let name = s
        .diff
        .iter()
        .find(|d| d.field == "name")
        .expect("the names differ");
    assert_eq!(
        (name.left.as_str(), name.right.as_str()),
        (Some("Ana de Vries"), Some("A. de Vries"))
    );
    let language = s
        .diff
        .iter()
        .find(|d| d.field == "language")
        .expect("one has a language");
    assert_eq!(
        (language.left.clone(), language.right.as_str()),
        (serde_json::Value::Null, Some("nl"))
    );
    assert!(
        s.diff.iter().all(|d| d.left != d.right),
        "only what differs"
    );
    // Different people after all: dismissed, both stay, and dismissing again is NotFound.
    desk.dismiss_suggestion(tn, a.customer, b.customer)?;
    assert!(desk.merge_suggestions(tn)?.is_empty());
    assert_ne!(desk.live(tn, a.customer)?.id, desk.live(tn, b.customer)?.id);
    assert!(matches!(
        desk.dismiss_suggestion(tn, a.customer, b.customer),
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

#[test]
fn the_same_number_on_whatsapp_and_by_sms_is_suggested_not_merged() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    // A host's own WhatsApp integration names only the WhatsApp account.
    let wa = Identifier::whatsapp("31612345678", None)?;
    let a = desk.ingest(msg(tn, Channel::WhatsApp, wa.clone(), "w1"), t0())?;
    // Later an SMS from the same number: a new customer, and a suggestion with the
    // WhatsApp account as the evidence.
    let phone = Identifier::phone("+31612345678", None)?;
    let b = desk.ingest(
        msg(tn, Channel::Sms, phone, "s1"),
        t0() + TimeDelta::hours(1),
    )?;
    assert_ne!(a.customer, b.customer, "never merged silently");
    assert!(b.effects.iter().any(|e| matches!(
        e,
        Effect::MergeSuggested { primary, other, .. } if *primary == b.customer && *other == a.customer
    )));
    let suggestions = desk.merge_suggestions(tn)?;
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].evidence, vec![wa]);
    // A third message from the number suggests nothing new.
    let again = desk.ingest(
        msg(
            tn,
            Channel::Sms,
            Identifier::phone("+31612345678", None)?,
            "s2",
        ),
        t0() + TimeDelta::hours(2),
    )?;
    assert!(!again
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { .. })));
    assert_eq!(desk.merge_suggestions(tn)?.len(), 1);
    Ok(())
}

/// Similarity by name and mailbox: the same full name with a mailbox at a related domain
/// (the other name of Gmail, or the organisation's domain for an address at one of its
/// subdomains) is suggested; the same mailbox name of someone else is not.
#[test]
fn the_same_name_at_a_related_mailbox_is_suggested_and_another_name_is_not() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let gmail = Identifier::email("ana.lopez@gmail.com")?;
    let a = desk.ingest(
        msg(tn, Channel::Email, gmail.clone(), "e1").display_name("Ana López"),
        t0(),
    )?;
    let b = desk.ingest(
        msg(
            tn,
            Channel::Email,
            Identifier::email("ana.lopez@googlemail.com")?,
            "e2",
        )
        .display_name("ana lopez"),
        t0() + TimeDelta::hours(1),
    )?;
    assert_ne!(a.customer, b.customer, "never merged silently");
    let suggestions = desk.merge_suggestions(tn)?;
    assert_eq!(suggestions.len(), 1);
    assert_eq!(
        (suggestions[0].primary, suggestions[0].other),
        (b.customer, a.customer)
    );
    assert_eq!(suggestions[0].evidence, vec![gmail]);
    // A colleague's subdomain mailbox of the same local part but another name: nothing.
    let acme = Identifier::email("sam@acme.example.com")?;
    desk.ingest(
        msg(
            tn,
            Channel::Email,
            Identifier::email("sam@example.com")?,
            "e3",
        )
        .display_name("Sam Jansen"),
        t0() + TimeDelta::hours(2),
    )?;
    let other = desk.ingest(
        msg(tn, Channel::Email, acme, "e4").display_name("Sam Peters"),
        t0() + TimeDelta::hours(3),
    )?;
    assert!(!other
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { .. })));
    // The same name there is suggested.
    let same = desk.ingest(
        msg(
            tn,
            Channel::Email,
            Identifier::email("sam@support.example.com")?,
            "e5",
        )
        .display_name("Sam Jansen"),
        t0() + TimeDelta::hours(4),
    )?;
    assert!(same
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { primary, .. } if *primary == same.customer)));
    assert_eq!(desk.merge_suggestions(tn)?.len(), 2);
    Ok(())
}

/// Similarity by host id: the host's user id spelt in another case or with leading zeros
/// in the same system is suggested, with the stored id as the evidence.
#[test]
fn the_same_host_id_spelt_otherwise_is_suggested() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let stored = Identifier::external("crm", "C-1042")?;
    let a = desk.ingest(msg(tn, Channel::InApp, stored.clone(), "a1"), t0())?;
    let b = desk.ingest(
        msg(
            tn,
            Channel::InApp,
            Identifier::external("crm", "c-1042")?,
            "a2",
        ),
        t0() + TimeDelta::hours(1),
    )?;
    assert_ne!(a.customer, b.customer);
    let suggestions = desk.merge_suggestions(tn)?;
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].evidence, vec![stored]);
    // Another system's id of the same value is someone else's.
    let c = desk.ingest(
        msg(
            tn,
            Channel::InApp,
            Identifier::external("shop", "C-1042")?,
            "a3",
        ),
        t0() + TimeDelta::hours(2),
    )?;
    assert!(!c
        .effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { .. })));
    Ok(())
}
