// Drives `sleuth serve --agent` with the official OpenAI Node client, as a
// chat UI would: list the models, ask without and with streaming, set a
// budget through the extension field, ask for a model that is not there.
// Usage: node openai_agent.mjs BASE_URL API_KEY QUESTION
// Prints one JSON object with what it saw; the Go test checks it.
import OpenAI from "openai";

const [baseURL, apiKey, question] = process.argv.slice(2);
const client = new OpenAI({ baseURL: baseURL + "/v1", apiKey, maxRetries: 0, timeout: 30000 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id).sort();

const messages = [{ role: "user", content: question }];
const plain = await client.chat.completions.create({ model: "sleuth-searchr1", messages });
out.plain = {
  content: plain.choices[0].message.content,
  finish: plain.choices[0].finish_reason,
  citations: plain.citations,
  status: plain.sleuth.episode.status,
  usage: plain.usage,
};

const stream = await client.chat.completions.create({
  model: "sleuth-searchr1",
  messages,
  stream: true,
  stream_options: { include_usage: true },
});
const s = { types: [], content: "", reasoning: "", finish: null, usage: null, citations: null };
for await (const chunk of stream) {
  if (chunk.sleuth) s.types.push(chunk.sleuth.type);
  if (chunk.citations) s.citations = chunk.citations;
  if (chunk.usage) s.usage = chunk.usage;
  const c = chunk.choices[0];
  if (!c) continue;
  s.content += c.delta?.content ?? "";
  s.reasoning += c.delta?.reasoning_content ?? "";
  if (c.finish_reason) s.finish = c.finish_reason;
}
out.stream = s;

// The budget travels as an extra body field, which the client passes on.
const short = await client.chat.completions.create({ model: "sleuth-searchr1", messages, sleuth: { max_turns: 1 } });
out.budget = { finish: short.choices[0].finish_reason, max_turns: short.sleuth.budget.max_turns, status: short.sleuth.episode.status };

try {
  await client.chat.completions.create({ model: "gpt-4o", messages });
  out.missing = "no error";
} catch (e) {
  out.missing = { status: e.status, code: e.code, isNotFound: e instanceof OpenAI.NotFoundError };
}

try {
  await client.chat.completions.create({ model: "sleuth-searchr1", messages, sleuth: { max_turn: 3 } });
  out.badArg = "no error";
} catch (e) {
  out.badArg = { status: e.status, isBadRequest: e instanceof OpenAI.BadRequestError, message: e.message };
}

process.stdout.write(JSON.stringify(out) + "\n");
