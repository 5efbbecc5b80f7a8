//! Calendar helpers on UTC unix milliseconds, through `chrono`: month boundaries for budgets,
//! day labels for charts, and the old app's SQLite timestamps, with real date validation
//! (2023-02-29 is refused, 2024-02-29 is not).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::core::ids::Timestamp;

pub const DAY_MS: i64 = 86_400_000;

/// The UTC date-time of a timestamp; `None` only outside chrono's range (±262,000 years).
fn utc(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

fn unix_ms(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_millis()
}

/// The first instant of `now`'s calendar month (UTC), and its `YYYY-MM` label.
pub fn month_start(now: Timestamp) -> (Timestamp, String) {
    let Some(at) = utc(now.0) else {
        return (now, String::from("????-??"));
    };
    let first = NaiveDate::from_ymd_opt(at.year(), at.month(), 1)
        .expect("the first of an existing month exists")
        .and_time(NaiveTime::MIN);
    (
        Timestamp(unix_ms(first)),
        format!("{:04}-{:02}", at.year(), at.month()),
    )
}

/// `MM-DD` of a day counted from 1970-01-01.
pub fn month_day(days_since_epoch: i32) -> String {
    match utc(i64::from(days_since_epoch) * DAY_MS) {
        Some(at) => format!("{:02}-{:02}", at.month(), at.day()),
        None => String::from("??-??"),
    }
}

/// SQLite's `CURRENT_TIMESTAMP` text (`YYYY-MM-DD HH:MM:SS`, UTC, optionally with a `T`,
/// fractional seconds or a `Z`; a date alone means midnight) as unix milliseconds. Dates that
/// do not exist are refused.
pub fn parse_sqlite_timestamp(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(unix_ms(date.and_time(NaiveTime::MIN)));
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .map(unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_at_midnight_on_the_first() {
        let (start, label) = month_start(Timestamp(1_709_296_205_000)); // 2024-03-01 12:30:05
        assert_eq!(label, "2024-03");
        assert_eq!(start, Timestamp(1_709_251_200_000));
        let (start, label) = month_start(Timestamp(1_706_745_599_000)); // 2024-01-31 23:59:59
        assert_eq!(label, "2024-01");
        assert_eq!(start, Timestamp(1_704_067_200_000));
        let (start, label) = month_start(Timestamp(-1)); // 1969-12-31 23:59:59.999
        assert_eq!(label, "1969-12");
        assert_eq!(start, Timestamp(-31 * DAY_MS));
    }

    #[test]
    fn day_labels() {
        assert_eq!(month_day(0), "01-01");
        assert_eq!(month_day(-1), "12-31");
        assert_eq!(month_day(19_782), "02-29"); // 2024-02-29
        assert_eq!(month_day(19_783), "03-01");
    }

    #[test]
    fn sqlite_timestamps() {
        assert_eq!(parse_sqlite_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_sqlite_timestamp("2024-03-01 12:30:05"),
            Some(1_709_296_205_000)
        );
        assert_eq!(
            parse_sqlite_timestamp("2024-03-01T12:30:05.250Z"),
            Some(1_709_296_205_250)
        );
        assert_eq!(
            parse_sqlite_timestamp("2024-02-29"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_sqlite_timestamp("garbage"), None);
        assert_eq!(parse_sqlite_timestamp("2024-13-01 00:00:00"), None);
        // Dates that never were.
        assert_eq!(parse_sqlite_timestamp("2023-02-29 10:00:00"), None);
        assert_eq!(parse_sqlite_timestamp("2024-04-31"), None);
        assert_eq!(parse_sqlite_timestamp("2024-01-01 24:00:00"), None);
    }
}
