// Build-time settings (Vite env variables), with the Rust demo's defaults (demo/src/app.rs).
import { anyApi } from 'convex/server';

/** Where the backend is (`VITE_CONVEX_URL`; default: the local devserver). */
export const CONVEX_URL = import.meta.env.VITE_CONVEX_URL || 'http://127.0.0.1:3210';
/** Clerk's publishable key (`VITE_CLERK_PUBLISHABLE_KEY`; default: the devserver's stand-in). */
export const CLERK_PUBLISHABLE_KEY =
  import.meta.env.VITE_CLERK_PUBLISHABLE_KEY || 'pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA';
/** Clerk's proxy (`VITE_CLERK_PROXY_URL`, empty for none; default: `/__clerk` on this origin). */
export const CLERK_PROXY_URL = import.meta.env.VITE_CLERK_PROXY_URL ?? '/__clerk';
/** The clerk-js and @clerk/ui the Rust side pins (src/clerk/urls.rs), loaded at run time from
 *  `<proxy or Frontend API>/npm/@clerk/…@<version>/dist/…`, never bundled. */
export const CLERK_JS_VERSION = '6.40.0';
export const CLERK_UI_VERSION = '1.36.0';

export const APP = 'yew-convex';
/** Posts per page of the list (and per "Load more"). */
export const PAGE_SIZE = 30;

/** The backend's functions by name (`api.posts.list` is "posts:list"), as Convex's generated
 *  `api.js` does without types. */
export const api = anyApi;
