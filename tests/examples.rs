//! The examples are part of the documentation: run them and check what they print, so
//! they cannot rot. (`cargo test` builds every example before running this.)

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// A small simulated month (1,500 messages) into `dir/name.db` and `dir/name.html`.
fn small_month(dir: &std::path::Path, name: &str, extra: &[&str]) -> String {
    let db = dir.join(format!("{name}.db"));
    let html = dir.join(format!("{name}.html"));
    let mut args = vec![
        "--messages",
        "1500",
        "--customers",
        "300",
        "--agents",
        "12",
        "--db",
        db.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run("simulate", &args)
}

fn run(name: &str, args: &[&str]) -> String {
    let path = example(name);
    let out = Command::new(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn quickstart_tells_the_story() {
    let out = run("quickstart", &[]);
    assert!(
        out.contains("duplicate = true, same message = true"),
        "{out}"
    );
    assert!(out.contains("one conversation: true"), "{out}");
    let webchat = out.find("webchat").expect("chat line");
    let email = out.find("email     Inbound").expect("e-mail line");
    let whatsapp = out.find("whatsapp  Inbound").expect("whatsapp line");
    assert!(webchat < email && email < whatsapp, "timeline order: {out}");
    assert!(out.contains("send on whatsapp to +31612345678"), "{out}");
    assert!(out.contains("same customer: true"), "{out}");
    assert!(out.contains("conversations of the customer: 2"), "{out}");
}

#[test]
fn quickstart_runs_on_a_sqlite_file_and_survives_a_rerun() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("desk.db");
    let db = db.to_str().expect("utf-8 path");
    let first = run("quickstart", &["--db", db]);
    assert!(first.contains("one conversation: true"), "{first}");
    assert!(
        first.contains("conversations of the customer: 2"),
        "{first}"
    );
    let again = run("quickstart", &["--db", db]);
    assert!(again.contains("already holds the story"), "{again}");
    assert!(
        again.contains("conversations of the customer: 2"),
        "{again}"
    );
    assert_eq!(
        again.matches("Inbound").count(),
        4,
        "nothing stored twice: {again}"
    );
}

#[test]
fn routing_example_explains_its_decisions() {
    let out = run("routing", &[]);
    assert!(out.contains("intent \"refund\", Some(Leverage)"), "{out}");
    assert!(out.contains("by sticky; winner score"), "{out}");
    assert!(out.contains("is at capacity"), "{out}");
    assert!(out.contains("over capacity by 01900000-"), "{out}");
    assert!(out.contains("Priority Urgent → High by"), "{out}");
    assert!(out.contains("Inbox views:"), "{out}");
    assert!(out.contains("  Noor's: 2 ("), "{out}");
    assert!(out.contains(": assigned to "), "{out}");
    assert!(
        out.contains("bot sends on email: These articles may answer your question:\n• Where is my order?: https://help.shop.example/where-is-my-order"),
        "{out}"
    );
    assert!(out.contains("excluded: AtCapacity"), "{out}");
    assert!(out.contains("nobody has language fi"), "{out}");
    assert!(out.contains("escalation step 0 fired"), "{out}");
}

#[test]
fn identity_merge_is_undone() {
    let out = run("identity_merge", &[]);
    assert!(
        out.contains("Ana Pereira — 2 identifiers, 2 conversations"),
        "{out}"
    );
    assert!(out.contains("recent: chatted this morning"), "{out}");
    assert!(out.contains("its own customer again: true"), "{out}");
    assert!(
        out.contains("ana keeps 1 identifier(s) and 1 conversation(s)"),
        "{out}"
    );
}

#[test]
fn sla_breach_warns_and_breaches_on_monday() {
    let out = run("sla_breach", &[]);
    assert!(out.contains("first reply due Mon 09 Mar 12:00"), "{out}");
    assert!(
        out.contains("Mon 09 Mar 11:15  warning: FirstReply 75% used"),
        "{out}"
    );
    assert!(
        out.contains("Mon 09 Mar 12:00  BREACH: FirstReply missed at Mon 09 Mar 12:00"),
        "{out}"
    );
    assert!(
        !out.contains("Sat") && !out.contains("Sun"),
        "nothing over the weekend: {out}"
    );
}

#[test]
fn a_small_simulated_month_reports_numbers_equal_to_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("small.html");
    let out = small_month(dir.path(), "small", &[]);
    assert!(
        out.contains("live metrics equal the metrics recomputed from the store: true"),
        "{out}"
    );
    assert!(
        out.contains(
            "conversations with a breach reported as an effect equal those the stored clocks show: true"
        ),
        "{out}"
    );
    // The example exits non-zero when a checked row disagrees; the line says so too.
    assert!(
        out.contains("ground truth agrees with the crate's metrics: true"),
        "{out}"
    );
    assert!(out.contains("the customer called instead: "), "{out}");
    assert!(out.contains("Volume by opening channel"), "{out}");
    assert!(out.contains("Irritants (volume × cost)"), "{out}");
    assert!(out.contains("Queue wait before an agent"), "{out}");
    let page = std::fs::read_to_string(&html).expect("the HTML report");
    assert!(
        page.contains("<svg") && page.contains("Irritants"),
        "charts in the HTML report"
    );
}

/// The simulation prepares webhooks on a thread of their own, ahead of delivery; on the
/// Desk's thread (`--single-thread`) the month is the same, only slower.
#[test]
fn a_simulated_month_is_the_same_whichever_thread_prepares_its_webhooks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let month = |name: &str, extra: &[&str]| {
        let out = small_month(dir.path(), name, extra);
        // What the month did, without how long it took.
        out.split("Time split of")
            .next()
            .unwrap()
            .lines()
            .map(|l| l.split("wall time").next().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let threaded = month("threaded", &[]);
    let single = month("single", &["--single-thread"]);
    assert!(
        threaded.contains("inbound messages ingested: "),
        "{threaded}"
    );
    assert_eq!(threaded, single);
}
