//! The official Rust client (`convex` crate) against the devserver: an independent
//! implementation of the protocol agrees with ours.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::Server;
use convex::{ConvexClient, FunctionResult, Value};
use futures_util::StreamExt;

async fn next(sub: &mut convex::QuerySubscription) -> FunctionResult {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("timed out waiting for a query result")
        .expect("subscription ended")
}

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect()
}

#[tokio::test]
async fn subscribe_create_and_see_the_update() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut client = ConvexClient::new(&server.http()).await.expect("client");

    let mut posts = client.subscribe("posts:list", BTreeMap::new()).await.expect("subscribe");
    assert_eq!(next(&mut posts).await, FunctionResult::Value(Value::Array(vec![])));

    // Without auth the mutation fails with ConvexError data.
    match client
        .mutation("posts:create", args(&[("title", "Hi"), ("body", "there")]))
        .await
        .unwrap()
    {
        FunctionResult::ConvexError(e) => {
            let expected: Value =
                serde_json::json!({"code": "UNAUTHENTICATED"}).try_into().unwrap();
            assert_eq!(e.data, expected);
        }
        other => panic!("expected a ConvexError, got {other:?}"),
    }

    client.set_auth(Some(token)).await;
    let created =
        client.mutation("posts:create", args(&[("title", "Hi"), ("body", "there")])).await.unwrap();
    let FunctionResult::Value(Value::String(id)) = created else { panic!("{created:?}") };
    assert_eq!(id.len(), 32);

    match next(&mut posts).await {
        FunctionResult::Value(Value::Array(items)) => {
            assert_eq!(items.len(), 1);
            let Value::Object(post) = &items[0] else { panic!("{items:?}") };
            assert_eq!(post.get("_id"), Some(&Value::String(id)));
            assert_eq!(post.get("title"), Some(&Value::from("Hi")));
            assert_eq!(post.get("authorName"), Some(&Value::from("Alice")));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn set_auth_changes_users_me() {
    let server = Server::start();
    let alice = server.token("alice", "Alice").await;
    let bob = server.token("bob", "Bob").await;
    let mut client = ConvexClient::new(&server.http()).await.expect("client");
    let mut me = client.subscribe("users:me", BTreeMap::new()).await.expect("subscribe");
    assert_eq!(next(&mut me).await, FunctionResult::Value(Value::Null));

    for (token, subject) in [(alice, "alice"), (bob, "bob")] {
        client.set_auth(Some(token)).await;
        match next(&mut me).await {
            FunctionResult::Value(Value::Object(fields)) => {
                assert_eq!(fields.get("subject"), Some(&Value::from(subject)));
            }
            other => panic!("{other:?}"),
        }
    }
    client.set_auth(None).await;
    assert_eq!(next(&mut me).await, FunctionResult::Value(Value::Null));
}

#[tokio::test]
async fn values_round_trip_through_the_official_client() {
    let server = Server::start();
    let mut client = ConvexClient::new(&server.http()).await.expect("client");
    let samples = vec![
        Value::Null,
        Value::Int64(-(1 << 60)),
        Value::Float64(f64::NAN),
        Value::Float64(-0.0),
        Value::Float64(f64::INFINITY),
        Value::Float64(1.5),
        Value::Boolean(true),
        Value::String("é😀".into()),
        Value::Bytes(vec![0, 1, 2, 255]),
        Value::Array(vec![Value::Int64(1), Value::Null]),
        Value::Object(BTreeMap::from([("nested".to_string(), Value::Array(vec![]))])),
    ];
    for sample in samples {
        let result = client
            .query("values:echo", BTreeMap::from([("value".to_string(), sample.clone())]))
            .await
            .unwrap();
        match (&result, &sample) {
            (FunctionResult::Value(Value::Float64(a)), Value::Float64(b)) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{sample:?}")
            }
            (FunctionResult::Value(v), _) => assert_eq!(v, &sample),
            other => panic!("{other:?}"),
        }
    }
}
