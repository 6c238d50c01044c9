//! The default embedded store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread owns the write connection. Writers send it jobs over a channel; it takes
//! everything that is queued (up to a batch limit), applies each job in its own savepoint inside
//! one transaction, commits once (one fsync of the WAL), then answers every job. Under load a
//! commit carries hundreds of executions' transitions, so durability costs one fsync per batch,
//! not per transition. Reads use their own connections and never wait for the writer.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use aslan_store::{
    Activity, Error, Execution, ExecutionChange, ExecutionQuery, ExecutionSearch, ExecutionSummary,
    HistoryEntry, JournalEntry, Result, StateMachine, StatusCount, Store,
};
use rusqlite::{Connection, OptionalExtension, params};

/// Every execution status; a search by one of these uses the partial indexes.
const STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
    "PENDING_REDRIVE",
];

/// How many jobs one transaction takes at most.
const MAX_BATCH: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS state_machines(
    arn TEXT PRIMARY KEY, name TEXT NOT NULL, machine_type TEXT NOT NULL, definition TEXT NOT NULL,
    role_arn TEXT NOT NULL, created_ms INTEGER NOT NULL, revision_id TEXT NOT NULL,
    description TEXT, logging TEXT, tracing TEXT);
CREATE TABLE IF NOT EXISTS executions(
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, state_machine_arn TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,
    input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, start_ms INTEGER NOT NULL, stop_ms INTEGER,
    definition TEXT NOT NULL, role_arn TEXT NOT NULL, seed INTEGER NOT NULL, revision_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions(state_machine_arn, start_ms DESC, arn);
DROP INDEX IF EXISTS executions_by_start;
DROP INDEX IF EXISTS executions_running;
DROP INDEX IF EXISTS executions_listing;
CREATE INDEX IF NOT EXISTS executions_by_start_and_name ON executions(start_ms DESC, arn, name);
CREATE INDEX IF NOT EXISTS executions_running_since ON executions(start_ms DESC) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS executions_ended_badly ON executions(status, start_ms DESC, arn)
    WHERE status IN ('FAILED', 'TIMED_OUT', 'ABORTED');
CREATE TABLE IF NOT EXISTS journal(
    execution_id INTEGER NOT NULL, seq INTEGER NOT NULL, now_ms INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY(execution_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history(
    execution_id INTEGER NOT NULL, id INTEGER NOT NULL, event TEXT NOT NULL,
    PRIMARY KEY(execution_id, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activities(arn TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags(
    resource_arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY(resource_arn, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS map_runs(
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, execution_arn TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS map_runs_by_execution ON map_runs(execution_arn, id);
PRAGMA user_version = 3;
";

/// Executions by state machine and status, kept by [`Store::commit`] (one statement per state
/// machine and status a commit touches), so that the console's counts cost a row each instead
/// of a scan. `POPULATE_COUNTS` fills it once for a database written before it existed.
const COUNTS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS execution_counts(
    state_machine_arn TEXT NOT NULL, status TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY(state_machine_arn, status)) WITHOUT ROWID;
";

const POPULATE_COUNTS: &str = "
INSERT INTO execution_counts(state_machine_arn, status, count)
    SELECT state_machine_arn, status, COUNT(*) FROM executions GROUP BY state_machine_arn, status;
";

type Job = Box<dyn FnOnce(&Connection) -> Result<()> + Send>;

struct Request {
    job: Job,
    reply: mpsc::Sender<Result<()>>,
}

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<mpsc::Sender<Request>>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(error: rusqlite::Error) -> Error {
    Error::Backend(error.to_string())
}

fn open_connection(path: &Path) -> Result<Connection> {
    let connection = Connection::open(path).map_err(backend)?;
    connection
        // A larger page cache and less frequent checkpoints: history is append-heavy, and each
        // checkpoint costs a sync of the database file on top of the WAL's.
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
             PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(backend)?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Arc<SqliteStore>> {
        let path = path.as_ref().to_path_buf();
        let write_connection = open_connection(&path)?;
        write_connection.execute_batch(SCHEMA).map_err(backend)?;
        let has_counts: bool = write_connection
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'execution_counts')",
                [],
                |row| row.get(0),
            )
            .map_err(backend)?;
        let populate = if has_counts { "" } else { POPULATE_COUNTS };
        write_connection
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {COUNTS_SCHEMA} {populate} COMMIT;"
            ))
            .map_err(backend)?;
        let (sender, receiver) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("aslan-sqlite-writer".into())
            .spawn(move || writer_loop(write_connection, receiver))
            .map_err(|e| Error::Backend(e.to_string()))?;
        Ok(Arc::new(SqliteStore {
            writer: Mutex::new(sender),
            readers: Mutex::new(Vec::new()),
            path,
        }))
    }

    /// Runs `job` inside the writer's next transaction and waits for the commit.
    fn write(&self, job: impl FnOnce(&Connection) -> Result<()> + Send + 'static) -> Result<()> {
        let (reply, answer) = mpsc::channel();
        let sender = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        sender
            .send(Request {
                job: Box::new(job),
                reply,
            })
            .map_err(|_| Error::Backend("the writer thread has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| Error::Backend("the writer thread has stopped".into()))?
    }

    /// Runs `f` on a read connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let connection = {
            let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
            pool.pop()
        };
        let connection = match connection {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let result = f(&connection).map_err(backend);
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
        result
    }
}

fn writer_loop(connection: Connection, receiver: mpsc::Receiver<Request>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let mut results = Vec::with_capacity(batch.len());
        let began = connection.execute_batch("BEGIN IMMEDIATE");
        if let Err(error) = began {
            for request in batch {
                let _ = request.reply.send(Err(backend(error.clone_error())));
            }
            continue;
        }
        let mut replies = Vec::with_capacity(batch.len());
        for request in batch {
            // A savepoint per job: one job's failure (a duplicate name) must not undo the others.
            let result = connection
                .execute_batch("SAVEPOINT job")
                .map_err(backend)
                .and_then(|()| (request.job)(&connection));
            let closing = if result.is_ok() {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            let result = result.and(connection.execute_batch(closing).map_err(backend));
            results.push(result);
            replies.push(request.reply);
        }
        let committed = connection.execute_batch("COMMIT").map_err(backend);
        for (reply, result) in replies.into_iter().zip(results) {
            let result = match &committed {
                Ok(()) => result,
                Err(error) => Err(error.clone()),
            };
            let _ = reply.send(result);
        }
        if committed.is_err() {
            let _ = connection.execute_batch("ROLLBACK");
        }
    }
}

trait CloneError {
    fn clone_error(&self) -> rusqlite::Error;
}

impl CloneError for rusqlite::Error {
    fn clone_error(&self) -> rusqlite::Error {
        rusqlite::Error::InvalidParameterName(self.to_string())
    }
}

fn machine_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StateMachine> {
    Ok(StateMachine {
        arn: row.get(0)?,
        name: row.get(1)?,
        machine_type: row.get(2)?,
        definition: row.get(3)?,
        role_arn: row.get(4)?,
        created_ms: row.get(5)?,
        revision_id: row.get(6)?,
        description: row.get(7)?,
        logging: row.get(8)?,
        tracing: row.get(9)?,
    })
}

const MACHINE_COLUMNS: &str = "arn, name, machine_type, definition, role_arn, created_ms, revision_id, description, logging, tracing";
const EXECUTION_COLUMNS: &str = "arn, state_machine_arn, name, status, input, output, error, cause, start_ms, stop_ms, definition, role_arn, seed, revision_id";

fn execution_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Execution> {
    Ok(Execution {
        arn: row.get(0)?,
        state_machine_arn: row.get(1)?,
        name: row.get(2)?,
        status: row.get(3)?,
        input: row.get(4)?,
        output: row.get(5)?,
        error: row.get(6)?,
        cause: row.get(7)?,
        start_ms: row.get(8)?,
        stop_ms: row.get(9)?,
        definition: row.get(10)?,
        role_arn: row.get(11)?,
        seed: row.get::<_, i64>(12)? as u64,
        revision_id: row.get(13)?,
    })
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Changes to `execution_counts`: +1 or -1 per (state machine, status).
type CountDeltas = std::collections::BTreeMap<(String, String), i64>;

fn apply_change(
    connection: &Connection,
    change: &ExecutionChange,
    counts: &mut CountDeltas,
) -> Result<()> {
    // Journal and history rows are keyed by the execution's integer id: a short key keeps
    // their B-trees small, which is most of the cost of appending them.
    let execution_id: i64 = if let Some(e) = &change.created {
        let inserted = connection.execute(
            &format!("INSERT INTO executions({EXECUTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
            params![e.arn, e.state_machine_arn, e.name, e.status, e.input, e.output, e.error, e.cause, e.start_ms, e.stop_ms, e.definition, e.role_arn, e.seed as i64, e.revision_id],
        );
        match inserted {
            Ok(_) => {
                *counts
                    .entry((e.state_machine_arn.clone(), e.status.clone()))
                    .or_default() += 1;
                connection.last_insert_rowid()
            }
            Err(error) if is_constraint(&error) => return Err(Error::AlreadyExists(e.arn.clone())),
            Err(error) => return Err(backend(error)),
        }
    } else {
        let found: Option<i64> = connection
            .prepare_cached("SELECT id FROM executions WHERE arn = ?1")
            .and_then(|mut statement| statement.query_row([&change.arn], |r| r.get(0)).optional())
            .map_err(backend)?;
        match found {
            Some(id) => id,
            None => return Err(Error::NotFound(change.arn.clone())),
        }
    };
    {
        let mut statement = connection
            .prepare_cached(
                "INSERT INTO journal(execution_id, seq, now_ms, event) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(backend)?;
        for entry in &change.journal {
            statement
                .execute(params![
                    execution_id,
                    entry.seq as i64,
                    entry.now_ms,
                    entry.event
                ])
                .map_err(backend)?;
        }
    }
    {
        let mut statement = connection
            .prepare_cached("INSERT INTO history(execution_id, id, event) VALUES (?1, ?2, ?3)")
            .map_err(backend)?;
        for entry in &change.history {
            statement
                .execute(params![execution_id, entry.id, entry.event])
                .map_err(backend)?;
        }
    }
    if !change.map_runs.is_empty() {
        // A run keeps the row (and so the place in its execution's list) of its first report.
        let mut statement = connection
            .prepare_cached(
                "INSERT INTO map_runs(arn, execution_arn, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(arn) DO UPDATE SET body = excluded.body",
            )
            .map_err(backend)?;
        for run in &change.map_runs {
            let body = serde_json::to_string(run).map_err(|e| Error::Backend(e.to_string()))?;
            statement
                .execute(params![run.map_run_arn, run.execution_arn, body])
                .map_err(backend)?;
        }
    }
    if let Some(ending) = &change.ending {
        let (machine, before): (String, String) = connection
            .prepare_cached("SELECT state_machine_arn, status FROM executions WHERE id = ?1")
            .and_then(|mut statement| {
                statement.query_row([execution_id], |r| Ok((r.get(0)?, r.get(1)?)))
            })
            .map_err(backend)?;
        *counts.entry((machine.clone(), before)).or_default() -= 1;
        *counts.entry((machine, ending.status.clone())).or_default() += 1;
        connection
            .execute(
                "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_ms = ?6 WHERE id = ?1",
                params![execution_id, ending.status, ending.output, ending.error, ending.cause, ending.stop_ms],
            )
            .map_err(backend)?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn create_state_machine(&self, machine: &StateMachine) -> Result<()> {
        let m = machine.clone();
        self.write(move |c| {
            let inserted = c.execute(
                &format!("INSERT INTO state_machines({MACHINE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![m.arn, m.name, m.machine_type, m.definition, m.role_arn, m.created_ms, m.revision_id, m.description, m.logging, m.tracing],
            );
            match inserted {
                Ok(_) => Ok(()),
                Err(error) if is_constraint(&error) => Err(Error::AlreadyExists(m.arn)),
                Err(error) => Err(backend(error)),
            }
        })
    }

    fn update_state_machine(&self, machine: &StateMachine) -> Result<()> {
        let m = machine.clone();
        self.write(move |c| {
            let changed = c
                .execute(
                    "UPDATE state_machines SET name = ?2, machine_type = ?3, definition = ?4, role_arn = ?5, created_ms = ?6, revision_id = ?7, description = ?8, logging = ?9, tracing = ?10 WHERE arn = ?1",
                    params![m.arn, m.name, m.machine_type, m.definition, m.role_arn, m.created_ms, m.revision_id, m.description, m.logging, m.tracing],
                )
                .map_err(backend)?;
            if changed == 0 { Err(Error::NotFound(m.arn)) } else { Ok(()) }
        })
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {MACHINE_COLUMNS} FROM state_machines WHERE arn = ?1"),
                [arn],
                machine_from_row,
            )
            .optional()
        })
    }

    fn delete_state_machine(&self, arn: &str) -> Result<()> {
        let arn = arn.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM state_machines WHERE arn = ?1", [arn])
                .map(|_| ())
                .map_err(backend)
        })
    }

    fn list_state_machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<StateMachine>> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {MACHINE_COLUMNS} FROM state_machines WHERE arn > ?1 ORDER BY arn LIMIT ?2"
            ))?;
            statement
                .query_map(params![after.unwrap_or(""), limit as i64], machine_from_row)?
                .collect()
        })
    }

    fn commit(&self, changes: Vec<ExecutionChange>) -> Result<()> {
        self.write(move |c| {
            let mut counts = CountDeltas::new();
            for change in &changes {
                apply_change(c, change, &mut counts)?;
            }
            let mut statement = c
                .prepare_cached(
                    "INSERT INTO execution_counts(state_machine_arn, status, count) VALUES (?1, ?2, ?3)
                     ON CONFLICT(state_machine_arn, status) DO UPDATE SET count = count + excluded.count",
                )
                .map_err(backend)?;
            for ((machine, status), delta) in counts {
                if delta != 0 {
                    statement
                        .execute(params![machine, status, delta])
                        .map_err(backend)?;
                }
            }
            Ok(())
        })
    }

    fn get_execution(&self, arn: &str) -> Result<Option<Execution>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"),
                [arn],
                execution_from_row,
            )
            .optional()
        })
    }

    fn list_executions(&self, query: &ExecutionQuery) -> Result<Vec<Execution>> {
        self.read(|c| {
            let (after_ms, after_arn) = match &query.after {
                Some((ms, arn)) => (*ms, arn.clone()),
                None => (i64::MAX, String::new()),
            };
            let mut statement = c.prepare_cached(&format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions
                 WHERE (?1 IS NULL OR state_machine_arn = ?1) AND (?2 IS NULL OR status = ?2)
                   AND (start_ms < ?3 OR (start_ms = ?3 AND arn > ?4))
                 ORDER BY start_ms DESC, arn LIMIT ?5"
            ))?;
            statement
                .query_map(
                    params![
                        query.state_machine_arn,
                        query.status,
                        after_ms,
                        after_arn,
                        query.limit as i64
                    ],
                    execution_from_row,
                )?
                .collect()
        })
    }

    fn search_executions(&self, search: &ExecutionSearch) -> Result<Vec<ExecutionSummary>> {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut bind = |value: rusqlite::types::Value| {
            values.push(value);
            values.len()
        };
        if let Some(arn) = &search.state_machine_arn {
            let n = bind(arn.clone().into());
            conditions.push(format!("state_machine_arn = ?{n}"));
        }
        // Statuses are written into the SQL as literals so that SQLite can use the partial
        // indexes (it cannot with a bound parameter); repeating an index's own WHERE makes
        // that provable for the one over several statuses.
        let status = search.status.as_deref();
        let literal = status.filter(|s| STATUSES.contains(s));
        let badly = matches!(literal, Some("FAILED" | "TIMED_OUT" | "ABORTED"));
        match (status, literal) {
            (_, Some(literal)) if badly => conditions.push(format!(
                "status = '{literal}' AND status IN ('FAILED', 'TIMED_OUT', 'ABORTED')"
            )),
            (_, Some(literal)) => conditions.push(format!("status = '{literal}'")),
            (Some(other), None) => {
                let n = bind(other.to_owned().into());
                conditions.push(format!("status = ?{n}"));
            }
            (None, None) => {}
        }
        if let Some(prefix) = &search.name_prefix {
            // `substr` is exact and case-sensitive, unlike `LIKE`.
            let n = bind(prefix.clone().into());
            conditions.push(format!("substr(name, 1, length(?{n})) = ?{n}"));
        }
        if let Some(from) = search.started_from_ms {
            let n = bind(from.into());
            conditions.push(format!("start_ms >= ?{n}"));
        }
        if let Some(until) = search.started_until_ms {
            let n = bind(until.into());
            conditions.push(format!("start_ms < ?{n}"));
        }
        if let Some((start_ms, arn)) = &search.after {
            let ms = bind((*start_ms).into());
            let arn = bind(arn.clone().into());
            // The redundant `start_ms <= ?` lets SQLite seek instead of scanning from the top.
            conditions.push(format!(
                "start_ms <= ?{ms} AND (start_ms < ?{ms} OR (start_ms = ?{ms} AND arn > ?{arn}))"
            ));
        }
        let limit = bind((search.limit.min(i64::MAX as usize) as i64).into());
        // Running and badly ended executions have indexes of their own, in start order. A name
        // filter walks the index that holds names in start order, reading no table row for the
        // executions it skips; the per-machine index would read one for each.
        let index = if literal == Some("RUNNING") {
            "INDEXED BY executions_running_since"
        } else if badly {
            "INDEXED BY executions_ended_badly"
        } else if search.name_prefix.is_some() {
            "INDEXED BY executions_by_start_and_name"
        } else {
            ""
        };
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT arn, state_machine_arn, name, status, start_ms, stop_ms FROM executions {index}
             {filter} ORDER BY start_ms DESC, arn LIMIT ?{limit}"
        );
        self.read(|c| {
            let mut statement = c.prepare_cached(&sql)?;
            statement
                .query_map(rusqlite::params_from_iter(values.iter()), |row| {
                    Ok(ExecutionSummary {
                        arn: row.get(0)?,
                        state_machine_arn: row.get(1)?,
                        name: row.get(2)?,
                        status: row.get(3)?,
                        start_ms: row.get(4)?,
                        stop_ms: row.get(5)?,
                    })
                })?
                .collect()
        })
    }

    fn count_executions(&self) -> Result<Vec<StatusCount>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT state_machine_arn, status, count FROM execution_counts WHERE count > 0
                 ORDER BY state_machine_arn, status",
            )?;
            statement
                .query_map([], |row| {
                    Ok(StatusCount {
                        state_machine_arn: row.get(0)?,
                        status: row.get(1)?,
                        count: row.get::<_, i64>(2)? as u64,
                    })
                })?
                .collect()
        })
    }

    fn get_map_run(&self, arn: &str) -> Result<Option<aslan_types::MapRun>> {
        let body: Option<String> = self.read(|c| {
            c.query_row("SELECT body FROM map_runs WHERE arn = ?1", [arn], |row| {
                row.get(0)
            })
            .optional()
        })?;
        body.map(|body| serde_json::from_str(&body).map_err(|e| Error::Backend(e.to_string())))
            .transpose()
    }

    fn list_map_runs(&self, execution_arn: &str) -> Result<Vec<aslan_types::MapRun>> {
        let bodies: Vec<String> = self.read(|c| {
            let mut statement =
                c.prepare_cached("SELECT body FROM map_runs WHERE execution_arn = ?1 ORDER BY id")?;
            statement
                .query_map([execution_arn], |row| row.get(0))?
                .collect()
        })?;
        bodies
            .iter()
            .map(|body| serde_json::from_str(body).map_err(|e| Error::Backend(e.to_string())))
            .collect()
    }

    fn running_executions(&self) -> Result<Vec<Execution>> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions INDEXED BY executions_running_since
                 WHERE status = 'RUNNING' ORDER BY start_ms DESC, arn"
            ))?;
            statement.query_map([], execution_from_row)?.collect()
        })
    }

    fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT j.seq, j.now_ms, j.event FROM journal j JOIN executions e ON e.id = j.execution_id WHERE e.arn = ?1 ORDER BY j.seq",
            )?;
            statement
                .query_map([arn], |row| {
                    Ok(JournalEntry {
                        seq: row.get::<_, i64>(0)? as u64,
                        now_ms: row.get(1)?,
                        event: row.get(2)?,
                    })
                })?
                .collect()
        })
    }

    fn history(
        &self,
        arn: &str,
        after_id: Option<i64>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<HistoryEntry>> {
        self.read(|c| {
            let sql = if reverse {
                "SELECT h.id, h.event FROM history h JOIN executions e ON e.id = h.execution_id WHERE e.arn = ?1 AND h.id < ?2 ORDER BY h.id DESC LIMIT ?3"
            } else {
                "SELECT h.id, h.event FROM history h JOIN executions e ON e.id = h.execution_id WHERE e.arn = ?1 AND h.id > ?2 ORDER BY h.id LIMIT ?3"
            };
            let bound = after_id.unwrap_or(if reverse { i64::MAX } else { 0 });
            let mut statement = c.prepare_cached(sql)?;
            statement
                .query_map(params![arn, bound, limit as i64], |row| Ok(HistoryEntry { id: row.get(0)?, event: row.get(1)? }))?
                .collect()
        })
    }

    fn create_activity(&self, activity: &Activity) -> Result<Activity> {
        let a = activity.clone();
        self.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO activities(arn, name, created_ms) VALUES (?1, ?2, ?3)",
                params![a.arn, a.name, a.created_ms],
            )
            .map(|_| ())
            .map_err(backend)
        })?;
        self.get_activity(&activity.arn)?
            .ok_or_else(|| Error::NotFound(activity.arn.clone()))
    }

    fn get_activity(&self, arn: &str) -> Result<Option<Activity>> {
        self.read(|c| {
            c.query_row(
                "SELECT arn, name, created_ms FROM activities WHERE arn = ?1",
                [arn],
                |row| {
                    Ok(Activity {
                        arn: row.get(0)?,
                        name: row.get(1)?,
                        created_ms: row.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    fn delete_activity(&self, arn: &str) -> Result<()> {
        let arn = arn.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM activities WHERE arn = ?1", [arn])
                .map(|_| ())
                .map_err(backend)
        })
    }

    fn list_activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<Activity>> {
        self.read(|c| {
            let mut statement = c.prepare(
                "SELECT arn, name, created_ms FROM activities WHERE arn > ?1 ORDER BY arn LIMIT ?2",
            )?;
            statement
                .query_map(params![after.unwrap_or(""), limit as i64], |row| {
                    Ok(Activity {
                        arn: row.get(0)?,
                        name: row.get(1)?,
                        created_ms: row.get(2)?,
                    })
                })?
                .collect()
        })
    }

    fn tag(&self, resource_arn: &str, tags: &[(String, String)]) -> Result<()> {
        let (arn, tags) = (resource_arn.to_owned(), tags.to_vec());
        self.write(move |c| {
            for (key, value) in &tags {
                c.execute(
                    "INSERT INTO tags(resource_arn, key, value) VALUES (?1, ?2, ?3) ON CONFLICT(resource_arn, key) DO UPDATE SET value = excluded.value",
                    params![arn, key, value],
                )
                .map_err(backend)?;
            }
            Ok(())
        })
    }

    fn untag(&self, resource_arn: &str, keys: &[String]) -> Result<()> {
        let (arn, keys) = (resource_arn.to_owned(), keys.to_vec());
        self.write(move |c| {
            for key in &keys {
                c.execute(
                    "DELETE FROM tags WHERE resource_arn = ?1 AND key = ?2",
                    params![arn, key],
                )
                .map_err(backend)?;
            }
            Ok(())
        })
    }

    fn tags(&self, resource_arn: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let mut statement =
                c.prepare("SELECT key, value FROM tags WHERE resource_arn = ?1 ORDER BY key")?;
            statement
                .query_map([resource_arn], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    fn fresh() -> Arc<SqliteStore> {
        let dir = std::env::temp_dir().join(format!(
            "aslan-sqlite-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        SqliteStore::open(dir.join("aslan.db")).expect("open")
    }

    #[test]
    fn sqlite_store_passes_the_suite() {
        aslan_store::testing::run_all(fresh);
    }

    #[test]
    fn counts_are_filled_in_for_a_database_written_before_them() {
        let store = fresh();
        let path = store.path.clone();
        let mut execution = aslan_store::testing::execution("m", "old", 1);
        execution.status = "SUCCEEDED".into();
        store
            .commit(vec![ExecutionChange {
                arn: execution.arn.clone(),
                created: Some(execution),
                ..Default::default()
            }])
            .expect("create");
        drop(store);
        let connection = Connection::open(&path).expect("open");
        connection
            .execute_batch("DROP TABLE execution_counts;")
            .expect("make it old");
        drop(connection);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            reopened.count_executions().expect("count"),
            vec![StatusCount {
                state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
                status: "SUCCEEDED".into(),
                count: 1,
            }]
        );
    }

    #[test]
    fn data_survives_reopening() {
        let store = fresh();
        let path = store.path.clone();
        store
            .create_state_machine(&aslan_store::testing::machine("kept"))
            .expect("create");
        drop(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert!(
            reopened
                .get_state_machine("arn:aws:states:us-east-1:123456789012:stateMachine:kept")
                .expect("get")
                .is_some()
        );
    }
}
