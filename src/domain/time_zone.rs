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
mod tests {
    use super::*;
    use crate::domain::link::parse_local_datetime;

    fn utc(text: &str) -> i64 {
        parse_local_datetime(text, 0).unwrap()
    }

    #[test]
    fn names_round_trip_and_tokyo_is_the_default() {
        assert_eq!(TimeZone::default(), TimeZone::Tokyo);
        for zone in TimeZone::ALL {
            assert_eq!(TimeZone::parse(zone.iana()), Some(zone));
        }
        assert_eq!(TimeZone::parse("asia/tokyo"), Some(TimeZone::Tokyo));
        assert_eq!(TimeZone::parse("Mars/Olympus"), None);
        assert_eq!(TimeZone::Tokyo.message_id(), "tz-asia-tokyo");
        assert_eq!(TimeZone::LosAngeles.message_id(), "tz-america-los-angeles");
    }

    #[test]
    fn fixed_zones() {
        let at = utc("2026-12-31T15:30");
        assert_eq!(TimeZone::Tokyo.display(at, false), "2027-01-01 00:30");
        assert_eq!(TimeZone::Kolkata.display(at, false), "2026-12-31 21:00");
        assert_eq!(TimeZone::Honolulu.display(at, false), "2026-12-31 05:30");
        assert_eq!(TimeZone::Utc.display(at, true), "2026-12-31 15:30:00");
    }

    #[test]
    fn american_daylight_time_2026() {
        // 2026: 8 March to 1 November.
        let ny = TimeZone::NewYork;
        assert_eq!(ny.offset_at(utc("2026-03-08T06:59")), -300);
        assert_eq!(ny.offset_at(utc("2026-03-08T07:00")), -240, "02:00 EST becomes 03:00 EDT");
        assert_eq!(ny.offset_at(utc("2026-11-01T05:59")), -240);
        assert_eq!(ny.offset_at(utc("2026-11-01T06:00")), -300, "02:00 EDT becomes 01:00 EST");
        assert_eq!(TimeZone::LosAngeles.display(utc("2026-07-04T19:00"), false), "2026-07-04 12:00");
        // Wall-clock times: a skipped one reads as standard, a doubled one as the first.
        assert_eq!(ny.to_utc("2026-03-08T02:30"), Some(utc("2026-03-08T07:30")));
        assert_eq!(ny.to_utc("2026-11-01T01:30"), Some(utc("2026-11-01T05:30")));
        assert_eq!(ny.to_utc("2026-07-01T12:00"), Some(utc("2026-07-01T16:00")));
    }

    #[test]
    fn european_summer_time_2026() {
        // 2026: 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(TimeZone::London.offset_at(utc("2026-03-29T00:59")), 0);
        assert_eq!(TimeZone::London.offset_at(utc("2026-03-29T01:00")), 60);
        assert_eq!(TimeZone::Paris.offset_at(utc("2026-10-25T00:59")), 120);
        assert_eq!(TimeZone::Paris.offset_at(utc("2026-10-25T01:00")), 60);
        assert_eq!(TimeZone::Paris.to_utc("2026-06-01T09:00"), Some(utc("2026-06-01T07:00")));
    }

    #[test]
    fn southern_summers() {
        // Sydney: 5 April 2026 03:00 AEDT → AEST; 4 October 2026 02:00 AEST → AEDT.
        let sydney = TimeZone::Sydney;
        assert_eq!(sydney.offset_at(utc("2026-01-15T00:00")), 660);
        assert_eq!(sydney.offset_at(utc("2026-04-04T15:59")), 660);
        assert_eq!(sydney.offset_at(utc("2026-04-04T16:00")), 600);
        assert_eq!(sydney.offset_at(utc("2026-10-03T15:59")), 600);
        assert_eq!(sydney.offset_at(utc("2026-10-03T16:00")), 660);
        // Auckland: 27 September 2026 02:00 NZST → NZDT.
        assert_eq!(TimeZone::Auckland.offset_at(utc("2026-09-26T13:59")), 720);
        assert_eq!(TimeZone::Auckland.offset_at(utc("2026-09-26T14:00")), 780);
        assert_eq!(TimeZone::Auckland.offset_at(utc("2026-07-01T00:00")), 720);
    }

