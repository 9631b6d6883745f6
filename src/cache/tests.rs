//! The cache core with a fake clock: the runtime is played by hand (fetches answered,
//! subscriptions fed), so every rule is checked without a browser.

use std::{rc::Rc, time::Duration};

use serde_json::json;

use super::*;
use crate::value::Value;

type Cache = QueryCache<&'static str>;

fn key(j: serde_json::Value) -> QueryKey {
    QueryKey::from_serialize(&j).expect("key")
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn convex_key(path: &str) -> QueryKey {
    QueryKey::convex_query(path, Value::Object(Default::default()))
}

/// Drains events.
fn events(cache: &mut Cache) -> Vec<CacheEvent<&'static str>> {
    std::iter::from_fn(|| cache.poll_event()).collect()
}

fn fetches(events: &[CacheEvent<&'static str>]) -> Vec<FetchId> {
    events
        .iter()
        .filter_map(|e| match e {
            CacheEvent::Fetch { fetch, .. } => Some(*fetch),
            _ => None,
        })
        .collect()
}

fn value_of(cache: &Cache, k: &QueryKey) -> Option<i64> {
    cache.get_query_data(k).and_then(|d| d.as_any().downcast_ref::<i64>().copied())
}

#[test]
fn concurrent_fetches_of_one_key_are_deduplicated() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = key(json!(["todos"]));
    let _a = cache.observe(&k, None, Some("fetch todos"), secs(0.0));
    let _b = cache.observe(&k, None, Some("fetch todos"), secs(0.0));
    assert!(cache.hold(&k, Some("fetch todos"), None, FetchMode::IfStale, secs(0.0)));
    let ev = events(&mut cache);
    assert_eq!(fetches(&ev).len(), 1, "one run for two observers and a one-off fetch");
    assert_eq!(cache.state(&k).map(|s| s.fetch_status), Some(FetchStatus::Fetching));
    cache.fetch_succeeded(fetches(&ev)[0], data(1i64), secs(0.5));
    let ev = events(&mut cache);
    assert!(ev.contains(&CacheEvent::Settled { key: k.clone() }));
    assert_eq!(value_of(&cache, &k), Some(1));
    assert_eq!(cache.state(&k).map(|s| s.status), Some(QueryStatus::Success));
}

#[test]
fn stale_time_decides_refetch_on_mount_and_gc_time_removes_unobserved_entries() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = key(json!(["user", 1]));
    let fresh =
        QueryOptions { stale_time: StaleTime::After(secs(10.0)), ..QueryOptions::default() };
    let a = cache.observe(&k, Some(fresh), Some("f"), secs(0.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(7i64), secs(1.0));
    events(&mut cache);
    // Within stale_time, a new observer does not refetch; after it, it does.
    let b = cache.observe(&k, Some(fresh), Some("f"), secs(10.9));
    assert!(fetches(&events(&mut cache)).is_empty());
    assert!(!cache.is_stale(&k, fresh.stale_time, secs(10.9)));
    let c = cache.observe(&k, Some(fresh), Some("f"), secs(11.0));
    let f = fetches(&events(&mut cache));
    assert_eq!(f.len(), 1, "stale at 1 s + 10 s");
    cache.fetch_succeeded(f[0], data(7i64), secs(11.5));
    events(&mut cache);
    for o in [a, b, c] {
        cache.unobserve(o, secs(20.0));
    }
    // gc_time (5 min) after the last observer left.
    assert_eq!(cache.poll_timeout(), Some(secs(320.0)));
    cache.handle_timeout(secs(319.9));
    assert_eq!(value_of(&cache, &k), Some(7));
    cache.handle_timeout(secs(320.0));
    assert!(events(&mut cache).contains(&CacheEvent::Removed { key: k.clone() }));
    assert_eq!(cache.state(&k).map(|_| ()), None);
}

#[test]
fn failures_retry_three_times_with_doubling_delays_then_error() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = key(json!(["flaky"]));
    cache.observe(&k, None, Some("f"), secs(0.0));
    let mut now = secs(0.0);
    let mut delays = Vec::new();
    for attempt in 0..4 {
        let f = fetches(&events(&mut cache));
        assert_eq!(f.len(), 1, "attempt {attempt}");
        cache.fetch_failed(f[0], QueryError::msg("boom"), now);
        let ev = events(&mut cache);
        if attempt < 3 {
            let state = cache.state(&k).expect("entry");
            assert_eq!(state.status, QueryStatus::Pending, "no error while retrying");
            assert_eq!(state.fetch_status, FetchStatus::Fetching);
            assert_eq!(state.failure_count, attempt + 1);
            let at = cache.poll_timeout().expect("a retry");
            delays.push(at - now);
            now = at;
            cache.handle_timeout(now);
        } else {
            assert!(ev.contains(&CacheEvent::Settled { key: k.clone() }));
        }
    }
    assert_eq!(delays, vec![secs(1.0), secs(2.0), secs(4.0)]);
    let state = cache.state(&k).expect("entry");
    assert_eq!(state.status, QueryStatus::Error);
    assert_eq!(state.error, Some(QueryError::msg("boom")));
    assert_eq!(state.error_update_count, 1);
    assert_eq!(state.fetch_status, FetchStatus::Idle);
    assert_eq!(Retry::default().delay(10), secs(30.0), "capped at 30 s");
}

