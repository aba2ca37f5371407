//! Typed identifiers and their normalisation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::{Error, Result};

/// The longest identifier value accepted, in bytes (after normalisation).
pub const MAX_IDENTIFIER_LEN: usize = 320;

/// What kind of identifier a value is. Values are only ever compared within a kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentifierKind {
    /// An e-mail address.
    Email,
    /// A phone number in E.164 (SMS, voice).
    Phone,
    /// A WhatsApp user (its E.164 number or WhatsApp id).
    WhatsApp,
    /// A LINE user id.
    Line,
    /// A WeChat OpenID / UnionID.
    WeChat,
    /// A Messenger page-scoped id.
    Messenger,
    /// An X (Twitter) user id or handle.
    Twitter,
    /// An Instagram-scoped id or handle.
    Instagram,
    /// An anonymous web or app visitor (a device or cookie id).
    WebVisitor,
    /// The host's own user id in the named system.
    External {
        /// The host system's name, for example `"shop"` or `"crm"`.
        system: String,
    },
}

impl IdentifierKind {
    /// A stable, short name of the kind (`"email"`, `"phone"`, `"external:shop"`).
    pub fn name(&self) -> String {
        match self {
            IdentifierKind::Email => "email".into(),
            IdentifierKind::Phone => "phone".into(),
            IdentifierKind::WhatsApp => "whatsapp".into(),
            IdentifierKind::Line => "line".into(),
            IdentifierKind::WeChat => "wechat".into(),
            IdentifierKind::Messenger => "messenger".into(),
            IdentifierKind::Twitter => "x".into(),
            IdentifierKind::Instagram => "instagram".into(),
            IdentifierKind::WebVisitor => "web_visitor".into(),
            IdentifierKind::External { system } => format!("external:{system}"),
        }
    }

