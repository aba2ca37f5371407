//! A deserialised identifier goes through its constructor's checks: whatever JSON a
//! host or a store hands over, the result is an error or exactly what the constructor
//! makes of the same value, never a panic, and a serialised identifier reads back equal.

use proptest::prelude::*;
use throughline::identity::IdentifierKind;
use throughline::Identifier;

fn json(kind: &str, value: &str) -> String {
    serde_json::json!({ "kind": kind, "value": value }).to_string()
}

/// What the constructor makes of `value` for `kind`.
fn constructed(kind: &str, value: &str) -> throughline::Result<Identifier> {
    match kind {
        "email" => Identifier::email(value),
        "phone" => Identifier::phone(value, None),
        "whats_app" => Identifier::whatsapp(value, None),
        "twitter" => Identifier::handle(IdentifierKind::Twitter, value),
        _ => Identifier::handle(IdentifierKind::Line, value),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn deserialising_checks_as_the_constructor_does(
        kind in prop::sample::select(vec!["email", "phone", "whats_app", "twitter", "line"]),
        value in prop_oneof![
            ".{0,40}",
            "[A-Za-z0-9._%+-]{1,12}@[A-Za-z0-9-]{1,10}\\.[a-z]{2,4}",
            "\\+?[0-9 ()-]{0,18}",
            "@?[A-Za-z0-9_]{1,15}",
        ],
    ) {
        let read: Result<Identifier, _> = serde_json::from_str(&json(kind, &value));
        let made = constructed(kind, &value);
        match (&read, &made) {
            (Ok(r), Ok(m)) => prop_assert_eq!(r, m),
            (Err(_), Err(_)) => {}
            // A canonical E.164 number is taken as written without the region check; the
            // constructor agrees on everything it accepts.
            (Ok(r), Err(_)) => prop_assert!(
                matches!(kind, "phone" | "whats_app") && r.value() == value,
                "{read:?} but the constructor refused"
            ),
            (Err(e), Ok(m)) => prop_assert!(false, "{m:?} constructed, but reading refused: {e}"),
        }
        if let Ok(r) = read {
            let again: Identifier = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(again, r);
        }
    }
}

#[test]
fn a_stored_address_is_normalised_and_garbage_is_refused_with_its_field() {
    let id: Identifier = serde_json::from_str(&json("email", " Bo@EXAMPLE.org ")).unwrap();
    assert_eq!(id.value(), "Bo@example.org");
    let err = serde_json::from_str::<Identifier>(&json("email", "no-at-sign")).unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");
    let err = serde_json::from_str::<Identifier>(&json("twitter", "two words")).unwrap_err();
    assert!(err.to_string().contains("handle"), "{err}");
    let phone: Identifier = serde_json::from_str(&json("phone", "+31612345678")).unwrap();
    assert_eq!(phone, Identifier::phone("+31 6 1234 5678", None).unwrap());
    let err = serde_json::from_str::<Identifier>(&json("phone", "0612345678")).unwrap_err();
    assert!(err.to_string().contains("region"), "{err}");
}
