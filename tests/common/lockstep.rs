//! `MemoryStore` and `SqliteStore` driven in lockstep: the same batches and change sets
//! on both, for property tests that compare what each reads after.

use throughline::store::{ChangeSet, MemoryStore, SqliteStore, Store};

/// Both stores, and whether a batch is open on them.
pub struct Lockstep {
    pub memory: MemoryStore,
    pub sqlite: SqliteStore,
    in_batch: bool,
}

impl Lockstep {
    /// Two empty stores (SQLite in memory), no batch open.
    pub fn new() -> Lockstep {
        Lockstep {
            memory: MemoryStore::new(),
            sqlite: SqliteStore::open_in_memory().expect("open"),
            in_batch: false,
        }
    }

    /// Opens a batch on both (nothing if one is open).
    pub fn begin(&mut self) {
        if !self.in_batch {
            self.memory.begin_batch().expect("begin");
            self.sqlite.begin_batch().expect("begin");
            self.in_batch = true;
        }
    }

    /// Ends the open batch on both (nothing if none is open).
    pub fn end(&mut self, commit: bool) {
        if self.in_batch {
            self.memory.end_batch(commit).expect("end");
            self.sqlite.end_batch(commit).expect("end");
            self.in_batch = false;
        }
    }

    /// Applies `changes` to both; each store's outcome, as text.
    pub fn apply(&mut self, changes: ChangeSet) -> (Result<(), String>, Result<(), String>) {
        let a = self
            .memory
            .apply(changes.clone())
            .map_err(|e| e.to_string());
        let b = self.sqlite.apply(changes).map_err(|e| e.to_string());
        (a, b)
    }
}
