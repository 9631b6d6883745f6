// posts:list returns Vec<PostsDoc>: reading it as Vec<String> does not compile.
mod generated {
    include!("../snapshots/every_validator.rs");
}
use generated::api;
use yew_convex::{sync::LocalStore, value::ValueError};

fn edit(store: &mut LocalStore<'_>) {
    let titles: Option<Result<Vec<String>, ValueError>> =
        store.get(api::posts::list, &api::posts::ListArgs {});
    let _ = titles;
}

fn main() {}
