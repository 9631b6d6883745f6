//! The fuzz targets as plain tests: each replays its corpus (`corpus/<target>/`, which also holds
//! the regression inputs) and then runs a short randomized mutation of it (coverage-less, fixed
//! seed; a few hundred milliseconds per target). The long runs are `cargo fuzz run <target>`
//! (README.md). `FUZZ_TEST_ITERS` and `FUZZ_TEST_SEED` change the randomized part.

use std::{
    panic::{catch_unwind, resume_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use yew_convex_fuzz::{
    mutate::{mutate, Rng},
    TARGETS,
};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    files.sort();
    files.into_iter().map(|path| (path.clone(), std::fs::read(&path).expect("read"))).collect()
}

/// Runs `target` on `input`; on a panic, names the input (and writes it where it can be replayed
/// with `cargo fuzz run <target> <file>`) before failing.
fn run(name: &str, target: fn(&[u8]), input: &[u8], origin: &str) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(input))) {
        let file = std::env::temp_dir().join(format!("{name}-failure-{}", std::process::id()));
        let _ = std::fs::write(&file, input);
        eprintln!(
            "{name}: {origin} panicked; input written to {} ({:?})",
            file.display(),
            String::from_utf8_lossy(input)
        );
        resume_unwind(panic);
    }
}

fn check(name: &str) {
    let target = TARGETS.iter().find(|(n, _)| *n == name).expect("a target").1;
    let corpus = corpus(name);
    assert!(!corpus.is_empty(), "the {name} corpus is empty");
    for (path, input) in &corpus {
        run(name, target, input, &path.display().to_string());
    }
    let iterations: usize =
        std::env::var("FUZZ_TEST_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seed: u64 = std::env::var("FUZZ_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(11);
    // Bounded in time too, so a slow (debug, loaded) machine keeps `cargo test` short.
    let budget = Duration::from_secs(2);
    let start = Instant::now();
    let mut rng = Rng::new(seed);
    let mut ran = 0;
    while ran < iterations && start.elapsed() < budget {
        let base = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())].1;
        let mut input = mutate(&mut rng, &base.1, other);
        // Sometimes stack a few mutations, to get further from the seeds.
        for _ in 0..rng.below(3) {
            input = mutate(&mut rng, &input, other);
        }
        run(name, target, &input, &format!("a mutation of {} (seed {seed})", base.0.display()));
        ran += 1;
    }
    eprintln!("{name}: {} corpus inputs, {ran} mutations in {:?}", corpus.len(), start.elapsed());
}

#[test]
fn value_codec() {
    check("value_codec");
}

#[test]
fn server_message() {
    check("server_message");
}

#[test]
fn client_message() {
    check("client_message");
}

#[test]
fn jwt() {
    check("jwt");
}

/// The jwt corpus reaches the claim checks: its genuine token (signed with the fuzz key, valid
/// until 2100) verifies, and the same token expired, or with one byte of its signature changed,
/// does not.
#[test]
fn jwt_corpus_holds_a_genuine_token() {
    let read = |name: &str| {
        let bytes =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/jwt").join(name))
                .expect("corpus file");
        String::from_utf8(bytes[1..].to_vec()).expect("utf-8")
    };
    let genuine = read("raw-genuine");
    let identity = yew_convex_fuzz::verify(&genuine).expect("the genuine token verifies");
    assert_eq!(identity.subject(), "user_1");
    assert!(yew_convex_fuzz::verify(&read("raw-genuine-expired")).is_err());
    let mut forged = genuine.into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    assert!(yew_convex_fuzz::verify(std::str::from_utf8(&forged).unwrap()).is_err());
}
