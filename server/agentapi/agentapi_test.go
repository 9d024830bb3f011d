package agentapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/agent"
)

const question = "Where was the founder of Varnel Labs born?"

func post(t *testing.T, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func chatBody(model string, stream bool, extra string) string {
	q, _ := json.Marshal(question)
	s := `{"model":"` + model + `","messages":[{"role":"system","content":"be brief"},{"role":"user","content":` + string(q) + `}]`
	if stream {
		s += `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return s + extra + "}"
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(newServer(t, newScript(), Config{}))
	defer ts.Close()
	resp, body := post(t, ts.URL, chatBody("sleuth-searchr1", false, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message      chatMessage `json:"message"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
		Usage     usage      `json:"usage"`
		Citations []Citation `json:"citations"`
		Sleuth    Outcome    `json:"sleuth"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || got.Model != "sleuth-searchr1" || len(got.Choices) != 1 || got.Choices[0].FinishReason != "stop" {
		t.Fatalf("response %s", body)
	}
	want := "Tarsk\n\nPassages read:\n[1] Varnel Labs <https://example.org/varnel> (id p1)\n[2] Ada Quill <https://example.org/ada> (id p2)"
	if d := cmp.Diff(want, *got.Choices[0].Message.Content); d != "" {
		t.Errorf("content (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Citation{{1, "p1", "Varnel Labs", "https://example.org/varnel"}, {2, "p2", "Ada Quill", "https://example.org/ada"}}, got.Citations); d != "" {
		t.Errorf("citations (-want +got):\n%s", d)
	}
	if e := got.Sleuth.Episode; e.Status != agent.Answered || e.Ledger.Searches != 2 || e.Ledger.Turns != 3 || got.Sleuth.V != agent.EventsVersion {
		t.Errorf("outcome %+v", got.Sleuth)
	}
	if got.Usage.CompletionTokens == 0 || got.Usage.TotalTokens != got.Usage.PromptTokens+got.Usage.CompletionTokens {
		t.Errorf("usage %+v", got.Usage)
	}
}

// readSSE returns the data lines of a stream, [DONE] included.
func readSSE(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		} else if sc.Text() != "" {
			t.Errorf("unexpected stream line %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type chunkJSON struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta        chatMessage `json:"delta"`
		FinishReason *string     `json:"finish_reason"`
	} `json:"choices"`
	Usage     *usage             `json:"usage"`
	Citations []Citation         `json:"citations"`
	Sleuth    *agent.EventRecord `json:"sleuth"`
	Error     *apiError          `json:"error"`
}

func TestStream(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(newServer(t, newScript(), Config{}))
	defer ts.Close()
	resp, body := post(t, ts.URL, chatBody("sleuth-searchr1", true, ""))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	lines := readSSE(t, strings.NewReader(string(body)))
	if len(lines) == 0 || lines[len(lines)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", lines)
	}
	var types []string
	var content, reasoning strings.Builder
	var finish string
	var gotUsage *usage
	var cites []Citation
	for i, l := range lines[:len(lines)-1] {
		var c chunkJSON
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("chunk %d: %v: %s", i, err, l)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d object %q", i, c.Object)
		}
		if c.Sleuth != nil {
			if c.Sleuth.Seq != len(types) || c.Sleuth.V != agent.EventsVersion {
				t.Errorf("chunk %d: record seq %d v %d, want seq %d", i, c.Sleuth.Seq, c.Sleuth.V, len(types))
			}
			types = append(types, string(c.Sleuth.Type))
		}
		if len(c.Choices) == 1 {
			if c.Choices[0].Delta.Content != nil {
				content.WriteString(*c.Choices[0].Delta.Content)
			}
			reasoning.WriteString(c.Choices[0].Delta.ReasoningContent)
			if f := c.Choices[0].FinishReason; f != nil {
				finish = *f
			}
		}
		if c.Usage != nil {
			gotUsage = c.Usage
		}
		cites = append(cites, c.Citations...)
	}
	if d := cmp.Diff([]string{"start", "tool_call", "turn", "tool_call", "turn", "turn", "done"}, types); d != "" {
		t.Errorf("event records (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(content.String(), "Tarsk\n\nPassages read:\n[1] Varnel Labs") || finish != "stop" || len(cites) != 2 {
		t.Errorf("content %q, finish %q, citations %v", content.String(), finish, cites)
	}
	wantReasoning := "search \"Varnel Labs founder\" → Varnel Labs\nI need the founder first.\n" +
		"search \"Ada Quill born\" → Varnel Labs; Ada Quill\nAda Quill founded it. Now where she was born.\nTarsk.\n"
	if d := cmp.Diff(wantReasoning, reasoning.String()); d != "" {
		t.Errorf("reasoning (-want +got):\n%s", d)
	}
	if gotUsage == nil || gotUsage.CompletionTokens == 0 {
		t.Errorf("no usage chunk")
	}
}

// TestFirstEventIsImmediate checks the start record reaches the client
// before the policy's first turn returns.
func TestFirstEventIsImmediate(t *testing.T) {
	t.Parallel()
	pol := newScript()
	pol.block = make(chan struct{})
	ts := httptest.NewServer(newServer(t, pol, Config{}))
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(chatBody("sleuth-searchr1", true, "")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(line, `"type":"start"`) || !strings.Contains(line, `"role":"assistant"`) {
		t.Errorf("first line %s", line)
	}
	close(pol.block)
}

func TestBudget(t *testing.T) {
	t.Parallel()
	own := agent.Budget{MaxTurns: 6, TurnTokens: 256, MaxTokens: 2048, MaxToolCalls: 5, MaxWall: 2 * time.Minute}
	ip := func(v int) *int { return &v }
	fp := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		lim  Limits
		req  chatRequest
		want agent.Budget
		err  string
	}{
		{name: "preset's own", want: own},
		{name: "lower", req: chatRequest{Sleuth: &Ask{MaxTurns: ip(2), MaxToolCalls: ip(1), MaxTokens: ip(100), MaxSeconds: fp(1.5)}},
			want: agent.Budget{MaxTurns: 2, TurnTokens: 256, MaxTokens: 100, MaxToolCalls: 1, MaxWall: 1500 * time.Millisecond}},
		{name: "raise is capped at the preset", req: chatRequest{Sleuth: &Ask{MaxTurns: ip(60), MaxSeconds: fp(1e9)}}, want: own},
		{name: "raise within limits", lim: Limits{MaxTurns: 10, MaxWall: time.Hour}, req: chatRequest{Sleuth: &Ask{MaxTurns: ip(8), MaxSeconds: fp(600)}},
			want: agent.Budget{MaxTurns: 8, TurnTokens: 256, MaxTokens: 2048, MaxToolCalls: 5, MaxWall: 10 * time.Minute}},
		{name: "limits below the preset cap the default", lim: Limits{MaxToolCalls: 2, MaxWall: time.Second},
			want: agent.Budget{MaxTurns: 6, TurnTokens: 256, MaxTokens: 2048, MaxToolCalls: 2, MaxWall: time.Second}},
		{name: "max_completion_tokens", req: chatRequest{MaxCompletionTokens: ip(300), MaxTokens: ip(5)},
			want: agent.Budget{MaxTurns: 6, TurnTokens: 256, MaxTokens: 300, MaxToolCalls: 5, MaxWall: 2 * time.Minute}},
		{name: "zero turns", req: chatRequest{Sleuth: &Ask{MaxTurns: ip(0)}}, err: "sleuth.max_turns"},
		{name: "negative seconds", req: chatRequest{Sleuth: &Ask{MaxSeconds: fp(-1)}}, err: "sleuth.max_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := budget(own, tt.lim, tt.req)
			if tt.err != "" {
				if err == nil || err.Param == nil || *err.Param != tt.err {
					t.Fatalf("error %v, want one on %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("budget (-want +got):\n%s", d)
			}
		})
	}
}

func TestRequestBudgetReachesEpisode(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(newServer(t, newScript(), Config{}))
	defer ts.Close()
	resp, body := post(t, ts.URL, chatBody("sleuth-searchr1", false, `,"sleuth":{"max_turns":1}`))
	var got struct {
		Choices []struct {
			Message      chatMessage `json:"message"`
			FinishReason string      `json:"finish_reason"`
		} `json:"choices"`
		Sleuth Outcome `json:"sleuth"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v: %s", resp.StatusCode, err, body)
	}
	if got.Sleuth.Episode.Status != agent.OverBudget || got.Sleuth.Budget.MaxTurns != 1 || got.Choices[0].FinishReason != "length" ||
		!strings.HasPrefix(*got.Choices[0].Message.Content, "No answer within the budget") {
		t.Errorf("response %s", body)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	failing := newScript()
	failing.fail = errBackend
	tests := []struct {
		name   string
		cfg    Config
		pol    *script
		method string
		path   string
		body   string
		header []string
		status int
		want   string
	}{
		{name: "unknown model", body: chatBody("gpt-4", false, ""), status: 404, want: "model_not_found"},
		{name: "no user message", body: `{"model":"sleuth-rag","messages":[{"role":"system","content":"x"}]}`, status: 400, want: "no user message"},
		{name: "misspelt budget", body: chatBody("sleuth-rag", false, `,"sleuth":{"max_turn":3}`), status: 400, want: "unknown field"},
		{name: "bad content", body: `{"model":"sleuth-rag","messages":[{"role":"user","content":7}]}`, status: 400, want: "content must be"},
		{name: "trailing data", body: chatBody("sleuth-rag", false, "") + "{}", status: 400, want: "trailing data"},
		{name: "too big", cfg: Config{MaxBodyBytes: 64}, body: chatBody("sleuth-rag", false, ""), status: 413, want: "exceeds"},
		{name: "long question", cfg: Config{MaxQuestion: 10}, body: chatBody("sleuth-rag", false, ""), status: 400, want: "at most 10"},
		{name: "backend fails", pol: failing, body: chatBody("sleuth-searchr1", false, ""), status: 502, want: "backend down"},
		{name: "wrong method", method: http.MethodGet, path: "/v1/chat/completions", status: 405, want: "not allowed"},
		{name: "no route", method: http.MethodGet, path: "/v2", status: 404, want: "no route"},
		{name: "no key", cfg: Config{APIKey: "k"}, body: chatBody("sleuth-rag", false, ""), status: 401, want: "invalid_api_key"},
		{name: "wrong key", cfg: Config{APIKey: "k"}, body: chatBody("sleuth-rag", false, ""), header: []string{"Authorization", "Bearer x"}, status: 401, want: "invalid_api_key"},
		{name: "right key", cfg: Config{APIKey: "k"}, body: chatBody("sleuth-searchr1", false, ""), header: []string{"Authorization", "Bearer k"}, status: 200, want: "Tarsk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pol := tt.pol
			if pol == nil {
				pol = newScript()
			}
			ts := httptest.NewServer(newServer(t, pol, tt.cfg))
			defer ts.Close()
			method, path := tt.method, tt.path
			if method == "" {
				method, path = http.MethodPost, "/v1/chat/completions"
			}
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(tt.body))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("status %d, body %s; want %d with %q", resp.StatusCode, b, tt.status, tt.want)
			}
		})
	}
}

