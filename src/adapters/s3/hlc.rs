//! `last_modified` in sidecars (s3_tree_pipeline.md §3.2, §4.4): an HLC's physical
//! milliseconds (`hlc >> 16`) rendered as Go `time.RFC3339Nano` in UTC (fraction with
//! trailing zeros trimmed, omitted when zero), and the encoder's inverse `parseHLC`
//! (unparseable or negative → 0, sub-millisecond digits truncated, logical bits 0).

const LOGICAL_BITS: u32 = 16;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Go `formatHLCAsRFC3339Nano`: `""` for 0.
pub fn format_hlc(hlc: u64) -> String {
    if hlc == 0 {
        return String::new();
    }
    // hlc >> 16 < 2^48, so it fits an i64.
    let ms = i64::try_from(hlc >> LOGICAL_BITS).unwrap_or(i64::MAX);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, frac) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if frac != 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let d = s.get(at..at + n)?;
    d.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Unix milliseconds of a Go `time.RFC3339Nano` text, `None` when Go would not parse it.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let s = text.as_bytes();
    let (y, mo, d) = (digits(s, 0, 4)?, digits(s, 5, 2)?, digits(s, 8, 2)?);
    let (h, mi, sec) = (digits(s, 11, 2)?, digits(s, 14, 2)?, digits(s, 17, 2)?);
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || s.get(10) != Some(&b'T') {
        return None;
    }
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(mo - 1).ok()?)?;
    if !(1..=max_day).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut at = 19;
    let mut frac_ms = 0i64;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while s.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let n = at - start;
        if n == 0 || n > 9 {
            return None;
        }
        let mut f = digits(s, start, n.min(3))?;
        for _ in n..3 {
            f *= 10;
        }
        frac_ms = f;
    }
    let offset_s = match s.get(at..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] if rest.len() == 5 && rest.get(2) == Some(&b':') => {
            let (oh, om) = (digits(rest, 0, 2)?, digits(rest, 3, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1000 + frac_ms)
}

/// Go `parseRFC3339NanoAsHLC`.
pub fn parse_hlc(text: &str) -> u64 {
    match parse_rfc3339_ms(text) {
        Some(ms) if ms >= 0 => u64::try_from(ms).map_or(0, |ms| ms << LOGICAL_BITS),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_round_trips() {
        assert_eq!(parse_hlc("2024-01-02T03:04:05Z"), 111_684_134_174_720_000);
        assert_eq!(format_hlc(111_684_134_174_720_000), "2024-01-02T03:04:05Z");
        let half = parse_hlc("2025-04-29T00:00:00.5Z");
        assert_eq!(format_hlc(half), "2025-04-29T00:00:00.5Z");
        assert_eq!(format_hlc(half + 0xFFFF), "2025-04-29T00:00:00.5Z");
        assert_eq!(
            format_hlc(parse_hlc("2024-01-02T03:04:05.123Z")),
            "2024-01-02T03:04:05.123Z"
        );
    }

    #[test]
    fn parse_is_go_strict_and_zero_on_failure() {
        assert_eq!(format_hlc(0), "");
        assert_eq!(parse_hlc(""), 0);
        assert_eq!(parse_hlc("yesterday"), 0);
        assert_eq!(parse_hlc("2023-02-29T00:00:00Z"), 0);
        assert_eq!(parse_hlc("1969-12-31T23:59:59Z"), 0);
        assert_eq!(parse_hlc("2024-01-02T03:04:05.1234567891Z"), 0);
        assert_eq!(
            parse_hlc("2024-01-02T04:04:05.9999+01:00"),
            parse_hlc("2024-01-02T03:04:05.999Z")
        );
        assert_eq!(parse_hlc("1970-01-01T00:00:00.001Z"), 1 << 16);
    }

    #[test]
    fn civil_round_trip_over_leap_years() {
        for days in [-1, 0, 59, 365 * 30 + 7, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
