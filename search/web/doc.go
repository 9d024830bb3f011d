// Package web puts real web search APIs (SearXNG, Brave, Serper, Tavily)
// behind search.Retriever, with what an agent that searches the live web
// needs around them: a persistent SQLite cache, per-provider rate limits,
// bounded retries, a cost ledger, and record/replay snapshots that make a
// run's web results reproducible offline.
//
// # Providers
//
// New(name, Config) returns a *Client for one provider. Each query of a batch
// becomes one HTTP request (queries run concurrently, Config.Concurrency at a
// time, all through the provider's token bucket). A result becomes a
// search.Hit whose Passage has ID = URL, Title = result title, Text = the
// snippet, and Meta["url"], Meta["provider"] (and Meta["provider_score"] when
// the provider scores results). Hit.Score is the reciprocal rank 1/(rank+1),
// so lists are in descending score order as Retriever requires whatever the
// provider's own scale; results without a URL and repeated URLs are dropped
// and each list is cut to k. The request and response shapes were checked
// against each provider's documentation on 2026-11-25:
//
//   - SearXNG (docs.searxng.org, docs/dev/search_api.rst "Search API"):
//     GET {base}/search?q=…&format=json&pageno=1, no authentication; the
//     json format must be enabled in the instance's settings.yml
//     (search.formats), otherwise it answers 403. Response
//     {"query","number_of_results","results":[{"url","title","content",
//     "engine","engines","score","category",…}],"answers","corrections",
//     "infoboxes","suggestions","unresponsive_engines"}. There is no result
//     count parameter: page 1 (about 20 results) is cut to k.
//   - Brave (api-dashboard.search.brave.com/api-reference/web/search/get and
//     api.search.brave.com/app/documentation/web-search/responses):
//     GET {base}/res/v1/web/search?q=…&count=k with headers
//     X-Subscription-Token and Accept: application/json; count is at most
//     20. Response WebSearchApiResponse {"type":"search","query":{…},
//     "web":{"type":"search","results":[{"title","url","description",
//     "extra_snippets",…}]},…}; "web" is absent when there are no web results.
//     Titles and descriptions carry <strong> highlighting and HTML entities;
//     the parser removes the highlight tags and decodes the entities.
//   - Serper (google.serper.dev OpenAPI description, /search webSearch):
//     POST {base}/search with JSON {"q","num"} and headers X-API-KEY and
//     Content-Type: application/json; num is at most 100. Response
//     {"searchParameters":{…},"knowledgeGraph":{…},"organic":[{"title",
//     "link","snippet","position",…}],"peopleAlsoAsk","relatedSearches",
//     "credits"}.
//   - Tavily (docs.tavily.com/documentation/api-reference/endpoint/search):
//     POST {base}/search with header Authorization: Bearer tvly-… and JSON
//     {"query","max_results","search_depth":"basic","include_answer":false,
//     "include_raw_content":false}; max_results is at most 20. search_depth
//     is sent explicitly because "advanced" (or auto_parameters choosing it)
//     costs two credits. Response {"query","answer","images","results":
//     [{"title","url","content","score","raw_content","favicon"}],
//     "response_time","request_id"}.
//
// API keys come from Config.APIKey or, when empty, BRAVE_API_KEY,
// SERPER_API_KEY and TAVILY_API_KEY. Config.BaseURL replaces the provider's
// root URL (tests point it at a loopback httptest server).
//
// # Retries and rate limits
//
// Every HTTP attempt first takes a token from the provider's bucket
// (Config.QPS, Config.Burst). A 429, a 5xx or a connection error is retried
// up to Retry.MaxAttempts attempts in all, sleeping base·2^n with jitter
// (uniform in [d/2, d], at most Retry.MaxDelay) or the server's Retry-After
// (seconds or an HTTP date) when it sends one. A Retry-After longer than
// Retry.MaxRetryAfter fails at once rather than stalling a rollout. Other
// statuses (400, 401, 403, …) fail at once. A failed query's error names the
// provider, the query, the attempts made and the last status or error; it
// wraps a *StatusError when the last answer was an HTTP status.
//
// # Cost
//
// A Ledger counts requests sent (retries included), queries answered,
// cache hits, retries, failures, dollars and provider latency with atomic
// counters. The client charges Config.Ledger (run totals) and the ledger a
// caller puts in the context with WithLedger (an agent's per-episode budget),
// so one shared client serves many episodes that each see their own cost.
// SearchWithCost wraps one call that way and returns its Cost.
// Dollars are charged per successful request at Config.PricePer1000, which
// defaults to 0: set it from your plan.
//
// # Cache
//
// OpenCache opens a SQLite file (pure Go, modernc.org/sqlite) mapping
// provider + normalised query (trimmed, whitespace collapsed, lower-cased) +
// k to the parsed results. Entries live for the TTL (default 7 days, as
// DeepResearcher uses); a hit sends no request and costs nothing but a
// CacheHits count. It is safe for concurrent use and across processes.
//
// # Record and replay
//
// A Snapshot is a content-addressed directory: DIR/objects/<sha256> holds
// bodies, DIR/index.jsonl maps (kind, key) to a hash, one JSON line per Put,
// the last line for a key winning. Search results are kind "search"; the
// fetch package stores pages in the same snapshot under its own kind.
// Recorder wraps any Retriever and stores each query's hits; Replayer serves
// them back from the snapshot alone, byte for byte, with no network and no
// cost, and fails with an error wrapping ErrNotRecorded and naming the query
// for anything the recording lacks. Get verifies each object's hash, so a
// damaged snapshot fails loudly instead of replaying different results.
package web
