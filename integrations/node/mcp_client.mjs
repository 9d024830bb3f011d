// Drives `sleuth mcp` with the official MCP TypeScript SDK as an agent host
// would: list tools, search, a bad argument, fetch, research with progress,
// and research cancelled after its first progress notification.
// Usage: node mcp_client.mjs stdio COMMAND PAGE_URL   (COMMAND serves MCP on stdio)
//        node mcp_client.mjs http URL PAGE_URL
// Prints one JSON object with what it saw; the Go test checks it.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, target, pageURL] = process.argv.slice(2);
let stderr = "";
let transport;
if (mode === "stdio") {
  transport = new StdioClientTransport({
    command: target,
    args: ["-test.run=^$"],
    env: { ...process.env, SLEUTH_MCP_CHILD: "1" },
    stderr: "pipe",
  });
  transport.stderr.on("data", (d) => (stderr += d));
} else {
  transport = new StreamableHTTPClientTransport(new URL(target));
}
const client = new Client({ name: "sleuth-test", version: "1.0.0" });
await client.connect(transport);
const out = {};

out.tools = (await client.listTools()).tools.map((t) => t.name).sort();

const s = await client.callTool({ name: "search", arguments: { query: "Ada Quill born", k: 2 } });
out.search = s.structuredContent;

const bad = await client.callTool({ name: "search", arguments: { query: "Ada", k: "many" } });
out.bad = { isError: bad.isError ?? false, text: bad.content?.[0]?.text ?? "" };

const f = await client.callTool({ name: "fetch", arguments: { url: pageURL } });
out.fetch = { isError: f.isError ?? false, page: f.structuredContent };

const progress = [];
const r = await client.callTool(
  { name: "research", arguments: { question: "Where was the founder of Varnel Labs born?" } },
  undefined,
  { onprogress: (p) => progress.push({ progress: p.progress, message: p.message, type: p._meta?.["sleuth/event"]?.type }) },
);
out.research = { result: r.structuredContent, text: r.content?.[0]?.text, progress };

// Cancellation: abort after the first progress notification (the episode
// has started; its policy waits until cancelled).
const ac = new AbortController();
let seen = 0;
try {
  await client.callTool({ name: "research", arguments: { question: "Block until cancelled?" } }, undefined, {
    signal: ac.signal,
    timeout: 30000,
    onprogress: () => {
      if (++seen === 1) ac.abort("the user stopped it");
    },
  });
  out.cancel = { thrown: false };
} catch (e) {
  out.cancel = { thrown: true, message: String(e?.message ?? e), progressSeen: seen };
}
// The client sends notifications/cancelled without waiting for it to go out;
// closing at once could abort that request (over HTTP).
await new Promise((r) => setTimeout(r, 1000));
if (mode === "stdio") {
  // The server logs the episode's end; wait for it to see the cancellation.
  for (let i = 0; i < 100 && !stderr.includes("status=cancelled"); i++) await new Promise((r) => setTimeout(r, 50));
  out.cancel.serverCancelled = stderr.includes("status=cancelled");
}

await client.close();
process.stdout.write(JSON.stringify(out) + "\n");
