// The router's view of Clerk: `beforeLoad` reads the signed-in user from here, and waits for
// Clerk to load first (the Rust router holds a navigation that needs auth the same way).

export function createAuthState() {
  let state = { isLoaded: false, userId: null };
  let waiting = [];
  return {
    get current() {
      return state;
    },
    set(next) {
      state = next;
      if (next.isLoaded) {
        for (const resolve of waiting) resolve(next);
        waiting = [];
      }
    },
    /** Resolves with the auth state once Clerk has loaded. */
    loaded() {
      return state.isLoaded ? Promise.resolve(state) : new Promise((r) => waiting.push(r));
    },
  };
}
