// The official client's benchmark page (bundled with esbuild into dist/js/bench.js).
import { ConvexClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";
import { installBench } from "./common.js";

const item = makeFunctionReference("bench:item");
let client = null;
let calls = 0;
const unsubscribes = [];

installBench({
  name: "convex-js",
  setup() {
    client = new ConvexClient("https://bench-fake.convex.cloud", { unsavedChangesWarning: false });
  },
  subscribe(first, n) {
    for (let i = first; i < first + n; i++) {
      unsubscribes.push(
        client.onUpdate(item, { i }, (value) => {
          if (value !== undefined) calls++;
        }),
      );
    }
  },
  callbacks: () => calls,
});
