//! The same calls as `tests/compile_fail/`, with the right types, compile (so the failures
//! there come from the types alone).

#[allow(clippy::all, dead_code)]
mod generated {
    include!("snapshots/every_validator.rs");
}
use generated::api;
use yew_convex::{sync::LocalStore, value::ValueError};

#[allow(dead_code)]
fn edit(store: &mut LocalStore<'_>) -> Result<(), ValueError> {
    let id = yew_convex::value::Id::new("z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
    let post: Option<Result<Option<api::posts::GetReturn>, ValueError>> =
        store.get(api::posts::get, &api::posts::GetArgs { id });
    let list = store.get(api::posts::list, &api::posts::ListArgs {});
    if let Some(Ok(mut items)) = list {
        items.truncate(1);
        store.set(api::posts::list, &api::posts::ListArgs {}, Some(&items))?;
    }
    let _ = post;
    Ok(())
}

#[test]
fn right_types_compile() {}
