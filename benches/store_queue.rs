//! Command-queue throughput of the SQLite and PostgreSQL stores, each beside a plain-SQL
//! baseline that writes the same rows with the same driver:
//!
//! * bulk enqueue: one command to N enrollments (baseline: multi-row INSERT on SQLite,
//!   COPY on PostgreSQL);
//! * dequeue and acknowledge: N commands, one per enrollment (baseline: the same claim and
//!   acknowledgement statements sent directly on one connection). Store and baseline take
//!   turns in ten rounds, so machine noise falls on both alike.
//!
//! `cargo bench --bench store_queue` measures N = 100,000. Without `--bench` (as
//! `cargo test --all-targets` runs it) it is a smoke run with N = 300. PostgreSQL needs
//! `MDMKIT_TEST_POSTGRES_URL` (see scripts/postgres.sh); without it that part is skipped.
//! `MDMKIT_BENCH_N` sets another N.

use std::str::FromStr;
use std::time::{Duration, Instant};

use mdmkit_core::store::{
    AtRestKey, CommandResultRecord, NextCommand, PostgresStore, QueuedCommand, SqliteStore,
};
use mdmkit_core::{CommandStatus, EnrollmentId};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row};

const COMMAND_UUID: &str = "BENCH-COMMAND-0001";
const PAYLOAD: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><plist version=\"1.0\"><dict>\
<key>Command</key><dict><key>RequestType</key><string>DeviceInformation</string></dict>\
<key>CommandUUID</key><string>BENCH-COMMAND-0001</string></dict></plist>";
const RESULT: &[u8] =
    b"<plist version=\"1.0\"><dict><key>Status</key><string>Acknowledged</string></dict></plist>";

fn key() -> AtRestKey {
    AtRestKey::from_bytes(&[1; 32]).expect("32 bytes")
}

fn enrollments(n: usize) -> Vec<EnrollmentId> {
    (0..n)
        .map(|i| EnrollmentId::device(&format!("00008030-{i:016X}")))
        .collect()
}

fn command() -> QueuedCommand {
    QueuedCommand::new(COMMAND_UUID, "DeviceInformation", PAYLOAD.to_vec())
}

fn micros_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64)
}

struct Figures {
    store: Duration,
    baseline: Duration,
}

fn report(backend: &str, what: &str, n: usize, figures: &Figures) {
    println!(
        "{backend:<10} {what:<44} n={n:<7} store {:>8.3} s  plain SQL {:>8.3} s  ratio {:.2}  \
         ({:.0} /s)",
        figures.store.as_secs_f64(),
        figures.baseline.as_secs_f64(),
        figures.store.as_secs_f64() / figures.baseline.as_secs_f64().max(1e-9),
        n as f64 / figures.store.as_secs_f64().max(1e-9),
    );
}

async fn store_enqueue(
    store: &dyn mdmkit_core::store::Store,
    targets: &[EnrollmentId],
) -> Duration {
    let start = Instant::now();
    store.enqueue(&command(), targets).await.expect("enqueue");
    start.elapsed()
}

async fn store_dequeue_ack(
    store: &dyn mdmkit_core::store::Store,
    targets: &[EnrollmentId],
) -> Duration {
    let start = Instant::now();
    for id in targets {
        let next = store
            .next_command(id, &NextCommand::after_idle())
            .await
            .expect("next_command")
            .expect("a command for every enrollment");
        store
            .record_result(
                id,
                &CommandResultRecord::new(
                    next.command_uuid,
                    CommandStatus::Acknowledged,
                    RESULT.to_vec(),
                ),
            )
            .await
            .expect("record_result");
    }
    start.elapsed()
}

const CLAIM: &str = "UPDATE mdmkit_command_targets SET delivered_at = $1 WHERE seq = (\
    SELECT seq FROM mdmkit_command_targets WHERE enrollment_id = $2 AND finished = FALSE \
    AND (delivered_at IS NULL OR delivered_at <= $3) ORDER BY priority DESC, seq LIMIT 1";
const ACK: &str = "UPDATE mdmkit_command_targets SET status = 'Acknowledged', finished = TRUE, \
    delivered_at = NULL, result_payload = $3, result_at = $4 \
    WHERE enrollment_id = $1 AND command_uuid = $2";
