//! `duration.HumanDuration` of k8s.io/apimachinery: the `AGE`-style strings ("3s", "2m5s", "5h").

use chrono::{DateTime, Duration, Utc};

const SECOND: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Go's `duration.HumanDuration`: ~2-3 significant figures, `"0s"` for up to 2 s in the future,
/// `"<invalid>"` beyond that. Integer divisions truncate toward zero, as Go's do.
pub fn human_duration(d: Duration) -> String {
    // Go durations are int64 nanoseconds; time.Since saturates the same way.
    let nanos = d.num_nanoseconds().unwrap_or(if d > Duration::zero() {
        i64::MAX
    } else {
        i64::MIN
    });
    let seconds = nanos / SECOND;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = nanos / MINUTE;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = nanos / HOUR;
    if hours < 8 {
        with_rest(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with_rest(hours / 24, "d", hours % 24, "h")
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        with_rest(hours / 24 / 365, "y", (hours / 24) % 365, "d")
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// `"2m"` when the smaller unit is zero, else `"2m5s"`.
fn with_rest(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

/// `translateTimestampSince`: the age of `ts` at `now`, `"<unknown>"` for an unset timestamp.
pub(super) fn since(ts: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match ts {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}