#[test]
fn invalidate_by_prefix_refetches_what_is_in_use_and_marks_the_rest_stale() {
    let mut cache = Cache::new(CacheConfig::default());
    let (a, b, other) = (key(json!(["posts", 1])), key(json!(["posts", 2])), key(json!(["users"])));
    let never = QueryOptions { stale_time: StaleTime::Never, ..QueryOptions::default() };
    for (k, f) in [(&a, "a"), (&b, "b"), (&other, "o")] {
        let o = cache.observe(k, Some(never), Some(f), secs(0.0));
        let id = fetches(&events(&mut cache))[0];
        cache.fetch_succeeded(id, data(1i64), secs(0.0));
        if k == &b {
            cache.unobserve(o, secs(0.0));
        }
    }
    events(&mut cache);
    cache.invalidate(&key(json!(["posts"])), secs(1.0));
    let ev = events(&mut cache);
    let fetched: Vec<&QueryKey> = ev
        .iter()
        .filter_map(|e| match e {
            CacheEvent::Fetch { key, .. } => Some(key),
            _ => None,
        })
        .collect();
    assert_eq!(fetched, vec![&a], "only the observed posts entry refetches");
    assert!(cache.is_stale(&b, StaleTime::Never, secs(1.0)), "the unobserved one is stale");
    assert!(!cache.is_stale(&other, StaleTime::Never, secs(1.0)));
}

#[test]
fn an_equal_refetch_keeps_the_same_data_pointer() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = key(json!(["list"]));
    cache.observe(&k, None, Some("f"), secs(0.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(vec![1i64, 2, 3]), secs(0.0));
    let first = cache.get_query_data(&k).expect("data");
    cache.refetch(&k, secs(1.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(vec![1i64, 2, 3]), secs(1.0));
    assert!(Rc::ptr_eq(&first, &cache.get_query_data(&k).expect("data")));
    cache.refetch(&k, secs(2.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(vec![1i64, 2]), secs(2.0));
    assert!(!Rc::ptr_eq(&first, &cache.get_query_data(&k).expect("data")));
}

#[test]
fn placeholder_data_bridges_a_key_change_until_the_new_data_arrives() {
    let mut cache = Cache::new(CacheConfig::default());
    let (page1, page2) = (key(json!(["page", 1])), key(json!(["page", 2])));
    let o1 = cache.observe(&page1, None, Some("p1"), secs(0.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(1i64), secs(0.0));
    let shown = cache.get_query_data(&page1);
    // The component moves to page 2, keeping what it showed as a placeholder.
    let o2 = cache.observe(&page2, None, Some("p2"), secs(1.0));
    cache.unobserve(o1, secs(1.0));
    let view =
        ObserverView::compute(cache.state(&page2), shown.as_ref(), Placeholder::KeepPrevious);
    assert!(view.is_placeholder);
    assert_eq!(view.data.as_ref().and_then(|d| d.as_any().downcast_ref::<i64>().copied()), Some(1));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(2i64), secs(2.0));
    let view =
        ObserverView::compute(cache.state(&page2), view.data.as_ref(), Placeholder::KeepPrevious);
    assert!(!view.is_placeholder);
    assert_eq!(view.data.as_ref().and_then(|d| d.as_any().downcast_ref::<i64>().copied()), Some(2));
    // Without a placeholder, a new key shows nothing until its data arrives.
    let view = ObserverView::compute(None, view.data.as_ref(), Placeholder::None);
    assert!(view.data.is_none());
    cache.unobserve(o2, secs(3.0));
}

#[test]
fn removing_an_entry_before_it_was_added_or_twice_is_fine() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = convex_key("posts:list");
    cache.remove(&k);
    cache.convex_result(&k, Some(Ok(data(1i64))), secs(0.0));
    assert!(cache.state(&k).is_none(), "a result for a key nobody added is ignored");
    let o = cache.observe(&k, None, None, secs(0.0));
    cache.remove(&k);
    cache.remove(&k);
    cache.unobserve(o, secs(1.0));
    let ev = events(&mut cache);
    assert_eq!(ev.iter().filter(|e| matches!(e, CacheEvent::Unsubscribe { .. })).count(), 1);
    assert!(cache.state(&k).is_none());
}

#[test]
fn a_convex_subscription_lingers_after_its_last_observer_and_its_data_stays_until_gc() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = convex_key("posts:list");
    let o = cache.observe(&k, None, None, secs(0.0));
    assert_eq!(events(&mut cache), vec![CacheEvent::Subscribe { key: k.clone() }]);
    cache.convex_result(&k, Some(Ok(data(3i64))), secs(0.1));
    events(&mut cache);
    assert!(
        !cache.is_stale(&k, StaleTime::After(Duration::ZERO), secs(100.0)),
        "live: never stale"
    );
    // Leaving and coming back within the linger reuses the subscription.
    cache.unobserve(o, secs(1.0));
    cache.handle_timeout(secs(5.9));
    let o = cache.observe(&k, None, None, secs(5.9));
    assert_eq!(events(&mut cache), vec![], "no new Subscribe");
    assert_eq!(value_of(&cache, &k), Some(3), "data at once");
    // After the linger the subscription closes; the data stays until gc_time.
    cache.unobserve(o, secs(6.0));
    cache.handle_timeout(secs(10.9));
    assert!(cache.is_subscribed(&k));
    cache.handle_timeout(secs(11.0));
    let ev = events(&mut cache);
    assert!(ev.contains(&CacheEvent::Unsubscribe { key: k.clone() }));
    assert!(!cache.is_subscribed(&k));
    assert_eq!(value_of(&cache, &k), Some(3));
    assert!(cache.is_stale(&k, StaleTime::Never, secs(11.0)), "no longer live");
    // Coming back within gc_time: the data shows at once while the subscription reopens.
    let o = cache.observe(&k, None, None, secs(60.0));
    assert_eq!(events(&mut cache), vec![CacheEvent::Subscribe { key: k.clone() }]);
    assert_eq!(value_of(&cache, &k), Some(3));
    cache.unobserve(o, secs(61.0));
    cache.handle_timeout(secs(66.0));
    cache.handle_timeout(secs(61.0 + 300.0));
    assert!(cache.state(&k).is_none(), "gone after gc_time");
}

