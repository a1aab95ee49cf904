//! The merchant's time zone: the dashboard, its filters and the CSV export
//! show and read times in it (default Asia/Tokyo). A fixed list of zones with
//! their current daylight-saving rules, small enough for the browser bundle
//! (no time zone database): enough for a dashboard whose times are recent.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeZone {
    #[default]
    Tokyo,
    Seoul,
    Taipei,
    Shanghai,
    HongKong,
    Singapore,
    Bangkok,
    Jakarta,
    Kolkata,
    Dubai,
    London,
    Paris,
    NewYork,
    Chicago,
    Denver,
    LosAngeles,
    Honolulu,
    Sydney,
    Auckland,
    Utc,
}

/// How a zone shifts its clocks (current rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Fixed,
    /// Second Sunday of March 02:00 local → first Sunday of November 02:00 local.
    UnitedStates,
    /// Last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC.
    Europe,
    /// First Sunday of October 02:00 standard → first Sunday of April 03:00 daylight.
    Australia,
    /// Last Sunday of September 02:00 standard → first Sunday of April 03:00 daylight.
    NewZealand,
}

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

impl TimeZone {
    pub const ALL: [TimeZone; 20] = [
        TimeZone::Tokyo,
        TimeZone::Seoul,
        TimeZone::Taipei,
        TimeZone::Shanghai,
        TimeZone::HongKong,
        TimeZone::Singapore,
        TimeZone::Bangkok,
        TimeZone::Jakarta,
        TimeZone::Kolkata,
        TimeZone::Dubai,
        TimeZone::London,
        TimeZone::Paris,
        TimeZone::NewYork,
        TimeZone::Chicago,
        TimeZone::Denver,
        TimeZone::LosAngeles,
        TimeZone::Honolulu,
        TimeZone::Sydney,
        TimeZone::Auckland,
        TimeZone::Utc,
    ];

