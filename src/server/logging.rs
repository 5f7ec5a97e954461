//! The JSON log line (`--log-format json`), written straight into the line's buffer.
//! tracing-subscriber's own JSON formatter writes each field through serde_json into an
//! `io::Write` adaptor that checks the UTF-8 of every small write, and formats a Display or
//! Debug value into a fresh `String` before escaping it; for the one line per review that was
//! about a tenth of a review's CPU (docs/benchmarks.md). This formatter writes the same
//! object (timestamp, level, the event's fields at the top level, target, and the enclosing
//! spans when there are any) escaping as it goes, with no allocation of its own.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// One JSON object per event: `{"timestamp":…,"level":…,<fields>,"target":…}`, plus `span`
/// and `spans` (each a span's name and fields) inside spans. Pair it with
/// [`JsonFields`] (`.fmt_fields(JsonFields::new())`) so span fields are stored as JSON.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(writer, "\",\"level\":\"{}\"", metadata.level())?;
        let mut fields = Fields {
            out: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str(",\"target\":")?;
        string(&mut writer, metadata.target())?;
        if let Some(scope) = ctx.event_scope() {
            let mut spans = String::new();
            let mut current = String::new();
            for span in scope.from_root() {
                current.clear();
                current.push_str("{\"name\":");
                string(&mut current, span.name())?;
                let extensions = span.extensions();
                let stored = extensions
                    .get::<FormattedFields<JsonFields>>()
                    .map(|f| f.fields.as_str());
                // JsonFields stores `{"a":1,…}`; its members go after the name.
                if let Some(members) = stored
                    .and_then(|f| f.strip_prefix('{'))
                    .and_then(|f| f.strip_suffix('}'))
                    .filter(|m| !m.is_empty())
                {
                    current.push(',');
                    current.push_str(members);
                }
                current.push('}');
                spans.push(if spans.is_empty() { '[' } else { ',' });
                spans.push_str(&current);
            }
            if !spans.is_empty() {
                write!(writer, ",\"span\":{current},\"spans\":{spans}]")?;
            }
        }
        writer.write_str("}\n")
    }
}

/// Writes each field as `,"name":value`.
struct Fields<'a, W: fmt::Write> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: fmt::Write> Fields<'_, W> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self
                .out
                .write_char(',')
                .and_then(|()| string(self.out, field.name()))
                .and_then(|()| self.out.write_char(':'))
                .and_then(|()| value(self.out));
        }
    }
}

impl<W: fmt::Write> Visit for Fields<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| string(out, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.member(field, |out| write!(out, "{value}"));
        } else {
            // JSON has no NaN or infinity; serde_json writes them as null too.
            self.member(field, |out| out.write_str("null"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |out| quoted(out, format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| quoted(out, format_args!("{value:?}")));
    }
}

/// `value` as a JSON string.
fn string(out: &mut impl fmt::Write, value: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(value)?;
    out.write_char('"')
}

/// A formatted value as a JSON string, escaped as it is written.
fn quoted(out: &mut impl fmt::Write, value: fmt::Arguments<'_>) -> fmt::Result {
    out.write_char('"')?;
    Escaped(&mut *out).write_fmt(value)?;
    out.write_char('"')
}

/// Escapes what JSON requires (RFC 8259 §7): quote, backslash and control characters.
struct Escaped<'a, W: fmt::Write + ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut start = 0;
        for (i, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&text[start..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            start = i + 1;
        }
        self.0.write_str(&text[start..])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn lines(emit: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(captured.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).expect(line))
            .collect()
    }

    #[test]
    fn every_kind_of_field_is_valid_json() {
        let nasty = "quote \" backslash \\ newline \n tab \t nul \0 bell \u{7} del \u{7f} é 🦀";
        let error = std::io::Error::other("broken \"pipe\"");
        let lines = lines(|| {
            tracing::info!(
                uid = "abc",
                nasty,
                debug = ?vec!["a\"b", "c"],
                shown = %"x\ny",
                count = 3u64,
                delta = -2i64,
                ratio = 0.5f64,
                nan = f64::NAN,
                flag = true,
                error = &error as &(dyn std::error::Error + 'static),
                "reviewed"
            );
        });
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "reviewed");
        assert_eq!(line["uid"], "abc");
        assert_eq!(line["nasty"], nasty);
        assert_eq!(line["debug"], r#"["a\"b", "c"]"#);
        assert_eq!(line["shown"], "x\ny");
        assert_eq!(
            (line["count"].clone(), line["delta"].clone()),
            (json!(3), json!(-2))
        );
        assert_eq!(
            (line["ratio"].clone(), line["nan"].clone()),
            (json!(0.5), Value::Null)
        );
        assert_eq!(line["flag"], true);
        assert_eq!(line["error"], "broken \"pipe\"");
        assert!(line["target"].as_str().unwrap().contains("logging"));
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
        assert!(line.get("spans").is_none());
    }

    #[test]
    fn spans_are_listed_with_their_fields() {
        let lines = lines(|| {
            let outer = tracing::info_span!("catalog_watch", namespace = "a\"b");
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner");
            let _inner = inner.enter();
            tracing::warn!("watch restarted");
        });
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["span"], json!({"name": "inner"}));
        assert_eq!(
            line["spans"],
            json!([{"name": "catalog_watch", "namespace": "a\"b"}, {"name": "inner"}])
        );
    }
}
