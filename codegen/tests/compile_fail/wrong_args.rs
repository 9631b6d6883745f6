// posts:get takes GetArgs: CreateArgs does not compile.
mod generated {
    include!("../snapshots/every_validator.rs");
}
use generated::api;
use yew_convex::sync::LocalStore;

fn edit(store: &mut LocalStore<'_>) {
    let args = api::posts::CreateArgs { body: String::new(), draft: None, title: String::new() };
    let _ = store.get(api::posts::get, &args);
}

fn main() {}