    /// Parses [`IdentifierKind::name`] back.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "email" => IdentifierKind::Email,
            "phone" => IdentifierKind::Phone,
            "whatsapp" => IdentifierKind::WhatsApp,
            "line" => IdentifierKind::Line,
            "wechat" => IdentifierKind::WeChat,
            "messenger" => IdentifierKind::Messenger,
            "x" => IdentifierKind::Twitter,
            "instagram" => IdentifierKind::Instagram,
            "web_visitor" => IdentifierKind::WebVisitor,
            other => match other.strip_prefix("external:") {
                Some(system) if !system.is_empty() => IdentifierKind::External {
                    system: system.to_string(),
                },
                _ => {
                    return Err(Error::invalid(
                        "identifier kind",
                        format!("unknown kind {name:?}"),
                    ))
                }
            },
        })
    }

    /// The channel a reply to this identifier goes out on, when there is exactly one.
    pub fn channel(&self) -> Option<Channel> {
        Some(match self {
            IdentifierKind::Email => Channel::Email,
            IdentifierKind::Phone => Channel::Sms,
            IdentifierKind::WhatsApp => Channel::WhatsApp,
            IdentifierKind::Line => Channel::Line,
            IdentifierKind::WeChat => Channel::WeChat,
            IdentifierKind::Messenger => Channel::Messenger,
            IdentifierKind::Twitter => Channel::Twitter,
            IdentifierKind::Instagram => Channel::Instagram,
            IdentifierKind::WebVisitor | IdentifierKind::External { .. } => return None,
        })
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One normalised identifier: a kind and a value.
///
/// Constructors normalise and validate, so two spellings of the same address compare
/// equal, and garbage is an [`Error::Invalid`] that says what was wrong.
///
/// ```
/// use throughline::Identifier;
/// let a = Identifier::email("  Ana@Example.COM ")?;
/// assert_eq!(a.value(), "Ana@example.com"); // the local part is kept as written
/// let p = Identifier::phone("06-1234 5678", Some("NL"))?;
/// assert_eq!(p.value(), "+31612345678");
/// assert!(Identifier::email("no-at-sign").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Deserialising goes through the same checks (`#[serde(try_from)]`): an e-mail address,
/// a platform handle or an external id is normalised and checked as its constructor
/// does; a phone or WhatsApp number in canonical E.164 form (`+` and 7 to 15 digits, as
/// the constructors write it) is taken as it is, any other form is normalised by the
/// constructor or refused.
///
/// ```
/// use throughline::Identifier;
/// let id: Identifier = serde_json::from_str(r#"{"kind":"email","value":" Ana@EXAMPLE.com"}"#)?;
/// assert_eq!(id, Identifier::email("Ana@example.com")?);
/// assert!(serde_json::from_str::<Identifier>(r#"{"kind":"phone","value":"call me"}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawIdentifier")]
pub struct Identifier {
    kind: IdentifierKind,
    value: String,
}

/// An identifier as written, before its checks.
#[derive(Deserialize)]
struct RawIdentifier {
    kind: IdentifierKind,
    value: String,
}

impl TryFrom<RawIdentifier> for Identifier {
    type Error = Error;

    fn try_from(raw: RawIdentifier) -> Result<Self> {
        let canonical_number = |v: &str| {
            v.strip_prefix('+').is_some_and(|d| {
                (7..=15).contains(&d.len())
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && !d.starts_with('0')
            })
        };
        match raw.kind {
            IdentifierKind::Email => Identifier::email(&raw.value),
            IdentifierKind::Phone | IdentifierKind::WhatsApp if canonical_number(&raw.value) => {
                Ok(Identifier {
                    kind: raw.kind,
                    value: raw.value,
                })
            }
            IdentifierKind::Phone => Identifier::phone(&raw.value, None),
            IdentifierKind::WhatsApp => Identifier::whatsapp(&raw.value, None),
            IdentifierKind::External { system } => Identifier::external(&system, &raw.value),
            kind => Identifier::handle(kind, &raw.value),
        }
    }
}

/// Zero-width and bidirectional formatting characters: invisible, they make two
/// addresses that look the same differ (or reorder how one is displayed).
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

impl Identifier {
    /// The kind.
    pub fn kind(&self) -> &IdentifierKind {
        &self.kind
    }

    /// The normalised value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Rebuilds an identifier from a kind and an already-normalised value (as read back
    /// from a store). Validates only emptiness and length.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or over-long value.
    pub fn from_normalised(kind: IdentifierKind, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        check_len("identifier", &value)?;
        Ok(Identifier { kind, value })
    }

    /// An e-mail address: surrounding whitespace and a `mailto:` prefix removed, the
    /// domain lower-cased (an internationalised domain converted to punycode), the local
    /// part kept exactly (RFC 5321 makes it case-sensitive; plus-addressing is not folded:
    /// `ana+shop@x` and `ana@x` may be different mailboxes).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when there is not exactly one `@`, either side is empty, the
    /// domain is not a valid host name, or the address holds whitespace or control
    /// characters.
    pub fn email(raw: &str) -> Result<Self> {
        let s = raw.trim();
        let s = s
            .strip_prefix("mailto:")
            .or_else(|| s.strip_prefix("MAILTO:"))
            .unwrap_or(s);
        if s.is_empty() {
            return Err(Error::invalid("email", "empty address"));
        }
        if s.len() > 254 {
            return Err(Error::invalid(
                "email",
                format!("address is {} bytes, the maximum is 254", s.len()),
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || is_invisible(*c))
        {
            return Err(Error::invalid(
                "email",
                format!("{s:?} contains the character {c:?}"),
            ));
        }
        let mut parts = s.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(d), None) => (l, d),
            (_, None, _) => return Err(Error::invalid("email", format!("{s:?} has no '@'"))),
            _ => {
                return Err(Error::invalid(
                    "email",
                    format!("{s:?} has more than one '@'"),
                ))
            }
        };
        if local.is_empty() || local.len() > 64 {
            return Err(Error::invalid(
                "email",
                format!("local part of {s:?} must be 1 to 64 bytes"),
            ));
        }
        let domain = normalise_domain(domain).map_err(|why| {
            Error::invalid("email", format!("domain of {s:?} is not valid: {why}"))
        })?;
        Ok(Identifier {
            kind: IdentifierKind::Email,
            value: format!("{local}@{domain}"),
        })
    }

    /// A phone number, normalised to E.164 (`+` and digits).
    ///
    /// Accepts national formats when `default_region` (ISO 3166 alpha-2, like `"NL"`) is
    /// given, international `+` and `00` prefixes, `tel:` URIs, spaces, dashes, dots,
    /// parentheses and full-width digits. An extension is dropped from the value (see
    /// [`Identifier::phone_with_extension`]). Brazilian mobile numbers written without
    /// their ninth digit are given it, so both spellings are one identifier.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for letters, too few or too many digits, a national number
    /// without a region, an unknown region, or a number that is not valid for its region.
    pub fn phone(raw: &str, default_region: Option<&str>) -> Result<Self> {
        Ok(Self::phone_with_extension(raw, default_region)?.0)
    }

    /// As [`Identifier::phone`], also returning the extension (`;ext=12`, `x12`), which is
    /// kept out of the identifier: every extension of a number is the same line.
    ///
    /// ```
    /// use throughline::Identifier;
    /// let (id, ext) = Identifier::phone_with_extension("+1 650-253-0000 ext. 1234", None)?;
    /// assert_eq!((id.value(), ext.as_deref()), ("+16502530000", Some("1234")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Identifier::phone`].
    pub fn phone_with_extension(
        raw: &str,
        default_region: Option<&str>,
    ) -> Result<(Self, Option<String>)> {
        let (value, extension) = normalise_phone(raw, default_region)?;
        Ok((
            Identifier {
                kind: IdentifierKind::Phone,
                value,
            },
            extension,
        ))
    }

    /// A WhatsApp user identified by its phone number (normalised like [`Identifier::phone`]).
    ///
    /// # Errors
    ///
    /// As [`Identifier::phone`].
    pub fn whatsapp(raw: &str, default_region: Option<&str>) -> Result<Self> {
        let raw = raw.trim();
        let raw = raw
            .strip_suffix("@s.whatsapp.net")
            .or_else(|| raw.strip_suffix("@c.us"))
            .unwrap_or(raw);
        let with_plus;
        let raw = if raw.bytes().all(|b| b.is_ascii_digit()) && default_region.is_none() {
            // Providers send WhatsApp ids as bare international digits.
            with_plus = format!("+{raw}");
            with_plus.as_str()
        } else {
            raw
        };
        let (value, _) = normalise_phone(raw, default_region)?;
        Ok(Identifier {
            kind: IdentifierKind::WhatsApp,
            value,
        })
    }

    /// A platform user id or handle (LINE, WeChat, Messenger, X, Instagram, web visitor).
    /// Handles are trimmed; X and Instagram handles lose a leading `@` and are
    /// lower-cased (both platforms treat handles case-insensitively).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty or over-long value, whitespace inside the value,
    /// control characters or bidirectional overrides, or for kinds that have their own
    /// constructor (e-mail, phone, WhatsApp, external).
    pub fn handle(kind: IdentifierKind, raw: &str) -> Result<Self> {
        let field = "handle";
        let mut v = raw.trim().to_string();
        match kind {
            IdentifierKind::Email
            | IdentifierKind::Phone
            | IdentifierKind::WhatsApp
            | IdentifierKind::External { .. } => {
                return Err(Error::invalid(
                    field,
                    format!("{kind} identifiers have their own constructor"),
                ))
            }
            IdentifierKind::Twitter | IdentifierKind::Instagram => {
                v = v.trim_start_matches('@').to_lowercase();
            }
            _ => {}
        }
        check_token(field, &v)?;
        Ok(Identifier { kind, value: v })
    }

    /// The host's own user id in `system` (kept as given, trimmed).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an empty system or id, whitespace or control characters.
    pub fn external(system: &str, id: &str) -> Result<Self> {
        let system = system.trim();
        check_token("external system", system)?;
        let id = id.trim();
        check_token("external id", id)?;
        Ok(Identifier {
            kind: IdentifierKind::External {
                system: system.to_string(),
            },
            value: id.to_string(),
        })
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

fn check_len(field: &'static str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(Error::invalid(field, "empty value"));
    }
    if v.len() > MAX_IDENTIFIER_LEN {
        return Err(Error::invalid(
            field,
            format!("{} bytes, the maximum is {MAX_IDENTIFIER_LEN}", v.len()),
        ));
    }
    Ok(())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn check_token(field: &'static str, v: &str) -> Result<()> {
    check_len(field, v)?;
    if let Some(c) = v
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || is_bidi_control(c))
    {
        return Err(Error::invalid(
            field,
            format!("{v:?} contains the character {c:?}"),
        ));
    }
    Ok(())
}

fn normalise_domain(domain: &str) -> std::result::Result<String, String> {
    let d = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        // Internationalised domain: UTS 46 mapping (which also lower-cases) to punycode.
        if domain.ends_with('.') {
            return Err("trailing dot".into());
        }
        idna::domain_to_ascii(domain)
            .map_err(|_| "not a valid internationalised domain name".to_string())?
    };
    if d.is_empty() {
        return Err("empty".into());
    }
    if d.len() > 253 {
        return Err(format!("{} bytes, the maximum is 253", d.len()));
    }
    if d.ends_with('.') {
        return Err("trailing dot".into());
    }
    if !d.contains('.') {
        return Err("no dot in the domain".into());
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label of {} bytes, the maximum is 63", label.len()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!(
                "label {label:?} holds a character not allowed in a host name"
            ));
        }
    }
    Ok(d)
}

