//! Reliability under injected faults: the library's `ConvexClient`s in headless Chromium talk to
//! the devserver through the fault proxy (`e2e/src/faults.rs`, started by `scripts/test`), which
//! drops their sockets with and without close frames, stalls and delays frames, and SIGKILLs
//! and restarts the devserver on the same port and data while mutations and actions run.
//!
//! Sizes come from the build environment (`FAULTS_MUTATIONS`, `FAULTS_DROPS`,
//! `FAULTS_RESTARTS`; 500, 100, 5 by default). See RELIABILITY.md.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{
    cell::RefCell,
    collections::{HashMap, VecDeque},
    rc::Rc,
    time::Duration,
};

use serde_json::json;
use support::{
    faults::{self, Rng},
    sleep, unique, wait_until,
};
use wasm_bindgen_test::*;
use yew_convex::client::ConvexClient;

wasm_bindgen_test_configure!(run_in_browser);

fn size(value: Option<&str>, default: usize) -> usize {
    value.and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Mutation,
    Action,
}

/// What the app was told, per key.
type Outcomes = Rc<RefCell<HashMap<String, (Op, Result<(), String>)>>>;

fn keys_of(result: &Option<yew_convex::sync::QueryResult>) -> Option<Vec<String>> {
    match result {
        Some(Ok(value)) => value.deserialize::<Vec<String>>().ok(),
        _ => None,
    }
}

