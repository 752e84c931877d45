use super::*;

/// A row's owned data; `SimRow`s borrow from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Owned {
    blocks: Vec<u64>,
    cum: Vec<u32>,
    prompt: u64,
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A prompt made of blocks `(content id, tokens)`: chain hashes and cumulative tokens.
fn chain(parts: &[(u64, u32)]) -> Owned {
    let mut h = 0u64;
    let mut t = 0u32;
    let mut blocks = Vec::new();
    let mut cum = Vec::new();
    for &(id, tokens) in parts {
        h = mix(h ^ mix(id));
        t += tokens;
        blocks.push(h);
        cum.push(t);
    }
    Owned {
        blocks,
        cum,
        prompt: u64::from(t),
    }
}

fn view(rows: &[Owned]) -> Vec<SimRow<'_>> {
    rows.iter()
        .map(|r| SimRow {
            blocks: &r.blocks,
            cum_tokens: &r.cum,
            prompt_tokens: r.prompt,
        })
        .collect()
}

fn sim(rows: &[Owned], workers: usize, ttl: Option<u64>, min: u64) -> SimReport {
    simulate(
        &view(rows),
        &SimConfig {
            workers,
            ttl_rounds: ttl,
            min_cache_tokens: min,
        },
    )
}

/// Hand-rolled LCG (Knuth's MMIX constants), high bits out.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------- hand-computed cases

// Blocks used below: P = 150-token shared prefix, Q = 80-token prefix (below the minimum of 100),
// lower-case ids = distinct tails.
const P: u64 = 1;
const Q: u64 = 2;
const MIN: u64 = 100;

fn p_row(tail: u64) -> Owned {
    chain(&[(P, 150), (100 + tail, 40)])
}

#[test]
fn one_worker_hits_earlier_rows_and_ttl_counts_rounds() {
    // W = 1: row i runs in round i.  A(P,a) B(P,b) X(x) Y(y) C(P,c) D(P,d)
    let rows = vec![
        p_row(1),
        p_row(2),
        chain(&[(50, 300)]),
        chain(&[(51, 300)]),
        p_row(3),
        p_row(4),
    ];
    // TTL ∞: B, C, D each hit P.
    let r = sim(&rows, 1, None, MIN);
    assert_eq!((r.cached_tokens, r.rows_with_hits, r.rows), (450, 3, 6));
    assert_eq!(r.prompt_tokens, 4 * 190 + 600);
    // TTL 1: B (round 1) hits A's entry (stamped 0); C (round 4) finds P last stamped in round 1
    // by B: 4 - 1 = 3 > 1, expired; C re-inserts P in round 4, so D (round 5) hits.
    let r = sim(&rows, 1, Some(1), MIN);
    assert_eq!((r.cached_tokens, r.rows_with_hits), (300, 2));
    // TTL 3: C's look-up is exactly 3 rounds after B's use: still there.
    assert_eq!(sim(&rows, 1, Some(3), MIN).cached_tokens, 450);
    assert_eq!(sim(&rows, 1, Some(2), MIN).cached_tokens, 300);
    // TTL 0 disables the cache.
    assert_eq!(sim(&rows, 1, Some(0), MIN).cached_tokens, 0);
    // The bound: four rows share P, one of them must be first.
    assert_eq!(r.bound_tokens, 450);
}

