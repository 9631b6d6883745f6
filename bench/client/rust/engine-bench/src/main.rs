//! Native plain-timing benchmark of yew-convex's `SyncEngine` (no browser): scenarios A and B
//! with `handle_text`, the same Transition texts as the browser benchmark (`web/workload.js`),
//! and the split between parsing (`ServerMessage::parse`) and applying (`handle_message`).
//!
//! ```sh
//! CARGO_TARGET_DIR=../../../target cargo run --release -p engine-bench            # full
//! CARGO_TARGET_DIR=../../../target cargo run --release -p engine-bench -- --quick
//! ```

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use yew_convex::{
    sync::{protocol::ServerMessage, Event, SocketId, SyncConfig, SyncEngine},
    value::{encode_ts, Value},
};

mod raw;
mod workload;
use workload::{transition_text, Version, FIRST_TS};

struct Bench {
    engine: SyncEngine,
    socket: SocketId,
    callbacks: u64,
}

impl Bench {
    fn new(n: u32) -> Bench {
        let mut engine =
            SyncEngine::new(
            SyncConfig::default(),
            "0b5c2a4e-0000-4000-8000-000000000000".into(),
            Duration::ZERO,
        );
        let socket = loop {
            match engine.poll_event() {
                Some(Event::OpenSocket { socket }) => break socket,
                Some(_) => continue,
                None => panic!("no socket asked for"),
            }
        };
        for i in 0..n {
            let args = Value::Object([("i".to_string(), Value::Float64(f64::from(i)))].into());
            engine.subscribe("bench:item", &args).expect("subscribe");
        }
        engine.handle_open(socket, Duration::ZERO, None);
        let mut bench = Bench { engine, socket, callbacks: 0 };
        bench.drain();
        let first = transition_text(
            Version { query_set: 0, identity: 0, ts: 0 },
            Version { query_set: 1, identity: 0, ts: FIRST_TS },
            (0..n).map(|q| (q, 0)),
        );
        bench.engine.handle_text(socket, &first, Duration::ZERO);
        assert_eq!(bench.drain(), u64::from(n), "first Transition applied");
        bench
    }

    /// What the client's pump does: drop frames, read each changed query's result once.
    fn drain(&mut self) -> u64 {
        let mut changed = 0;
        loop {
            let mut progressed = false;
            while let Some(frame) = self.engine.poll_transmit() {
                black_box(frame);
                progressed = true;
            }
            while let Some(event) = self.engine.poll_event() {
                progressed = true;
                if let Event::QueryChanged { query } = event {
                    black_box(self.engine.query_result(query));
                    changed += 1;
                }
            }
            if !progressed {
                break;
            }
        }
        self.callbacks += changed;
        changed
    }
}

struct Scenario {
    name: String,
    n: u32,
    all: bool,
    per_round: u32,
    rounds: u32,
    warmup: u32,
}

/// Texts for one round, chained from `version`.
fn round_texts(
    s: &Scenario,
    version: &mut Version,
    rev: &mut u32,
    cursor: &mut u32,
) -> Vec<String> {
    (0..s.per_round)
        .map(|_| {
            let start = *version;
            let end = Version { ts: start.ts + 1, ..start };
            *version = end;
            *rev += 1;
            let r = *rev;
            let text = if s.all {
                transition_text(start, end, (0..s.n).map(|q| (q, r)))
            } else {
                let q = (*cursor * 389) % s.n;
                *cursor += 1;
                transition_text(start, end, std::iter::once((q, r)))
            };
            text
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn run(s: &Scenario) -> (f64, f64, f64, f64) {
    let mut bench = Bench::new(s.n);
    let mut version = Version { query_set: 1, identity: 0, ts: FIRST_TS };
    let (mut rev, mut cursor) = (0, 0);
    let per_message = if s.all { u64::from(s.n) } else { 1 };
    let (mut total, mut parse, mut apply, mut raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..s.warmup + s.rounds {
        // handle_text: parse + apply, as the client does.
        let texts = round_texts(s, &mut version, &mut rev, &mut cursor);
        let before = bench.callbacks;
        let t0 = Instant::now();
        for text in &texts {
            bench.engine.handle_text(bench.socket, text, Duration::ZERO);
            bench.drain();
        }
        let dt = t0.elapsed().as_secs_f64() * 1e3 / f64::from(s.per_round);
        assert_eq!(bench.callbacks - before, per_message * u64::from(s.per_round));
        // The same texts parsed alone.
        let t0 = Instant::now();
        for text in &texts {
            black_box(ServerMessage::parse(text).expect("parses"));
        }
        let dp = t0.elapsed().as_secs_f64() * 1e3 / f64::from(s.per_round);
        // Prototype: values left as raw JSON text.
        let t0 = Instant::now();
        for text in &texts {
            black_box(raw::parse(text).expect("parses"));
        }
        let dr = t0.elapsed().as_secs_f64() * 1e3 / f64::from(s.per_round);
        if r >= s.warmup {
            total.push(dt);
            parse.push(dp);
            apply.push(dt - dp);
            raw.push(dr);
        }
    }
    (median(total), median(parse), median(apply), median(raw))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "--sample") {
        // One text, to compare with web/workload.js byte for byte.
        let start = Version { query_set: 1, identity: 0, ts: FIRST_TS };
        let end = Version { ts: FIRST_TS + 1, ..start };
        println!("{}", transition_text(start, end, [(0, 1), (501, 2)].into_iter()));
        return;
    }
    let scale = |full: u32, small: u32| if quick { small } else { full };
    let scenarios = [
        Scenario {
            name: "A".into(),
            n: scale(1000, 30),
            all: true,
            per_round: scale(10, 2),
            rounds: scale(20, 2),
            warmup: scale(3, 1),
        },
        Scenario {
            name: "A".into(),
            n: scale(100, 10),
            all: true,
            per_round: scale(50, 2),
            rounds: scale(20, 2),
            warmup: scale(3, 1),
        },
        Scenario {
            name: "B".into(),
            n: scale(100, 10),
            all: false,
            per_round: scale(2000, 10),
            rounds: scale(20, 2),
            warmup: scale(3, 1),
        },
        Scenario {
            name: "B".into(),
            n: scale(1000, 30),
            all: false,
            per_round: scale(2000, 10),
            rounds: scale(20, 2),
            warmup: scale(3, 1),
        },
        Scenario {
            name: "B".into(),
            n: scale(10000, 100),
            all: false,
            per_round: scale(2000, 10),
            rounds: scale(20, 2),
            warmup: scale(3, 1),
        },
    ];
    // A sanity check that the texts decode as the browser's do.
    assert_eq!(encode_ts(FIRST_TS), "6AMAAAAAAAA=");
    println!(
        "Native SyncEngine, ms per Transition (median of rounds; handle_text = parse + apply)"
    );
    println!();
    println!("| scenario | handle_text | parse alone | apply (handle_text − parse) | prototype: parse with values left raw | text bytes |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for s in &scenarios {
        let (total, parse, apply, raw) = run(s);
        let bytes = round_texts(
            s,
            &mut Version { query_set: 1, identity: 0, ts: FIRST_TS },
            &mut 0,
            &mut 0,
        )[0]
        .len();
        println!(
            "| {}: N = {}, {} updated | {:.4} | {:.4} | {:.4} | {:.4} | {} |",
            s.name,
            s.n,
            if s.all { "all" } else { "one" },
            total,
            parse,
            apply,
            raw,
            bytes
        );
    }
}
