//! The line generator: families, documents, unique prompts and duplicates.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::json::{apply_style, hash_bytes, key, key_str, name, Spelling, Style, Task, PLAIN};
use super::text::Text;
use super::words::{
    CATEGORIES, ENVIRONMENTS, FUNCTIONS, JAPANESE, MAX_OUTPUT_TOKENS, SCHEMAS, TEAMS, THRESHOLDS,
    TOP_P, UNIQUE_INSTRUCTIONS,
};
use super::{Params, Shape, LONG, SHORT};

// ---------------------------------------------------------------------------------------------
// The generator

/// A line kind, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
    Fresh,
    Exact,
    Reserialized,
}

/// A group of requests sharing a system instruction and few-shot block.
pub(super) struct Family {
    /// Request members up to the opening of the last user turn's text.
    head: Vec<u8>,
    /// Prefix of the unique user text (e.g. `Review:\n`).
    lead: &'static [u8],
    /// Closings of the last turn plus the remaining members, one picked per line.
    tails: Vec<Vec<u8>>,
    task: Task,
}

pub(super) struct Document {
    serial: u64,
    text: Vec<u8>,
}

/// An earlier fresh request kept as a duplicate candidate.
pub(super) struct Original {
    /// The line as generated, compact with raw UTF-8, without newline.
    compact: Vec<u8>,
    style: Style,
    /// Hashes of every rendering of this request written so far.
    variants: Vec<u64>,
}

pub(super) struct Generator {
    text: Text,
    params: &'static Params,
    families: Vec<Family>,
    family_cdf: Vec<f64>,
    readers: Vec<Vec<u8>>,
    documents: Vec<Document>,
    document_cdf: Vec<f64>,
    next_document: u64,
    pool: Vec<Original>,
    /// The line being built (compact), the line to write (styled, with newline), scratch.
    line: Vec<u8>,
    pub(super) out: Vec<u8>,
    scratch: Vec<u8>,
    scratch2: Vec<u8>,
}

pub(super) fn zipf_cdf(n: usize, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|i| 1.0 / (i as f64).powf(exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w / total;
            sum
        })
        .collect()
}

impl Generator {
    pub(super) fn new(seed: u64, shape: Shape) -> Generator {
        let params = match shape {
            Shape::Short => &SHORT,
            Shape::Long => &LONG,
        };
        let mut generator = Generator {
            text: Text::new(ChaCha8Rng::seed_from_u64(seed)),
            params,
            families: Vec::new(),
            family_cdf: zipf_cdf(params.family_system_kb.len(), 1.0),
            readers: Vec::new(),
            documents: Vec::new(),
            document_cdf: zipf_cdf(params.document_slots, 0.9),
            next_document: 1,
            pool: Vec::with_capacity(params.pool_cap),
            line: Vec::with_capacity(1 << 16),
            out: Vec::with_capacity(1 << 16),
            scratch: Vec::with_capacity(1 << 16),
            scratch2: Vec::new(),
        };
        for (rank, kb) in params.family_system_kb.iter().enumerate() {
            let family = generator.family(rank, (kb * 1000.0) as usize);
            generator.families.push(family);
        }
        for _ in 0..3 {
            let len = generator.text.length(params.reader_len, 1.0);
            let mut reader = Vec::new();
            generator
                .text
                .system_instruction(&mut reader, len, Task::Answer);
            generator.readers.push(reader);
        }
        for _ in 0..params.document_slots {
            let document = generator.document();
            generator.documents.push(document);
        }
        generator
    }

    fn spelling(&mut self) -> Spelling {
        match self.text.below(10) {
            0..=5 => Spelling {
                top: false,
                config: false,
                part: false,
            },
            6 | 7 => Spelling {
                top: true,
                config: true,
                part: true,
            },
            _ => Spelling {
                top: self.text.chance(0.5),
                config: self.text.chance(0.5),
                part: self.text.chance(0.5),
            },
        }
    }