const PHONE: &str = "phone";

fn normalise_phone(raw: &str, default_region: Option<&str>) -> Result<(String, Option<String>)> {
    let cleaned = phone_characters(raw)?;
    let (body, extension) = split_extension(raw, &cleaned)?;
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_digit() || " -.()+/\u{a0}".contains(*c)))
    {
        return Err(Error::invalid(PHONE, format!("{raw:?} contains {c:?}")));
    }
    let region = default_region.map(phone_region).transpose()?;
    let body = international_form(raw, body, region.is_some())?;
    let mut number = phonenumber::parse(region, &body)
        .map_err(|e| Error::invalid(PHONE, format!("{raw:?} is not a phone number: {e}")))?;
    if let Some(fixed) = brazil_mobile_ninth_digit(&number) {
        number = fixed;
    }
    if !phonenumber::is_valid(&number) {
        return Err(Error::invalid(
            PHONE,
            format!("{raw:?} is not a valid phone number"),
        ));
    }
    Ok((
        number.format().mode(phonenumber::Mode::E164).to_string(),
        extension,
    ))
}

/// The number's characters: trimmed, without a `tel:` scheme, full-width digits and plus
/// folded to ASCII (extension markers kept for [`split_extension`]).
fn phone_characters(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(PHONE, "empty number"));
    }
    if trimmed.len() > 64 {
        return Err(Error::invalid(
            PHONE,
            format!("{} bytes is too long for a phone number", trimmed.len()),
        ));
    }
    let s = trimmed
        .strip_prefix("tel:")
        .or_else(|| trimmed.strip_prefix("TEL:"))
        .unwrap_or(trimmed);
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
            '\u{FF0B}' => '+',
            c => c,
        })
        .collect();
    if !cleaned.chars().any(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(PHONE, format!("{raw:?} has no digits")));
    }
    Ok(cleaned)
}

