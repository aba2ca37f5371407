//! Similarity: the identifiers under which another customer could be the same person as
//! the one a message creates — never a merge, only a suggestion with its evidence.
//!
//! Pure: from an identifier to the candidate identifiers to look up, each with what else
//! must hold for a suggestion. Every candidate is a point lookup (an identifier), so the
//! check costs a bounded number of indexed reads whatever the tenant's size.

use super::{Identifier, IdentifierKind};

/// What must also hold for a customer found under a candidate identifier to be suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing: the identifier alone is the evidence (the same phone number as WhatsApp).
    Nothing,
    /// Both customers carry the same full name (two words or more, compared without case
    /// and accents): a mailbox at a related domain alone is no evidence.
    SameName,
}

/// Mail domains that are one mailbox under two names.
const ALIASED_DOMAINS: &[(&str, &str)] = &[("gmail.com", "googlemail.com")];

/// Second-level suffixes under which the registrable domain has three labels.
const SECOND_LEVEL: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz", "co.za", "com.br",
    "com.mx", "co.jp", "ne.jp", "or.jp", "co.kr", "com.cn", "com.tw", "com.tr", "co.in", "co.il",
    "com.sg", "com.ar",
];

/// The identifiers to look up for `identifier`, and what each needs besides.
///
/// - a phone number: the WhatsApp account on it, and the reverse ([`Needs::Nothing`]);
/// - an e-mail address: the same local part at a related domain — the other name of an
///   aliased mailbox domain (`gmail.com`, `googlemail.com`), or the organisation's domain
///   for an address at one of its subdomains (`ana@mail.acme.com` → `ana@acme.com`)
///   ([`Needs::SameName`]);
/// - a host id (`External`): the same id written in other case, or without leading zeros
///   (`C-1042`, `c-1042`; `0042`, `42`) in the same system ([`Needs::Nothing`]).
pub(crate) fn candidates(identifier: &Identifier) -> Vec<(Identifier, Needs)> {
    let v = identifier.value();
    let found: Vec<(Option<Identifier>, Needs)> = match identifier.kind() {
        IdentifierKind::Phone => vec![(Identifier::whatsapp(v, None).ok(), Needs::Nothing)],
        IdentifierKind::WhatsApp => vec![(Identifier::phone(v, None).ok(), Needs::Nothing)],
        IdentifierKind::Email => related_mailboxes(v)
            .into_iter()
            .map(|m| (Identifier::email(&m).ok(), Needs::SameName))
            .collect(),
        IdentifierKind::External { system } => host_id_variants(v)
            .into_iter()
            .map(|id| (Identifier::external(system, &id).ok(), Needs::Nothing))
            .collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<(Identifier, Needs)> = Vec::new();
    for (c, needs) in found {
        if let Some(c) = c.filter(|c| c != identifier) {
            if !out.iter().any(|(x, _)| *x == c) {
                out.push((c, needs));
            }
        }
    }
    out
}

/// The same local part at the related domains of `address`'s domain.
fn related_mailboxes(address: &str) -> Vec<String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Vec::new();
    };
    let domain = domain.to_ascii_lowercase();
    let mut domains: Vec<String> = ALIASED_DOMAINS
        .iter()
        .filter_map(|&(a, b)| match domain.as_str() {
            d if d == a => Some(b.to_string()),
            d if d == b => Some(a.to_string()),
            _ => None,
        })
        .collect();
    let labels: Vec<&str> = domain.split('.').collect();
    let registrable = if labels.len() >= 3
        && SECOND_LEVEL.contains(&labels[labels.len() - 2..].join(".").as_str())
    {
        3
    } else {
        2
    };
    if labels.len() > registrable {
        domains.push(labels[labels.len() - registrable..].join("."));
    }
    domains
        .into_iter()
        .map(|d| format!("{local}@{d}"))
        .collect()
}

/// Other spellings of a host id: lower and upper case, and without leading zeros.
fn host_id_variants(id: &str) -> Vec<String> {
    let mut out = vec![id.to_lowercase(), id.to_uppercase()];
    let unpadded = id.trim_start_matches('0');
    if !unpadded.is_empty() && unpadded.len() < id.len() {
        out.push(unpadded.to_string());
    }
    out
}

/// Whether two display names are the same full name: at least two words each, equal
/// word for word without case and accents.
pub(crate) fn same_name(a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let (a, b) = (crate::triage::words(a), crate::triage::words(b));
    a.len() >= 2 && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(i: Identifier) -> Vec<(String, Needs)> {
        candidates(&i)
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect()
    }

    #[test]
    fn numbers_mailboxes_and_host_ids_have_their_candidates() {
        assert_eq!(
            values(Identifier::phone("+31612345678", None).unwrap()),
            [("whatsapp:+31612345678".to_string(), Needs::Nothing)]
        );
        assert_eq!(
            values(Identifier::email("ana.lopez@gmail.com").unwrap()),
            [(
                "email:ana.lopez@googlemail.com".to_string(),
                Needs::SameName
            )]
        );
        assert_eq!(
            values(Identifier::email("ana@mail.acme.co.uk").unwrap()),
            [("email:ana@acme.co.uk".to_string(), Needs::SameName)]
        );
        assert!(values(Identifier::email("ana@acme.co.uk").unwrap()).is_empty());
        assert!(values(Identifier::email("ana@acme.com").unwrap()).is_empty());
        let host = values(Identifier::external("crm", "C-0042").unwrap());
        let ids: Vec<&str> = host.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(ids, ["external:crm:c-0042"]);
        let padded = values(Identifier::external("crm", "0042").unwrap());
        assert_eq!(padded[0].0, "external:crm:42");
        assert!(values(Identifier::handle(IdentifierKind::WebVisitor, "v1").unwrap()).is_empty());
    }

    #[test]
    fn a_same_name_is_a_full_name_without_case_and_accents() {
        assert!(same_name(Some("Ana López"), Some("ana lopez")));
        assert!(!same_name(Some("Ana"), Some("Ana")));
        assert!(!same_name(Some("Ana López"), Some("Ana Lopes")));
        assert!(!same_name(None, Some("Ana López")));
    }
}
