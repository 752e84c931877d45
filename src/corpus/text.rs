//! Random pseudo-English text written straight into JSON-escaped form.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::json::{escape_into, escaped, Task};
use super::words::{CODE, JAPANESE, QUESTION_STARTS, SPECIALS, WORDS};

// ---------------------------------------------------------------------------------------------
// Text generation

/// Random pseudo-English written straight into JSON-escaped form.
pub(super) struct Text {
    pub(super) rng: ChaCha8Rng,
    words: Vec<&'static [u8]>,
    capitalized: Vec<Vec<u8>>,
    specials: Vec<Vec<u8>>,
    code: Vec<Vec<u8>>,
    japanese: Vec<&'static [u8]>,
    pub(super) temperatures: Vec<String>,
}

impl Text {
    pub(super) fn new(rng: ChaCha8Rng) -> Text {
        let words: Vec<&'static str> = WORDS.split_whitespace().collect();
        let capitalized = words
            .iter()
            .map(|w| {
                let mut chars = w.chars();
                let first = chars.next().expect("non-empty word");
                let mut s: String = first.to_uppercase().collect();
                s.push_str(chars.as_str());
                s.into_bytes()
            })
            .collect();
        Text {
            rng,
            words: words.iter().map(|w| w.as_bytes()).collect(),
            capitalized,
            specials: SPECIALS.iter().map(|s| escaped(s)).collect(),
            code: CODE.iter().map(|s| escaped(s)).collect(),
            japanese: JAPANESE.iter().map(|s| s.as_bytes()).collect(),
            // k / 20 printed shortest-round-trip with a decimal point, as serde_json prints the
            // parsed f64: temperature is always a JSON number, 0.0 to 1.5.
            temperatures: (0..=30).map(|k| format!("{:?}", k as f64 / 20.0)).collect(),
        }
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A length drawn log-uniformly from `range`, skewed to short ones when `skew > 1`.
    pub(super) fn length(&mut self, range: (usize, usize), skew: f64) -> usize {
        let u: f64 = self.rng.random();
        let (lo, hi) = (range.0 as f64, range.1 as f64);
        (lo * (hi / lo).powf(u.powf(skew))) as usize
    }

    /// `n` random words separated by spaces, the first capitalised when `capital`.
    fn words(&mut self, out: &mut Vec<u8>, n: usize, capital: bool) {
        let count = self.words.len() as u64;
        let mut bits = 0u64;
        for i in 0..n {
            if i % 4 == 0 {
                bits = self.rng.random();
            }
            let index = (((bits & 0xffff) * count) >> 16) as usize;
            bits >>= 16;
            if i == 0 && capital {
                out.extend_from_slice(&self.capitalized[index]);
            } else {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(self.words[index]);
            }
        }
    }

    fn sentence(&mut self, out: &mut Vec<u8>) {
        let r: u64 = self.rng.random();
        if r.is_multiple_of(40) {
            out.extend_from_slice(self.japanese[(r >> 8) as usize % self.japanese.len()]);
            return;
        }
        let n = 5 + ((r >> 8) % 14) as usize;
        let comma = if (r >> 16).is_multiple_of(3) {
            2 + ((r >> 20) % (n as u64 - 2)) as usize
        } else {
            usize::MAX
        };
        if comma < n {
            self.words(out, comma, true);
            out.push(b',');
            out.push(b' ');
            self.words(out, n - comma, false);
        } else {
            self.words(out, n, true);
        }
        if (r >> 32).is_multiple_of(16) {
            out.push(b' ');
            out.extend_from_slice(&self.specials[(r >> 36) as usize % self.specials.len()]);
        }
        out.push(match (r >> 44) % 16 {
            0 => b'?',
            1 => b'!',
            _ => b'.',
        });
    }

    fn paragraph(&mut self, out: &mut Vec<u8>) {
        let n = 2 + self.below(5);
        for i in 0..n {
            if i > 0 {
                out.push(b' ');
            }
            self.sentence(out);
        }
    }

    /// Paragraphs separated by blank lines until at least `len` bytes were added.
    pub(super) fn prose(&mut self, out: &mut Vec<u8>, len: usize) {
        let start = out.len();
        loop {
            self.paragraph(out);
            if out.len() - start >= len {
                break;
            }
            out.extend_from_slice(b"\\n\\n");
        }
    }

    /// A question with at least eight random words (over 64 bits of randomness, so two fresh
    /// questions never collide in practice).
    pub(super) fn question(&mut self, out: &mut Vec<u8>) {
        let start = self.pick(QUESTION_STARTS).as_bytes();
        out.extend_from_slice(start);
        out.push(b' ');
        let n = 8 + self.below(10);
        self.words(out, n, false);
        if self.chance(0.4) {
            let reference = self.below(100_000);
            out.extend_from_slice(format!(" (ref {reference})").as_bytes());
        }
        out.push(b'?');
    }

    pub(super) fn code_block(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"```\\n");
        let index = self.below(self.code.len());
        out.extend_from_slice(&self.code[index]);
        out.extend_from_slice(b"\\n```");
    }

