//! Reading and writing stored times quickly.
//!
//! Every time in a stored record is RFC 3339 text as chrono writes it
//! (`2026-03-02T09:00:00Z`, with `.fff`, `.ffffff` or `.fffffffff` when there are fractional
//! seconds). chrono's general parser and formatter were about 7% of the CPU samples of the
//! default simulation. The fields of the hottest records (conversations, customers,
//! identifiers, SLA clocks) go through this module instead: that exact shape is parsed
//! directly, and anything else goes to chrono's own parser, so what is accepted and what it
//! means does not change (a property test compares the two). Writing produces chrono's
//! exact output directly, falling back to chrono outside years 0–9999 and for leap
//! seconds (a property test compares the bytes), so stored records do not change.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Deserializer};

/// A time read as chrono's `DateTime<Utc>` deserialisation reads it, faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FastUtc(pub(crate) DateTime<Utc>);

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, or `None` when `s` has any other shape (or a leap
/// second, or an invalid date or time: chrono then decides).
fn parse_common(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let rest = &b[19..];
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let mut n = 0u32;
            for &c in digits {
                if !c.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + u32::from(c - b'0');
            }
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// Parses RFC 3339 text as chrono's `Deserialize for DateTime<Utc>` does, faster for the
/// shape chrono writes.
pub(crate) fn parse(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_common(s) {
        Some(t) => Ok(t),
        None => parse_chrono(s),
    }
}

/// What chrono's own `Deserialize for DateTime<Utc>` does with a string.
fn parse_chrono(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    s.parse::<DateTime<FixedOffset>>()
        .map(|d| d.with_timezone(&Utc))
}

impl<'de> Deserialize<'de> for FastUtc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FastUtc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 date and time")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<FastUtc, E> {
                parse(s).map(FastUtc).map_err(E::custom)
            }
        }
        d.deserialize_str(Visitor)
    }
}

/// `t` as chrono's `Serialize` writes it, for years 0–9999 without a leap second (`None`
/// otherwise: chrono then writes it).
fn format_common(t: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    use chrono::{Datelike, Timelike};
    let year = t.year();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let put = |buf: &mut [u8; 30], at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(buf, 0, year as u32, 4);
    buf[4] = b'-';
    put(buf, 5, t.month(), 2);
    buf[7] = b'-';
    put(buf, 8, t.day(), 2);
    buf[10] = b'T';
    put(buf, 11, t.hour(), 2);
    buf[13] = b':';
    put(buf, 14, t.minute(), 2);
    buf[16] = b':';
    put(buf, 17, t.second(), 2);
    let mut len = 19;
    // chrono's choice: no fraction, milliseconds, microseconds or nanoseconds.
    let (value, width) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if width > 0 {
        buf[len] = b'.';
        put(buf, len + 1, value, width);
        len += 1 + width;
    }
    buf[len] = b'Z';
    Some(len + 1)
}

/// `#[serde(with = "crate::serde_time::utc")]` for a `DateTime<Utc>` field.
pub(crate) mod utc {
    use super::{format_common, FastUtc};
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match format_common(t, &mut buf) {
            // Only ASCII digits and separators were written.
            Some(len) => s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
            None => t.serialize(s),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        FastUtc::deserialize(d).map(|t| t.0)
    }
}

/// `#[serde(default, with = "crate::serde_time::utc_opt")]` for an `Option<DateTime<Utc>>`
/// field (`default` keeps a missing field meaning `None`, as it does without `with`).
pub(crate) mod utc_opt {
    use super::FastUtc;
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        struct Fast<'a>(&'a DateTime<Utc>);
        impl Serialize for Fast<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::utc::serialize(self.0, s)
            }
        }
        t.as_ref().map(Fast).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<FastUtc>::deserialize(d).map(|t| t.map(|t| t.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(json: &str) -> Result<DateTime<Utc>, String> {
        serde_json::from_str::<FastUtc>(json)
            .map(|t| t.0)
            .map_err(|e| e.to_string())
    }

    fn chrono(json: &str) -> Result<DateTime<Utc>, String> {
        serde_json::from_str::<DateTime<Utc>>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn other_shapes_go_to_chrono() {
        for s in [
            "\"2026-03-02T09:00:00+01:00\"",
            "\"2026-03-02 09:00:00Z\"",
            "\"2026-03-02T09:00:00.1234567891Z\"",
            "\"2016-12-31T23:59:60Z\"",
            "\"2026-02-30T09:00:00Z\"",
            "\"2026-03-02T24:00:00Z\"",
            "\"+2026-03-02T09:00:00Z\"",
            "\"not a time\"",
        ] {
            assert_eq!(fast(s).is_ok(), chrono(s).is_ok(), "{s}");
            if let (Ok(a), Ok(b)) = (fast(s), chrono(s)) {
                assert_eq!(a, b, "{s}");
            }
        }
        assert_eq!(
            fast("\"2026-03-02T09:00:00+01:00\"").ok(),
            "2026-03-02T08:00:00Z".parse().ok()
        );
    }

    proptest! {
        /// The fast writer writes exactly what chrono writes (the stored bytes do not
        /// change), in and out of an `Option`.
        #[test]
        fn writes_what_chrono_writes(secs in -62_000_000_000i64..250_000_000_000i64, nanos in 0u32..1_000_000_000, round in 0u32..3) {
            let nanos = match round { 0 => nanos, 1 => nanos / 1_000 * 1_000, _ => nanos / 1_000_000 * 1_000_000 };
            let t = DateTime::from_timestamp(secs, nanos).expect("in range");
            #[derive(serde::Serialize)]
            struct Both {
                #[serde(with = "super::utc")]
                t: DateTime<Utc>,
                #[serde(with = "super::utc_opt")]
                o: Option<DateTime<Utc>>,
            }
            #[derive(serde::Serialize)]
            struct Chrono {
                t: DateTime<Utc>,
                o: Option<DateTime<Utc>>,
            }
            prop_assert_eq!(
                serde_json::to_string(&Both { t, o: Some(t) }).expect("encodes"),
                serde_json::to_string(&Chrono { t, o: Some(t) }).expect("encodes")
            );
            let whole = DateTime::from_timestamp(secs, 0).expect("in range");
            prop_assert_eq!(
                serde_json::to_string(&Both { t: whole, o: None }).expect("encodes"),
                serde_json::to_string(&Chrono { t: whole, o: None }).expect("encodes")
            );
        }

        /// Whatever chrono writes, the fast path reads back to the same time.
        #[test]
        fn reads_what_chrono_writes(secs in -62_000_000_000i64..250_000_000_000i64, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).expect("in range");
            let json = serde_json::to_string(&t).expect("encodes");
            prop_assert_eq!(fast(&json), Ok(t));
        }

        /// On text of the common shape with any digits, the fast path and chrono agree:
        /// both read the same time or both refuse.
        #[test]
        fn agrees_with_chrono(
            y in 0u32..10_000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62,
            s in 0u32..62, frac in proptest::option::of("[0-9]{1,10}"),
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let json = format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}Z\"");
            match (fast(&json), chrono(&json)) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert_eq!(a.is_ok(), b.is_ok(), "{} {:?} {:?}", json, a, b),
            }
        }
    }
}
