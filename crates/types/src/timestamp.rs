//! Points in time as Step Functions shows them: milliseconds since the Unix epoch.
//!
//! [`Timestamp`] formats as RFC 3339 in UTC with millisecond precision, the form of
//! `$$.Execution.StartTime` and the other context-object times, and serializes with serde as
//! epoch seconds with a fraction, the form the AWS JSON protocol uses for every timestamp
//! member (`1525283875.612`).
//!
//! [`Timestamp::parse_rfc3339`] accepts exactly the strings AWS Step Functions accepts for a
//! Wait state's `Timestamp` and `TimestampPath`. The rules come from the AWS documentation
//! ("an uppercase T must separate the date and time portions, and an uppercase Z must denote
//! that a numeric time zone offset is not present") and from AWS behaviour recorded in the
//! conformance corpus:
//!
//! - `2016-03-14T01:59:00Z` and `2026-11-23T02:11:00Z` are accepted;
//! - a fraction of up to nine digits is accepted: `.000000Z` (microseconds) and
//!   `.243167252Z` (nanoseconds);
//! - a missing zone designator is rejected (`2016-12-05T21:29:29`, `2026-11-23T02:11:00.000000`);
//! - a space instead of `T` is rejected (`2016-12-05 21:29:29Z`);
//! - a day-first date is rejected (`05-12-2016T21:29:29Z`);
//! - an out-of-range field is rejected (month 13, hour 25).
//!
//! AWS's run-time message names the "ISO-8601 extended offset date-time format", the format
//! of Java's `DateTimeFormatter.ISO_OFFSET_DATE_TIME`. So numeric offsets (`+01:00`) are
//! accepted, up to Java's limit of ±18:00, fractions are limited to nine digits, and a leap
//! second (`:60`) or an impossible date (February 30) is rejected. Seconds are required, as
//! RFC 3339 requires them.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const MILLIS_PER_SECOND: i64 = 1_000;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Java's `ZoneOffset` allows offsets up to ±18:00, and AWS parses with Java's formatter.
const MAX_OFFSET_MINUTES: i64 = 18 * 60;

