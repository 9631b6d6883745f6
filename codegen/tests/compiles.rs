//! The snapshot of the generated module (see `snapshot.rs`) compiles, and its types carry
//! values to and from Convex's wire form as the validators say.

#[allow(clippy::all)]
mod generated {
    include!("snapshots/every_validator.rs");
}

use generated::{api, tables};
use yew_convex::{
    function::FunctionRef,
    value::{from_value, to_value, Bytes, Id, Value},
};

fn wire<T: serde::Serialize>(value: &T) -> serde_json::Value {
    to_value(value).unwrap().to_json().unwrap()
}

fn back<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
    from_value(Value::from_json(&json).unwrap()).unwrap()
}

#[test]
fn references_carry_the_paths() {
    assert_eq!(api::posts::list.path(), "posts:list");
    assert_eq!(api::admin::users::remove.path(), "admin/users:remove");
    assert_eq!(api::weird_module::r#type.path(), "weird-module:type");
    let _: FunctionRef<_, api::files::UploadArgs, api::files::UploadReturn> = api::files::upload;
}

#[test]
fn structs_use_the_wire_names_and_skip_absent_optionals() {
    let args = api::posts::CreateArgs { body: "b".into(), draft: None, title: "t".into() };
    assert_eq!(wire(&args), serde_json::json!({"body": "b", "title": "t"}));
    let args = api::weird_module::TypeArgs {
        _2fa: true,
        foo_bar: "camel".into(),
        foo_bar2: "snake".into(),
        self_: 1.5,
        r#type: "t".into(),
    };
    assert_eq!(
        wire(&args),
        serde_json::json!({"2fa": true, "fooBar": "camel", "foo_bar": "snake", "self": 1.5, "type": "t"})
    );
}

#[test]
fn results_decode_from_the_wire() {
    let item: Vec<api::posts::PostsDoc> = back(serde_json::json!([{
        "_id": "z43zp6c3e75gkmz1kfwj6mbbx5sw281h", "_creationTime": 1.0,
        "title": "Hi", "status": "in-review"
    }]));
    assert_eq!(item[0].status, api::posts::PostsDocStatus::InReview);
    assert_eq!(item[0].tags, None);
    let id: &Id<tables::Posts> = &item[0].id;
    assert_eq!(id.as_str(), "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");

    let missing: Option<api::posts::GetReturn> = back(serde_json::json!(null));
    assert_eq!(missing, None);
    let bad = from_value::<Vec<api::posts::PostsDoc>>(
        Value::from_json(&serde_json::json!([{"_id": "x", "_creationTime": 1.0, "title": "Hi", "status": "gone"}]))
            .unwrap(),
    );
    assert!(bad.is_err(), "a literal outside the union is refused");

    let out: api::files::UploadReturn = back(serde_json::json!({
        "count": {"$integer": "AQAAAAAAAAA="}, "checksum": {"$bytes": "AQI="}
    }));
    assert_eq!((out.count, out.checksum), (1, Bytes(vec![1, 2])));

    let mixed: Vec<api::weird_module::TypeReturn> =
        back(serde_json::json!([1.5, "s", {"kind": "x"}, [1.0, 2.0]]));
    assert_eq!(
        mixed,
        vec![
            api::weird_module::TypeReturn::Number(1.5),
            api::weird_module::TypeReturn::String("s".into()),
            api::weird_module::TypeReturn::Object(api::weird_module::TypeReturnObject {
                kind: api::weird_module::TypeReturnObjectKind::X
            }),
            api::weird_module::TypeReturn::Array(vec![1.0, 2.0]),
        ]
    );
}

#[test]
fn int64_and_bytes_arguments_use_convex_encodings() {
    let args = api::files::UploadArgs {
        data: Bytes(vec![1, 2]),
        meta: [("k".to_string(), Value::from("v"))].into_iter().collect(),
        size: 1,
    };
    assert_eq!(
        wire(&args),
        serde_json::json!({"data": {"$bytes": "AQI="}, "meta": {"k": "v"}, "size": {"$integer": "AQAAAAAAAAA="}})
    );
}

#[test]
fn paginated_functions_use_the_library_pagination_types() {
    use yew_convex::function::{PaginationOpts, PaginationResult};
    let args =
        api::posts::ListPaginatedArgs { author: None, pagination_opts: PaginationOpts::first(5) };
    assert_eq!(
        wire(&args),
        serde_json::json!({"paginationOpts": {"numItems": 5.0, "cursor": null}})
    );
    let page: PaginationResult<api::posts::ListPaginatedReturnItem> = back(serde_json::json!({
        "page": [{"title": "a"}], "isDone": false, "continueCursor": "c",
        "splitCursor": null, "pageStatus": null
    }));
    assert_eq!((page.page.len(), page.is_done, page.continue_cursor.as_str()), (1, false, "c"));
    let _: yew_convex::function::QueryRef<
        api::posts::ListPaginatedArgs,
        PaginationResult<api::posts::ListPaginatedReturnItem>,
    > = api::posts::list_paginated;
}
