//! Shared row decoding: engine differences (booleans, integer widths) handled in one place.

use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe};

use crate::core::store::StoreError;

// Nullable floats are bound as a value plus a 0/1 flag (`CASE WHEN $flag = 1 THEN $value END`):
// sqlx's Any driver sends a NULL f64 to PostgreSQL typed as float4, which breaks the cached
// statement prepared for float8.

pub fn store_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("that already exists".into())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) if !is_transient(db.as_ref()) => {
            StoreError::Refused(e.to_string())
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// A database error that passes: the server is starting, stopping or out of resources, the
/// connection broke, or a lock or serialization conflict. The engine retries these; the rest
/// (a foreign key, a constraint) would fail again.
fn is_transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    let code = code.as_ref();
    match code.len() {
        // PostgreSQL's SQLSTATE: connection exception (08), insufficient resources (53),
        // operator intervention (57: shutdown, restart, cannot connect now), serialization
        // failure and deadlock (40001, 40P01).
        5 => {
            ["08", "53", "57"]
                .iter()
                .any(|class| code.starts_with(class))
                || code == "40001"
                || code == "40P01"
        }
        // SQLite's result codes, primary or extended (the low byte is the primary code):
        // BUSY (5), LOCKED (6), IOERR (10), FULL (13), CANTOPEN (14).
        _ => code
            .parse::<i64>()
            .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14)),
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub fn int(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(col).map_err(store_error)
}

pub fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>, StoreError> {
    row.try_get::<Option<i64>, _>(col).map_err(store_error)
}

pub fn text(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(col).map_err(store_error)
}

pub fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    row.try_get::<Option<String>, _>(col).map_err(store_error)
}

pub fn opt_float(row: &AnyRow, col: &str) -> Result<Option<f64>, StoreError> {
    row.try_get::<Option<f64>, _>(col).map_err(store_error)
}

/// PostgreSQL has real booleans; SQLite keeps 0/1 integers.
pub fn boolean(row: &AnyRow, col: &str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => int(row, col).map(|v| v != 0),
    }
}

/// [`boolean`] for a nullable column.
pub fn opt_boolean(row: &AnyRow, col: &str) -> Result<Option<bool>, StoreError> {
    match row.try_get::<Option<bool>, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => opt_int(row, col).map(|v| v.map(|v| v != 0)),
    }
}

pub fn bytes(row: &AnyRow, col: &str) -> Result<Vec<u8>, StoreError> {
    row.try_get::<Vec<u8>, _>(col).map_err(store_error)
}

pub fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what} `{value}`"))
}

/// Parses a stored text column with a domain parser, reporting bad data as corruption.
pub fn parsed<T, E>(
    row: &AnyRow,
    col: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw = text(row, col)?;
    parse(&raw).map_err(|_| corrupt(col, &raw))
}

pub fn opt_parsed<T, E>(
    row: &AnyRow,
    col: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    match opt_text(row, col)? {
        None => Ok(None),
        Some(raw) => parse(&raw).map(Some).map_err(|_| corrupt(col, &raw)),
    }
}

/// `UPDATE table SET column = value WHERE id = id`; true when the row existed.
/// `table` and `column` are always literals from this crate, never user input.
pub async fn set_column<T>(
    pool: &AnyPool,
    table: &'static str,
    column: &'static str,
    id: i64,
    value: T,
) -> Result<bool, StoreError>
where
    T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
{
    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(value)
        .bind(id)
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() > 0)
}

/// `DELETE FROM table WHERE id = id`; true when the row existed.
pub async fn delete_by_id(
    pool: &AnyPool,
    table: &'static str,
    id: i64,
) -> Result<bool, StoreError> {
    let sql = format!("DELETE FROM {table} WHERE id = $1");
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() > 0)
}