    fn document(&mut self) -> Document {
        let len = self
            .text
            .length(self.params.document_len, self.params.document_skew);
        let mut text = Vec::with_capacity(len + 512);
        self.text.document(&mut text, len);
        let serial = self.next_document;
        self.next_document += 1;
        Document { serial, text }
    }

    fn family(&mut self, rank: usize, system_len: usize) -> Family {
        let task = [Task::Classify, Task::Extract, Task::Summarize, Task::Chat][rank % 4];
        let lead: &'static [u8] = match task {
            Task::Classify => b"Review:\\n",
            Task::Extract => b"Text:\\n",
            Task::Summarize => b"Summarize these notes:\\n\\n",
            _ => b"",
        };
        let spelling = self.spelling();
        let mut system = Vec::new();
        key(
            &mut system,
            name(spelling.top, "systemInstruction", "system_instruction"),
        );
        system.extend_from_slice(b"{\"parts\":[{\"text\":\"");
        self.text.system_instruction(&mut system, system_len, task);
        system.extend_from_slice(b"\"}]}");

        let mut head = Vec::new();
        let system_first = self.text.chance(0.75);
        if system_first {
            head.extend_from_slice(&system);
            head.push(b',');
        }
        key(&mut head, "contents");
        head.push(b'[');
        let (lo, hi) = self.params.shot_pairs;
        for _ in 0..self.text.rng.random_range(lo..=hi) {
            head.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
            head.extend_from_slice(lead);
            let len = self.text.length(self.params.shot_len, 1.0);
            self.text.prose(&mut head, len);
            head.extend_from_slice(b"\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"");
            self.text.shot_answer(&mut head, task);
            head.extend_from_slice(b"\"}]},");
        }
        head.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");

        let mut tails = Vec::new();
        for _ in 0..1 + self.text.below(2) {
            let mut tail = b"\"}]}]".to_vec();
            if !system_first {
                tail.push(b',');
                tail.extend_from_slice(&system);
            }
            self.members(&mut tail, spelling, task);
            tails.push(tail);
        }
        Family {
            head,
            lead,
            tails,
            task,
        }
    }