    /// The IANA name, as stored and sent in forms.
    pub const fn iana(self) -> &'static str {
        match self {
            TimeZone::Tokyo => "Asia/Tokyo",
            TimeZone::Seoul => "Asia/Seoul",
            TimeZone::Taipei => "Asia/Taipei",
            TimeZone::Shanghai => "Asia/Shanghai",
            TimeZone::HongKong => "Asia/Hong_Kong",
            TimeZone::Singapore => "Asia/Singapore",
            TimeZone::Bangkok => "Asia/Bangkok",
            TimeZone::Jakarta => "Asia/Jakarta",
            TimeZone::Kolkata => "Asia/Kolkata",
            TimeZone::Dubai => "Asia/Dubai",
            TimeZone::London => "Europe/London",
            TimeZone::Paris => "Europe/Paris",
            TimeZone::NewYork => "America/New_York",
            TimeZone::Chicago => "America/Chicago",
            TimeZone::Denver => "America/Denver",
            TimeZone::LosAngeles => "America/Los_Angeles",
            TimeZone::Honolulu => "Pacific/Honolulu",
            TimeZone::Sydney => "Australia/Sydney",
            TimeZone::Auckland => "Pacific/Auckland",
            TimeZone::Utc => "UTC",
        }
    }

    pub fn parse(name: &str) -> Option<TimeZone> {
        TimeZone::ALL.into_iter().find(|z| z.iana().eq_ignore_ascii_case(name.trim()))
    }

    /// The localized name's message id (`locales/*/dashboard.ftl`).
    pub fn message_id(self) -> String {
        format!("tz-{}", self.iana().to_ascii_lowercase().replace(['/', '_'], "-"))
    }

    /// Standard offset in minutes east of UTC, and the rule that adds an hour.
    const fn standard(self) -> (i64, Rule) {
        match self {
            TimeZone::Tokyo | TimeZone::Seoul => (540, Rule::Fixed),
            TimeZone::Taipei | TimeZone::Shanghai | TimeZone::HongKong | TimeZone::Singapore => (480, Rule::Fixed),
            TimeZone::Bangkok | TimeZone::Jakarta => (420, Rule::Fixed),
            TimeZone::Kolkata => (330, Rule::Fixed),
            TimeZone::Dubai => (240, Rule::Fixed),
            TimeZone::London => (0, Rule::Europe),
            TimeZone::Paris => (60, Rule::Europe),
            TimeZone::NewYork => (-300, Rule::UnitedStates),
            TimeZone::Chicago => (-360, Rule::UnitedStates),
            TimeZone::Denver => (-420, Rule::UnitedStates),
            TimeZone::LosAngeles => (-480, Rule::UnitedStates),
            TimeZone::Honolulu => (-600, Rule::Fixed),
            TimeZone::Sydney => (600, Rule::Australia),
            TimeZone::Auckland => (720, Rule::NewZealand),
            TimeZone::Utc => (0, Rule::Fixed),
        }
    }

    /// Minutes east of UTC at the instant `utc_ms`.
    pub fn offset_at(self, utc_ms: i64) -> i64 {
        let (standard, rule) = self.standard();
        let year = year_of(utc_ms + standard * MINUTE_MS);
        let daylight = match rule {
            Rule::Fixed => false,
            Rule::UnitedStates => {
                let start = nth_sunday(year, 3, 2) + 2 * 60 * MINUTE_MS - standard * MINUTE_MS;
                let end = nth_sunday(year, 11, 1) + 2 * 60 * MINUTE_MS - (standard + 60) * MINUTE_MS;
                (start..end).contains(&utc_ms)
            }
            Rule::Europe => {
                let start = last_sunday(year, 3) + 60 * MINUTE_MS;
                let end = last_sunday(year, 10) + 60 * MINUTE_MS;
                (start..end).contains(&utc_ms)
            }
            Rule::Australia | Rule::NewZealand => {
                // Southern summer: daylight time from spring to the next autumn.
                let end = nth_sunday(year, 4, 1) + 3 * 60 * MINUTE_MS - (standard + 60) * MINUTE_MS;
                let start_day = if rule == Rule::Australia { nth_sunday(year, 10, 1) } else { last_sunday(year, 9) };
                let start = start_day + 2 * 60 * MINUTE_MS - standard * MINUTE_MS;
                utc_ms < end || utc_ms >= start
            }
        };
        standard + if daylight { 60 } else { 0 }
    }

    /// The instant a wall-clock time (`YYYY-MM-DDTHH:MM[:SS]`) names here.
    /// A time skipped when clocks go forward is read as standard time; one
    /// that happens twice when they go back is the first of the two.
    pub fn to_utc(self, local: &str) -> Option<i64> {
        let as_utc = super::link::parse_local_datetime(local, 0)?;
        let (standard, _) = self.standard();
        for offset in [standard + 60, standard] {
            let candidate = as_utc - offset * MINUTE_MS;
            if self.offset_at(candidate) == offset {
                return Some(candidate);
            }
        }
        Some(as_utc - standard * MINUTE_MS)
    }

    /// `YYYY-MM-DDTHH:MM` here at `utc_ms`.
    pub fn local(self, utc_ms: i64) -> String {
        super::link::format_local_datetime(utc_ms, self.offset_at(utc_ms))
    }

    /// For people: `YYYY-MM-DD HH:MM`, with `:SS` when `seconds`.
    pub fn display(self, utc_ms: i64, seconds: bool) -> String {
        let minutes = self.local(utc_ms).replace('T', " ");
        if seconds {
            format!("{minutes}:{:02}", utc_ms.div_euclid(1000).rem_euclid(60))
        } else {
            minutes
        }
    }

    /// `YYYY-MM-DD` here at `utc_ms`.
    pub fn date(self, utc_ms: i64) -> String {
        self.local(utc_ms)[..10].to_owned()
    }
}

/// 00:00 UTC of the `n`th Sunday of `month`.
fn nth_sunday(year: i64, month: i64, n: i64) -> i64 {
    let first = day_start(year, month, 1);
    let weekday = weekday(first); // 0 = Sunday
    first + ((7 - weekday) % 7 + 7 * (n - 1)) * DAY_MS
}

/// 00:00 UTC of the last Sunday of `month`.
fn last_sunday(year: i64, month: i64) -> i64 {
    let next_month = if month == 12 { day_start(year + 1, 1, 1) } else { day_start(year, month + 1, 1) };
    let last = next_month - DAY_MS;
    last - weekday(last) * DAY_MS
}

fn day_start(year: i64, month: i64, day: i64) -> i64 {
    super::link::parse_local_datetime(&format!("{year:04}-{month:02}-{day:02}T00:00"), 0).unwrap_or(0)
}

/// 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday).
fn weekday(utc_ms: i64) -> i64 {
    (utc_ms.div_euclid(DAY_MS) + 4).rem_euclid(7)
}

fn year_of(ms: i64) -> i64 {
    super::link::format_local_datetime(ms, 0)[..4].parse().unwrap_or(1970)
}

#[cfg(test)]
mod tests;