#[test]
fn a_loader_hold_opens_the_subscription_and_the_route_reuses_it() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = convex_key("posts:get");
    assert!(cache.hold(&k, None, None, FetchMode::IfMissing, secs(0.0)), "must wait");
    assert_eq!(events(&mut cache), vec![CacheEvent::Subscribe { key: k.clone() }]);
    cache.convex_result(&k, Some(Ok(data(1i64))), secs(0.1));
    assert!(events(&mut cache).contains(&CacheEvent::Settled { key: k.clone() }));
    cache.release(&k, secs(0.2));
    let _route = cache.observe(&k, None, None, secs(0.3));
    assert_eq!(events(&mut cache), vec![], "the route's component reuses it");
    assert!(!cache.hold(&k, None, None, FetchMode::IfStale, secs(0.4)), "live data: no wait");
}

#[test]
fn focus_and_reconnect_refetch_only_stale_fetched_entries_in_use() {
    let mut cache = Cache::new(CacheConfig::default());
    let stale = key(json!(["stale"]));
    let fresh = key(json!(["fresh"]));
    let unused = key(json!(["unused"]));
    let live = convex_key("users:me");
    let fresh_opts = QueryOptions { stale_time: StaleTime::Never, ..QueryOptions::default() };
    for (k, o) in [(&stale, None), (&fresh, Some(fresh_opts)), (&unused, None)] {
        let id = cache.observe(k, o, Some("f"), secs(0.0));
        let f = fetches(&events(&mut cache))[0];
        cache.fetch_succeeded(f, data(1i64), secs(0.0));
        if k == &unused {
            cache.unobserve(id, secs(0.0));
        }
    }
    cache.observe(&live, None, None, secs(0.0));
    cache.convex_result(&live, Some(Ok(data(1i64))), secs(0.0));
    events(&mut cache);
    let fetched_keys = |cache: &mut Cache| -> Vec<QueryKey> {
        events(cache)
            .into_iter()
            .filter_map(|e| match e {
                CacheEvent::Fetch { key, fetch, .. } => Some((key, fetch)),
                _ => None,
            })
            .map(|(k, f)| {
                cache.fetch_succeeded(f, data(1i64), secs(1.0));
                k
            })
            .collect()
    };
    cache.focus(secs(1.0));
    assert_eq!(fetched_keys(&mut cache), vec![stale.clone()]);
    cache.set_online(false, secs(2.0));
    cache.set_online(true, secs(3.0));
    assert_eq!(fetched_keys(&mut cache), vec![stale.clone()]);
    // With refetch_on_window_focus off, focus does nothing.
    let quiet = key(json!(["quiet"]));
    let opts = QueryOptions { refetch_on_window_focus: Refetch::Never, ..QueryOptions::default() };
    cache.observe(&quiet, Some(opts), Some("f"), secs(4.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(1i64), secs(4.0));
    cache.focus(secs(5.0));
    assert_eq!(fetched_keys(&mut cache), vec![stale]);
}

#[test]
fn offline_fetches_pause_and_resume_when_back_online() {
    let mut cache = Cache::new(CacheConfig::default());
    cache.set_online(false, secs(0.0));
    let k = key(json!(["x"]));
    cache.observe(&k, None, Some("f"), secs(0.0));
    assert!(fetches(&events(&mut cache)).is_empty());
    assert_eq!(cache.state(&k).map(|s| s.fetch_status), Some(FetchStatus::Paused));
    cache.set_online(true, secs(1.0));
    assert_eq!(fetches(&events(&mut cache)).len(), 1);
    assert_eq!(cache.state(&k).map(|s| s.fetch_status), Some(FetchStatus::Fetching));
}

#[test]
fn cancel_stops_a_fetch_and_its_answer_is_ignored() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = key(json!(["slow"]));
    cache.observe(&k, None, Some("f"), secs(0.0));
    let f = fetches(&events(&mut cache))[0];
    cache.cancel(&k);
    assert!(events(&mut cache).contains(&CacheEvent::CancelFetch { fetch: f }));
    cache.fetch_succeeded(f, data(1i64), secs(1.0));
    assert_eq!(value_of(&cache, &k), None);
    assert_eq!(cache.state(&k).map(|s| s.fetch_status), Some(FetchStatus::Idle));
}

