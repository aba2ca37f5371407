//! Running a [`Desk`] inside an async server (feature `tokio`).
//!
//! A `Desk` is synchronous and owns its store: SQLite calls block, and the PostgreSQL
//! store's client is synchronous too — it runs a runtime of its own inside, so it must
//! never be created, called or dropped on a thread of the server's runtime (it would
//! block a worker, or panic with "Cannot start a runtime from within a runtime").
//! [`DeskHandle`] therefore gives the desk a thread of its own: the desk (and its store)
//! is built on that thread, every operation is sent there as a closure and answered
//! over a one-shot channel, and the desk is dropped there. Request handlers stay async;
//! the CPU-heavy preparation of a message (checks, language detection) runs in the
//! handlers with a [`Preparer`](crate::Preparer), so the desk thread only decides and
//! writes. [`DeskHandle::ingest`] groups the ingests that wait for the desk thread into
//! one store transaction (group commit), each answered once its group committed.
//! [`DeskHandle::run_ticks`] sleeps until [`Desk::next_wakeup`] (or until an operation may
//! have moved it) and ticks.
//!
//! Invariants: the desk is touched only by its thread; operations run in the order they
//! were sent; after [`DeskHandle::shutdown`] (or once every handle is dropped) the thread
//! finishes the operations already sent, drops the desk and ends.
//!
//! ```
//! use throughline::hosting::DeskHandle;
//! use throughline::store::MemoryStore;
//! use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let desk = DeskHandle::start(|| Ok(Desk::new(MemoryStore::new(), DeskConfig::default()))).await?;
//! let preparer = desk.call(|d| d.preparer()).await?;
//! let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
//! let tenant = TenantId::new_v7();
//! // In a request handler: prepare here, decide and write on the desk thread.
//! let inbound = Inbound::new(tenant, Channel::WebChat, Identifier::email("ana@example.com")?, "c-1", "Hello");
//! let prepared = preparer.prepare(inbound)?;
//! let got = desk.call(move |d| d.ingest_prepared(prepared, now)).await??;
//! assert!(!got.duplicate);
//! desk.shutdown().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, Notify};

use crate::desk::batch::repeat;
use crate::desk::{Desk, Ingested, Prepared};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::store::Store;

/// An operation sent to the desk thread.
type Job<S> = Box<dyn FnOnce(&mut Desk<S>) + Send>;

/// A prepared message to ingest, its `now`, and where its result goes.
type IngestJob = (Prepared, DateTime<Utc>, oneshot::Sender<Result<Ingested>>);

/// What the desk thread is sent.
enum Msg<S: Store> {
    /// Run this.
    Job(Job<S>),
    /// Ingest this, in a group with the ingests queued behind it.
    Ingest(Box<IngestJob>),
    /// Drop the desk and end, after what was sent before.
    Stop,
}

/// How long [`DeskHandle::run_ticks`] sleeps at most when nothing is scheduled (an
/// operation of another host on a shared store may schedule something).
pub const MAX_IDLE: Duration = Duration::from_secs(60);

/// The most ingests [`DeskHandle::ingest`] commits in one store transaction.
pub const MAX_GROUP: usize = 64;

