//! Free text that reaches people: what the hub lets into an alert, and how
//! clients show it.
//!
//! An alert's title is printed on recipients' terminals, so text that moves
//! the cursor or reorders characters can forge what a reader sees (a title
//! carrying `ESC[1A ESC[2K CR` and a fake `#9 US -> PA TLP:RED` line erases
//! the genuine header above it), and the publisher's genuine signature
//! makes the forgery verify. So free-text fields refuse, at ingest:
//!
//! - C0 controls (U+0000–U+001F) except line feed and tab in the fields
//!   that hold paragraphs, DEL (U+007F) and C1 controls (U+0080–U+009F):
//!   ESC, CSI and CR are how terminal sequences start and lines are
//!   overwritten;
//! - the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069), which reorder what is displayed ("Trojan Source",
//!   CVE-2021-42574);
//! - the line and paragraph separators U+2028 and U+2029 in one-line fields.
//!
//! Clients escape the same characters on output regardless ([`visible`]),
//! since ledgers written before this rule, and `--no-verify`, may hold them.

/// Whether a field holds one line or paragraphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// A title, a name, a selector: no line breaks at all.
    One,
    /// A summary, notes: line feeds and tabs allowed.
    Many,
}

/// The first character of `s` that a field of this kind may not hold, with
/// its position (in characters).
pub(crate) fn forbidden(s: &str, lines: Lines) -> Option<(usize, char)> {
    s.chars().enumerate().find(|&(_, c)| is_forbidden(c, lines))
}

fn is_forbidden(c: char, lines: Lines) -> bool {
    match c {
        '\n' | '\t' => lines == Lines::One,
        '\u{2028}' | '\u{2029}' => lines == Lines::One,
        _ => is_hidden(c),
    }
}

/// Characters that act on a terminal or on display order instead of being
/// shown: every control except line feed and tab, and the bidirectional
/// embeddings, overrides and isolates.
fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character [`forbidden`] in a multi-line field written as
/// a visible `\uXXXX` escape, for printing anything stored (old ledgers,
/// `--no-verify`) on a terminal safely. Every such character is in the
/// Basic Multilingual Plane, so the escape is also a valid JSON escape:
/// a JSON line stays valid JSON that decodes to the same text.
#[cfg(any(feature = "cli", test))]
pub(crate) fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match is_hidden(c) {
            true => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            false => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`visible`] on one line: line feeds and tabs escaped as well.
#[cfg(any(feature = "cli", test))]
pub(crate) fn one_line(s: &str) -> String {
    visible(s).replace('\n', "\\n").replace('\t', "\\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_and_bidi_controls_are_refused_and_escaped() {
        let forged = "Red 'Golfo'\u{1b}[1A\u{1b}[2K\r#9  US -> PA  TLP:RED";
        assert_eq!(forbidden(forged, Lines::Many), Some((11, '\u{1b}')));
        assert_eq!(forbidden("a\u{202e}b", Lines::One), Some((1, '\u{202e}')));
        assert_eq!(forbidden("first\nsecond\tx", Lines::Many), None);
        assert_eq!(forbidden("first\nsecond", Lines::One), Some((5, '\n')));
        assert_eq!(forbidden("a\u{2028}b", Lines::One), Some((1, '\u{2028}')));
        assert_eq!(forbidden("Darién – Bajo Chiquito, مرحبا", Lines::One), None);
        assert_eq!(forbidden("\u{85}", Lines::Many), Some((0, '\u{85}')), "C1 NEL");
        let shown = visible(forged);
        assert!(!shown.contains('\u{1b}') && !shown.contains('\r'), "{shown}");
        assert!(shown.contains("\\u001b[1A") && shown.contains("\\u000d#9"), "{shown}");
        let json = serde_json::json!({ "title": "a\u{202e}b\u{85}" }).to_string();
        let safe = visible(&json);
        let back: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back["title"], "a\u{202e}b\u{85}", "and decodes to the same text");
        assert!(!safe.contains('\u{202e}'));
        assert_eq!(visible("plain"), "plain");
        assert_eq!(one_line("a\nb\u{202e}"), "a\\nb\\u202e");
    }
}
