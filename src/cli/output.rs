//! One printer for every output format, so `--format` and `--quiet` are handled once.
//!
//! A closed stdout (`batchline validate in.jsonl | head -1`) stops the printing and nothing else:
//! the printer swallows the broken pipe, so the command still ends with the exit status its
//! result earns (1 when the input has errors), which CI pipelines rely on.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::args::Format;
use crate::error::Error;
use crate::request::diag::{Diagnostic, Scope, Severity};

/// Writes findings and summaries to stdout in the chosen format.
pub struct Printer {
    /// The format.
    pub format: Format,
    /// Summary only.
    pub quiet: bool,
    color: bool,
    out: std::io::BufWriter<PipeGuard<std::io::Stdout>>,
}

/// A writer that turns a broken pipe into silence: after the reader goes away, every write
/// succeeds without writing, so printing stops but the command goes on to its verdict. Other
/// errors (a full disk behind a redirect) still surface.
#[derive(Debug)]
pub struct PipeGuard<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeGuard<W> {
    /// Guards `inner`.
    pub fn new(inner: W) -> Self {
        PipeGuard {
            inner,
            closed: false,
        }
    }

    /// True once a write met a broken pipe.
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl<W: Write> Write for PipeGuard<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

impl Printer {
    /// A printer to stdout; colour only for human output on a terminal without `NO_COLOR`.
    pub fn new(format: Format, quiet: bool) -> Self {
        let color = format == Format::Human
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        Printer {
            format,
            quiet,
            color,
            out: std::io::BufWriter::new(PipeGuard::new(std::io::stdout())),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Prints one finding.
    pub fn diagnostic(&mut self, d: &Diagnostic) -> std::io::Result<()> {
        match self.format {
            Format::Human => {
                if self.quiet {
                    return Ok(());
                }
                let sev = match d.severity {
                    Severity::Error => self.paint("1;31", "error"),
                    Severity::Warning => self.paint("1;33", "warning"),
                };
                let place = if d.line == 0 {
                    d.file.clone()
                } else {
                    format!("{}:{}:{}", d.file, d.line, d.column)
                };
                let scope = if d.scope == Scope::Job {
                    " (whole job)"
                } else {
                    ""
                };
                let at = if d.pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", d.pointer)
                };
                let related = match (&d.related_line, &d.related_pointer) {
                    (Some(l), Some(p)) => format!(" [other side: line {l} {p}]"),
                    _ => String::new(),
                };
                // Keys and values from the input reach the terminal only as visible text: an
                // escape sequence in a key must not recolour or rewrite the screen.
                let (place, at, message) = (visible(&place), visible(&at), visible(&d.message));
                writeln!(
                    self.out,
                    "{}: {sev}[{}]{scope}{at}: {message}{related}",
                    self.paint("1", &place),
                    d.code,
                )
            }
            Format::Json => {
                #[derive(Serialize)]
                struct Row<'a> {
                    #[serde(rename = "type")]
                    kind: &'static str,
                    #[serde(flatten)]
                    d: &'a Diagnostic,
                }
                serde_json::to_writer(&mut self.out, &Row { kind: "finding", d })?;
                writeln!(self.out)
            }
            Format::Github => {
                let level = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                let mut props = format!("file={}", escape_property(&d.file));
                if d.line > 0 {
                    props.push_str(&format!(",line={},col={}", d.line, d.column));
                }
                props.push_str(&format!(",title={}", escape_property(d.code.as_str())));
                let at = if d.pointer.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", d.pointer)
                };
                writeln!(
                    self.out,
                    "::{level} {props}::{}",
                    escape_data(&format!("{at}{}", d.message))
                )
            }
        }
    }

    /// Prints a warning about the command itself (an option, not an input line): on stderr as
    /// `warning: …` in human format (dropped by `--quiet`, like findings), as a
    /// `{"type":"warning","message":…}` line in JSON, as a `::warning::` command for GitHub.
    pub fn warning(&mut self, message: &str) -> std::io::Result<()> {
        match self.format {
            Format::Human => {
                if !self.quiet {
                    let mut err = std::io::stderr().lock();
                    writeln!(err, "{}: {message}", self.paint("1;33", "warning"))?;
                }
                Ok(())
            }
            Format::Json => {
                self.json_line(&serde_json::json!({"type": "warning", "message": message}))
            }
            Format::Github => writeln!(self.out, "::warning::{}", escape_data(message)),
        }
    }

    /// Prints a human line (human format only). Printed when quiet too: `--quiet` keeps the
    /// summary, which is made of these lines, and drops findings and progress.
    pub fn human_line(&mut self, line: &str) -> std::io::Result<()> {
        if self.format == Format::Human {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// Prints a JSON object as one line (json format only).
    pub fn json_line<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        if self.format == Format::Json {
            serde_json::to_writer(&mut self.out, value)?;
            writeln!(self.out)?;
        }
        Ok(())
    }

    /// Bold / red / green helpers for summaries.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    /// Red text.
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    /// Green text.
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// GitHub workflow-command escaping of the message part.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow-command escaping of a property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `s` with control characters (C0, DEL, C1) written as `\u{…}` escapes, so that text from an
/// input cannot act on a terminal.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Prints `error: …` and the cause chain to stderr.
pub fn print_error(err: &Error) {
    let mut msg = format!("error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(&format!(": {text}"));
        }
        source = s.source();
    }
    eprintln!("{}", visible(&msg));
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Inputs smaller than this together get no progress bar: they take well under a second.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// A progress bar over the inputs' bytes, on a terminal and for inputs above
/// [`PROGRESS_MIN_BYTES`]; `what` is its first message (the stage).
pub(crate) fn input_bar(
    inputs: &[crate::input::InputName],
    quiet: bool,
    what: &str,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter(|n| !n.is_stdin())
        .filter_map(|n| std::fs::metadata(n.path()).ok())
        .map(|m| m.len())
        .sum();
    (total >= PROGRESS_MIN_BYTES).then(|| byte_bar(total, what))
}

/// A bar of `total` bytes with rate and ETA, on stderr; `what` is its message (the stage).
pub(crate) fn byte_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("invariant: the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that went away: every write fails as a closed pipe does.
    struct Closed(usize);
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.0 += 1;
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn pipe_guard_swallows_a_broken_pipe_and_stops_writing() {
        let mut w = PipeGuard::new(Closed(0));
        assert!(!w.closed());
        assert_eq!(w.write(b"abc").unwrap(), 3);
        assert!(w.closed());
        writeln!(w, "more").unwrap();
        w.flush().unwrap();
        // Only the first write reached the closed pipe.
        assert_eq!(w.inner.0, 1);
    }

    #[test]
    fn pipe_guard_passes_other_errors_on() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = PipeGuard::new(Full);
        assert_eq!(w.write(b"x").unwrap_err().to_string(), "disk full");
        assert!(!w.closed());
    }

    #[test]
    fn github_escaping_and_thousands() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("x\ny"), "x%0Ay");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(
            visible("a\u{1b}[31mb\tc\u{9b}d é"),
            "a\\u{1b}[31mb\\u{9}c\\u{9b}d é"
        );
        assert!(matches!(visible("plain é"), std::borrow::Cow::Borrowed(_)));
    }
}
