//! The walk's whole-job bookkeeping: every key path's JSON kinds and flags recorded for the
//! import's column checks, through a direct-mapped cache that keeps the common case (a path and
//! kinds already seen) to a few inlined instructions.

use super::Walk;
use crate::request::job::{self, column_name_class, flag, kind, Seen};
use crate::request::path::{Path, Seg};
use crate::request::value::{JsonRef, Kind};

impl<'i> Walk<'_, 'i> {
    /// Records kind bits at path hash `h` (creating the path's entry on first sight).
    ///
    /// The common case (no flags, path and kinds already in the direct-mapped cache) is a
    /// handful of instructions inlined at every call; everything else is out of line.
    #[inline(always)]
    pub(super) fn record(&mut self, h: u64, bits: u8, flags: u8, flag_at_key: bool) {
        if flags == 0 {
            // An empty cache (not allocated yet) misses here too.
            if let Some(&(fh, fk)) = self.job.fast.get(h as usize & (job::FAST_SLOTS - 1)) {
                if fh == h && fk & bits == bits {
                    return;
                }
            }
        }
        self.record_slow(h, bits, flags, flag_at_key);
    }

    /// [`record`](Self::record) past the cache.
    #[inline(never)]
    pub(super) fn record_slow(&mut self, h: u64, bits: u8, flags: u8, flag_at_key: bool) {
        let slot = h as usize & (job::FAST_SLOTS - 1);
        // `record` has already looked in the cache; allocate it on first use.
        if flags == 0 && self.job.fast.is_empty() {
            self.job.fast = vec![(0, 0); job::FAST_SLOTS];
        }
        let stat = match self.job.paths.get_mut(&h) {
            Some(s) if (s.kinds & bits) == bits && flags == 0 => {
                // Nothing new: put the path back in the cache (another path may have taken its
                // slot), so that its next values hit again.
                self.job.fast[slot] = (h, s.kinds);
                return;
            }
            Some(s) => s,
            None => {
                let column = column_of(&self.path);
                self.job.paths.entry(h).or_default().column = column;
                self.job.paths.get_mut(&h).expect("inserted above")
            }
        };
        let new_kinds = bits & !stat.kinds;
        if !self.job.fast.is_empty() {
            self.job.fast[slot] = (h, stat.kinds | bits);
        }
        if new_kinds != 0 {
            stat.kinds |= bits;
            let seen = seen_at(
                &self.path,
                self.line_index,
                self.line_offset,
                self.members_seen,
                false,
            );
            // Kind bits are the low six; the highest new one takes `seen`, the others a copy.
            let new_kinds = new_kinds & 0x3f;
            if new_kinds != 0 {
                let last = (7 - new_kinds.leading_zeros()) as usize;
                for i in 0..last {
                    if new_kinds & (1 << i) != 0 {
                        stat.kind_first[i] = Some(seen.clone());
                    }
                }
                stat.kind_first[last] = Some(seen);
            }
        }
        if flags != 0 {
            stat.flags |= flags;
            for i in 0..7 {
                if flags & (1 << i) != 0 {
                    match &mut stat.flag_first[i] {
                        Some((_, n)) => *n += 1,
                        slot @ None => {
                            *slot = Some((
                                seen_at(
                                    &self.path,
                                    self.line_index,
                                    self.line_offset,
                                    self.members_seen,
                                    flag_at_key,
                                ),
                                1,
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Records whole-job problems of the key at the current path (column names).
    #[inline(always)]
    pub(super) fn key_column(&mut self, h: u64, key: &str) {
        if self.job.column_ok.get(h as usize & (job::FAST_SLOTS - 1)) == Some(&h) {
            return;
        }
        self.key_column_slow(h, key);
    }

    /// [`key_column`](Self::key_column) past the cache.
    #[inline(never)]
    pub(super) fn key_column_slow(&mut self, h: u64, key: &str) {
        let slot = h as usize & (job::FAST_SLOTS - 1);
        match column_name_class(key) {
            Ok(()) => {
                if self.job.column_ok.is_empty() {
                    self.job.column_ok = vec![0; job::FAST_SLOTS];
                }
                self.job.column_ok[slot] = h;
            }
            Err(fatal) => {
                let f = if fatal {
                    flag::BAD_COLUMN
                } else {
                    flag::ODD_COLUMN
                };
                self.record(h, 0, f, true);
            }
        }
    }

    #[inline]
    pub(super) fn kind_bit(v: &JsonRef<'_, '_>) -> u8 {
        match v.kind() {
            Kind::String => kind::STRING,
            Kind::Integer | Kind::Float => kind::NUMBER,
            Kind::Bool => kind::BOOL,
            Kind::Object => kind::OBJECT,
            Kind::Null | Kind::Array => 0,
        }
    }

    #[inline(always)]
    pub(super) fn record_single(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.kind() == Kind::Null {
            self.record(h, 0, flag::NULL, false);
            return;
        }
        self.record(h, Self::kind_bit(&v) | kind::SINGLE, 0, false);
        if v.kind() == Kind::Object {
            self.object_flags(v, h, depth);
        }
    }

    #[inline(always)]
    pub(super) fn record_elem_kind(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.kind() == Kind::Null {
            self.record(h, 0, flag::NULL, false);
            return;
        }
        self.record(h, Self::kind_bit(&v), 0, false);
        if v.kind() == Kind::Object {
            self.object_flags(v, h, depth);
        }
    }

    pub(super) fn object_bits(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        self.record(h, kind::OBJECT | kind::SINGLE, 0, false);
        self.object_flags(v, h, depth);
    }

    #[inline]
    pub(super) fn object_flags(&mut self, v: JsonRef<'_, 'i>, h: u64, depth: usize) {
        if v.is_empty() {
            self.record(h, 0, flag::EMPTY_OBJECT, false);
        }
        // Only the first object past the limit: everything inside it is too deep as well, and one
        // finding per subtree says all there is to say.
        if depth == job::MAX_DEPTH + 1 {
            self.record(h, 0, flag::TOO_DEEP, false);
        }
    }
}

/// Where the walk is, for the whole-job statistics: kept out of line, as it runs only when a key
/// path shows something new.
#[cold]
#[inline(never)]
fn seen_at(path: &Path<'_>, line: u64, line_offset: u64, order: u64, at_key: bool) -> Seen {
    Seen {
        line,
        line_offset,
        order,
        pointer: path.pointer(),
        key_nth: path.key_nth(),
        at_key,
    }
}

fn column_of(path: &Path<'_>) -> String {
    // Room for every token and its slash (escapes, rare, may grow it).
    let len = path
        .segs()
        .iter()
        .map(|seg| match seg {
            Seg::Key(k) | Seg::Member(k, _) => k.len() + 1,
            Seg::Index(_) => 0,
        })
        .sum();
    let mut out = String::with_capacity(len);
    for seg in path.segs() {
        if let Seg::Key(k) | Seg::Member(k, _) = seg {
            crate::request::diag::push_pointer_token(&mut out, k);
        }
    }
    out
}