/// A point in time, as whole milliseconds since 1970-01-01T00:00:00Z.
///
/// Step Functions reports times with millisecond precision, so nothing finer is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Why a string is not a timestamp that AWS Step Functions accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    /// The string does not have the shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    Malformed,
    /// The month, or the day within its month, does not exist.
    InvalidDate,
    /// The hour, minute or second is out of range.
    InvalidTime,
    /// The zone offset is out of range.
    InvalidOffset,
    /// The point in time cannot be represented in milliseconds as an `i64`.
    OutOfRange,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            TimestampError::Malformed => "not an ISO-8601 extended offset date-time",
            TimestampError::InvalidDate => "the date does not exist",
            TimestampError::InvalidTime => "the time of day is out of range",
            TimestampError::InvalidOffset => "the zone offset is out of range",
            TimestampError::OutOfRange => "the timestamp is out of range",
        };
        f.write_str(what)
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// Makes a timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Returns the milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Makes a timestamp from whole seconds since the Unix epoch, if it fits.
    pub const fn from_epoch_seconds(seconds: i64) -> Option<Self> {
        match seconds.checked_mul(MILLIS_PER_SECOND) {
            Some(millis) => Some(Timestamp(millis)),
            None => None,
        }
    }

    /// Returns the whole seconds since the Unix epoch, rounding down.
    pub const fn as_epoch_seconds(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_SECOND)
    }

    /// Makes a timestamp from fractional seconds since the Unix epoch, the AWS JSON protocol
    /// form, rounding to the nearest millisecond.
    ///
    /// Returns `None` for a value that is not finite or does not fit.
    pub fn from_epoch_seconds_f64(seconds: f64) -> Option<Self> {
        let millis = (seconds * 1000.0).round();
        // The bounds are exact powers of two, so the comparison is exact.
        if millis.is_finite() && millis >= -(2f64.powi(63)) && millis < 2f64.powi(63) {
            Some(Timestamp(millis as i64))
        } else {
            None
        }
    }

    /// Returns the seconds since the Unix epoch with a millisecond fraction, the form the AWS
    /// JSON protocol uses for timestamps.
    pub fn to_epoch_seconds_f64(self) -> f64 {
        // Dividing the exact integer gives the double nearest to the decimal `s.mmm`, so
        // `1525283875612` prints as `1525283875.612`.
        self.0 as f64 / 1000.0
    }

    /// Returns this timestamp moved by `seconds`, or `None` on overflow.
    pub fn checked_add_seconds(self, seconds: i64) -> Option<Self> {
        let millis = seconds.checked_mul(MILLIS_PER_SECOND)?;
        self.checked_add_millis(millis)
    }

    /// Returns this timestamp moved by `millis`, or `None` on overflow.
    pub fn checked_add_millis(self, millis: i64) -> Option<Self> {
        self.0.checked_add(millis).map(Timestamp)
    }

    /// Returns the milliseconds from `earlier` to `self`, negative when `earlier` is later.
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Drops the milliseconds, rounding down to the whole second.
    ///
    /// AWS documents that a Wait state "considers the time value up to seconds and truncates
    /// milliseconds", so the interpreter waits until the truncated time.
    pub const fn truncated_to_seconds(self) -> Self {
        Timestamp(self.0 - self.0.rem_euclid(MILLIS_PER_SECOND))
    }

    /// Formats as an HTTP date (RFC 9110's IMF-fixdate), such as
    /// `Tue, 14 Nov 2023 22:13:20 GMT`; milliseconds are dropped.
    pub fn format_http_date(&self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let seconds = self.0.rem_euclid(MILLIS_PER_DAY) / 1000;
        let (year, month, day) = civil_from_days(days);
        format!(
            "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
            DAYS[days.rem_euclid(7) as usize],
            MONTHS[(month - 1) as usize],
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }

    /// Formats as RFC 3339 in UTC with exactly three fractional digits, such as
    /// `2024-03-05T12:00:00.123Z`.
    ///
    /// Years outside 0000–9999 get a sign and as many digits as they need, as ISO 8601's
    /// expanded representation (and Java) write them.
    pub fn format_rfc3339(&self) -> String {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = ms_of_day / 3_600_000;
        let minute = ms_of_day / 60_000 % 60;
        let second = ms_of_day / 1000 % 60;
        let millis = ms_of_day % 1000;
        let year = if (0..=9999).contains(&year) {
            format!("{year:04}")
        } else if year > 9999 {
            format!("+{year}")
        } else {
            format!("-{:04}", year.unsigned_abs())
        };
        format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }

    /// Parses a timestamp the way AWS Step Functions parses a Wait state's `Timestamp`.
    ///
    /// The accepted form is `YYYY-MM-DDTHH:MM:SS`, then an optional fraction of one to nine
    /// digits, then `Z` or an offset `±HH:MM`; see the module documentation for where each
    /// rule comes from. Fractions finer than a millisecond are dropped.
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, TimestampError> {
        let mut p = Cursor {
            bytes: s.as_bytes(),
            pos: 0,
        };
        let year = p.digits(4)?;
        p.expect(b'-')?;
        let month = p.digits(2)?;
        p.expect(b'-')?;
        let day = p.digits(2)?;
        p.expect(b'T')?;
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        p.expect(b':')?;
        let second = p.digits(2)?;
        let mut millis = 0;
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let start = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            let count = p.pos - start;
            if count == 0 || count > 9 {
                return Err(TimestampError::Malformed);
            }
            for (i, b) in p.bytes[start..p.pos].iter().take(3).enumerate() {
                millis += i64::from(b - b'0') * [100, 10, 1][i];
            }
        }
        let offset_minutes = match p.next() {
            Some(b'Z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let hours = p.digits(2)?;
                p.expect(b':')?;
                let minutes = p.digits(2)?;
                if minutes > 59 {
                    return Err(TimestampError::InvalidOffset);
                }
                let total = hours * 60 + minutes;
                if total > MAX_OFFSET_MINUTES {
                    return Err(TimestampError::InvalidOffset);
                }
                if sign == b'-' { -total } else { total }
            }
            _ => return Err(TimestampError::Malformed),
        };
        if p.pos != p.bytes.len() {
            return Err(TimestampError::Malformed);
        }
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::InvalidDate);
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError::InvalidTime);
        }
        // Four-digit years keep every intermediate value far from overflow.
        let days = days_from_civil(year, month, day);
        let local = days * MILLIS_PER_DAY + (hour * 3600 + minute * 60 + second) * 1000 + millis;
        Ok(Timestamp(local - offset_minutes * 60_000))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.to_epoch_seconds_f64())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EpochSecondsVisitor)
    }
}