/// The number and its extension: the number ends where an extension marker starts
/// (";ext=", "ext", "x" or "#"); the extension is its digits, at most 10.
fn split_extension<'a>(raw: &str, cleaned: &'a str) -> Result<(&'a str, Option<String>)> {
    let lower = cleaned.to_ascii_lowercase();
    let ext_at = [";", "#", "ext", "x"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min();
    let Some(i) = ext_at else {
        return Ok((cleaned, None));
    };
    let ext: String = cleaned[i..].chars().filter(char::is_ascii_digit).collect();
    if ext.len() > 10 {
        return Err(Error::invalid(
            PHONE,
            format!("{raw:?} has an extension longer than 10 digits"),
        ));
    }
    Ok((&cleaned[..i], Some(ext).filter(|e| !e.is_empty())))
}

/// A default region given as ISO 3166 alpha-2.
fn phone_region(r: &str) -> Result<phonenumber::country::Id> {
    r.trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .map_err(|_| {
            Error::invalid(
                PHONE,
                format!("unknown region {r:?} (use ISO 3166 alpha-2, e.g. \"NL\")"),
            )
        })
}

/// The number as the parser takes it: one '+' at most, and only in front; a national
/// number only with a default region; "00" (the international prefix in most of the
/// world, which libphonenumber only knows relative to a region) rewritten to '+' when no
/// region was given.
fn international_form(raw: &str, body: &str, has_region: bool) -> Result<String> {
    let lead = body.trim_start();
    if body.matches('+').count() > 1 || lead.get(1..).is_some_and(|rest| rest.contains('+')) {
        return Err(Error::invalid(
            PHONE,
            format!("{raw:?} has a '+' that is not the international prefix"),
        ));
    }
    let international = lead.starts_with('+') || lead.starts_with("00");
    if !has_region && !international {
        return Err(Error::invalid(
            PHONE,
            format!("{raw:?} is in national format and no default region was given"),
        ));
    }
    Ok(match lead.strip_prefix("00") {
        Some(rest) if !has_region => format!("+{rest}"),
        _ => body.to_string(),
    })
}

/// Brazilian mobile numbers gained a ninth digit (a leading 9) in 2012-2016; WhatsApp
/// still reports many accounts under the old eight-digit form. Both forms are one
/// number: add the 9 to an eight-digit subscriber number that starts with 6-9 (the
/// mobile range).
fn brazil_mobile_ninth_digit(
    number: &phonenumber::PhoneNumber,
) -> Option<phonenumber::PhoneNumber> {
    if number.code().value() != 55 {
        return None;
    }
    let national = number.national().value().to_string();
    // Two-digit area code + eight-digit subscriber number starting with 6..9.
    if national.len() != 10 || !matches!(national.as_bytes()[2], b'6'..=b'9') {
        return None;
    }
    let fixed = format!("+55{}9{}", &national[..2], &national[2..]);
    phonenumber::parse(None, &fixed).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_normalisation() {
        assert_eq!(
            Identifier::email(" Ana@EXAMPLE.com\n").unwrap().value(),
            "Ana@example.com"
        );
        assert_eq!(
            Identifier::email("mailto:a+tag@x.org").unwrap().value(),
            "a+tag@x.org"
        );
        for bad in [
            "",
            "  ",
            "a",
            "a@",
            "@b.com",
            "a@b@c.com",
            "a@b.com.",
            "a b@c.com",
            "a@nodot",
        ] {
            assert!(Identifier::email(bad).is_err(), "{bad:?}");
        }
        let long = format!("a@{}.com", "x".repeat(300));
        assert!(Identifier::email(&long).is_err());
    }

    #[test]
    fn phone_normalisation() {
        for (raw, region) in [
            ("+31 6 12345678", None),
            ("0031612345678", None),
            ("06-12345678", Some("NL")),
            ("tel:+31-6-1234-5678", None),
            ("(06) 1234.5678", Some("nl")),
            ("＋３１６１２３４５６７８", None),
        ] {
            assert_eq!(
                Identifier::phone(raw, region).unwrap().value(),
                "+31612345678",
                "{raw}"
            );
        }
        let (id, ext) =
            Identifier::phone_with_extension("+1 650-253-0000 ext. 1234", None).unwrap();
        assert_eq!((id.value(), ext.as_deref()), ("+16502530000", Some("1234")));
        let (_, ext) = Identifier::phone_with_extension("tel:+16502530000;ext=55", None).unwrap();
        assert_eq!(ext.as_deref(), Some("55"));
        // Brazil: with and without the ninth digit are one number.
        let with9 = Identifier::whatsapp("5511987654321", None).unwrap();
        let without9 = Identifier::whatsapp("551187654321", None).unwrap();
        assert_eq!(with9, without9);
        assert_eq!(with9.value(), "+5511987654321");
        assert_eq!(
            Identifier::phone("+55 11 8765-4321", None).unwrap().value(),
            "+5511987654321"
        );
        // A Brazilian landline (subscriber starting 2-5) is left alone.
        assert_eq!(
            Identifier::phone("+55 11 3456-7890", None).unwrap().value(),
            "+551134567890"
        );
        for (bad, region) in [
            ("", None),
            ("++", None),
            ("+12345678901234567", None),
            ("0612345678", Some("")),
            ("+", None),
            ("abc", None),
            ("06-1234567A", Some("NL")),
            ("0612345678", None),
            ("+3161234567890123456", None),
            ("0612345678", Some("ZZ")),
        ] {
            assert!(Identifier::phone(bad, region).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn handles_reject_invisible_tricks() {
        assert_eq!(
            Identifier::handle(IdentifierKind::Twitter, "@Ana_Shop")
                .unwrap()
                .value(),
            "ana_shop"
        );
        assert!(Identifier::handle(IdentifierKind::Line, "u\u{202E}123").is_err());
        assert!(Identifier::handle(IdentifierKind::Line, "   ").is_err());
        assert!(Identifier::handle(IdentifierKind::Email, "a@b.c").is_err());
        let sql = Identifier::handle(IdentifierKind::Line, "x');DROP_TABLE--").unwrap();
        assert_eq!(sql.value(), "x');DROP_TABLE--");
    }

    #[test]
    fn kind_names_round_trip() {
        for k in [
            IdentifierKind::Email,
            IdentifierKind::Twitter,
            IdentifierKind::External {
                system: "shop".into(),
            },
        ] {
            assert_eq!(IdentifierKind::from_name(&k.name()).unwrap(), k);
        }
    }

    /// Invisible characters would let two addresses that look the same be two customers.
    #[test]
    fn an_address_with_invisible_characters_is_refused() {
        for bad in [
            "ana\u{200B}@example.com",
            "ana\u{202E}moc@example.com",
            "\u{FEFF}ana@example.com",
            "ana@exa\u{200D}mple.com",
            "an\u{2066}a@example.com",
        ] {
            let err = Identifier::email(bad).expect_err(bad);
            assert!(err.to_string().contains("contains the character"), "{err}");
        }
        assert!(Identifier::email("ana@example.com").is_ok());
    }
}
