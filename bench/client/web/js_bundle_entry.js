// Bundle size: the official ConvexClient with one subscription and one mutation, the same
// page as rust/page-client.
import { ConvexClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";

const show = (text) => (document.body.textContent = text);
show("ready");
const client = new ConvexClient("https://bench-fake.convex.cloud");
client.onUpdate(makeFunctionReference("bench:item"), { i: 1 }, (item) => show(item.title));
client.mutation(makeFunctionReference("bench:set"), { i: 1 }).catch((e) => show(String(e)));