#[test]
fn two_workers_rows_of_one_round_never_hit_each_other() {
    // W = 2, rounds {A,B} {X,Y} {C,D}: A and B run together, so neither hits.
    let rows = vec![
        p_row(1),
        p_row(2),
        chain(&[(50, 300)]),
        chain(&[(51, 300)]),
        p_row(3),
        p_row(4),
    ];
    let r = sim(&rows, 2, None, MIN);
    assert_eq!((r.cached_tokens, r.rows_with_hits), (300, 2)); // C and D hit P (stamped in round 0)
    assert_eq!(sim(&rows, 2, Some(1), MIN).cached_tokens, 0); // round 2 - round 0 = 2 > 1
    assert_eq!(sim(&rows, 2, Some(2), MIN).cached_tokens, 300);
    // Same rows, families spread across rounds: {A,X} {B,Y} {C,D}.
    let spread = vec![
        p_row(1),
        chain(&[(50, 300)]),
        p_row(2),
        chain(&[(51, 300)]),
        p_row(3),
        p_row(4),
    ];
    assert_eq!(sim(&spread, 2, Some(1), MIN).cached_tokens, 450);
    // Everything in one round: nothing.
    assert_eq!(sim(&rows, 6, None, MIN).cached_tokens, 0);
    assert_eq!(sim(&rows, 100, None, MIN).cached_tokens, 0);
}

#[test]
fn prefix_below_the_minimum_never_hits() {
    // Q (80 tokens) is shared, but the minimum (100) applies to the cached prefix, not the prompt.
    let rows = vec![
        chain(&[(Q, 80), (10, 500)]),
        chain(&[(Q, 80), (11, 500)]),
        chain(&[(Q, 80), (12, 500)]),
        chain(&[(Q, 80)]),
    ];
    for w in [1, 2] {
        for ttl in [Some(1), None] {
            let r = sim(&rows, w, ttl, MIN);
            assert_eq!(
                (r.cached_tokens, r.rows_with_hits, r.bound_tokens),
                (0, 0, 0),
                "W={w} ttl={ttl:?}"
            );
        }
    }
    // With the minimum lowered to 80, they hit.
    assert_eq!(sim(&rows, 1, None, 80).cached_tokens, 3 * 80);
    assert_eq!(sim(&rows, 1, None, 80).bound_tokens, 3 * 80);
}

#[test]
fn the_deepest_cached_prefix_counts() {
    // A = P,Q2 (cum 150, 400); B = P,Q2,r (cum 150,400,500); C = P,s (cum 150, 190); D = P,Q2,t.
    let a = chain(&[(P, 150), (7, 250)]);
    let b = chain(&[(P, 150), (7, 250), (8, 100)]);
    let c = chain(&[(P, 150), (9, 40)]);
    let d = chain(&[(P, 150), (7, 250), (10, 100)]);
    let rows = vec![a, b, c, d];
    let r = sim(&rows, 1, None, MIN);
    // B hits 400 (P,Q2), C hits 150 (P), D hits 400.
    assert_eq!((r.cached_tokens, r.rows_with_hits), (950, 3));
    // Bound: best shares 400+400+150+400; the first of P loses 150, the first of P,Q2 loses 250.
    assert_eq!(r.bound_tokens, 950);
    // Minimum 200: the 150-token prefix P no longer counts (C gets 0), P,Q2 still does; the first
    // row of P,Q2 now loses all 400 (no shorter prefix reaches the minimum).
    let r = sim(&rows, 1, None, 200);
    assert_eq!(
        (r.cached_tokens, r.rows_with_hits, r.bound_tokens),
        (800, 2, 800)
    );
    // W = 2: {A,B} {C,D}: C hits P (150), D hits P,Q2 (400).
    assert_eq!(sim(&rows, 2, Some(1), MIN).cached_tokens, 550);
}

#[test]
fn identical_prompts_hit_whole_and_capped_blocks_keep_prompt_tokens() {
    let mut a = chain(&[(P, 150), (7, 250)]);
    a.prompt = 1000; // blocks capped: 600 tokens beyond the last block
    let rows = vec![a.clone(), a.clone(), a];
    let r = sim(&rows, 1, Some(1), MIN);
    assert_eq!(
        (r.prompt_tokens, r.cached_tokens, r.bound_tokens),
        (3000, 800, 800)
    );
}

