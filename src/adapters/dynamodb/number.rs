//! The two readings of a DynamoDB number (`N`) key (dynamodb_sqs.md §1.4, §1.7, §5.3–5.4):
//!
//! * [`ordered_key`]: the live adapter's order-preserving raw key bytes (sign marker, ordered
//!   signed exponent, `00`, significant digits; negatives inverted), used in item and GSI keys;
//! * [`canonical`]: Go's `big.Rat` `SetString` + `RatString` of the trimmed text (`0.5` →
//!   `1/2`), used for item file names. The decimal syntax is reproduced exactly (sign,
//!   digits, `.`, `e` exponent; exponents beyond ±10⁶ are refused as Go does); the other forms
//!   `big.Rat` reads (`a/b`, `0x`/`0b`/`0o` prefixes, `_` separators, `p` exponents) cannot
//!   be a live ordered key and are reported as [`Canonical::Unsupported`].

/// Why a number literal is not a valid ordered key (the messages of the Go encoder).
pub fn ordered_key(text: &str) -> Result<Vec<u8>, &'static str> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty number literal");
    }
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or_default()),
        Some(b'+') => (false, t.get(1..).unwrap_or_default()),
        _ => (false, t),
    };
    if t.is_empty() {
        return Err("number literal is sign only");
    }
    let (mantissa, exp10) = match t.find(['e', 'E']) {
        Some(i) => {
            let exp = t.get(i + 1..).unwrap_or_default().trim();
            if exp.is_empty() {
                return Err("empty exponent");
            }
            let exp: i64 = exp.parse().map_err(|_| "bad exponent")?;
            (t.get(..i).unwrap_or_default(), exp)
        }
        None => (t, 0),
    };
    if mantissa.matches('.').count() > 1 {
        return Err("number has multiple decimal points");
    }
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err("number has no digits");
    }
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int_part) || !digits_only(frac_part) {
        return Err("number has non-decimal characters");
    }
    let combined: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    let lz = combined.iter().take_while(|&&b| b == b'0').count();
    let significant = combined.get(lz..).unwrap_or_default();
    let trailing = significant.iter().rev().take_while(|&&b| b == b'0').count();
    let digits = significant
        .get(..significant.len() - trailing)
        .unwrap_or_default();
    if digits.is_empty() {
        return Ok(vec![0x01]);
    }
    // Go computes this in wrapping int64 arithmetic.
    let exponent = (int_part.len() as i64)
        .wrapping_add(exp10)
        .wrapping_sub(lz as i64);
    let mut body = ordered_i64(exponent);
    body.push(0x00);
    body.extend_from_slice(digits);
    if negative {
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(0x00);
        out.extend(body.iter().map(|b| !b));
        Ok(out)
    } else {
        let mut out = Vec::with_capacity(body.len() + 1);
        out.push(0x02);
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// Ordered signed int64: `00 ‖ invert(U(|v|))`, `01`, or `02 ‖ U(v)`.
fn ordered_i64(v: i64) -> Vec<u8> {
    match v {
        0 => vec![0x01],
        v if v < 0 => {
            let mut out = vec![0x00];
            out.extend(ordered_u64(v.unsigned_abs()).iter().map(|b| !b));
            out
        }
        v => {
            let mut out = vec![0x02];
            out.extend(ordered_u64(v.unsigned_abs()));
            out
        }
    }
}

/// One length byte, then the big-endian bytes without leading zeros (at least one).
fn ordered_u64(v: u64) -> Vec<u8> {
    let be = v.to_be_bytes();
    let start = be.iter().take(7).take_while(|&&b| b == 0).count();
    let bytes = be.get(start..).unwrap_or_default();
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
    out
}

/// The file-name text of an `N` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canonical {
    /// `big.Rat` read it: its `RatString`.
    Rat(String),
    /// `big.Rat` refuses it: Go uses the trimmed text.
    Text(String),
    /// A form `big.Rat` may read that this reading does not cover (see the module docs).
    Unsupported,
}

impl Canonical {
    /// The segment text, when known.
    pub fn text(self) -> Option<String> {
        match self {
            Canonical::Rat(s) | Canonical::Text(s) => Some(s),
            Canonical::Unsupported => None,
        }
    }
}

/// Go's `big.Rat` bound on a decimal exponent (`n > 1e6` is refused).
const MAX_EXP10: u64 = 1_000_000;

/// `canonicalDDBNumber`: `big.Rat.SetString(TrimSpace(text)).RatString()`, or the trimmed
/// text when `SetString` fails.
pub fn canonical(text: &str) -> Canonical {
    let t = text.trim();
    match decimal_rat(t) {
        Some(rat) => Canonical::Rat(rat),
        None if maybe_other_rat_form(t) => Canonical::Unsupported,
        None => Canonical::Text(t.to_owned()),
    }
}

