//! Iterating the lines of one chunk.
//!
//! A line ends at `\n`; a `\r` before it is dropped (CRLF files). The last line may lack its `\n`.
//! A UTF-8 BOM at the very start of the input is not part of the first line.

/// One line of input.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The line's bytes without its terminator (`\n` or `\r\n`).
    pub bytes: &'a [u8],
    /// Byte offset of `bytes[0]` in the whole input.
    pub offset: usize,
}

/// Iterator over the lines of a chunk.
pub struct LineIter<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> LineIter<'a> {
    /// Lines of `data[range]`; `range.start` must be at a line start. A BOM at offset 0 is skipped.
    pub fn new(data: &'a [u8], range: std::ops::Range<usize>) -> Self {
        let mut pos = range.start;
        if pos == 0 && data.starts_with(super::BOM) {
            pos = super::BOM.len();
        }
        LineIter {
            data,
            pos,
            end: range.end,
        }
    }
}

impl<'a> Iterator for LineIter<'a> {
    type Item = Line<'a>;
    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let (mut stop, next) = match memchr::memchr(b'\n', &self.data[start..self.end]) {
            Some(i) => (start + i, start + i + 1),
            None => (self.end, self.end),
        };
        if stop > start && self.data[stop - 1] == b'\r' {
            stop -= 1;
        }
        self.pos = next;
        Some(Line {
            bytes: &self.data[start..stop],
            offset: start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_bom_and_missing_final_newline() {
        let data = b"\xEF\xBB\xBF{\"a\":1}\r\n\r\nx";
        let lines: Vec<_> = LineIter::new(data, 0..data.len())
            .map(|l| (l.bytes.to_vec(), l.offset))
            .collect();
        assert_eq!(
            lines,
            vec![
                (b"{\"a\":1}".to_vec(), 3),
                (b"".to_vec(), 12),
                (b"x".to_vec(), 14)
            ]
        );
    }

    #[test]
    fn trailing_newline_makes_no_extra_line() {
        let data = b"a\nb\n";
        assert_eq!(LineIter::new(data, 0..data.len()).count(), 2);
    }
}