/// 3 clients, 500 mutations and 50 actions (3 in flight per client), 100 socket drops (half
/// with a close frame), 5 SIGKILL restarts, stalls and delays in between. Every mutation the
/// app was told succeeded is in the database exactly once, every other one reported an error
/// (none hangs), no action ran twice, and every client's subscription ends equal to the
/// server's state.
#[wasm_bindgen_test]
async fn mutations_survive_drops_and_restarts_exactly_once() {
    let mutations = size(option_env!("FAULTS_MUTATIONS"), 500);
    let drops_wanted = size(option_env!("FAULTS_DROPS"), 100) as u64;
    let restarts_wanted = size(option_env!("FAULTS_RESTARTS"), 5) as u64;
    let seed = faults::seed();
    web_sys::console::log_1(&format!("faults: schedule seed {seed}").into());
    let mut rng = Rng(seed);
    let run = unique("f");

    // Every tenth operation is an action: 500 mutations, 50 actions.
    let ops: Vec<(Op, String)> = (0..mutations + mutations / 10)
        .map(|i| {
            if i % 11 == 10 {
                (Op::Action, format!("act:{run}-{i}"))
            } else {
                (Op::Mutation, format!("{run}-{i}"))
            }
        })
        .collect();
    let total = ops.len();
    let outcomes: Outcomes = Rc::default();
    let started = Rc::new(RefCell::new(0usize));
    // Operations may start only as far as the faults have got: about total / drops per drop,
    // so the faults land while operations are in flight, whatever the machine's speed.
    let allowed = Rc::new(RefCell::new(total / drops_wanted.max(1) as usize + 3));

    let clients: Vec<ConvexClient> =
        (0..3).map(|_| ConvexClient::new(faults::proxy_url()).expect("client")).collect();
    let views: Vec<Rc<RefCell<Option<Vec<String>>>>> = (0..3).map(|_| Rc::default()).collect();
    let _subs: Vec<_> = clients
        .iter()
        .zip(&views)
        .map(|(client, view)| {
            let view = view.clone();
            client
                .subscribe("ledger:list", &json!({}), move |r| {
                    if let Some(keys) = keys_of(&r) {
                        *view.borrow_mut() = Some(keys);
                    }
                })
                .expect("subscribe")
        })
        .collect();
    wait_until("every client's first ledger", Duration::from_secs(30), || {
        views.iter().all(|v| v.borrow().is_some())
    })
    .await;

    let ops = Rc::new(ops);
    for (c, client) in clients.iter().enumerate() {
        // Client c takes the operations c, c + 3, c + 6, …, three at a time.
        let queue: Rc<RefCell<VecDeque<usize>>> =
            Rc::new(RefCell::new((c..total).step_by(3).collect()));
        for _lane in 0..3 {
            let (client, ops, outcomes, started, allowed, queue) = (
                client.clone(),
                ops.clone(),
                outcomes.clone(),
                started.clone(),
                allowed.clone(),
                queue.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                loop {
                    while *started.borrow() >= *allowed.borrow() {
                        sleep(10).await;
                    }
                    let Some(index) = queue.borrow_mut().pop_front() else { break };
                    *started.borrow_mut() += 1;
                    let (op, key) = ops[index].clone();
                    let result = match op {
                        Op::Mutation => client
                            .mutation::<_, String>("ledger:add", &json!({ "key": key }))
                            .await
                            .map(drop),
                        Op::Action => client
                            .action::<_, String>("ledger:act", &json!({ "key": key }))
                            .await
                            .map(drop),
                    };
                    outcomes.borrow_mut().insert(key, (op, result.map_err(|e| e.to_string())));
                }
            });
        }
    }

    // The fault schedule.
    let t0 = js_sys::Date::now();
    let (mut drops, mut restarts, mut closes, mut stalls, mut delays) = (0u64, 0u64, 0u64, 0, 0);
    let mut down_ms = Vec::new();
    while drops < drops_wanted || restarts < restarts_wanted {
        sleep(10 + rng.below(40) as u32).await;
        if restarts < restarts_wanted
            && drops >= (restarts + 1) * drops_wanted / (restarts_wanted + 1)
        {
            let reply = faults::control("/restart").await;
            down_ms.push(reply["downMs"].as_u64().unwrap_or_default());
            restarts += 1;
        } else if drops < drops_wanted {
            let mode = if rng.below(2) == 0 { "close" } else { "abort" };
            let reply =
                faults::control(&format!("/drop?mode={mode}&minAge={}", 200 + rng.below(600)))
                    .await;
            let dropped = reply["dropped"].as_u64().unwrap_or_default();
            drops += dropped;
            if mode == "close" {
                closes += dropped;
            }
            // Now and then, after a drop, the network also stalls or slows down for a moment.
            match (dropped, rng.below(10)) {
                (0, _) => {}
                (_, 0) => {
                    faults::control(&format!("/stall?ms={}", 100 + rng.below(700))).await;
                    stalls += 1;
                }
                (_, 1) => {
                    faults::control("/delay?ms=40&for=500").await;
                    delays += 1;
                }
                _ => {}
            }
        }
        *allowed.borrow_mut() = ((drops + 1) as usize * total / drops_wanted.max(1) as usize) + 3;
    }
    *allowed.borrow_mut() = usize::MAX;
    let faults_ms = js_sys::Date::now() - t0;

    // None silently lost: every operation reports back.
    wait_until("every operation reported back to the app", Duration::from_secs(120), || {
        outcomes.borrow().len() == total
    })
    .await;
    let total_ms = js_sys::Date::now() - t0;

    // The database, straight from the devserver.
    let mut server = None;
    let deadline = js_sys::Date::now() + 30_000.0;
    while server.is_none() {
        assert!(js_sys::Date::now() < deadline, "the devserver did not answer ledger:list");
        server = faults::query("ledger:list").await;
        if server.is_none() {
            sleep(50).await;
        }
    }
    let server: Vec<String> =
        server.and_then(|list| serde_json::from_value(list).ok()).expect("ledger:list: strings");
    let server: Vec<String> = server.into_iter().filter(|k| k.contains(&run)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for key in &server {
        *counts.entry(key.as_str()).or_default() += 1;
    }
    // Every operation has reported (checked above): nothing changes them any more.
    let outcomes = outcomes.take();
    let mut failures = Vec::new();
    let (mut ok, mut err, mut act_ok, mut act_err) = (0, 0, 0, 0);
    for (key, (op, result)) in outcomes.iter() {
        let n = counts.get(key.as_str()).copied().unwrap_or(0);
        match (op, result) {
            (Op::Mutation, Ok(())) => ok += 1,
            (Op::Mutation, Err(_)) => err += 1,
            (Op::Action, Ok(())) => act_ok += 1,
            (Op::Action, Err(_)) => act_err += 1,
        }
        if result.is_ok() && n != 1 {
            failures.push(format!("{op:?} {key} succeeded but is in the database {n} times"));
        }
        if result.is_err() && n > 1 {
            failures.push(format!("{op:?} {key} failed and is in the database {n} times"));
        }
    }
    for key in counts.keys() {
        if !outcomes.contains_key(*key) {
            failures.push(format!("{key} is in the database but was never sent"));
        }
    }
    let errors: Vec<String> = outcomes
        .iter()
        .filter_map(|(k, (op, r))| r.as_ref().err().map(|e| format!("{op:?} {k}: {e}")))
        .take(5)
        .collect();
    let summary = format!(
        "faults: {ok} mutations ok, {err} failed; {act_ok} actions ok, {act_err} failed; {drops} drops \
         ({closes} with a close frame), {restarts} restarts (down {down_ms:?} ms), {stalls} stalls, \
         {delays} delay windows; faults over {:.1} s, all settled after {:.1} s; first errors: {errors:?}",
        faults_ms / 1000.0,
        total_ms / 1000.0
    );
    web_sys::console::log_1(&summary.clone().into());
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n"));
    // Mutations are re-sent until they are answered: none may fail from faults alone.
    assert_eq!(err, 0, "{summary}");

    // Every client's subscription converges on the server's state.
    let mut expected = server.clone();
    expected.sort();
    wait_until("every client's ledger equals the server's", Duration::from_secs(60), || {
        views.iter().all(|v| {
            v.borrow().as_ref().is_some_and(|keys| {
                let mut mine: Vec<String> =
                    keys.iter().filter(|k| k.contains(&run)).cloned().collect();
                mine.sort();
                mine == expected
            })
        })
    })
    .await;
}