// TestStreamedFailure: a backend failure mid-stream is an OpenAI error
// event, which clients raise.
func TestStreamedFailure(t *testing.T) {
	t.Parallel()
	pol := newScript()
	pol.fail = errBackend
	ts := httptest.NewServer(newServer(t, pol, Config{}))
	defer ts.Close()
	_, body := post(t, ts.URL, chatBody("sleuth-searchr1", true, ""))
	lines := readSSE(t, strings.NewReader(string(body)))
	if len(lines) < 3 || !strings.Contains(lines[len(lines)-2], `"error":{"message":"the episode failed`) || lines[len(lines)-1] != "[DONE]" {
		t.Errorf("stream %q", lines)
	}
}

func TestOverloadIs429(t *testing.T) {
	t.Parallel()
	pol := newScript()
	pol.block = make(chan struct{})
	srv := newServer(t, pol, Config{MaxConcurrent: 1, MaxQueued: 1})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 { // one running, one queued
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(chatBody("sleuth-searchr1", true, "")))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); len(srv.admit) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two requests were never admitted")
		}
	}
	resp, body := post(t, ts.URL, chatBody("sleuth-searchr1", false, `,"sleuth":{"max_seconds":1}`))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third request: %d %s, want 429 with Retry-After", resp.StatusCode, body)
	}
	cancel()
	close(pol.block)
}