    fn table(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"id\\tname\\tamount\\tstatus");
        for row in 0..2 + self.below(6) {
            let amount = self.below(100_000);
            out.extend_from_slice(format!("\\n{}\\t", row + 1).as_bytes());
            self.words(out, 2, true);
            out.extend_from_slice(format!("\\t{}.{:02}\\t", amount / 100, amount % 100).as_bytes());
            self.words(out, 1, false);
        }
    }

    /// A document: a title, then paragraphs with the odd code block, table and Japanese
    /// paragraph, until at least `len` bytes were added.
    pub(super) fn document(&mut self, out: &mut Vec<u8>, len: usize) {
        let start = out.len();
        out.extend_from_slice(b"Title: ");
        let n = 3 + self.below(5);
        self.words(out, n, true);
        while out.len() - start < len {
            out.extend_from_slice(b"\\n\\n");
            match self.below(100) {
                0..=5 => self.code_block(out),
                6..=9 => self.table(out),
                10..=12 => {
                    for i in 0..2 + self.below(4) {
                        if i > 0 {
                            out.push(b' ');
                        }
                        let index = self.below(self.japanese.len());
                        out.extend_from_slice(self.japanese[index]);
                    }
                }
                _ => self.paragraph(out),
            }
        }
    }

    /// A system instruction: a role line, rules as a bulleted list, then guidance prose.
    pub(super) fn system_instruction(&mut self, out: &mut Vec<u8>, len: usize, task: Task) {
        let start = out.len();
        out.extend_from_slice(match task {
            Task::Classify => b"You are a careful classifier of customer feedback." as &[u8],
            Task::Extract => b"You extract structured entities from business text.",
            Task::Summarize => b"You write concise, faithful summaries.",
            Task::Chat => b"You are a helpful assistant for an operations team.",
            Task::Answer => b"You answer questions using only the document provided.",
        });
        out.extend_from_slice(b"\\n\\nRules:");
        for _ in 0..3 + self.below(6) {
            out.extend_from_slice(b"\\n- ");
            self.sentence(out);
        }
        out.extend_from_slice(b"\\n\\n");
        let used = out.len() - start;
        self.prose(out, len.saturating_sub(used).max(1));
    }

    /// The model's answer in a few-shot pair.
    pub(super) fn shot_answer(&mut self, out: &mut Vec<u8>, task: Task) {
        match task {
            Task::Classify => {
                let label = self.pick(&["positive", "negative", "neutral"]);
                let confidence = 50 + self.below(50);
                escape_into(
                    out,
                    &format!("{{\"label\": \"{label}\", \"confidence\": 0.{confidence}}}"),
                );
            }
            Task::Extract => {
                let mut name = Vec::new();
                self.words(&mut name, 2, true);
                let name = String::from_utf8(name).expect("words are UTF-8");
                let kind = self.pick(&["person", "organization", "place"]);
                escape_into(
                    out,
                    &format!(
                        "{{\"entities\": [{{\"name\": \"{name}\", \"kind\": \"{kind}\"}}], \"summary\": \"One sentence.\"}}"
                    ),
                );
            }
            _ => self.paragraph(out),
        }
    }
}