const INSERT_COMMAND: &str = "INSERT INTO mdmkit_commands (command_uuid, request_type, payload, \
    priority, created_at) VALUES ($1, 'DeviceInformation', $2, 0, $3)";

/// Rounds in which the store and the baseline take turns, so that noise from the machine
/// (other processes, disk flushes) falls on both alike.
const ROUNDS: usize = 10;

async fn sqlite_plain_dequeue_ack(
    connection: &mut sqlx::SqliteConnection,
    ids: &[String],
) -> Duration {
    let start = Instant::now();
    for id in ids {
        let now = micros_now();
        let uuid: String = sqlx::query_scalar(&format!("{CLAIM}) RETURNING command_uuid"))
            .bind(now)
            .bind(id.as_str())
            .bind(now - 300_000_000)
            .fetch_one(&mut *connection)
            .await
            .expect("claim");
        let row = sqlx::query(
            "SELECT request_type, payload, priority, created_at FROM mdmkit_commands \
             WHERE command_uuid = $1",
        )
        .bind(uuid.as_str())
        .fetch_one(&mut *connection)
        .await
        .expect("read command");
        let _payload: Vec<u8> = row.get("payload");
        sqlx::query(ACK)
            .bind(id.as_str())
            .bind(uuid.as_str())
            .bind(RESULT)
            .bind(micros_now())
            .execute(&mut *connection)
            .await
            .expect("ack");
    }
    start.elapsed()
}

async fn postgres_plain_dequeue_ack(
    connection: &mut sqlx::PgConnection,
    ids: &[String],
) -> Duration {
    let start = Instant::now();
    for id in ids {
        let now = micros_now();
        let row = sqlx::query(&format!(
            "WITH claimed AS ({CLAIM} FOR UPDATE SKIP LOCKED) RETURNING command_uuid) \
             SELECT c.command_uuid, c.payload FROM mdmkit_commands c \
             JOIN claimed USING (command_uuid)"
        ))
        .bind(now)
        .bind(id.as_str())
        .bind(now - 300_000_000)
        .fetch_one(&mut *connection)
        .await
        .expect("claim");
        let uuid: String = row.get("command_uuid");
        sqlx::query(ACK)
            .bind(id.as_str())
            .bind(uuid.as_str())
            .bind(RESULT)
            .bind(micros_now())
            .execute(&mut *connection)
            .await
            .expect("ack");
    }
    start.elapsed()
}

fn chunk_len(n: usize) -> usize {
    n.div_ceil(ROUNDS).max(1)
}

async fn sqlite(n: usize, dir: &std::path::Path) {
    let targets = enrollments(n);
    let ids: Vec<String> = targets.iter().map(|id| id.as_str().to_owned()).collect();

    // The store, on its own file.
    let store_path = dir.join("store.db");
    let store = SqliteStore::open(store_path.to_str().expect("utf-8 path"), key())
        .await
        .expect("open store");
    let enqueue_store = store_enqueue(&store, &targets).await;

    // The baseline: same schema (created by the store), same pragmas, plain SQL.
    let plain_path = dir.join("plain.db");
    SqliteStore::open(plain_path.to_str().expect("utf-8 path"), key())
        .await
        .expect("create schema")
        .close()
        .await;
    let mut connection = SqliteConnectOptions::new()
        .filename(&plain_path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .connect()
        .await
        .expect("connect");
    let start = Instant::now();
    let mut tx = connection.begin().await.expect("begin");
    sqlx::query(INSERT_COMMAND)
        .bind(COMMAND_UUID)
        .bind(PAYLOAD)
        .bind(micros_now())
        .execute(&mut *tx)
        .await
        .expect("insert command");
    // Multi-row INSERT, 10,000 rows (30,000 parameters) per statement. Anonymous `?`
    // parameters: SQLite looks numbered ones up by name, which is quadratic here.
    for chunk in ids.chunks(10_000) {
        let mut sql = String::from(
            "INSERT INTO mdmkit_command_targets (enrollment_id, command_uuid, priority) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?, ?, ?)");
        }
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.as_str()).bind(COMMAND_UUID).bind(0_i64);
        }
        query.execute(&mut *tx).await.expect("insert targets");
    }
    tx.commit().await.expect("commit");
    let enqueue_plain = start.elapsed();

    let mut dequeue_store = Duration::ZERO;
    let mut dequeue_plain = Duration::ZERO;
    for (targets, ids) in targets.chunks(chunk_len(n)).zip(ids.chunks(chunk_len(n))) {
        dequeue_store += store_dequeue_ack(&store, targets).await;
        dequeue_plain += sqlite_plain_dequeue_ack(&mut connection, ids).await;
    }
    store.close().await;
    let finished: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mdmkit_command_targets WHERE finished = TRUE")
            .fetch_one(&mut connection)
            .await
            .expect("count");
    assert_eq!(finished as usize, n, "baseline acknowledged every command");
    connection.close().await.expect("close");

    report(
        "sqlite",
        "enqueue 1 command to n enrollments",
        n,
        &Figures {
            store: enqueue_store,
            baseline: enqueue_plain,
        },
    );
    report(
        "sqlite",
        "dequeue + acknowledge n commands",
        n,
        &Figures {
            store: dequeue_store,
            baseline: dequeue_plain,
        },
    );
}