func TestModels(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(newServer(t, newScript(), Config{}))
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Data []modelCard `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got.Data {
		ids = append(ids, m.ID)
	}
	if d := cmp.Diff([]string{"sleuth-rag", "sleuth-searchr1"}, ids); d != "" {
		t.Errorf("models (-want +got):\n%s", d)
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	sys := testSystems(t, newScript(), "rag")
	for name, systems := range map[string][]System{
		"none":      nil,
		"duplicate": {sys[0], sys[0]},
		"no id":     {{Preset: sys[0].Preset, Policy: sys[0].Policy}},
		"no policy": {{Model: "m", Preset: sys[0].Preset}},
	} {
		if _, err := New(systems, Config{}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// FuzzParseChat: any body is answered with a request or a 400, never a
// panic, and a question is always within bounds.
func FuzzParseChat(f *testing.F) {
	f.Add([]byte(chatBody("sleuth-searchr1", true, `,"sleuth":{"max_turns":2,"max_seconds":1.5}`)))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"}]}]}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		req, q, err := parseChat(body, 256)
		if err != nil {
			if err.Status != http.StatusBadRequest {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		if q == "" || len(q) > 256 {
			t.Fatalf("question %q", q)
		}
		if _, err := budget(agent.Budget{MaxTurns: 4, MaxTokens: 100, MaxToolCalls: 3, MaxWall: time.Minute}, Limits{}, req); err != nil && err.Status != http.StatusBadRequest {
			t.Fatalf("budget status %d", err.Status)
		}
	})
}
