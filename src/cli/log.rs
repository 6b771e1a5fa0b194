//! Log lines on stderr in the `key=value` text shape of Go's slog handler, so scripts that
//! grep the Go tools' output for `event=…` keep working: `level=WARN msg="decode warning"
//! event=… k=v`. (Go's decoder says `msg="encoder warning"` for its decode warnings; ours
//! names what it is, DECISIONS.md A11.)

use crate::adapters::Warning;

/// Quote a value the way slog's text handler does (only when needed).
fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'=' && b != b'\\')
    {
        v.to_owned()
    } else {
        format!("{v:?}")
    }
}

/// `level=LEVEL msg=MSG k=v …`.
pub fn line(level: &str, msg: &str, fields: &[(&str, String)]) -> String {
    let mut s = format!("level={level} msg={}", quote(msg));
    for (k, v) in fields {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(&quote(v));
    }
    s
}

/// Print a decode warning.
pub fn warning(w: &Warning) {
    let mut fields = vec![("event", w.event.to_owned())];
    fields.extend(w.fields.iter().map(|(k, v)| (*k, v.clone())));
    eprintln!("{}", line("WARN", "decode warning", &fields));
}

/// Print a fatal error: `<prog>: <error>`.
pub fn fatal(prog: &str, err: &dyn std::fmt::Display) {
    eprintln!("{prog}: {err}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slog_text_shape() {
        let l = line(
            "WARN",
            "decode warning",
            &[("event", "redis_orphan_ttl".into()), ("hint", "a b".into())],
        );
        assert_eq!(
            l,
            r#"level=WARN msg="decode warning" event=redis_orphan_ttl hint="a b""#
        );
    }
}
