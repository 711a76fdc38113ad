//! "Now", as git would stamp it: `GIT_COMMITTER_DATE` when set (so that scripted and tested
//! runs are reproducible, exactly as with git's own commits), else the system clock.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// The current time for timestamps that planx records.
pub fn now() -> DateTime<Utc> {
    std::env::var("GIT_COMMITTER_DATE")
        .ok()
        .and_then(|text| parse_git_date(&text))
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

/// Parses the date forms git accepts in `GIT_COMMITTER_DATE` that scripts use: RFC 3339 /
/// ISO 8601 (`2026-01-01T00:00:00Z`, `2026-01-01 00:00:00 +0100`), git's internal form
/// (`@1767225600 +0000` or `1767225600 +0000`) and RFC 2822.
pub fn parse_git_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    for format in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t);
    }
    let raw = text.strip_prefix('@').unwrap_or(text);
    let mut parts = raw.split_whitespace();
    let secs: i64 = parts.next()?.parse().ok()?;
    let offset = match parts.next() {
        Some(tz) => parse_offset(tz)?,
        None => FixedOffset::east_opt(0)?,
    };
    offset.timestamp_opt(secs, 0).single()
}

fn parse_offset(tz: &str) -> Option<FixedOffset> {
    let (sign, digits) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// RFC 3339 in UTC with seconds, as events record it: `2026-01-01T00:00:00Z`.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A duration for people: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => match (s / 3600, s / 60 % 60) {
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h {m}m"),
        },
        _ => match (s / 86_400, s / 3600 % 24) {
            (d, 0) => format!("{d}d"),
            (d, h) => format!("{d}d {h}h"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_date_forms() {
        let want = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for text in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T01:00:00+01:00",
            "2026-01-01 00:00:00 +0000",
            "@1767225600 +0000",
            "1767225600 +0000",
            "Thu, 01 Jan 2026 00:00:00 +0000",
        ] {
            assert_eq!(
                parse_git_date(text).map(|t| t.with_timezone(&Utc)),
                Some(want),
                "{text}"
            );
        }
        assert_eq!(parse_git_date("yesterday"), None);
        assert_eq!(parse_git_date("1767225600 +1é1"), None);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3600 * 3 + 300), "3h 5m");
        assert_eq!(human_duration(86_400 * 2), "2d");
    }
}