    /// Appends `,"generationConfig":{…}` and the other optional request members.
    fn members(&mut self, out: &mut Vec<u8>, spelling: Spelling, task: Task) {
        let t = &mut self.text;
        let wants_schema = match task {
            Task::Classify | Task::Extract => t.chance(0.8),
            Task::Answer => t.chance(0.15),
            _ => false,
        };
        let snake = spelling.config;
        if wants_schema || t.chance(0.9) {
            out.push(b',');
            key(
                out,
                name(spelling.top, "generationConfig", "generation_config"),
            );
            out.push(b'{');
            key(out, "temperature");
            let temperature = t.below(t.temperatures.len());
            out.extend_from_slice(t.temperatures[temperature].as_bytes());
            if t.chance(0.5) {
                out.push(b',');
                key(out, name(snake, "topP", "top_p"));
                out.extend_from_slice(t.pick(TOP_P).as_bytes());
            }
            if t.chance(0.15) {
                out.push(b',');
                key(out, name(snake, "topK", "top_k"));
                out.extend_from_slice(b"40");
            }
            if t.chance(0.7) {
                out.push(b',');
                key(out, name(snake, "maxOutputTokens", "max_output_tokens"));
                out.extend_from_slice(t.pick(MAX_OUTPUT_TOKENS).as_bytes());
            }
            if t.chance(0.05) {
                out.push(b',');
                key(out, name(snake, "candidateCount", "candidate_count"));
                out.push(b'1');
            }
            if t.chance(0.1) {
                out.push(b',');
                key(out, "seed");
                let seed = t.below(1_000_000);
                out.extend_from_slice(seed.to_string().as_bytes());
            }
            if t.chance(0.05) {
                out.push(b',');
                key(out, name(snake, "stopSequences", "stop_sequences"));
                out.extend_from_slice(b"[\"\\n\\n###\",\"END\"]");
            }
            if t.chance(0.1) {
                out.push(b',');
                key(out, name(snake, "thinkingConfig", "thinking_config"));
                out.push(b'{');
                key(out, name(snake, "thinkingBudget", "thinking_budget"));
                out.extend_from_slice(t.pick(&["0", "1024", "8192"]).as_bytes());
                out.push(b'}');
            }
            if wants_schema {
                out.push(b',');
                key_str(
                    out,
                    name(snake, "responseMimeType", "response_mime_type"),
                    "application/json",
                );
                out.push(b',');
                key(out, name(snake, "responseSchema", "response_schema"));
                let schema = match task {
                    Task::Classify => SCHEMAS[if t.chance(0.5) { 0 } else { 2 }],
                    Task::Extract => SCHEMAS[1],
                    _ => SCHEMAS[3],
                };
                out.extend_from_slice(schema.as_bytes());
            } else if t.chance(0.05) {
                out.push(b',');
                key_str(
                    out,
                    name(snake, "responseMimeType", "response_mime_type"),
                    "text/plain",
                );
            }
            out.push(b'}');
        }
        if t.chance(0.3) {
            out.push(b',');
            key(out, name(spelling.top, "safetySettings", "safety_settings"));
            out.push(b'[');
            let first = t.below(CATEGORIES.len());
            let n = 1 + t.below(CATEGORIES.len());
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                key_str(out, "category", CATEGORIES[(first + i) % CATEGORIES.len()]);
                out.push(b',');
                key_str(out, "threshold", t.pick(THRESHOLDS));
                out.push(b'}');
            }
            out.push(b']');
        }
        // Function calling does not combine with a JSON response type.
        if !wants_schema && t.chance(0.08) {
            out.push(b',');
            key(out, "tools");
            out.extend_from_slice(b"[{");
            key(
                out,
                name(
                    spelling.top,
                    "functionDeclarations",
                    "function_declarations",
                ),
            );
            out.push(b'[');
            let n = 1 + t.below(FUNCTIONS.len());
            for (i, (function, description, parameters)) in FUNCTIONS.iter().take(n).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                key_str(out, "name", function);
                out.push(b',');
                key_str(out, "description", description);
                out.push(b',');
                key(out, "parameters");
                out.extend_from_slice(parameters.as_bytes());
                out.push(b'}');
            }
            out.extend_from_slice(b"]}]");
        }
        if t.chance(0.35) {
            out.push(b',');
            key(out, "labels");
            out.push(b'{');
            key_str(out, "team", t.pick(TEAMS));
            if t.chance(0.5) {
                out.push(b',');
                key_str(out, "env", t.pick(ENVIRONMENTS));
            }
            out.push(b'}');
        }
    }

    /// Fills `self.out` with the next line (newline included).
    pub(super) fn next_line(&mut self, line_number: u64) -> LineKind {
        if !self.pool.is_empty() && self.text.chance(self.params.duplicate_share) {
            return self.duplicate();
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let id_first = self.text.chance(self.params.id_share / 2.0);
        let id_last = !id_first && self.text.chance(self.params.id_share / 2.0);
        line.push(b'{');
        if id_first {
            key_str(&mut line, "id", &format!("req-{line_number:06}"));
            line.push(b',');
        }
        key(&mut line, "request");
        line.push(b'{');
        let r: f64 = self.text.rng.random();
        if r < self.params.family_share {
            self.family_request(&mut line);
        } else if r < self.params.family_share + self.params.document_share {
            self.document_request(&mut line);
        } else {
            self.unique_request(&mut line);
        }
        line.push(b'}');
        if id_last {
            line.push(b',');
            key_str(&mut line, "id", &format!("req-{line_number:06}"));
        }
        line.push(b'}');

        let style = match self.text.below(20) {
            0..=12 => PLAIN,
            13..=16 => Style {
                spaced: true,
                ascii: true,
            },
            17 | 18 => Style {
                spaced: true,
                ascii: false,
            },
            _ => Style {
                spaced: false,
                ascii: true,
            },
        };
        let keep = self.pool.len() < self.params.pool_cap || self.text.chance(0.2);
        let slot = if self.pool.len() < self.params.pool_cap {
            self.pool.len()
        } else {
            self.text.below(self.pool.len())
        };
        if style == PLAIN {
            // Zero-copy: the compact line is the output.
            std::mem::swap(&mut line, &mut self.out);
        } else {
            apply_style(&line, style, &mut self.out, &mut self.scratch);
        }
        if keep {
            let compact: &[u8] = if style == PLAIN { &self.out } else { &line };
            let variant = hash_bytes(&self.out);
            if slot == self.pool.len() {
                self.pool.push(Original {
                    compact: compact.to_vec(),
                    style,
                    variants: vec![variant],
                });
            } else {
                let original = &mut self.pool[slot];
                original.compact.clear();
                original.compact.extend_from_slice(compact);
                original.style = style;
                original.variants.clear();
                original.variants.push(variant);
            }
        }
        self.out.push(b'\n');
        self.line = line;
        LineKind::Fresh
    }

    fn duplicate(&mut self) -> LineKind {
        let index = self.text.below(self.pool.len());
        if self.text.chance(self.params.exact_share) {
            let original = &self.pool[index];
            apply_style(
                &original.compact,
                original.style,
                &mut self.out,
                &mut self.scratch,
            );
            self.out.push(b'\n');
            return LineKind::Exact;
        }
        let reorder = self.text.chance(0.6);
        let mut respace = self.text.chance(0.5);
        let reescape = self.text.chance(0.4);
        let original = &mut self.pool[index];
        for attempt in 0..2 {
            if attempt == 1 || !(reorder || respace || reescape) {
                respace = !respace;
            }
            self.scratch2.clear();
            if reorder {
                // serde_json's map is a BTreeMap: keys come back sorted, strings unescaped.
                let value: serde_json::Value =
                    serde_json::from_slice(&original.compact).expect("generated JSON parses");
                serde_json::to_writer(&mut self.scratch2, &value).expect("Vec write");
            } else {
                self.scratch2.extend_from_slice(&original.compact);
            }
            let style = Style {
                spaced: original.style.spaced ^ respace,
                ascii: original.style.ascii ^ reescape,
            };
            apply_style(&self.scratch2, style, &mut self.out, &mut self.scratch);
            let variant = hash_bytes(&self.out);
            if !original.variants.contains(&variant) {
                original.variants.push(variant);
                self.out.push(b'\n');
                return LineKind::Reserialized;
            }
        }
        self.out.push(b'\n');
        LineKind::Exact
    }

    fn family_request(&mut self, line: &mut Vec<u8>) {
        let u: f64 = self.text.rng.random();
        let index = self.family_cdf.partition_point(|&c| c <= u);
        let family = &self.families[index.min(self.families.len() - 1)];
        line.extend_from_slice(&family.head);
        line.extend_from_slice(family.lead);
        let tail = self.text.below(family.tails.len());
        match family.task {
            Task::Chat => {
                self.text.question(line);
                line.extend_from_slice(b"\\n\\n");
                let len = self.text.length(self.params.family_question_len, 1.0);
                self.text.prose(line, len);
            }
            _ => {
                let len = self.text.length(self.params.family_question_len, 1.0);
                self.text.prose(line, len);
            }
        }
        line.extend_from_slice(&family.tails[tail]);
    }

    fn document_request(&mut self, line: &mut Vec<u8>) {
        if self.text.chance(self.params.document_renew) {
            let slot = self.text.below(self.documents.len());
            self.documents[slot] = self.document();
        }
        let u: f64 = self.text.rng.random();
        let slot = self.document_cdf.partition_point(|&c| c <= u);
        let slot = slot.min(self.documents.len() - 1);
        let spelling = self.spelling();
        if self.text.chance(0.6) {
            let reader = self.text.below(self.readers.len());
            key(
                line,
                name(spelling.top, "systemInstruction", "system_instruction"),
            );
            line.extend_from_slice(b"{\"parts\":[{\"text\":\"");
            line.extend_from_slice(&self.readers[reader]);
            line.extend_from_slice(b"\"}]},");
        }
        key(line, "contents");
        line.extend_from_slice(b"[{\"role\":\"user\",\"parts\":[");
        let document = &self.documents[slot];
        // 0..=2: concatenated, 3: question first, 4..=9: two parts, 10: a PDF in Cloud Storage.
        let layout = if self.text.chance(self.params.file_data_share) {
            10
        } else {
            self.text.below(10)
        };
        match layout {
            // The document and the question concatenated in one text part.
            0..=2 => {
                line.extend_from_slice(b"{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\\n\\nQuestion: ");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
            // The document as a PDF in Cloud Storage, then the question.
            10 => {
                line.push(b'{');
                key(line, name(spelling.part, "fileData", "file_data"));
                line.push(b'{');
                let uri = format!(
                    "gs://acme-batch-inputs/docs/2024/doc-{:05}.pdf",
                    document.serial
                );
                key_str(line, name(spelling.part, "fileUri", "file_uri"), &uri);
                line.push(b',');
                key_str(
                    line,
                    name(spelling.part, "mimeType", "mime_type"),
                    "application/pdf",
                );
                line.extend_from_slice(b"}},{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
            // The question first: no shared prefix (a common anti-pattern).
            3 => {
                line.extend_from_slice(b"{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"},{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\"}");
            }
            // The document, then the question, as two parts.
            _ => {
                line.extend_from_slice(b"{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\"},{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
        }
        line.extend_from_slice(b"]}]");
        self.members(line, spelling, Task::Answer);
    }

    fn unique_request(&mut self, line: &mut Vec<u8>) {
        let spelling = self.spelling();
        let len = self.text.length(self.params.unique_len, 1.0);
        let t = &mut self.text;
        key(line, "contents");
        line.push(b'[');
        let chat = t.chance(0.2);
        if chat {
            line.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
            t.question(line);
            line.extend_from_slice(b"\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"");
            t.prose(line, len / 2);
            line.extend_from_slice(b"\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"");
        } else if t.chance(0.1) {
            // A single turn may omit the role.
            line.extend_from_slice(b"{\"parts\":[{\"text\":\"");
        } else {
            line.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
        }
        let task = match t.below(10) {
            0 | 1 => {
                line.extend_from_slice(b"Explain what this code does and suggest one fix:\\n\\n");
                t.code_block(line);
                line.extend_from_slice(b"\\n\\nContext: ");
                t.prose(line, len / 3);
                Task::Chat
            }
            2 => {
                line.extend_from_slice("次の文章を英語に翻訳してください。\\n\\n".as_bytes());
                for _ in 0..1 + t.below(4) {
                    let sentence = t.pick(JAPANESE);
                    line.extend_from_slice(sentence.as_bytes());
                }
                line.extend_from_slice(b"\\n\\n");
                t.prose(line, len / 2);
                Task::Chat
            }
            3 => {
                line.extend_from_slice(b"Classify the sentiment of this review:\\n\\n");
                t.prose(line, len);
                Task::Classify
            }
            4 => {
                line.extend_from_slice(b"Extract the people, organizations and places:\\n\\n");
                t.prose(line, len);
                Task::Extract
            }
            _ => {
                line.extend_from_slice(t.pick(UNIQUE_INSTRUCTIONS).as_bytes());
                line.extend_from_slice(b"\\n\\n");
                t.prose(line, if chat { len / 2 } else { len });
                Task::Summarize
            }
        };
        line.extend_from_slice(b"\"}]}]");
        self.members(line, spelling, task);
    }
}
