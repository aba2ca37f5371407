//! Recognising machine-sent mail: auto-replies, bulk and list traffic.

use super::MailKind;

/// The header values that decide whether a machine sent a mail (raw, unfolded values).
#[derive(Debug, Default)]
pub(super) struct Signals<'a> {
    pub auto_submitted: Option<&'a str>,
    pub x_autoreply: Option<&'a str>,
    pub x_autorespond: Option<&'a str>,
    pub precedence: Option<&'a str>,
    /// `List-Id` or `List-Unsubscribe` is present.
    pub list: bool,
    pub subject: Option<&'a str>,
    /// `Return-Path: <>`: the null sender of bounces and auto-responses (RFC 3834).
    pub null_sender: bool,
    /// The `From` address (its local part `mailer-daemon` or `postmaster` marks a server).
    pub from: Option<&'a str>,
}

/// Out-of-office subject prefixes (lower case), as the usual clients write them.
const AUTO_SUBJECTS: [&str; 20] = [
    "out of office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "autosvar",
    "afwezig",
    "automatisch antwoord",
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesend",
    "réponse automatique",
    "absence du bureau",
    "respuesta automática",
    "fuera de la oficina",
    "poissaoloviesti",
    "automaattinen vastaus",
    "lomavastaaja",
    "[out of office]",
    "[auto-reply]",
];

/// Classifies a mail that is not a delivery report.
///
/// `Precedence: bulk | junk | list`, or any auto-reply signal on list traffic (`List-Id`,
/// `List-Unsubscribe`), is [`MailKind::Bulk`]; `Auto-Submitted` other than `no`,
/// `X-Autoreply`, `X-Autorespond`, `Precedence: auto_reply` or an out-of-office subject
/// is [`MailKind::AutoReply`], as is a mail with the null sender (`Return-Path: <>`) or
/// from `mailer-daemon@` or `postmaster@` (an old-style bounce without a delivery report);
/// `X-Auto-Response-Suppress` alone decides nothing.
pub(super) fn classify(s: &Signals<'_>) -> MailKind {
    let precedence = s.precedence.map(keyword);
    if matches!(precedence.as_deref(), Some("bulk" | "junk" | "list")) {
        return MailKind::Bulk;
    }
    let auto_submitted = s
        .auto_submitted
        .map(keyword)
        .is_some_and(|v| !v.is_empty() && v != "no");
    let flagged = s
        .x_autoreply
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"))
        || s.x_autorespond
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let subject = s.subject.is_some_and(out_of_office_subject);
    let auto = auto_submitted
        || flagged
        || subject
        || matches!(precedence.as_deref(), Some("auto_reply" | "auto-reply"))
        || s.null_sender
        || s.from.is_some_and(server_address);
    match (auto, s.list) {
        (true, true) => MailKind::Bulk,
        (true, false) => MailKind::AutoReply,
        (false, _) => MailKind::Human,
    }
}

/// `mailer-daemon@…` or `postmaster@…`: a mail server writing, not a person.
fn server_address(from: &str) -> bool {
    let local = from.rsplit_once('@').map_or(from, |(l, _)| l);
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

/// The value's first word, lower case (`auto-replied; owner-email=...` → `auto-replied`).
fn keyword(value: &str) -> String {
    value
        .split([';', '(', ' ', '\t'])
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// True for the subjects out-of-office replies carry ("Automatic reply: …").
pub(super) fn out_of_office_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    AUTO_SUBJECTS.iter().any(|p| s.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_submitted_other_than_no_is_an_auto_reply() {
        for (v, kind) in [
            ("auto-replied", MailKind::AutoReply),
            ("auto-generated; owner-email=\"a@b\"", MailKind::AutoReply),
            ("No", MailKind::Human),
            (" no ", MailKind::Human),
        ] {
            let s = Signals {
                auto_submitted: Some(v),
                ..Signals::default()
            };
            assert_eq!(classify(&s), kind, "{v}");
        }
    }

    #[test]
    fn precedence_decides_bulk_or_auto_reply() {
        for (v, kind) in [
            ("bulk", MailKind::Bulk),
            ("junk", MailKind::Bulk),
            ("List", MailKind::Bulk),
            ("auto_reply", MailKind::AutoReply),
            ("first-class", MailKind::Human),
        ] {
            let s = Signals {
                precedence: Some(v),
                ..Signals::default()
            };
            assert_eq!(classify(&s), kind, "{v}");
        }
    }

    #[test]
    fn x_headers_and_subjects() {
        let s = Signals {
            x_autoreply: Some("yes"),
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::AutoReply);
        let s = Signals {
            x_autorespond: Some("1"),
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::AutoReply);
        for subject in [
            "Out of Office: Re: order 1042",
            "Automatic reply: order",
            "Autosvar: order",
            "Afwezig: bestelling",
            "Abwesenheitsnotiz: Bestellung",
            "Réponse automatique : commande",
            "Respuesta automática: pedido",
            "Poissaoloviesti: tilaus",
        ] {
            let s = Signals {
                subject: Some(subject),
                ..Signals::default()
            };
            assert_eq!(classify(&s), MailKind::AutoReply, "{subject}");
        }
        let s = Signals {
            subject: Some("Re: out of office hours support?"),
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::Human);
    }

    #[test]
    fn null_senders_and_mail_servers_are_machines() {
        let s = Signals {
            null_sender: true,
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::AutoReply);
        for (from, kind) in [
            ("MAILER-DAEMON@mx.example", MailKind::AutoReply),
            ("postmaster@mx.example", MailKind::AutoReply),
            ("ana@example.com", MailKind::Human),
        ] {
            let s = Signals {
                from: Some(from),
                ..Signals::default()
            };
            assert_eq!(classify(&s), kind, "{from}");
        }
    }

    #[test]
    fn list_traffic_with_an_auto_signal_is_bulk_and_without_one_is_human() {
        let s = Signals {
            auto_submitted: Some("auto-replied"),
            list: true,
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::Bulk);
        let s = Signals {
            list: true,
            ..Signals::default()
        };
        assert_eq!(classify(&s), MailKind::Human);
    }
}