#[test]
fn empty_input_and_rows_without_blocks() {
    assert_eq!(sim(&[], 4, None, MIN), SimReport::default());
    let rows = vec![
        Owned {
            blocks: vec![],
            cum: vec![],
            prompt: 7
        };
        3
    ];
    let r = sim(&rows, 1, None, 0);
    assert_eq!(
        (r.prompt_tokens, r.cached_tokens, r.bound_tokens, r.rows),
        (21, 0, 0, 3)
    );
    assert!(families(&view(&rows), 0).is_empty());
    // workers = 0 is treated as 1.
    let rows = vec![p_row(1), p_row(2)];
    assert_eq!(sim(&rows, 0, None, MIN).cached_tokens, 150);
}

// ---------------------------------------------------------------- bound properties

/// Random nested corpora: a few system prompts, documents, questions, some duplicates.
fn random_corpus(rng: &mut Lcg, n: usize) -> Vec<Owned> {
    (0..n)
        .map(|_| {
            let s = rng.below(3);
            let d = rng.below(4);
            let mut parts = vec![(1000 + s, 40 + 30 * s as u32)];
            if rng.below(4) > 0 {
                parts.push((2000 + s * 10 + d, 20 + 25 * d as u32));
                if rng.below(3) > 0 {
                    let t = rng.below(6);
                    parts.push((3000 + t, 10 + 7 * t as u32));
                }
            }
            let mut o = chain(&parts);
            o.prompt += rng.below(50);
            o
        })
        .collect()
}

#[test]
fn bound_is_order_independent_attained_by_trie_order_and_never_exceeded() {
    let mut rng = Lcg(7);
    for case in 0..300 {
        let n = 1 + rng.below(40) as usize;
        let mut rows = random_corpus(&mut rng, n);
        let min = [0, 50, 80, 120][case % 4];
        let bound = cache_bound(&view(&rows), min);
        // Trie order (lexicographic by chain hashes keeps shared prefixes contiguous), W = 1, no
        // expiry: every row hits the longest prefix it shares with its predecessor.
        rows.sort();
        let r = sim(&rows, 1, None, min);
        assert_eq!(r.cached_tokens, bound, "case {case}");
        assert_eq!(r.bound_tokens, bound);
        for _ in 0..5 {
            rng.shuffle(&mut rows);
            assert_eq!(cache_bound(&view(&rows), min), bound, "case {case}");
            for w in [1, 2, 3, 8] {
                for ttl in [Some(1), Some(2), None] {
                    let r = sim(&rows, w, ttl, min);
                    assert!(r.cached_tokens <= bound, "case {case} W={w} ttl={ttl:?}");
                    assert!(r.rows_with_hits <= r.rows);
                }
            }
            // W = 1 with no expiry in any order: the longest prefix shared with an earlier row.
            let naive: u64 = (0..rows.len())
                .map(|i| {
                    let best = (0..i)
                        .map(|j| {
                            rows[i]
                                .blocks
                                .iter()
                                .zip(&rows[j].blocks)
                                .take_while(|(x, y)| x == y)
                                .count()
                        })
                        .max()
                        .unwrap_or(0);
                    if best == 0 {
                        0
                    } else {
                        let t = u64::from(rows[i].cum[best - 1]);
                        if t >= min {
                            t
                        } else {
                            0
                        }
                    }
                })
                .sum();
            assert_eq!(sim(&rows, 1, None, min).cached_tokens, naive, "case {case}");
        }
    }
}

// ---------------------------------------------------------------- families

