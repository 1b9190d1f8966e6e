// Calls the gateway with the JavaScript clients people use, and prints what each one got, as one JSON line.
// Run by tests/node/test_node_clients.py with GATEWAY_URL, GATEWAY_KEY and MODEL set.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, tool } from "ai";
import OpenAI from "openai";
import { z } from "zod";

const { GATEWAY_URL, GATEWAY_KEY, MODEL } = process.env;
const results = {};

// The `openai` npm package: the Responses API (plain, streamed, chained) and chat completions.
const client = new OpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: GATEWAY_KEY, maxRetries: 0 });
const created = await client.responses.create({ model: MODEL, input: "hello there" });
results.openai_responses_create = created.output_text;
const stream = client.responses.stream({ model: MODEL, input: "hello there" });
let streamed = "";
for await (const event of stream) {
  if (event.type === "response.output_text.delta") streamed += event.delta;
}
results.openai_responses_stream = streamed;
const final = await stream.finalResponse();
results.openai_responses_stream_final = final.output.flatMap((item) => item.content ?? []).map((c) => c.text).join("");
const chained = await client.responses.create({ model: MODEL, input: "and again", previous_response_id: created.id });
results.openai_responses_chained = chained.output_text;
const chat = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hello there" }] });
results.openai_chat = chat.choices[0].message.content;

// The Vercel AI SDK's default provider: `openai(model)` speaks the Responses API.
const openai = createOpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: GATEWAY_KEY });
results.ai_generate = (await generateText({ model: openai(MODEL), prompt: "hello there" })).text;
let parts = "";
for await (const part of streamText({ model: openai(MODEL), prompt: "hello there" }).textStream) parts += part;
results.ai_stream = parts;
const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }) });
const called = await generateText({ model: openai(MODEL), prompt: "weather in Paris?", tools: { get_weather: weather } });
results.ai_tool_calls = called.toolCalls.map((call) => [call.toolName, typeof call.input.city]);
const streamedCall = streamText({ model: openai(MODEL), prompt: "weather in Paris?", tools: { get_weather: weather } });
results.ai_streamed_tool_calls = (await streamedCall.toolCalls).map((call) => [call.toolName, typeof call.input.city]);

console.log(JSON.stringify(results));
