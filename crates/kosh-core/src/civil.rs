//! Calendar arithmetic without a date crate: days ↔ civil dates (proleptic Gregorian,
//! Howard Hinnant's algorithms), ISO-8601 rendering, and the IST calendar day that
//! daily rules (AePS daily authentication, per-day limits) are counted in.

/// India Standard Time is UTC+05:30 all year round (no daylight saving).
pub const IST_OFFSET_MS: i64 = (5 * 60 + 30) * 60 * 1000;
const MS_PER_DAY: i64 = 86_400_000;

/// A calendar date in the proleptic Gregorian calendar (no time zone of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31 (at most [`days_in_month`]).
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking the day exists in that month.
    pub fn parse_iso(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i32> {
            let part = &text[range];
            part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok()).flatten()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let date = Date { year, month: u8::try_from(month).ok()?, day: u8::try_from(day).ok()? };
        let exists = (1..=12).contains(&date.month) && date.day >= 1 && date.day <= days_in_month(year, date.month);
        exists.then_some(date)
    }

    /// Days since 1970-01-01.
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01 (negative before it).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Whole years from `self` to `on` (an age on a date).
    pub fn years_until(self, on: Date) -> i32 {
        let mut years = on.year - self.year;
        if (on.month, on.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }

    /// `YYYY-MM-DD`.
    pub fn to_iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// How many days `month` (1 to 12) of `year` has.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The UTC date of an instant.
pub fn utc_date(ms: i64) -> Date {
    Date::from_days(ms.div_euclid(MS_PER_DAY))
}

/// The calendar day in India of an instant.
pub fn ist_date(ms: i64) -> Date {
    utc_date(ms + IST_OFFSET_MS)
}

/// `2026-11-21T20:24:23.000Z`.
pub fn iso_utc(ms: i64) -> String {
    let date = utc_date(ms);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (h, m, s, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    format!("{}T{h:02}:{m:02}:{s:02}.{milli:03}Z", date.to_iso())
}

/// `2026-11-22 01:54:23` in IST: the form Eko's callbacks and responses use.
pub fn ist_datetime(ms: i64) -> String {
    let local = ms + IST_OFFSET_MS;
    let date = utc_date(local);
    let in_day = local.rem_euclid(MS_PER_DAY);
    let (h, m, s) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60);
    format!("{} {h:02}:{m:02}:{s:02}", date.to_iso())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_across_centuries() {
        for days in (-800_000..800_000).step_by(37) {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
        assert_eq!(Date::from_days(0), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(Date::parse_iso("2000-02-29").unwrap().to_days(), 11_016);
    }

    #[test]
    fn parses_only_real_dates() {
        assert!(Date::parse_iso("2024-02-29").is_some());
        assert!(Date::parse_iso("2023-02-29").is_none());
        assert!(Date::parse_iso("2023-13-01").is_none());
        assert!(Date::parse_iso("2023-04-31").is_none());
        assert!(Date::parse_iso("2023-4-1").is_none());
        assert!(Date::parse_iso("+023-04-01").is_none());
        assert!(Date::parse_iso("2023-00-10").is_none());
    }

    #[test]
    fn ist_day_changes_at_1830_utc() {
        let just_before = Date::parse_iso("2026-11-21").unwrap().to_days() * MS_PER_DAY + 18 * 3_600_000 + 29 * 60_000;
        assert_eq!(ist_date(just_before).to_iso(), "2026-11-21");
        assert_eq!(ist_date(just_before + 60_000).to_iso(), "2026-11-22");
        assert_eq!(ist_datetime(just_before + 60_000), "2026-11-22 00:00:00");
    }

    #[test]
    fn renders_iso_timestamps() {
        assert_eq!(iso_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn computes_ages() {
        let dob = Date::parse_iso("2000-06-15").unwrap();
        assert_eq!(dob.years_until(Date::parse_iso("2018-06-14").unwrap()), 17);
        assert_eq!(dob.years_until(Date::parse_iso("2018-06-15").unwrap()), 18);
    }
}