#[test]
fn families_of_nested_prefixes() {
    // S1: system prompt of 2 blocks (2,500 tokens) → documents D1 (3 questions), D2 (1), D3 (2);
    // S2: 1,000-token system prompt → D4 (4 questions), D5 (1). Documents are one 3,000-token block.
    let s1 = [(1, 1250), (2, 1250)];
    let s2 = [(3, 1000)];
    let mut rows = Vec::new();
    let mut q = 100;
    let mut push = |sys: &[(u64, u32)], doc: u64, questions: usize| {
        for _ in 0..questions {
            q += 1;
            let mut parts = sys.to_vec();
            parts.push((doc, 3000));
            parts.push((q, 50));
            rows.push(chain(&parts));
        }
    };
    push(&s1, 11, 3);
    push(&s1, 12, 1);
    push(&s1, 13, 2);
    push(&s2, 14, 4);
    push(&s2, 15, 1);
    let fam = |start, len, depth_blocks, prefix_tokens| Family {
        start,
        len,
        depth_blocks,
        prefix_tokens,
    };
    let got = families(&view(&rows), 2048);
    assert_eq!(
        got,
        vec![
            // S1 shared by rows 0..6 at 1 and 2 blocks: listed once, at depth 2.
            fam(0, 6, 2, 2500),
            fam(0, 3, 3, 5500),
            // D2 has one question: no family of its own.
            fam(4, 2, 3, 5500),
            // S2 alone (rows 6..11, 1,000 tokens) is below the minimum; S2+D4 is not.
            fam(6, 4, 2, 4000),
        ]
    );
    let got = families(&view(&rows), 0);
    assert_eq!(got.len(), 5);
    assert_eq!(got[3], fam(6, 5, 1, 1000)); // sorted by start, then depth
    assert_eq!(got[4], fam(6, 4, 2, 4000));
    assert!(families(&view(&rows), 6000).is_empty());

    // Duplicates: identical prompts share every block.
    let dup = vec![rows[0].clone(), rows[0].clone(), rows[1].clone()];
    assert_eq!(
        families(&view(&dup), 2048),
        vec![fam(0, 3, 3, 5500), fam(0, 2, 4, 5550)]
    );
}

/// The nested corpus of `families_of_nested_prefixes`: S1 (2,500 tokens) → D1 ×3, D2 ×1, D3 ×2;
/// S2 (1,000 tokens) → D4 ×4, D5 ×1.
fn nested_families(min: u64) -> Vec<Family> {
    let s1 = [(1, 1250), (2, 1250)];
    let s2 = [(3, 1000)];
    let mut rows = Vec::new();
    let mut q = 100;
    for (sys, doc, questions) in [
        (&s1[..], 11, 3),
        (&s1[..], 12, 1),
        (&s1[..], 13, 2),
        (&s2[..], 14, 4),
        (&s2[..], 15, 1),
    ] {
        for _ in 0..questions {
            q += 1;
            let mut parts = sys.to_vec();
            parts.extend([(doc, 3000), (q, 50)]);
            rows.push(chain(&parts));
        }
    }
    families(&view(&rows), min)
}

#[test]
fn families_rank_cacheable_first_by_the_tokens_they_can_have_cached() {
    let fam = |start, len, depth_blocks, prefix_tokens| Family {
        start,
        len,
        depth_blocks,
        prefix_tokens,
    };
    // All five shared prefixes, as the report lists them (minimum 1).
    let mut got = nested_families(1);
    // Minimum 2,048. Every member after the first hits the prefix:
    //   S1       6 × 2,500 → 5 × 2,500 = 12,500
    //   S2+D4    4 × 4,000 → 3 × 4,000 = 12,000
    //   S1+D1    3 × 5,500 → 2 × 5,500 = 11,000
    //   S1+D3    2 × 5,500 → 1 × 5,500 =  5,500
    //   S2       5 × 1,000 → below the minimum: 0, listed last.
    // Before, the list was by prefix × requests (S1+D1 16,500, S2+D4 16,000, S1 15,000, …): S1,
    // which earns the most, came third.
    rank_families(&mut got, 2048, 10);
    assert_eq!(
        got,
        vec![
            fam(0, 6, 2, 2500),
            fam(6, 4, 2, 4000),
            fam(0, 3, 3, 5500),
            fam(4, 2, 3, 5500),
            fam(6, 5, 1, 1000),
        ]
    );
    let cached: Vec<u64> = got.iter().map(|f| f.cached_tokens(2048)).collect();
    assert_eq!(cached, vec![12_500, 12_000, 11_000, 5_500, 0]);
    // Keeping three keeps the three that earn most.
    let mut top = nested_families(1);
    rank_families(&mut top, 2048, 3);
    assert_eq!(top, got[..3]);
    // Minimum 4,500: only the documents are cacheable; the rest follow by what they would have
    // cached at the minimum: S1 5 × 2,500 = 12,500, S2+D4 (500 short) 3 × 4,000 = 12,000, S2
    // 4 × 1,000 = 4,000.
    let mut got = nested_families(1);
    rank_families(&mut got, 4500, 10);
    assert_eq!(
        got,
        vec![
            fam(0, 3, 3, 5500),
            fam(4, 2, 3, 5500),
            fam(0, 6, 2, 2500),
            fam(6, 4, 2, 4000),
            fam(6, 5, 1, 1000),
        ]
    );
    let mut none = nested_families(1);
    rank_families(&mut none, 4500, 0);
    assert!(none.is_empty());
}

