//! The host's webhook front end: it turns what a provider posts (who wrote, on which
//! channel, what) into a normalised `Inbound` and prepares it (`Preparer`: message checks
//! and language detection), the way a host's webhook handlers would on their own threads,
//! while the simulation's main thread owns the `Desk`. With `--single-thread` the same
//! work runs on the main thread when the message is delivered.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use throughline::identity::IdentifierKind;
use throughline::{Channel, Identifier, Inbound, Prepared, Preparer, Result, TenantId};

/// A webhook as a provider would post it.
pub struct Hook {
    /// The simulation's key for it (unique).
    pub key: u64,
    pub tenant: TenantId,
    pub customer: u64,
    pub channel: Channel,
    pub body: String,
}

/// The simulated customer's identifier on `channel`.
pub fn identifier(customer: u64, channel: &Channel) -> Identifier {
    match channel {
        Channel::Sms | Channel::Voice => {
            Identifier::phone(&format!("+3161{:07}", customer % 10_000_000), None)
        }
        Channel::WhatsApp => {
            Identifier::whatsapp(&format!("+3161{:07}", customer % 10_000_000), None)
        }
        Channel::Line => Identifier::handle(IdentifierKind::Line, &format!("U{customer:08x}")),
        Channel::Twitter => {
            Identifier::handle(IdentifierKind::Twitter, &format!("@cust{customer}"))
        }
        _ => Identifier::email(&format!("customer{customer}@example.com")),
    }
    .expect("valid simulated identifier")
}

impl Hook {
    /// What the host's handler does with it: normalise the sender, build the message,
    /// prepare it.
    fn prepare(self, preparer: &Preparer) -> Result<Prepared> {
        let from = identifier(self.customer, &self.channel);
        let inbound = Inbound::new(
            self.tenant,
            self.channel,
            from,
            format!("hook-{}", self.key),
            self.body,
        );
        preparer.prepare(inbound)
    }
}

enum Mode {
    /// Prepared on the main thread when taken.
    Inline {
        preparer: Preparer,
        waiting: HashMap<u64, Hook>,
    },
    /// Prepared on a webhook thread, [`POST_CHUNK`] hooks at a time.
    Thread {
        hooks: Option<mpsc::Sender<Vec<Hook>>>,
        /// Posted, not yet handed to the thread.
        outbox: Vec<Hook>,
        prepared: mpsc::Receiver<(u64, Result<Prepared>)>,
        ready: HashMap<u64, Result<Prepared>>,
        worker: Option<JoinHandle<Duration>>,
    },
}

/// Hooks handed to the webhook thread at once. One at a time, the main thread woke the
/// idle webhook thread for each (a `futex` call: 3.4% of its `perf` samples); contacts
/// are posted thousands ahead, so a chunk adds no waiting.
const POST_CHUNK: usize = 64;

/// Sends the outbox's hooks to the webhook thread (if any).
fn hand_over(hooks: &Option<mpsc::Sender<Vec<Hook>>>, outbox: &mut Vec<Hook>) {
    if outbox.is_empty() {
        return;
    }
    let chunk = std::mem::replace(outbox, Vec::with_capacity(POST_CHUNK));
    hooks
        .as_ref()
        .expect("posting before stop")
        .send(chunk)
        .expect("the webhook thread runs");
}

/// Webhooks posted ahead of the moment they are delivered to the Desk.
pub struct Front {
    mode: Mode,
    /// Time the webhook thread spent working, known once it has stopped.
    pub busy: Option<Duration>,
}

impl Front {
    /// A front end preparing with `preparer`, on its own thread when `threaded`.
    pub fn new(preparer: Preparer, threaded: bool) -> Front {
        let mode = if threaded {
            let (hooks, rx) = mpsc::channel::<Vec<Hook>>();
            let (tx, prepared) = mpsc::channel();
            let worker = std::thread::Builder::new()
                .name("webhooks".into())
                .spawn(move || {
                    let mut busy = Duration::ZERO;
                    // Each result goes back at once: the main thread may be waiting for it.
                    for hook in rx.iter().flatten() {
                        let started = Instant::now();
                        let key = hook.key;
                        let got = hook.prepare(&preparer);
                        busy += started.elapsed();
                        if tx.send((key, got)).is_err() {
                            break;
                        }
                    }
                    busy
                })
                .expect("a thread for the webhooks");
            Mode::Thread {
                hooks: Some(hooks),
                outbox: Vec::with_capacity(POST_CHUNK),
                prepared,
                ready: HashMap::new(),
                worker: Some(worker),
            }
        } else {
            Mode::Inline {
                preparer,
                waiting: HashMap::new(),
            }
        };
        Front { mode, busy: None }
    }

    /// A provider posts `hook`.
    pub fn post(&mut self, hook: Hook) {
        match &mut self.mode {
            Mode::Inline { waiting, .. } => {
                waiting.insert(hook.key, hook);
            }
            Mode::Thread { hooks, outbox, .. } => {
                outbox.push(hook);
                if outbox.len() >= POST_CHUNK {
                    hand_over(hooks, outbox);
                }
            }
        }
    }

    /// The prepared message of the hook posted under `key` (waiting for it if needed).
    pub fn take(&mut self, key: u64) -> Result<Prepared> {
        match &mut self.mode {
            Mode::Inline { preparer, waiting } => waiting
                .remove(&key)
                .expect("a hook posted under this key")
                .prepare(preparer),
            Mode::Thread {
                hooks,
                outbox,
                prepared,
                ready,
                ..
            } => loop {
                if let Some(got) = ready.remove(&key) {
                    return got;
                }
                // The hook may still be in the outbox: hand it over before waiting.
                hand_over(hooks, outbox);
                let (k, got) = prepared.recv().expect("the webhook thread runs");
                ready.insert(k, got);
            },
        }
    }

    /// Forgets the hook posted under `key` (its message will not be sent).
    pub fn drop_hook(&mut self, key: u64) {
        match &mut self.mode {
            Mode::Inline { waiting, .. } => {
                waiting.remove(&key);
            }
            Mode::Thread { .. } => {
                let _ = self.take(key);
            }
        }
    }

    /// Stops the webhook thread and notes how long it worked.
    pub fn stop(&mut self) {
        if let Mode::Thread { hooks, worker, .. } = &mut self.mode {
            hooks.take();
            if let Some(w) = worker.take() {
                self.busy = w.join().ok();
            }
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop();
    }
}