/// A [`Desk`] on a thread of its own, for async hosts; see the [module docs](self).
/// Cloning gives another handle to the same desk.
#[derive(Debug)]
pub struct DeskHandle<S: Store> {
    jobs: mpsc::Sender<Msg<S>>,
    /// Told after every operation: [`Desk::next_wakeup`] may have moved.
    moved: Arc<Notify>,
    thread: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl<S: Store> Clone for DeskHandle<S> {
    fn clone(&self) -> Self {
        DeskHandle {
            jobs: self.jobs.clone(),
            moved: Arc::clone(&self.moved),
            thread: Arc::clone(&self.thread),
        }
    }
}

fn stopped() -> Error {
    Error::Store {
        message: "the desk thread has stopped (shut down, or an operation panicked)".into(),
        source: None,
    }
}

/// The desk thread's loop: each message in the order sent; an ingest takes the ingests
/// queued right behind it into its group. Ends at `shutdown`, or when every handle is
/// gone.
fn serve<S: Store>(desk: &mut Desk<S>, queue: &mpsc::Receiver<Msg<S>>) {
    let mut next: Option<Msg<S>> = None;
    loop {
        let msg = match next.take() {
            Some(m) => m,
            None => match queue.recv() {
                Ok(m) => m,
                Err(_) => return,
            },
        };
        match msg {
            Msg::Job(job) => job(desk),
            Msg::Stop => return,
            Msg::Ingest(first) => {
                let mut group = vec![*first];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(Msg::Ingest(more)) => group.push(*more),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                ingest_group(desk, group);
            }
        }
    }
}

/// Ingests a group in one transaction (one alone needs none) and answers each.
fn ingest_group<S: Store>(desk: &mut Desk<S>, group: Vec<IngestJob>) {
    if group.len() == 1 {
        let (prepared, now, answer) = group.into_iter().next().expect("one");
        let _ = answer.send(desk.ingest_prepared(prepared, now));
        return;
    }
    let (work, answers): (Vec<_>, Vec<_>) = group
        .into_iter()
        .map(|(prepared, now, answer)| ((prepared, now), answer))
        .unzip();
    let done = desk.batch(|d| {
        work.into_iter()
            .map(|(prepared, now)| d.ingest_prepared(prepared, now))
            .collect::<Vec<_>>()
    });
    match done {
        Ok(results) => {
            for (result, answer) in results.into_iter().zip(answers) {
                let _ = answer.send(result);
            }
        }
        Err(e) => {
            for answer in answers {
                let _ = answer.send(Err(repeat(&e)));
            }
        }
    }
}

impl<S: Store + 'static> DeskHandle<S> {
    /// Starts the desk thread and builds the desk there with `open` (so a store that must
    /// not live on a runtime thread, like `PostgresStore`, is created on the desk's).
    ///
    /// # Errors
    ///
    /// `open`'s error; [`Error::Store`] when the thread cannot be started.
    pub async fn start(
        open: impl FnOnce() -> Result<Desk<S>> + Send + 'static,
    ) -> Result<DeskHandle<S>> {
        let (jobs, queue) = mpsc::channel::<Msg<S>>();
        let (opened, is_open) = oneshot::channel::<Result<()>>();
        let thread = std::thread::Builder::new()
            .name("throughline-desk".into())
            .spawn(move || {
                let mut desk = match open() {
                    Ok(d) => {
                        let _ = opened.send(Ok(()));
                        d
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                serve(&mut desk, &queue);
                drop(desk);
            })
            .map_err(|e| Error::store("cannot start the desk thread", e))?;
        is_open.await.map_err(|_| stopped())??;
        Ok(DeskHandle {
            jobs,
            moved: Arc::new(Notify::new()),
            thread: Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    /// Ingests a prepared message on the desk thread ([`Desk::ingest_prepared`]). Ingests
    /// that are waiting for the desk thread together — concurrent webhooks — are written
    /// in one store transaction (up to [`MAX_GROUP`]), each with its own result as
    /// [`Desk::ingest_batch`] gives it: a bad message fails alone, a redelivery within
    /// the group is a duplicate. Each call returns once its group committed, so a
    /// webhook answered after it is stored; if the commit fails, every message of the
    /// group gets the error and none is stored.
    ///
    /// # Errors
    ///
    /// As [`Desk::ingest_prepared`]; [`Error::Store`] when the desk thread has stopped or
    /// the group's commit failed.
    pub async fn ingest(&self, prepared: Prepared, now: DateTime<Utc>) -> Result<Ingested> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Msg::Ingest(Box::new((prepared, now, answer))))
            .map_err(|_| stopped())?;
        let out = answered.await.map_err(|_| stopped())?;
        self.moved.notify_one();
        out
    }

    /// Runs `op` on the desk thread, after the operations sent before it, and returns
    /// what it returned.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the desk thread has stopped (then `op` did not run, or
    /// panicked).
    pub async fn call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Desk<S>) -> T + Send + 'static,
    ) -> Result<T> {
        let out = self.call_quietly(op).await?;
        self.moved.notify_one();
        Ok(out)
    }

    /// [`DeskHandle::call`] without waking the ticker (its own calls).
    async fn call_quietly<T: Send + 'static>(
        &self,
        op: impl FnOnce(&mut Desk<S>) -> T + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job<S> = Box::new(move |desk| {
            let _ = answer.send(op(desk));
        });
        self.jobs.send(Msg::Job(job)).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())
    }

    /// Ticks for ever: sleeps until [`Desk::next_wakeup`] (at most [`MAX_IDLE`], and
    /// wakes early when an operation through any handle may have moved it), then calls
    /// [`Desk::tick`] with `clock()` and hands the outcome to `on_tick` (the effects to
    /// carry out, or the store's error; the next round retries what stayed due). `clock`
    /// is the host's wall clock. Spawn it as a task; it ends when the desk thread stops.
    pub async fn run_ticks(
        &self,
        clock: impl Fn() -> DateTime<Utc>,
        mut on_tick: impl FnMut(Result<Vec<Effect>>),
    ) {
        loop {
            let next = match self.call_quietly(|d| d.next_wakeup()).await {
                Ok(next) => next,
                Err(_) => return, // the desk thread stopped
            };
            let next = match next {
                Ok(next) => next,
                Err(e) => {
                    on_tick(Err(e));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let wait = match next {
                Some(at) => (at - clock()).to_std().unwrap_or(Duration::ZERO),
                None => MAX_IDLE,
            };
            let notified = self.moved.notified();
            if tokio::time::timeout(wait.min(MAX_IDLE), notified)
                .await
                .is_ok()
            {
                continue; // an operation may have moved the next wakeup
            }
            let now = clock();
            if next.is_some_and(|at| at <= now) {
                match self.call_quietly(move |d| d.tick(now)).await {
                    Ok(outcome) => on_tick(outcome),
                    Err(_) => return,
                }
            }
        }
    }

    /// Stops the desk thread once the operations already sent have run, drops the desk
    /// (and its store) there, and waits for it. Calls through other handles fail
    /// afterwards, and their [`DeskHandle::run_ticks`] ends.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the thread panicked.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.jobs.send(Msg::Stop);
        self.moved.notify_waiters();
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        let Some(handle) = handle else {
            return Ok(());
        };
        let joined = tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(|e| Error::store("cannot wait for the desk thread", e))?;
        joined.map_err(|_| stopped())
    }
}
