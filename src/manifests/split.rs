//! Cutting a YAML stream into its documents, keeping where each one sits in the source text
//! so errors can name a line and an untouched document can be printed byte for byte. It
//! relies on YAML's rule that `---` and `...` at column 0 always mark document boundaries
//! (YAML 1.2 §9.1, "c-forbidden"); it does not parse anything else.

const DOCUMENT_START: &str = "---";
const DOCUMENT_END: &str = "...";

/// The content of one document: from its first to its last content line. Leading and
/// trailing blank lines and column-0 comments stay outside, so they survive a rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Byte range of the content in the source text (no trailing line break).
    pub start: usize,
    pub end: usize,
    /// 1-based line and column where the content starts.
    pub line: usize,
    pub column: usize,
}

#[derive(Default)]
struct Builder {
    start: Option<(usize, usize, usize)>,
    end: usize,
    /// Only `%` directives so far: the next `---` opens this same document.
    directives_only: bool,
}

impl Builder {
    fn content(&mut self, start: usize, line: usize, column: usize, end: usize) {
        if self.start.is_none() {
            self.start = Some((start, line, column));
        }
        self.end = end;
    }

    fn finish(&mut self, out: &mut Vec<Segment>) {
        if let Some((start, line, column)) = self.start.take() {
            out.push(Segment {
                start,
                end: self.end,
                line,
                column,
            });
        }
        *self = Builder::default();
    }
}

/// The documents of `text` that have content, in order. Never fails: what is inside a
/// document is the parser's business.
pub fn split(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut doc = Builder::default();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_end = offset + line.len();
        if let Some(rest) = marker_rest(line, DOCUMENT_START) {
            if doc.directives_only {
                doc.content(offset, line_no, 1, line_end);
                doc.directives_only = false;
            } else {
                doc.finish(&mut out);
                let inline = rest.trim_start();
                if !inline.is_empty() && !inline.starts_with('#') {
                    let column = line.len() - inline.len();
                    doc.content(offset + column, line_no, column + 1, line_end);
                }
            }
        } else if marker_rest(line, DOCUMENT_END).is_some() {
            doc.finish(&mut out);
        } else if line.starts_with('%') && doc.start.is_none() {
            doc.content(offset, line_no, 1, line_end);
            doc.directives_only = true;
        } else if !is_trivia(line, doc.start.is_some()) {
            doc.content(offset, line_no, 1, line_end);
            doc.directives_only = false;
        }
        offset += raw.len();
    }
    doc.finish(&mut out);
    out
}

/// Where a document's content begins after its `%` directives (`%YAML 1.1`) and their `---`
/// line: the byte offset in `text` (a document's text as [`split`] cut it), 0 without
/// directives. The editor reads only the content; the head is written back before it.
pub fn directives_end(text: &str) -> usize {
    if !text.starts_with('%') {
        return 0;
    }
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some(rest) = marker_rest(line, DOCUMENT_START) {
            let inline = rest.trim_start();
            return if inline.is_empty() || inline.starts_with('#') {
                offset + raw.len()
            } else {
                offset + line.len() - inline.len()
            };
        }
        offset += raw.len();
    }
    0
}

/// What follows a document marker on its line, when `line` is one.
fn marker_rest<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some(rest)
}

/// Blank lines and comments that belong to no document. Once content has started, only a
/// column-0 comment counts: an indented `#` line may be inside a block scalar.
fn is_trivia(line: &str, in_content: bool) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || (trimmed.starts_with('#') && (!in_content || line.starts_with('#')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<&str> {
        split(text).iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn documents_are_cut_at_markers_without_their_comments() {
        let text = "# head\na: 1\n# tail\n---\n\nb: 2\n...\n--- # c\n---\n";
        assert_eq!(texts(text), ["a: 1", "b: 2"]);
        let segments = split(text);
        assert_eq!((segments[1].line, segments[1].column), (6, 1));
    }

    #[test]
    fn inline_content_after_a_marker_starts_the_document() {
        let text = "--- {a: 1}\n";
        assert_eq!(texts(text), ["{a: 1}"]);
        assert_eq!(split(text)[0].column, 5);
    }

    #[test]
    fn directives_stay_with_their_document() {
        assert_eq!(texts("%YAML 1.2\n---\na: 1\n"), ["%YAML 1.2\n---\na: 1"]);
    }

    #[test]
    fn directives_end_where_the_content_starts() {
        assert_eq!(directives_end("a: 1"), 0);
        let text = "%YAML 1.1\n%TAG ! tag:x,2000:\n--- # c\na: 1";
        assert_eq!(&text[directives_end(text)..], "a: 1");
        let inline = "%YAML 1.1\r\n--- {a: 1}";
        assert_eq!(&inline[directives_end(inline)..], "{a: 1}");
    }

    #[test]
    fn indented_hash_lines_inside_a_block_scalar_are_content() {
        let text = "a: |\n  x\n  # not a comment\n# a comment\n";
        assert_eq!(texts(text), ["a: |\n  x\n  # not a comment"]);
    }

    #[test]
    fn crlf_line_ends_are_kept_out_of_the_span() {
        assert_eq!(texts("a: 1\r\n---\r\nb: 2\r\n"), ["a: 1", "b: 2"]);
    }

    #[test]
    fn four_dashes_are_content_not_a_marker() {
        assert_eq!(texts("----\n"), ["----"]);
    }
}