    #[test]
    fn sundays() {
        assert_eq!(TimeZone::Utc.date(nth_sunday(2026, 3, 2)), "2026-03-08");
        assert_eq!(TimeZone::Utc.date(nth_sunday(2026, 11, 1)), "2026-11-01");
        assert_eq!(TimeZone::Utc.date(last_sunday(2026, 3)), "2026-03-29");
        assert_eq!(TimeZone::Utc.date(last_sunday(2026, 10)), "2026-10-25");
        assert_eq!(TimeZone::Utc.date(last_sunday(2027, 12)), "2027-12-26");
        assert_eq!(TimeZone::Utc.date(nth_sunday(2027, 3, 2)), "2027-03-14");
    }

    /// Offsets Python's zoneinfo (the IANA database) gives for random instants
    /// of 2024–2035 and for the minute before and at every transition of
    /// those years: the hand-written rules must agree with all of them.
    const IANA_SAMPLES: &[(&str, i64, i64)] = &[
        ("America/New_York", 1826699760000, -300),
        ("America/New_York", 1761192420000, -240),
        ("America/New_York", 1950570300000, -240),
        ("America/New_York", 1731498180000, -300),
        ("America/New_York", 1907000940000, -240),
        ("America/New_York", 1842550320000, -240),
        ("America/New_York", 1726030860000, -240),
        ("America/New_York", 1896228600000, -300),
        ("America/New_York", 1718266440000, -240),
        ("America/New_York", 1868284980000, -240),
        ("America/New_York", 1730520780000, -240),
        ("America/New_York", 1738419360000, -300),
        ("America/New_York", 1864828860000, -300),
        ("America/New_York", 2017188780000, -300),
        ("America/New_York", 1750949880000, -240),
        ("America/New_York", 1788605820000, -240),
        ("America/New_York", 1941670620000, -240),
        ("America/New_York", 2062956180000, -240),
        ("America/New_York", 1922610960000, -300),
        ("America/New_York", 1854286560000, -240),
        ("America/New_York", 2073766380000, -240),
        ("America/New_York", 1721707620000, -240),
        ("America/New_York", 2029161600000, -240),
        ("America/New_York", 1813739640000, -240),
        ("America/New_York", 1758695280000, -240),
        ("America/New_York", 1748674080000, -240),
        ("America/New_York", 1820886540000, -240),
        ("America/New_York", 2013127020000, -240),
        ("America/New_York", 1772506680000, -300),
        ("America/New_York", 1924314060000, -300),
        ("America/Chicago", 1946018100000, -300),
        ("America/Chicago", 1845090840000, -300),
        ("America/Chicago", 1911493200000, -300),
        ("America/Chicago", 1727844780000, -300),
        ("America/Chicago", 1726637580000, -300),
        ("America/Chicago", 1782061920000, -300),
        ("America/Chicago", 1961728680000, -360),
        ("America/Chicago", 1865992620000, -360),
        ("America/Chicago", 1823031960000, -300),
        ("America/Chicago", 1925814300000, -360),
        ("America/Chicago", 1875684120000, -300),
        ("America/Chicago", 1817586300000, -300),
        ("America/Chicago", 2004891660000, -300),
        ("America/Chicago", 1968770220000, -300),
        ("America/Chicago", 1796504400000, -360),
        ("America/Chicago", 1921596360000, -360),
        ("America/Chicago", 1902954480000, -300),
        ("America/Chicago", 2035474020000, -300),
        ("America/Chicago", 1980301680000, -300),
        ("America/Chicago", 1813106640000, -300),
        ("America/Chicago", 2075250780000, -300),
        ("America/Chicago", 1748777640000, -300),
        ("America/Chicago", 1862406600000, -360),
        ("America/Chicago", 1990789800000, -360),
        ("America/Chicago", 1761622380000, -300),
        ("America/Chicago", 1889233200000, -360),
        ("America/Chicago", 1718914620000, -300),
        ("America/Chicago", 1957114620000, -360),
        ("America/Chicago", 1993603440000, -360),
        ("America/Chicago", 1921067040000, -360),
        ("America/Denver", 2035602900000, -360),
        ("America/Denver", 1822880580000, -360),
        ("America/Denver", 1967369400000, -360),
        ("America/Denver", 1929149820000, -420),
        ("America/Denver", 1923668400000, -420),
        ("America/Denver", 1876828140000, -360),
        ("America/Denver", 2022155580000, -420),
        ("America/Denver", 2061809580000, -360),
        ("America/Denver", 1883604060000, -360),
        ("America/Denver", 1955575740000, -420),
        ("America/Denver", 1727042160000, -360),
        ("America/Denver", 1969716000000, -360),
        ("America/Denver", 1949129160000, -360),
        ("America/Denver", 2080143840000, -420),
        ("America/Denver", 2015322840000, -420),
        ("America/Denver", 1811841000000, -360),
        ("America/Denver", 1850163000000, -360),
        ("America/Denver", 1957280040000, -420),
        ("America/Denver", 1712611560000, -360),
        ("America/Denver", 1878907140000, -360),
        ("America/Denver", 1767705600000, -420),
        ("America/Denver", 1748410320000, -360),
        ("America/Denver", 1726392660000, -360),
        ("America/Denver", 1994990220000, -360),
        ("America/Denver", 1753047180000, -360),
        ("America/Denver", 1797836700000, -420),
        ("America/Denver", 1852116360000, -360),
        ("America/Denver", 2034067020000, -360),
        ("America/Denver", 1734582600000, -420),
        ("America/Denver", 1874170500000, -360),
        ("America/Los_Angeles", 1912135200000, -420),
        ("America/Los_Angeles", 2038596840000, -420),
        ("America/Los_Angeles", 2014321260000, -420),
        ("America/Los_Angeles", 2031250500000, -420),
        ("America/Los_Angeles", 1809502800000, -420),
        ("America/Los_Angeles", 1861336320000, -480),
        ("America/Los_Angeles", 1839930660000, -420),
        ("America/Los_Angeles", 2038903200000, -420),
        ("America/Los_Angeles", 2066751540000, -420),
        ("America/Los_Angeles", 1761219600000, -420),
        ("America/Los_Angeles", 1770799260000, -480),
        ("America/Los_Angeles", 1791907200000, -420),
        ("America/Los_Angeles", 1792429500000, -420),
        ("America/Los_Angeles", 1887718260000, -420),
        ("America/Los_Angeles", 1927163040000, -480),
        ("America/Los_Angeles", 1803567000000, -480),
        ("America/Los_Angeles", 1705617360000, -480),
        ("America/Los_Angeles", 1862718540000, -480),
        ("America/Los_Angeles", 1843900260000, -420),
        ("America/Los_Angeles", 1918535580000, -420),
        ("America/Los_Angeles", 2064996960000, -420),
        ("America/Los_Angeles", 1965551040000, -420),
        ("America/Los_Angeles", 1899279240000, -480),
        ("America/Los_Angeles", 1937944080000, -420),
        ("America/Los_Angeles", 1960138200000, -480),
        ("America/Los_Angeles", 1724513820000, -420),
        ("America/Los_Angeles", 2044712400000, -420),
        ("America/Los_Angeles", 1999434780000, -420),
        ("America/Los_Angeles", 2035237620000, -420),
        ("America/Los_Angeles", 2006214720000, -420),
        ("Europe/London", 1852657620000, 60),
        ("Europe/London", 1855156920000, 60),
        ("Europe/London", 1743275760000, 0),
        ("Europe/London", 1944267060000, 60),
        ("Europe/London", 1727639880000, 60),
        ("Europe/London", 1729571100000, 60),
        ("Europe/London", 1783123980000, 60),
        ("Europe/London", 1765529940000, 0),
        ("Europe/London", 1832842500000, 0),
        ("Europe/London", 1723977060000, 60),
        ("Europe/London", 1704155520000, 0),
        ("Europe/London", 1761349860000, 60),
        ("Europe/London", 1742490840000, 0),
        ("Europe/London", 1841763060000, 60),
        ("Europe/London", 1713724140000, 60),
        ("Europe/London", 2035169160000, 60),
        ("Europe/London", 1936609680000, 60),
        ("Europe/London", 1760321940000, 60),
        ("Europe/London", 1799594940000, 0),
        ("Europe/London", 1835620560000, 0),
        ("Europe/London", 1841972640000, 60),
        ("Europe/London", 1750586460000, 60),
        ("Europe/London", 2025552120000, 0),
        ("Europe/London", 2080146420000, 0),
        ("Europe/London", 1880533260000, 60),
        ("Europe/London", 1887291120000, 60),
        ("Europe/London", 1736590920000, 0),
        ("Europe/London", 1742764740000, 0),
        ("Europe/London", 1833820320000, 0),
        ("Europe/London", 1804328280000, 0),
        ("Europe/Paris", 2017947420000, 60),
        ("Europe/Paris", 1765202580000, 60),
        ("Europe/Paris", 1712813340000, 120),
        ("Europe/Paris", 2064197040000, 120),
        ("Europe/Paris", 1904113620000, 120),
        ("Europe/Paris", 1759584240000, 120),
        ("Europe/Paris", 1909761780000, 120),
        ("Europe/Paris", 1714307940000, 120),
        ("Europe/Paris", 1904057580000, 120),
        ("Europe/Paris", 2074617000000, 120),
        ("Europe/Paris", 2031000780000, 120),
        ("Europe/Paris", 1967710740000, 120),
        ("Europe/Paris", 1802949180000, 60),
        ("Europe/Paris", 1842933180000, 120),
        ("Europe/Paris", 1767324540000, 60),
        ("Europe/Paris", 1996393260000, 120),
        ("Europe/Paris", 1905755220000, 120),
        ("Europe/Paris", 1999088400000, 120),
        ("Europe/Paris", 1828908420000, 60),
        ("Europe/Paris", 1788531060000, 120),
        ("Europe/Paris", 2011379340000, 120),
        ("Europe/Paris", 2077050000000, 120),
        ("Europe/Paris", 2026950180000, 120),
        ("Europe/Paris", 2009322060000, 120),
        ("Europe/Paris", 2013962640000, 120),
        ("Europe/Paris", 1984250580000, 60),
        ("Europe/Paris", 1789931400000, 120),
        ("Europe/Paris", 1900092420000, 60),
        ("Europe/Paris", 1838715600000, 120),
        ("Europe/Paris", 1715041680000, 120),
        ("Australia/Sydney", 1714646700000, 600),
        ("Australia/Sydney", 1809880500000, 600),
        ("Australia/Sydney", 1802214240000, 660),
        ("Australia/Sydney", 1966319160000, 600),
        ("Australia/Sydney", 2066291040000, 600),
        ("Australia/Sydney", 1873428360000, 600),
        ("Australia/Sydney", 2058908880000, 660),
        ("Australia/Sydney", 2078228460000, 660),
        ("Australia/Sydney", 2065717500000, 600),
        ("Australia/Sydney", 1842151560000, 600),
        ("Australia/Sydney", 1787554320000, 600),
        ("Australia/Sydney", 1789971660000, 600),
        ("Australia/Sydney", 1778558040000, 600),
        ("Australia/Sydney", 1781461560000, 600),
        ("Australia/Sydney", 1940395620000, 600),
        ("Australia/Sydney", 2045006040000, 660),
        ("Australia/Sydney", 2022332700000, 660),
        ("Australia/Sydney", 1885639560000, 600),
        ("Australia/Sydney", 1951344180000, 660),
        ("Australia/Sydney", 2006885220000, 600),
        ("Australia/Sydney", 1736172060000, 660),
        ("Australia/Sydney", 1954225140000, 660),
        ("Australia/Sydney", 2048591760000, 660),
        ("Australia/Sydney", 2000318400000, 600),
        ("Australia/Sydney", 1988138760000, 660),
        ("Australia/Sydney", 1885093980000, 600),
        ("Australia/Sydney", 1771671780000, 660),
        ("Australia/Sydney", 2002905840000, 600),
        ("Australia/Sydney", 1829988480000, 660),
        ("Australia/Sydney", 2007331980000, 600),
        ("Pacific/Auckland", 2072025240000, 720),
        ("Pacific/Auckland", 1853967720000, 780),
        ("Pacific/Auckland", 1856068800000, 780),
        ("Pacific/Auckland", 2062610880000, 720),
        ("Pacific/Auckland", 1978542060000, 720),
        ("Pacific/Auckland", 1768446060000, 780),
        ("Pacific/Auckland", 1752175500000, 720),
        ("Pacific/Auckland", 1761306600000, 780),
        ("Pacific/Auckland", 2046726720000, 780),
        ("Pacific/Auckland", 2009482380000, 720),
        ("Pacific/Auckland", 1759422120000, 780),
        ("Pacific/Auckland", 2017059420000, 780),
        ("Pacific/Auckland", 2075300400000, 780),
        ("Pacific/Auckland", 1952968860000, 780),
        ("Pacific/Auckland", 1836763440000, 780),
        ("Pacific/Auckland", 1911839880000, 720),
        ("Pacific/Auckland", 1753669620000, 720),
        ("Pacific/Auckland", 1709460840000, 780),
        ("Pacific/Auckland", 2071734720000, 720),
        ("Pacific/Auckland", 1950093240000, 780),
        ("Pacific/Auckland", 1903478760000, 720),
        ("Pacific/Auckland", 2057622660000, 780),
        ("Pacific/Auckland", 1868346960000, 780),
        ("Pacific/Auckland", 2034188520000, 720),
        ("Pacific/Auckland", 2016924900000, 780),
        ("Pacific/Auckland", 1783987020000, 720),
        ("Pacific/Auckland", 1799434800000, 780),
        ("Pacific/Auckland", 1815011040000, 720),
        ("Pacific/Auckland", 1795157340000, 780),
        ("Pacific/Auckland", 1926145740000, 780),
        ("America/New_York", 1710053940000, -300),
        ("America/New_York", 1710054000000, -240),
        ("America/New_York", 1730613540000, -240),
        ("America/New_York", 1730613600000, -300),
        ("America/New_York", 1741503540000, -300),
        ("America/New_York", 1741503600000, -240),
        ("America/New_York", 1762063140000, -240),
        ("America/New_York", 1762063200000, -300),
        ("America/New_York", 1772953140000, -300),
        ("America/New_York", 1772953200000, -240),
        ("America/New_York", 1793512740000, -240),
        ("America/New_York", 1793512800000, -300),
        ("America/New_York", 1805007540000, -300),
        ("America/New_York", 1805007600000, -240),
        ("America/New_York", 1825567140000, -240),
        ("America/New_York", 1825567200000, -300),
        ("America/New_York", 1836457140000, -300),
        ("America/New_York", 1836457200000, -240),
        ("America/New_York", 1857016740000, -240),
        ("America/New_York", 1857016800000, -300),
        ("America/New_York", 1867906740000, -300),
        ("America/New_York", 1867906800000, -240),
        ("America/New_York", 1888466340000, -240),
        ("America/New_York", 1888466400000, -300),
        ("America/New_York", 1899356340000, -300),
        ("America/New_York", 1899356400000, -240),
        ("America/New_York", 1919915940000, -240),
        ("America/New_York", 1919916000000, -300),
        ("America/New_York", 1930805940000, -300),
        ("America/New_York", 1930806000000, -240),
        ("America/New_York", 1951365540000, -240),
        ("America/New_York", 1951365600000, -300),
        ("America/New_York", 1962860340000, -300),
        ("America/New_York", 1962860400000, -240),
        ("America/New_York", 1983419940000, -240),
        ("America/New_York", 1983420000000, -300),
        ("America/New_York", 1994309940000, -300),
        ("America/New_York", 1994310000000, -240),
        ("America/New_York", 2014869540000, -240),
        ("America/New_York", 2014869600000, -300),
        ("America/New_York", 2025759540000, -300),
        ("America/New_York", 2025759600000, -240),
        ("America/New_York", 2046319140000, -240),
        ("America/New_York", 2046319200000, -300),
        ("America/New_York", 2057209140000, -300),
        ("America/New_York", 2057209200000, -240),
        ("America/New_York", 2077768740000, -240),
        ("America/New_York", 2077768800000, -300),
        ("America/Los_Angeles", 1710064740000, -480),
        ("America/Los_Angeles", 1710064800000, -420),
        ("America/Los_Angeles", 1730624340000, -420),
        ("America/Los_Angeles", 1730624400000, -480),
        ("America/Los_Angeles", 1741514340000, -480),
        ("America/Los_Angeles", 1741514400000, -420),
        ("America/Los_Angeles", 1762073940000, -420),
        ("America/Los_Angeles", 1762074000000, -480),
        ("America/Los_Angeles", 1772963940000, -480),
        ("America/Los_Angeles", 1772964000000, -420),
        ("America/Los_Angeles", 1793523540000, -420),
        ("America/Los_Angeles", 1793523600000, -480),
        ("America/Los_Angeles", 1805018340000, -480),
        ("America/Los_Angeles", 1805018400000, -420),
        ("America/Los_Angeles", 1825577940000, -420),
        ("America/Los_Angeles", 1825578000000, -480),
        ("America/Los_Angeles", 1836467940000, -480),
        ("America/Los_Angeles", 1836468000000, -420),
        ("America/Los_Angeles", 1857027540000, -420),
        ("America/Los_Angeles", 1857027600000, -480),
        ("America/Los_Angeles", 1867917540000, -480),
        ("America/Los_Angeles", 1867917600000, -420),
        ("America/Los_Angeles", 1888477140000, -420),
        ("America/Los_Angeles", 1888477200000, -480),
        ("America/Los_Angeles", 1899367140000, -480),
        ("America/Los_Angeles", 1899367200000, -420),
        ("America/Los_Angeles", 1919926740000, -420),
        ("America/Los_Angeles", 1919926800000, -480),
        ("America/Los_Angeles", 1930816740000, -480),
        ("America/Los_Angeles", 1930816800000, -420),
        ("America/Los_Angeles", 1951376340000, -420),
        ("America/Los_Angeles", 1951376400000, -480),
        ("America/Los_Angeles", 1962871140000, -480),
        ("America/Los_Angeles", 1962871200000, -420),
        ("America/Los_Angeles", 1983430740000, -420),
        ("America/Los_Angeles", 1983430800000, -480),
        ("America/Los_Angeles", 1994320740000, -480),
        ("America/Los_Angeles", 1994320800000, -420),
        ("America/Los_Angeles", 2014880340000, -420),
        ("America/Los_Angeles", 2014880400000, -480),
        ("America/Los_Angeles", 2025770340000, -480),
        ("America/Los_Angeles", 2025770400000, -420),
        ("America/Los_Angeles", 2046329940000, -420),
        ("America/Los_Angeles", 2046330000000, -480),
        ("America/Los_Angeles", 2057219940000, -480),
        ("America/Los_Angeles", 2057220000000, -420),
        ("America/Los_Angeles", 2077779540000, -420),
        ("America/Los_Angeles", 2077779600000, -480),
        ("Europe/London", 1711846740000, 0),
        ("Europe/London", 1711846800000, 60),
        ("Europe/London", 1729990740000, 60),
        ("Europe/London", 1729990800000, 0),
        ("Europe/London", 1743296340000, 0),
        ("Europe/London", 1743296400000, 60),
        ("Europe/London", 1761440340000, 60),
        ("Europe/London", 1761440400000, 0),
        ("Europe/London", 1774745940000, 0),
        ("Europe/London", 1774746000000, 60),
        ("Europe/London", 1792889940000, 60),
        ("Europe/London", 1792890000000, 0),
        ("Europe/London", 1806195540000, 0),
        ("Europe/London", 1806195600000, 60),
        ("Europe/London", 1824944340000, 60),
        ("Europe/London", 1824944400000, 0),
        ("Europe/London", 1837645140000, 0),
        ("Europe/London", 1837645200000, 60),
        ("Europe/London", 1856393940000, 60),
        ("Europe/London", 1856394000000, 0),
        ("Europe/London", 1869094740000, 0),
        ("Europe/London", 1869094800000, 60),
        ("Europe/London", 1887843540000, 60),
        ("Europe/London", 1887843600000, 0),
        ("Europe/London", 1901149140000, 0),
        ("Europe/London", 1901149200000, 60),
        ("Europe/London", 1919293140000, 60),
        ("Europe/London", 1919293200000, 0),
        ("Europe/London", 1932598740000, 0),
        ("Europe/London", 1932598800000, 60),
        ("Europe/London", 1950742740000, 60),
        ("Europe/London", 1950742800000, 0),
        ("Europe/London", 1964048340000, 0),
        ("Europe/London", 1964048400000, 60),
        ("Europe/London", 1982797140000, 60),
        ("Europe/London", 1982797200000, 0),
        ("Europe/London", 1995497940000, 0),
        ("Europe/London", 1995498000000, 60),
        ("Europe/London", 2014246740000, 60),
        ("Europe/London", 2014246800000, 0),
        ("Europe/London", 2026947540000, 0),
        ("Europe/London", 2026947600000, 60),
        ("Europe/London", 2045696340000, 60),
        ("Europe/London", 2045696400000, 0),
        ("Europe/London", 2058397140000, 0),
        ("Europe/London", 2058397200000, 60),
        ("Europe/London", 2077145940000, 60),
        ("Europe/London", 2077146000000, 0),
        ("Europe/Paris", 1711846740000, 60),
        ("Europe/Paris", 1711846800000, 120),
        ("Europe/Paris", 1729990740000, 120),
        ("Europe/Paris", 1729990800000, 60),
        ("Europe/Paris", 1743296340000, 60),
        ("Europe/Paris", 1743296400000, 120),
        ("Europe/Paris", 1761440340000, 120),
        ("Europe/Paris", 1761440400000, 60),
        ("Europe/Paris", 1774745940000, 60),
        ("Europe/Paris", 1774746000000, 120),
        ("Europe/Paris", 1792889940000, 120),
        ("Europe/Paris", 1792890000000, 60),
        ("Europe/Paris", 1806195540000, 60),
        ("Europe/Paris", 1806195600000, 120),
        ("Europe/Paris", 1824944340000, 120),
        ("Europe/Paris", 1824944400000, 60),
        ("Europe/Paris", 1837645140000, 60),
        ("Europe/Paris", 1837645200000, 120),
        ("Europe/Paris", 1856393940000, 120),
        ("Europe/Paris", 1856394000000, 60),
        ("Europe/Paris", 1869094740000, 60),
        ("Europe/Paris", 1869094800000, 120),
        ("Europe/Paris", 1887843540000, 120),
        ("Europe/Paris", 1887843600000, 60),
        ("Europe/Paris", 1901149140000, 60),
        ("Europe/Paris", 1901149200000, 120),
        ("Europe/Paris", 1919293140000, 120),
        ("Europe/Paris", 1919293200000, 60),
        ("Europe/Paris", 1932598740000, 60),
        ("Europe/Paris", 1932598800000, 120),
        ("Europe/Paris", 1950742740000, 120),
        ("Europe/Paris", 1950742800000, 60),
        ("Europe/Paris", 1964048340000, 60),
        ("Europe/Paris", 1964048400000, 120),
        ("Europe/Paris", 1982797140000, 120),
        ("Europe/Paris", 1982797200000, 60),
        ("Europe/Paris", 1995497940000, 60),
        ("Europe/Paris", 1995498000000, 120),
        ("Europe/Paris", 2014246740000, 120),
        ("Europe/Paris", 2014246800000, 60),
        ("Europe/Paris", 2026947540000, 60),
        ("Europe/Paris", 2026947600000, 120),
        ("Europe/Paris", 2045696340000, 120),
        ("Europe/Paris", 2045696400000, 60),
        ("Europe/Paris", 2058397140000, 60),
        ("Europe/Paris", 2058397200000, 120),
        ("Europe/Paris", 2077145940000, 120),
        ("Europe/Paris", 2077146000000, 60),
        ("Australia/Sydney", 1712419140000, 660),
        ("Australia/Sydney", 1712419200000, 600),
        ("Australia/Sydney", 1728143940000, 600),
        ("Australia/Sydney", 1728144000000, 660),
        ("Australia/Sydney", 1743868740000, 660),
        ("Australia/Sydney", 1743868800000, 600),
        ("Australia/Sydney", 1759593540000, 600),
        ("Australia/Sydney", 1759593600000, 660),
        ("Australia/Sydney", 1775318340000, 660),
        ("Australia/Sydney", 1775318400000, 600),
        ("Australia/Sydney", 1791043140000, 600),
        ("Australia/Sydney", 1791043200000, 660),
        ("Australia/Sydney", 1806767940000, 660),
        ("Australia/Sydney", 1806768000000, 600),
        ("Australia/Sydney", 1822492740000, 600),
        ("Australia/Sydney", 1822492800000, 660),
        ("Australia/Sydney", 1838217540000, 660),
        ("Australia/Sydney", 1838217600000, 600),
        ("Australia/Sydney", 1853942340000, 600),
        ("Australia/Sydney", 1853942400000, 660),
        ("Australia/Sydney", 1869667140000, 660),
        ("Australia/Sydney", 1869667200000, 600),
        ("Australia/Sydney", 1885996740000, 600),
        ("Australia/Sydney", 1885996800000, 660),
        ("Australia/Sydney", 1901721540000, 660),
        ("Australia/Sydney", 1901721600000, 600),
        ("Australia/Sydney", 1917446340000, 600),
        ("Australia/Sydney", 1917446400000, 660),
        ("Australia/Sydney", 1933171140000, 660),
        ("Australia/Sydney", 1933171200000, 600),
        ("Australia/Sydney", 1948895940000, 600),
        ("Australia/Sydney", 1948896000000, 660),
        ("Australia/Sydney", 1964620740000, 660),
        ("Australia/Sydney", 1964620800000, 600),
        ("Australia/Sydney", 1980345540000, 600),
        ("Australia/Sydney", 1980345600000, 660),
        ("Australia/Sydney", 1996070340000, 660),
        ("Australia/Sydney", 1996070400000, 600),
        ("Australia/Sydney", 2011795140000, 600),
        ("Australia/Sydney", 2011795200000, 660),
        ("Australia/Sydney", 2027519940000, 660),
        ("Australia/Sydney", 2027520000000, 600),
        ("Australia/Sydney", 2043244740000, 600),
        ("Australia/Sydney", 2043244800000, 660),
        ("Australia/Sydney", 2058969540000, 660),
        ("Australia/Sydney", 2058969600000, 600),
        ("Australia/Sydney", 2075299140000, 600),
        ("Australia/Sydney", 2075299200000, 660),
        ("Pacific/Auckland", 1712411940000, 780),
        ("Pacific/Auckland", 1712412000000, 720),
        ("Pacific/Auckland", 1727531940000, 720),
        ("Pacific/Auckland", 1727532000000, 780),
        ("Pacific/Auckland", 1743861540000, 780),
        ("Pacific/Auckland", 1743861600000, 720),
        ("Pacific/Auckland", 1758981540000, 720),
        ("Pacific/Auckland", 1758981600000, 780),
        ("Pacific/Auckland", 1775311140000, 780),
        ("Pacific/Auckland", 1775311200000, 720),
        ("Pacific/Auckland", 1790431140000, 720),
        ("Pacific/Auckland", 1790431200000, 780),
        ("Pacific/Auckland", 1806760740000, 780),
        ("Pacific/Auckland", 1806760800000, 720),
        ("Pacific/Auckland", 1821880740000, 720),
        ("Pacific/Auckland", 1821880800000, 780),
        ("Pacific/Auckland", 1838210340000, 780),
        ("Pacific/Auckland", 1838210400000, 720),
        ("Pacific/Auckland", 1853330340000, 720),
        ("Pacific/Auckland", 1853330400000, 780),
        ("Pacific/Auckland", 1869659940000, 780),
        ("Pacific/Auckland", 1869660000000, 720),
        ("Pacific/Auckland", 1885384740000, 720),
        ("Pacific/Auckland", 1885384800000, 780),
        ("Pacific/Auckland", 1901714340000, 780),
        ("Pacific/Auckland", 1901714400000, 720),
        ("Pacific/Auckland", 1916834340000, 720),
        ("Pacific/Auckland", 1916834400000, 780),
        ("Pacific/Auckland", 1933163940000, 780),
        ("Pacific/Auckland", 1933164000000, 720),
        ("Pacific/Auckland", 1948283940000, 720),
        ("Pacific/Auckland", 1948284000000, 780),
        ("Pacific/Auckland", 1964613540000, 780),
        ("Pacific/Auckland", 1964613600000, 720),
        ("Pacific/Auckland", 1979733540000, 720),
        ("Pacific/Auckland", 1979733600000, 780),
        ("Pacific/Auckland", 1996063140000, 780),
        ("Pacific/Auckland", 1996063200000, 720),
        ("Pacific/Auckland", 2011183140000, 720),
        ("Pacific/Auckland", 2011183200000, 780),
        ("Pacific/Auckland", 2027512740000, 780),
        ("Pacific/Auckland", 2027512800000, 720),
        ("Pacific/Auckland", 2042632740000, 720),
        ("Pacific/Auckland", 2042632800000, 780),
        ("Pacific/Auckland", 2058962340000, 780),
        ("Pacific/Auckland", 2058962400000, 720),
        ("Pacific/Auckland", 2074687140000, 720),
        ("Pacific/Auckland", 2074687200000, 780),
    ];

    #[test]
    fn rules_agree_with_the_iana_database_2024_to_2035() {
        for (name, at, offset) in IANA_SAMPLES {
            let zone = TimeZone::parse(name).unwrap();
            assert_eq!(zone.offset_at(*at), *offset, "{name} at {}", TimeZone::Utc.display(*at, false));
        }
    }
}