/// Whether `big.Rat` might read `t` through a form [`decimal_rat`] does not cover: a
/// fraction, a `_` separator, a base prefix or a binary exponent.
fn maybe_other_rat_form(t: &str) -> bool {
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let word = |extra: &[char]| {
        body.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
    };
    (t.contains('/') && word(&['/', '+', '-']))
        || (t.contains('_') && word(&['.', '+', '-']))
        || (body.len() > 1
            && body.starts_with('0')
            && matches!(
                body.as_bytes().get(1),
                Some(b'b' | b'B' | b'o' | b'O' | b'x' | b'X')
            ))
        || (body.contains(['p', 'P']) && word(&['.', '+', '-']))
}

/// `RatString` of a decimal literal (`[+-]digits[.digits][e[+-]digits]`), `None` where
/// `big.Rat.SetString` fails on it.
fn decimal_rat(t: &str) -> Option<String> {
    let fail = || None;
    let b = t.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut digits = Vec::new();
    let mut frac: u64 = 0;
    let mut seen_point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits.push(c);
                if seen_point {
                    frac += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits.is_empty() {
        return fail();
    }
    let mut exp: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let start = i;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return fail();
        }
        // A leading '+' is dropped by Go before ParseInt; ParseInt would accept it anyway.
        match t.get(start..i).map(str::parse::<i64>) {
            Some(Ok(e)) => exp = e,
            _ => return fail(),
        }
    }
    if i != b.len() {
        return fail();
    }
    let lz = digits.iter().take_while(|&&d| d == b'0').count();
    let mut mantissa: Vec<u8> = digits.get(lz..).unwrap_or_default().to_vec();
    if mantissa.is_empty() {
        return Some("0".to_owned());
    }
    let exp10 = exp.wrapping_sub(frac as i64);
    if exp10.unsigned_abs() > MAX_EXP10 || exp10 == i64::MIN {
        return fail();
    }
    let sign = if negative { "-" } else { "" };
    if exp10 >= 0 {
        mantissa.resize(mantissa.len() + exp10 as usize, b'0');
        return Some(format!("{sign}{}", ascii(&mantissa)));
    }
    // mantissa / 10^k in lowest terms: the only common factors are 2 and 5.
    let mut k = exp10.unsigned_abs();
    while k > 0 && mantissa.last() == Some(&b'0') {
        mantissa.pop();
        k -= 1;
    }
    if k == 0 {
        return Some(format!("{sign}{}", ascii(&mantissa)));
    }
    let mut num = Decimal::from_digits(&mantissa);
    // 2^a·5^b over 2^k·5^k, with at most one of the factors present (no trailing zero).
    let (twos, fives) = (num.strip_factor(2, k), num.strip_factor(5, k));
    let mut den = Decimal::one();
    den.mul_pow(5, k - fives);
    den.mul_pow(2, k - twos);
    Some(format!("{sign}{}/{}", num.to_decimal(), den.to_decimal()))
}

fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

/// A natural number in base 10⁹ limbs, little-endian: just enough arithmetic for
/// [`canonical`] (small multiply and divide, decimal in and out).
struct Decimal(Vec<u32>);

const LIMB: u64 = 1_000_000_000;

impl Decimal {
    fn one() -> Decimal {
        Decimal(vec![1])
    }

    fn from_digits(digits: &[u8]) -> Decimal {
        let mut limbs = Vec::with_capacity(digits.len() / 9 + 1);
        for chunk in digits.rchunks(9) {
            let v = chunk.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
            limbs.push(v);
        }
        Decimal(limbs)
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.0.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    /// Multiply by `base^n` (`base` 2 or 5), in steps that fit a limb.
    fn mul_pow(&mut self, base: u32, mut n: u64) {
        let (step, step_n) = if base == 2 {
            (1 << 29, 29)
        } else {
            (1_220_703_125, 13)
        };
        while n >= step_n {
            self.mul_small(step);
            n -= step_n;
        }
        self.mul_small(base.pow(n as u32));
    }

    /// Divide by `d` while it divides evenly, at most `max` times; how many times it did.
    fn strip_factor(&mut self, d: u32, max: u64) -> u64 {
        let mut n = 0;
        while n < max && self.rem_small(d) == 0 {
            self.div_small(d);
            n += 1;
        }
        n
    }

    fn rem_small(&self, d: u32) -> u32 {
        self.0
            .iter()
            .rev()
            .fold(0u64, |r, &limb| (r * LIMB + u64::from(limb)) % u64::from(d)) as u32
    }

    fn div_small(&mut self, d: u32) {
        let mut r = 0u64;
        for limb in self.0.iter_mut().rev() {
            let v = r * LIMB + u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            r = v % u64::from(d);
        }
        while self.0.len() > 1 && self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn to_decimal(&self) -> String {
        let mut out = String::with_capacity(self.0.len() * 9);
        let mut limbs = self.0.iter().rev();
        if let Some(top) = limbs.next() {
            out.push_str(&top.to_string());
        }
        for limb in limbs {
            out.push_str(&format!("{limb:09}"));
        }
        out
    }
}

#[cfg(test)]
mod tests;