/// Reads the AWS JSON protocol form: a number of seconds since the epoch.
struct EpochSecondsVisitor;

impl Visitor<'_> for EpochSecondsVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds since the Unix epoch")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
        Timestamp::from_epoch_seconds_f64(v)
            .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Timestamp::from_epoch_seconds(v)
            .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v)
            .ok()
            .and_then(Timestamp::from_epoch_seconds)
            .ok_or_else(|| E::custom(format_args!("timestamp {v} is out of range")))
    }
}

/// A byte cursor over the timestamp being parsed.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Result<(), TimestampError> {
        match self.next() {
            Some(b) if b == want => Ok(()),
            _ => Err(TimestampError::Malformed),
        }
    }

    /// Reads exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Result<i64, TimestampError> {
        let mut value = 0;
        for _ in 0..count {
            match self.next() {
                Some(b @ b'0'..=b'9') => value = value * 10 + i64::from(b - b'0'),
                _ => return Err(TimestampError::Malformed),
            }
        }
        Ok(value)
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
///
/// This is Howard Hinnant's `days_from_civil`, which counts in 400-year eras so that it needs
/// no tables and works for negative years too.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date that is `days` after 1970-01-01; the inverse of
/// [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        use super::Timestamp;
        assert_eq!(
            Timestamp::from_millis(0).format_http_date(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            Timestamp::from_millis(1_700_000_000_999).format_http_date(),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }

    use super::*;

    fn parse(s: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse_rfc3339(s)
    }

    #[test]
    fn accepts_what_aws_accepted() {
        // From the conformance cases wait_timestamp_SECONDS and wait_timestamp_path_SECONDS.
        assert_eq!(
            parse("2016-03-14T01:59:00Z"),
            Ok(Timestamp(1_457_920_740_000))
        );
        // From base_test_wait test_wait_timestamppath_Z.
        assert_eq!(
            parse("2026-11-23T02:11:00Z"),
            Ok(Timestamp(1_795_399_860_000))
        );
        // From base_test_wait test_wait_timestamppath_.000000Z (microseconds).
        assert_eq!(
            parse("2026-11-23T02:11:00.000000Z"),
            Ok(Timestamp(1_795_399_860_000))
        );
        // From wait_timestamp_path_NANOSECONDS: nine digits, truncated to milliseconds.
        assert_eq!(
            parse("2016-03-05T21:29:29.243167252Z"),
            Ok(Timestamp(1_457_213_369_243))
        );
        // From assign BASE_REFERENCE_IN_WAIT.
        assert_eq!(
            parse("2024-11-06T09:42:03Z"),
            Ok(Timestamp(1_730_886_123_000))
        );
        // The example of the AWS Wait state documentation.
        assert!(parse("2024-08-18T17:33:00Z").is_ok());
    }

    #[test]
    fn rejects_what_aws_rejected() {
        // wait_timestamp_path_NO_Z and test_wait_timestamppath: no zone designator.
        assert_eq!(parse("2016-12-05T21:29:29"), Err(TimestampError::Malformed));
        assert_eq!(parse("2026-11-23T02:11:00"), Err(TimestampError::Malformed));
        // test_wait_timestamppath_.000000: a fraction but no zone designator.
        assert_eq!(
            parse("2026-11-23T02:11:00.000000"),
            Err(TimestampError::Malformed)
        );
        // INVALID_ISO: day-first date.
        assert_eq!(
            parse("05-12-2016T21:29:29Z"),
            Err(TimestampError::Malformed)
        );
        // INVALID_TIME: hour 25.
        assert_eq!(
            parse("2016-12-05T25:29:29Z"),
            Err(TimestampError::InvalidTime)
        );
        // INVALID_DATE: month 13.
        assert_eq!(
            parse("2016-13-05T21:29:29Z"),
            Err(TimestampError::InvalidDate)
        );
        // NO_T: a space instead of T.
        assert_eq!(
            parse("2016-12-05 21:29:29Z"),
            Err(TimestampError::Malformed)
        );
    }

    #[test]
    fn offsets_shift_to_utc() {
        let utc = parse("2016-03-14T01:59:00Z").unwrap();
        assert_eq!(parse("2016-03-14T02:59:00+01:00"), Ok(utc));
        assert_eq!(parse("2016-03-13T20:29:00-05:30"), Ok(utc));
        assert_eq!(parse("2016-03-14T01:59:00+00:00"), Ok(utc));
        assert_eq!(parse("2016-03-14T01:59:00-00:00"), Ok(utc));
        assert!(parse("2016-03-14T01:59:00+18:00").is_ok());
        assert_eq!(
            parse("2016-03-14T01:59:00+18:01"),
            Err(TimestampError::InvalidOffset)
        );
        assert_eq!(
            parse("2016-03-14T01:59:00+05:60"),
            Err(TimestampError::InvalidOffset)
        );
        assert_eq!(
            parse("2016-03-14T01:59:00+0100"),
            Err(TimestampError::Malformed)
        );
        assert_eq!(
            parse("2016-03-14T01:59:00+01"),
            Err(TimestampError::Malformed)
        );
    }

    #[test]
    fn rejects_other_malformed_strings() {
        for s in [
            "",
            "2016-03-14",
            "2016-03-14T01:59Z",
            "2016-03-14t01:59:00Z",
            "2016-03-14T01:59:00z",
            "2016-03-14T01:59:00.Z",
            "2016-03-14T01:59:00.1234567890Z",
            "2016-03-14T01:59:00Z ",
            " 2016-03-14T01:59:00Z",
            "16-03-14T01:59:00Z",
            "+2016-03-14T01:59:00Z",
            "2016-3-14T01:59:00Z",
            "２016-03-14T01:59:00Z",
            "2016-03-14T01:59:00ZZ",
        ] {
            assert_eq!(parse(s), Err(TimestampError::Malformed), "{s:?}");
        }
    }

    #[test]
    fn validates_calendar_and_clock() {
        assert!(parse("2024-02-29T00:00:00Z").is_ok());
        assert!(parse("2000-02-29T00:00:00Z").is_ok());
        assert_eq!(
            parse("2023-02-29T00:00:00Z"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            parse("1900-02-29T00:00:00Z"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            parse("2024-04-31T00:00:00Z"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            parse("2024-00-10T00:00:00Z"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            parse("2024-01-00T00:00:00Z"),
            Err(TimestampError::InvalidDate)
        );
        assert_eq!(
            parse("2024-01-01T24:00:00Z"),
            Err(TimestampError::InvalidTime)
        );
        assert_eq!(
            parse("2024-01-01T23:60:00Z"),
            Err(TimestampError::InvalidTime)
        );
        // Java's ISO formatter has no leap seconds.
        assert_eq!(
            parse("2016-12-31T23:59:60Z"),
            Err(TimestampError::InvalidTime)
        );
        assert!(parse("2024-12-31T23:59:59.999Z").is_ok());
    }

    #[test]
    fn years_before_the_epoch() {
        assert_eq!(parse("1969-12-31T23:59:59.999Z"), Ok(Timestamp(-1)));
        assert_eq!(
            parse("0000-01-01T00:00:00Z"),
            Ok(Timestamp(-62_167_219_200_000))
        );
        assert_eq!(Timestamp(-1).format_rfc3339(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            Timestamp(-62_167_219_200_000).format_rfc3339(),
            "0000-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn formats_with_milliseconds() {
        assert_eq!(Timestamp(0).format_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_709_640_000_123).format_rfc3339(),
            "2024-03-05T12:00:00.123Z"
        );
        assert_eq!(
            Timestamp(1_709_640_000_123).to_string(),
            "2024-03-05T12:00:00.123Z"
        );
        assert_eq!(
            Timestamp(253_402_300_800_000).format_rfc3339(),
            "+10000-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(-62_167_219_200_001).format_rfc3339(),
            "-0001-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn format_and_parse_round_trip() {
        // Days spread over the years 0000 to 9999, the range the parser reads, at an awkward
        // time of day.
        let mut days = days_from_civil(0, 1, 1);
        while days <= days_from_civil(9999, 12, 31) {
            let ts = Timestamp(days * MILLIS_PER_DAY + 45_296_789);
            assert_eq!(parse(&ts.format_rfc3339()), Ok(ts), "{ts:?}");
            days += 997;
        }
        for days in -3000..3000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn epoch_seconds() {
        let ts = Timestamp(1_525_283_875_612);
        assert_eq!(ts.to_epoch_seconds_f64(), 1_525_283_875.612);
        assert_eq!(
            Timestamp::from_epoch_seconds_f64(1_525_283_875.612),
            Some(ts)
        );
        assert_eq!(
            Timestamp::from_epoch_seconds_f64(1_525_283_875.58),
            Some(Timestamp(1_525_283_875_580))
        );
        assert_eq!(Timestamp::from_epoch_seconds_f64(f64::NAN), None);
        assert_eq!(Timestamp::from_epoch_seconds_f64(1e300), None);
        assert_eq!(Timestamp::from_epoch_seconds(2), Some(Timestamp(2000)));
        assert_eq!(Timestamp::from_epoch_seconds(i64::MAX), None);
        assert_eq!(Timestamp(-1).as_epoch_seconds(), -1);
        assert_eq!(Timestamp(1999).as_epoch_seconds(), 1);
    }

    #[test]
    fn serde_uses_epoch_seconds() {
        let ts = Timestamp(1_525_283_875_612);
        assert_eq!(serde_json::to_string(&ts).unwrap(), "1525283875.612");
        assert_eq!(
            serde_json::from_str::<Timestamp>("1525283875.612").unwrap(),
            ts
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("1525283875").unwrap(),
            Timestamp(1_525_283_875_000)
        );
        assert!(serde_json::from_str::<Timestamp>("\"2024-03-05T12:00:00Z\"").is_err());
        assert!(serde_json::from_str::<Timestamp>("18446744073709551615").is_err());
    }

    #[test]
    fn arithmetic() {
        let ts = Timestamp(1_500);
        assert_eq!(ts.checked_add_seconds(2), Some(Timestamp(3_500)));
        assert_eq!(ts.checked_add_seconds(-2), Some(Timestamp(-500)));
        assert_eq!(ts.checked_add_seconds(i64::MAX), None);
        assert_eq!(Timestamp(i64::MAX).checked_add_millis(1), None);
        assert_eq!(ts.truncated_to_seconds(), Timestamp(1_000));
        assert_eq!(Timestamp(-500).truncated_to_seconds(), Timestamp(-1_000));
        assert_eq!(Timestamp(3_500).millis_since(ts), 2_000);
        assert_eq!(ts.millis_since(Timestamp(3_500)), -2_000);
    }
}
