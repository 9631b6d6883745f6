//! A small coverage-less mutator for the randomized part of `cargo test` (the long runs use
//! libFuzzer): byte flips, insertions and deletions, splices of two corpus entries, and
//! insertions of protocol tokens, from a fixed-seed xorshift generator so a failure reproduces.

/// Tokens that a byte-level mutator is unlikely to produce by itself.
const DICTIONARY: &[&[u8]] = &[
    b"\"type\"",
    b"\"Transition\"",
    b"\"QueryUpdated\"",
    b"\"QueryFailed\"",
    b"\"QueryRemoved\"",
    b"\"MutationResponse\"",
    b"\"ActionResponse\"",
    b"\"AuthError\"",
    b"\"FatalError\"",
    b"\"Ping\"",
    b"\"TransitionChunk\"",
    b"\"Connect\"",
    b"\"ModifyQuerySet\"",
    b"\"Mutation\"",
    b"\"Action\"",
    b"\"Authenticate\"",
    b"\"Event\"",
    b"\"$integer\"",
    b"\"$float\"",
    b"\"$bytes\"",
    b"\"AAAAAAAAAAA=\"",
    b"\"AAAAAAAA+H8=\"",
    b"\"AQAAAAAAAAA=\"",
    b"\"querySet\"",
    b"\"identity\"",
    b"\"ts\"",
    b"\"queryId\"",
    b"\"requestId\"",
    b"\"success\"",
    b"\"value\"",
    b"\"args\"",
    b"\"udfPath\"",
    b"\"baseVersion\"",
    b"\"newVersion\"",
    b"\"modifications\"",
    b"\"startVersion\"",
    b"\"endVersion\"",
    b"\"errorData\"",
    b"\"logLines\"",
    b"\"chunk\"",
    b"\"partNumber\"",
    b"\"totalParts\"",
    b"\"transitionId\"",
    b"\"iss\"",
    b"\"aud\"",
    b"\"convex\"",
    b"\"sub\"",
    b"\"iat\"",
    b"\"exp\"",
    b"\"alg\"",
    b"\"RS256\"",
    b"\"kid\"",
    b"null",
    b"true",
    b"false",
    b"-0",
    b"1e400",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b".",
    b"\n",
    b"\\u0000",
    b"\\ud800",
];

/// A deterministic xorshift64* generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A mutation of `input` (1 to 4 edits), possibly spliced with `other`.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next_u64() as u8;
            }
            2 if !out.is_empty() => {
                let start = rng.below(out.len());
                let len = 1 + rng.below((out.len() - start).min(16));
                out.drain(start..start + len);
            }
            3 => {
                let at = rng.below(out.len() + 1);
                let token = DICTIONARY[rng.below(DICTIONARY.len())];
                out.splice(at..at, token.iter().copied());
            }
            4 if !other.is_empty() => {
                let at = rng.below(out.len() + 1);
                let start = rng.below(other.len());
                let len = 1 + rng.below((other.len() - start).min(64));
                out.splice(at..at, other[start..start + len].iter().copied());
            }
            5 if !out.is_empty() => {
                // Duplicate a chunk (repetition: deep nesting, long arrays).
                let start = rng.below(out.len());
                let len = 1 + rng.below((out.len() - start).min(32));
                let chunk = out[start..start + len].to_vec();
                out.splice(start..start, chunk);
            }
            _ => {
                let at = rng.below(out.len() + 1);
                out.insert(at, rng.next_u64() as u8);
            }
        }
    }
    out.truncate(64 * 1024);
    out
}