#[test]
fn families_match_a_naive_enumeration() {
    let mut rng = Lcg(11);
    for _ in 0..200 {
        let n = rng.below(30) as usize;
        let mut rows = random_corpus(&mut rng, n);
        rows.sort();
        let min = rng.below(150);
        let v = view(&rows);
        // Naive: for every depth d and every maximal run with adjacent LCP ≥ d, keep it at the
        // largest such d.
        let lcp = |i: usize| lcp(&v[i - 1], &v[i]);
        let mut naive: Vec<Family> = Vec::new();
        for d in 1..=3 {
            let mut i = 1;
            while i < n {
                if lcp(i) >= d {
                    let start = i - 1;
                    while i < n && lcp(i) >= d {
                        i += 1;
                    }
                    let len = i - start;
                    let deepest = (start + 1..start + len).map(lcp).min().unwrap();
                    if deepest == d && u64::from(rows[start].cum[d - 1]) >= min {
                        naive.push(Family {
                            start,
                            len,
                            depth_blocks: d,
                            prefix_tokens: u64::from(rows[start].cum[d - 1]),
                        });
                    }
                } else {
                    i += 1;
                }
            }
        }
        naive.sort_by_key(|f| (f.start, f.depth_blocks));
        assert_eq!(families(&v, min), naive);
    }
}

// ---------------------------------------------------------------- the priming effect

/// Test-only priming: the first four members of every family (from [`families`]) not already
/// moved are placed before the row at `start - gap` for gaps 1024, 256, 64, 16 (clamped at 0).
fn primed(rows: &[Owned], min: u64) -> Vec<Owned> {
    const GAPS: [usize; 4] = [1024, 256, 64, 16];
    let fams = families(&view(rows), min);
    let mut key: Vec<(usize, u8, usize)> = (0..rows.len()).map(|i| (i, 1, i)).collect();
    let mut moved = vec![false; rows.len()];
    for f in &fams {
        for (k, gap) in GAPS.iter().enumerate().take(f.len) {
            let i = f.start + k;
            if !moved[i] {
                moved[i] = true;
                key[i] = (f.start.saturating_sub(*gap), 0, i);
            }
        }
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| key[i]);
    order.into_iter().map(|i| rows[i].clone()).collect()
}

/// 50 families × 300 requests: a 3,000-token prefix (three 1,000-token blocks) + a 200-token
/// question. In trie order.
fn flat_corpus() -> Vec<Owned> {
    let mut rows = Vec::new();
    for f in 0..50u64 {
        for q in 0..300u64 {
            rows.push(chain(&[
                (f * 10, 1000),
                (f * 10 + 1, 1000),
                (f * 10 + 2, 1000),
                (1_000_000 + f * 1000 + q, 200),
            ]));
        }
    }
    rows
}