#[test]
fn an_identity_change_drops_every_convex_entry_of_the_previous_user() {
    let mut cache = Cache::new(CacheConfig::default());
    let me = convex_key("users:me");
    let old = convex_key("posts:mine");
    let other = key(json!(["weather"]));
    let action = QueryKey::convex_action("ai:summary", Value::Object(Default::default()));
    cache.observe(&me, None, None, secs(0.0));
    let o = cache.observe(&old, None, None, secs(0.0));
    cache.convex_result(&me, Some(Ok(data(1i64))), secs(0.0));
    cache.convex_result(&old, Some(Ok(data(2i64))), secs(0.0));
    cache.unobserve(o, secs(0.0));
    cache.set_query_data(&other, data(3i64), secs(0.0));
    cache.observe(&action, None, Some("run action"), secs(0.0));
    let f = fetches(&events(&mut cache))[0];
    cache.fetch_succeeded(f, data(4i64), secs(0.0));
    events(&mut cache);
    cache.identity_changed(secs(1.0));
    let ev = events(&mut cache);
    assert_eq!(value_of(&cache, &me), None, "in use: emptied until the new user's result");
    assert!(cache.is_subscribed(&me));
    assert!(cache.state(&old).is_none(), "unused: dropped");
    assert!(ev.contains(&CacheEvent::Unsubscribe { key: old.clone() }));
    assert_eq!(value_of(&cache, &other), Some(3), "not Convex: kept");
    assert_eq!(value_of(&cache, &action), None);
    assert_eq!(fetches(&ev).len(), 1, "the action runs again as the new user");
}

#[test]
fn a_failed_convex_entry_does_not_block_a_loader_and_reset_errors_lets_it_start_over() {
    let mut cache = Cache::new(CacheConfig::default());
    let k = convex_key("posts:get");
    assert!(cache.hold(&k, None, None, FetchMode::IfMissing, secs(0.0)));
    cache.convex_result(&k, Some(Err(QueryError::msg("boom"))), secs(0.1));
    cache.release(&k, secs(0.2));
    events(&mut cache);
    assert!(
        !cache.hold(&k, None, None, FetchMode::IfMissing, secs(0.3)),
        "the error is the answer"
    );
    cache.release(&k, secs(0.3));
    cache.reset_errors();
    let ev = events(&mut cache);
    assert!(ev.contains(&CacheEvent::Unsubscribe { key: k.clone() }));
    assert!(cache.hold(&k, None, None, FetchMode::IfMissing, secs(0.4)), "a fresh subscription");
    assert_eq!(events(&mut cache), vec![CacheEvent::Subscribe { key: k.clone() }]);
}
