//! Durations as plans write them: `90s`, `10m`, `1h30m`, `2h`, `1h5m30s`.

use std::time::Duration;

/// Parses a duration: one or more `<number><unit>` parts with units `h`, `m`, `s` in that order.
pub fn parse(text: &str) -> Result<Duration, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("the duration is empty".into());
    }
    let mut total: u64 = 0;
    let mut last_rank = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{text}` is not a duration"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}` is too long a duration"))?;
        rest = &rest[digits..];
        let (unit_seconds, rank) = match rest.chars().next() {
            Some('h') => (3600, 1),
            Some('m') => (60, 2),
            Some('s') => (1, 3),
            Some(_) => return Err(format!("`{text}` has an unknown unit")),
            None => return Err(format!("`{text}` has a number without a unit")),
        };
        if rank <= last_rank {
            return Err(format!("`{text}` repeats or misorders its units"));
        }
        last_rank = rank;
        rest = &rest[1..];
        total = number
            .checked_mul(unit_seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    }
    if total == 0 {
        return Err(format!(
            "`{text}` is zero: a timeout must be longer than that"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way plans write them (`1h30m`, `90s` → `1m30s`).
pub fn format(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1h5m30s"), Ok(Duration::from_secs(3930)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn refused_forms() {
        for bad in [
            "",
            "10",
            "m",
            "10x",
            "1m1h",
            "1h1h",
            "0s",
            "ten minutes",
            "1.5h",
            "-5m",
            "99999999999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["90s", "10m", "1h30m", "1h5m30s", "2h"] {
            assert_eq!(parse(&format(parse(text).unwrap())), parse(text));
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
    }
}
