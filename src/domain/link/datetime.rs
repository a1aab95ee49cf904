//! Times as links and the API write them: `YYYY-MM-DDTHH:MM[:SS]` at an
//! offset, RFC 3339, and the proleptic Gregorian calendar.

use super::DEFAULT_TZ_OFFSET_MINUTES;

/// `YYYY-MM-DDTHH:MM[:SS]` at `offset_minutes` east of UTC → Unix milliseconds.
pub fn parse_local_datetime(text: &str, offset_minutes: i64) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute) = (t.next()??, t.next()??);
    let second = t.next().flatten().unwrap_or(0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    let valid = (1970..=9999).contains(&year)
        && (1..=days_in_month).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second)
        && date.len() == 10;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + hour * 3_600 + minute * 60 + second) - offset_minutes * 60) * 1000)
}

/// RFC 3339 in UTC with seconds (`2026-11-24T09:30:00Z`), as the API speaks.
pub fn rfc3339(ms: i64) -> String {
    format!("{}:{:02}Z", format_local_datetime(ms, 0), ms.div_euclid(1000).rem_euclid(60))
}

/// An RFC 3339 timestamp (`Z` or any `±HH:MM` offset, optional
/// fraction) → the form's `YYYY-MM-DDTHH:MM:SS` and its offset in minutes
/// east of UTC; `None` for anything else.
pub fn rfc3339_to_input(text: &str) -> Option<(String, i64)> {
    let text = text.trim().to_ascii_uppercase();
    // Byte offsets below are character offsets only in ASCII.
    if !text.is_ascii() {
        return None;
    }
    let (local, offset) = if let Some(local) = text.strip_suffix('Z') {
        (local, 0)
    } else {
        let (local, zone) = text.split_at(text.len().checked_sub(6)?);
        let (sign, hh_mm) = zone.split_at(1);
        let (hh, mm) = hh_mm.split_once(':')?;
        let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(hh) || !digits(mm) {
            return None;
        }
        let (hh, mm): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
        if hh > 23 || mm > 59 {
            return None;
        }
        let minutes = hh * 60 + mm;
        match sign {
            "+" => (local, minutes),
            "-" => (local, -minutes),
            _ => return None,
        }
    };
    let whole =
        local.split_once('.').map_or(local, |(whole, fraction)| if !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()) { whole } else { "" });
    (whole.len() == 19 && parse_local_datetime(whole, offset).is_some()).then(|| (whole.to_owned(), offset))
}

/// An RFC 3339 timestamp → Unix milliseconds (the API's times).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let (local, offset) = rfc3339_to_input(text)?;
    parse_local_datetime(&local, offset)
}

/// For people, in the dashboard's time zone (JST, as the filters):
/// `YYYY-MM-DD HH:MM`, with `:SS` when `seconds` (delivery logs).
pub fn display_datetime(ms: i64, seconds: bool) -> String {
    let minutes = format_local_datetime(ms, DEFAULT_TZ_OFFSET_MINUTES).replace('T', " ");
    if seconds {
        format!("{minutes}:{:02}", ms.div_euclid(1000).rem_euclid(60))
    } else {
        minutes
    }
}

/// Inverse of [`parse_local_datetime`], for pre-filling the form.
pub fn format_local_datetime(ms: i64, offset_minutes: i64) -> String {
    let secs = ms.div_euclid(1000) + offset_minutes * 60;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

/// `n` consecutive calendar days (`YYYY-MM-DD`) starting at `first`.
pub fn days_from(first: &str, n: usize) -> Vec<String> {
    let Some(start) = parse_local_datetime(&format!("{first}T00:00"), 0) else {
        return Vec::new();
    };
    (0..n as i64).map(|i| format_local_datetime(start + i * 86_400_000, 0)[..10].to_owned()).collect()
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_days_cross_month_ends() {
        assert_eq!(days_from("2026-02-27", 3), ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert!(days_from("nope", 3).is_empty());
    }

    #[test]
    fn people_read_times_in_jst() {
        // 2026-11-30T15:04:05Z is past midnight in Tokyo.
        let ms = 1_796_051_045_000;
        assert_eq!(rfc3339(ms), "2026-11-30T15:04:05Z");
        assert_eq!(display_datetime(ms, false), "2026-12-01 00:04");
        assert_eq!(display_datetime(ms, true), "2026-12-01 00:04:05");
    }

    #[test]
    fn api_times_take_any_rfc3339_offset() {
        let utc = parse_local_datetime("2026-12-31T15:00:00", 0).unwrap();
        for text in [
            "2026-12-31T15:00:00Z",
            "2026-12-31T15:00:00z",
            "2026-12-31t15:00:00Z",
            "2026-12-31T15:00:00.250Z",
            "2026-12-31T15:00:00+00:00",
            "2027-01-01T00:00:00+09:00",
            "2026-12-31T10:00:00-05:00",
            "2026-12-31T20:30:00+05:30",
            "2026-12-31T15:00:00-00:00",
        ] {
            let (local, offset) = rfc3339_to_input(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parse_local_datetime(&local, offset), Some(utc), "{text}");
        }
        for bad in [
            "2026-12-31T15:00:00",
            "2026-12-31T15:00Z",
            "2026-12-31 15:00:00Z",
            "2026-12-31T15:00:00+9:00",
            "2026-12-31T15:00:00+24:00",
            "2026-12-31T15:00:00+09:60",
            "2026-12-31T15:00:00*09:00",
            "2026-12-31T15:00:00.Z",
            "2026-02-30T15:00:00Z",
            "tomorrow",
            "",
            "+09:00",
            "\u{80}\u{80}\u{80}",
            "2026-12-31T15:00:00+０9:00",
            "２０２６-12-31T15:00:00Z",
            "2026-12-31T15:00:00Z\u{300}",
        ] {
            assert_eq!(rfc3339_to_input(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_round_trip() {
        for text in ["2026-11-23T09:30", "2028-02-29T00:00", "1970-01-01T00:00"] {
            let ms = parse_local_datetime(text, 540).unwrap();
            assert_eq!(format_local_datetime(ms, 540), text);
        }
        assert_eq!(parse_local_datetime("1970-01-01T09:00", 540), Some(0));
    }
}