async fn postgres(n: usize, url: &str) {
    let targets = enrollments(n);
    let ids: Vec<String> = targets.iter().map(|id| id.as_str().to_owned()).collect();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let store_schema = format!("mdmkit_bench_store_{run}");
    let plain_schema = format!("mdmkit_bench_plain_{run}");

    let store = PostgresStore::connect_in_schema(url, &store_schema, key())
        .await
        .expect("connect store");
    let enqueue_store = store_enqueue(&store, &targets).await;

    PostgresStore::connect_in_schema(url, &plain_schema, key())
        .await
        .expect("create schema")
        .close()
        .await;
    let options = PgConnectOptions::from_str(url)
        .expect("url")
        .options([("search_path", plain_schema.as_str())]);
    let mut connection = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("connect");
    let start = Instant::now();
    let mut tx = connection.begin().await.expect("begin");
    sqlx::query(INSERT_COMMAND)
        .bind(COMMAND_UUID)
        .bind(PAYLOAD)
        .bind(micros_now())
        .execute(&mut *tx)
        .await
        .expect("insert command");
    let mut copy = tx
        .copy_in_raw(
            "COPY mdmkit_command_targets (enrollment_id, command_uuid, priority) FROM STDIN",
        )
        .await
        .expect("copy");
    let mut data = String::with_capacity(ids.len() * 48);
    for id in &ids {
        data.push_str(id);
        data.push('\t');
        data.push_str(COMMAND_UUID);
        data.push_str("\t0\n");
    }
    copy.send(data.into_bytes()).await.expect("copy data");
    copy.finish().await.expect("copy finish");
    tx.commit().await.expect("commit");
    let enqueue_plain = start.elapsed();

    let mut dequeue_store = Duration::ZERO;
    let mut dequeue_plain = Duration::ZERO;
    for (targets, ids) in targets.chunks(chunk_len(n)).zip(ids.chunks(chunk_len(n))) {
        dequeue_store += store_dequeue_ack(&store, targets).await;
        dequeue_plain += postgres_plain_dequeue_ack(&mut connection, ids).await;
    }
    store.close().await;
    let finished: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mdmkit_command_targets WHERE finished = TRUE")
            .fetch_one(&mut connection)
            .await
            .expect("count");
    assert_eq!(finished as usize, n, "baseline acknowledged every command");
    for schema in [&store_schema, &plain_schema] {
        sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&mut connection)
            .await
            .expect("drop schema");
    }
    connection.close().await.expect("close");

    report(
        "postgres",
        "enqueue 1 command to n enrollments",
        n,
        &Figures {
            store: enqueue_store,
            baseline: enqueue_plain,
        },
    );
    report(
        "postgres",
        "dequeue + acknowledge n commands",
        n,
        &Figures {
            store: dequeue_store,
            baseline: dequeue_plain,
        },
    );
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let n = std::env::var("MDMKIT_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 100_000 } else { 300 });
    println!(
        "store_queue: {} run, n = {n} ({} threads available)",
        if full { "full" } else { "smoke" },
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temporary directory");
        sqlite(n, dir.path()).await;
        match std::env::var("MDMKIT_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => postgres(n, &url).await,
            _ => println!(
                "postgres   SKIPPED: set MDMKIT_TEST_POSTGRES_URL (e.g. `. scripts/postgres.sh`)"
            ),
        }
    });
}