/// Nested and uneven: 8 system prompts of 2,500 tokens, 10 documents of 4,000 tokens (four
/// blocks) under each, 1–150 questions per document (100–300 tokens). In trie order.
fn nested_corpus() -> Vec<Owned> {
    let mut rng = Lcg(2024);
    let mut rows = Vec::new();
    let mut q = 10_000_000u64;
    for s in 0..8u64 {
        for d in 0..10u64 {
            let questions = 1 + rng.below(150);
            for _ in 0..questions {
                q += 1;
                let mut parts = vec![(s, 2500)];
                parts.extend((0..4).map(|b| (1000 + s * 100 + d * 10 + b, 1000)));
                parts.push((q, 100 + rng.below(201) as u32));
                rows.push(chain(&parts));
            }
        }
    }
    rows
}

fn effect_table(name: &str, trie: &[Owned]) {
    let min = 2048;
    let prim = primed(trie, min);
    let mut shuffled = trie.to_vec();
    Lcg(99).shuffle(&mut shuffled);
    let bound = cache_bound(&view(trie), min);
    let prompt: u64 = trie.iter().map(|r| r.prompt).sum();
    println!(
        "{name}: {} rows, {} prompt tokens, bound {} ({:.1}% of prompt)",
        trie.len(),
        prompt,
        bound,
        100.0 * bound as f64 / prompt as f64
    );
    println!("  W    TTL   trie/bound  primed/bound  shuffled/bound   (% of prompt: trie primed shuffled)");
    for w in [16, 64, 256] {
        for ttl in [Some(1), Some(5), None] {
            let t = sim(trie, w, ttl, min);
            let p = sim(&prim, w, ttl, min);
            let s = sim(&shuffled, w, ttl, min);
            assert_eq!(
                (t.bound_tokens, p.bound_tokens, s.bound_tokens),
                (bound, bound, bound)
            );
            let b = |x: u64| 100.0 * x as f64 / bound as f64;
            let q = |x: u64| 100.0 * x as f64 / prompt as f64;
            println!(
                "  {w:<4} {:<5} {:>9.1}% {:>12.1}% {:>14.1}%      {:>5.1} {:>5.1} {:>5.1}",
                ttl.map_or("inf".to_string(), |t| t.to_string()),
                b(t.cached_tokens),
                b(p.cached_tokens),
                b(s.cached_tokens),
                q(t.cached_tokens),
                q(p.cached_tokens),
                q(s.cached_tokens)
            );
            assert!(
                p.cached_tokens * 10 >= bound * 9,
                "{name} W={w} ttl={ttl:?}: primed below 90% of bound"
            );
            assert!(
                t.cached_tokens < p.cached_tokens,
                "{name} W={w} ttl={ttl:?}: trie not below primed"
            );
        }
    }
}

#[test]
fn priming_beats_trie_order_flat_families() {
    let trie = flat_corpus();
    // Trie order at W = 256 loses most of each family to its own first round.
    let t = sim(&trie, 256, Some(1), 2048);
    assert!(t.cached_tokens * 10 < t.bound_tokens * 7, "{t:?}");
    effect_table("flat 50x300", &trie);
}

#[test]
fn priming_beats_trie_order_nested_families() {
    effect_table("nested 8x10x(1..150)", &nested_corpus());
}

#[test]
fn primed_helper_keeps_every_row_once() {
    let trie = nested_corpus();
    let mut p = primed(&trie, 2048);
    assert_ne!(p, trie);
    p.sort();
    let mut t = trie.clone();
    t.sort();
    assert_eq!(p, t);
}

// ---------------------------------------------------------------- speed

