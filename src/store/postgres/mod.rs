//! [`PostgresStore`]: several hosts, one database (feature `postgres`).
//!
//! The same schema shape and the same [`Store`](crate::store::Store) contract as the
//! SQLite store, on a PostgreSQL server through the synchronous `postgres` crate. Every
//! `apply` is one transaction; deduplication and identifier ownership rest on unique
//! keys written with `INSERT ... ON CONFLICT DO NOTHING`; updates are conditional on the
//! version the writer read, so concurrent writers on other hosts never lose an update —
//! the loser gets a conflict and the `Desk` retries. See `docs/storage.md`.

mod ahead;
mod inbox;
mod read;
mod schema;
mod write;

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::{Client, NoTls, Statement};

pub use schema::PG_SCHEMA_VERSION;

use crate::error::{Error, Result};

/// The PostgreSQL store. One connection per store; give each `Desk` (each thread or
/// process) its own.
///
/// TLS is the host's: connect with [`PostgresStore::from_client`] on a client built with
/// the connector of its choice; [`PostgresStore::connect`] connects without TLS (a
/// local socket or a trusted network).
pub struct PostgresStore {
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
    in_batch: bool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("in_batch", &self.in_batch)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects with a connection string (`host=... user=... dbname=...` or a
    /// `postgresql://` URL), without TLS, and migrates the schema.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the server cannot be reached or refuses, or the database was
    /// written by a newer schema version.
    pub fn connect(url: &str) -> Result<PostgresStore> {
        let client =
            Client::connect(url, NoTls).map_err(|e| pg_error("cannot connect to PostgreSQL", e))?;
        Self::from_client(client)
    }

    /// Uses an existing client (for TLS or custom settings) and migrates the schema.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`].
    pub fn from_client(mut client: Client) -> Result<PostgresStore> {
        schema::migrate(&mut client)?;
        Ok(PostgresStore {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            in_batch: false,
        })
    }

    /// Every statement with a plan that the store issues, by name: the reads, the inbox
    /// views, the writes (`throughline_apply` and `throughline_read_ahead` run theirs
    /// inside the server), the migrations' bookkeeping and backfill. Not listed: the
    /// migrations' DDL and `BEGIN`/`COMMIT`/`ROLLBACK`. For tests of their plans.
    #[doc(hidden)]
    pub fn statements() -> Vec<(&'static str, &'static str)> {
        [
            read::STATEMENTS,
            inbox::STATEMENTS,
            ahead::STATEMENTS,
            write::STATEMENTS,
            schema::STATEMENTS,
        ]
        .concat()
    }

    /// Runs `f` with the client and the prepared form of `sql` (prepared once per store).
    fn with<T>(
        &self,
        sql: &'static str,
        f: impl FnOnce(&mut Client, &Statement) -> std::result::Result<T, postgres::Error>,
    ) -> std::result::Result<T, postgres::Error> {
        let mut client = self.client.borrow_mut();
        let stmt = {
            let mut cache = self.statements.borrow_mut();
            match cache.get(sql) {
                Some(s) => s.clone(),
                None => {
                    let s = client.prepare(sql)?;
                    cache.insert(sql, s.clone());
                    s
                }
            }
        };
        f(&mut client, &stmt)
    }
}

/// Maps a PostgreSQL failure to a clear [`Error`]: unique violations, serialisation
/// failures and deadlocks become [`Error::Conflict`] (the `Desk` retries), lock timeouts
/// [`Error::Busy`], the rest [`Error::Store`] saying what was being done.
pub(crate) fn pg_error(context: impl std::fmt::Display, e: postgres::Error) -> Error {
    use postgres::error::SqlState;
    if let Some(code) = e.code() {
        if *code == SqlState::UNIQUE_VIOLATION
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
            || *code == SqlState::FOREIGN_KEY_VIOLATION
        {
            return Error::Conflict(format!("{context}: {e}"));
        }
        if *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
            return Error::Busy(format!("{context}: {e}; nothing was written, retry"));
        }
        if *code == SqlState::DISK_FULL {
            return Error::store(format!("{context}: the server's disk is full"), e);
        }
        if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            return Error::store(format!("{context}: the server is read-only"), e);
        }
    }
    if e.is_closed() {
        return Error::store(
            format!("{context}: the connection to PostgreSQL is closed"),
            e,
        );
    }
    let detail = e
        .as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string());
    Error::store(format!("{context}: PostgreSQL failed: {detail}"), e)
}
