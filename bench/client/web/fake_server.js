// An in-page stand-in for the Convex sync server. `install()` replaces `globalThis.WebSocket`
// with a fake class before a client is created; both clients (the official one directly, ours
// through web-sys, which calls the global constructor) then talk to it. It answers Connect and
// ModifyQuerySet (one Transition with every added query's value) and Mutation; the benchmark
// hands pre-built Transition texts straight to the socket's `onmessage`.

import { encodeTs, transitionText } from "./workload.js";

/** The ts of the first Transition; each later one adds 1. */
export const FIRST_TS = 1000;

export class FakeServer {
  constructor() {
    /** The state version the client has after the last Transition sent. */
    this.version = { querySet: 0, identity: 0, ts: 0 };
    this.socket = null;
    /** How many client messages of each type arrived. */
    this.received = {};
    this.querySet = 0;
    this.pendingAdds = [];
    this.replyScheduled = false;
    this.nextTs = FIRST_TS;
    this.sentInitial = 0;
    this.openWaiters = [];
  }

  install() {
    const server = this;
    class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.readyState = FakeWebSocket.CONNECTING;
        this.binaryType = "blob";
        this.protocol = "";
        this.extensions = "";
        this.bufferedAmount = 0;
        this.onopen = null;
        this.onmessage = null;
        this.onclose = null;
        this.onerror = null;
        server.accept(this);
      }
      send(text) {
        server.receive(this, text);
      }
      close() {
        this.readyState = FakeWebSocket.CLOSED;
      }
      addEventListener() {}
      removeEventListener() {}
    }
    for (const [name, value] of [["CONNECTING", 0], ["OPEN", 1], ["CLOSING", 2], ["CLOSED", 3]]) {
      FakeWebSocket[name] = value;
      FakeWebSocket.prototype[name] = value;
    }
    globalThis.WebSocket = FakeWebSocket;
  }

  accept(ws) {
    this.socket = ws;
    setTimeout(() => {
      ws.readyState = 1;
      if (ws.onopen) ws.onopen({ type: "open" });
      for (const resolve of this.openWaiters.splice(0)) resolve();
    }, 0);
  }

  /** Resolves once the socket is open. */
  opened() {
    if (this.socket && this.socket.readyState === 1) return Promise.resolve();
    return new Promise((resolve) => this.openWaiters.push(resolve));
  }

  receive(ws, text) {
    const message = JSON.parse(text);
    this.received[message.type] = (this.received[message.type] || 0) + 1;
    if (message.type === "ModifyQuerySet") {
      if (message.baseVersion !== this.querySet) {
        throw new Error(`ModifyQuerySet from ${message.baseVersion}, server at ${this.querySet}`);
      }
      this.querySet = message.newVersion;
      for (const m of message.modifications) {
        if (m.type === "Add") this.pendingAdds.push({ queryId: m.queryId, i: m.args[0].i });
      }
      this.scheduleReply();
    } else if (message.type === "Mutation") {
      const ts = this.nextTs++;
      setTimeout(() => {
        this.send(
          JSON.stringify({
            type: "MutationResponse",
            requestId: message.requestId,
            success: true,
            result: null,
            ts: encodeTs(ts),
            logLines: [],
          }),
        );
        this.sendTransition([], ts);
      }, 0);
    }
  }

  scheduleReply() {
    if (this.replyScheduled) return;
    this.replyScheduled = true;
    setTimeout(() => {
      this.replyScheduled = false;
      const adds = this.pendingAdds.splice(0);
      this.sentInitial += adds.length;
      this.sendTransition(adds.map(({ queryId, i }) => ({ queryId, i, rev: 0 })), this.nextTs++);
    }, 0);
  }

  sendTransition(updates, ts) {
    const end = { querySet: this.querySet, identity: 0, ts };
    const text = transitionText(this.version, end, updates);
    this.version = end;
    this.send(text);
  }

  send(text) {
    this.socket.onmessage({ data: text });
  }

  /** Hands a pre-built text to the client, as the browser would on a WebSocket frame. */
  deliver(text) {
    this.socket.onmessage({ data: text });
  }
}