/// CPU seconds of this thread (Linux; 0 elsewhere), to read timings on a loaded machine.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split(' ').collect();
            // Fields 14 and 15 (utime, stime) are 11 and 12 after the state field.
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// 1M rows × 10 blocks. Run with
/// `cargo test --release --lib plan::cache -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed_one_million_rows() {
    let n = 1_000_000usize;
    let nb = 10usize;
    let mut rng = Lcg(5);
    type IdFn = fn(u64, u64) -> u64;
    let scenarios: [(&str, IdFn); 4] = [
        ("1,000 families of 1,000 rows, 6 shared blocks", |i, b| {
            if b < 6 {
                (i / 1000) * 100 + b
            } else {
                (i + 1) * 1000 + b
            }
        }),
        (
            "100 system prompts (3 blocks) x 10 documents (5 blocks) x 1,000 rows",
            |i, b| {
                if b < 3 {
                    (i / 10_000) * 100 + b
                } else if b < 8 {
                    (i / 1000) * 100 + b
                } else {
                    (i + 1) * 1000 + b
                }
            },
        ),
        (
            "500,000 pairs of duplicates (all 10 blocks shared)",
            |i, b| (i / 2) * 1000 + b,
        ),
        ("every row distinct", |i, b| (i + 1) * 1000 + b),
    ];
    for (label, id) in scenarios {
        let mut blocks = Vec::with_capacity(n * nb);
        let mut cum = Vec::with_capacity(n * nb);
        for i in 0..n as u64 {
            let mut h = 0;
            let mut t = 0u32;
            for b in 0..nb as u64 {
                h = mix(h ^ mix(id(i, b)));
                t += 400;
                blocks.push(h);
                cum.push(t);
            }
        }
        let rows: Vec<SimRow<'_>> = (0..n)
            .map(|i| SimRow {
                blocks: &blocks[i * nb..(i + 1) * nb],
                cum_tokens: &cum[i * nb..(i + 1) * nb],
                prompt_tokens: 4000 + rng.below(100),
            })
            .collect();
        println!("{label}:");
        let (t0, c0) = (std::time::Instant::now(), thread_cpu_secs());
        let bound = cache_bound(&rows, 2048);
        println!(
            "  cache_bound: {:.3} s wall, {:.2} s CPU",
            t0.elapsed().as_secs_f64(),
            thread_cpu_secs() - c0
        );
        for (w, ttl) in [(256, Some(5)), (256, None), (16, Some(1))] {
            let (t0, c0) = (std::time::Instant::now(), thread_cpu_secs());
            let cfg = SimConfig {
                workers: w,
                ttl_rounds: ttl,
                min_cache_tokens: 2048,
            };
            let r = simulate(&rows, &cfg);
            let (el, cpu) = (t0.elapsed(), thread_cpu_secs() - c0);
            assert_eq!(r.bound_tokens, bound);
            println!(
                "  simulate W={w} ttl={ttl:?}: {:.3} s wall, {cpu:.2} s CPU (cached {:.1}% of bound)",
                el.as_secs_f64(),
                100.0 * r.cached_tokens as f64 / r.bound_tokens.max(1) as f64
            );
        }
        let t0 = std::time::Instant::now();
        let fam = families(&rows, 2048);
        println!(
            "  families: {:.3} s ({} families)",
            t0.elapsed().as_secs_f64(),
            fam.len()
        );
    }
}

#[test]
fn simulate_rows_per_row_figures_sum_to_simulate() {
    // The emulator writes these per-row figures into cachedContentTokenCount: they must add up to
    // the report, row for row the hits the report counts.
    let mut rng = Lcg(11);
    let rows = random_corpus(&mut rng, 3000);
    let v = view(&rows);
    for (w, ttl) in [(1, None), (16, Some(1)), (64, Some(5)), (256, None)] {
        let cfg = SimConfig {
            workers: w,
            ttl_rounds: ttl,
            min_cache_tokens: 100,
        };
        let (report, per_row) = simulate_rows(&v, &cfg);
        assert_eq!(report, simulate(&v, &cfg), "W={w} ttl={ttl:?}");
        assert_eq!(per_row.iter().sum::<u64>(), report.cached_tokens);
        assert_eq!(
            per_row.iter().filter(|&&c| c > 0).count() as u64,
            report.rows_with_hits
        );
        assert!(report.cached_tokens > 0, "W={w} ttl={ttl:?}");
    }
}
