package llm_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/llm"
)

func TestMessageJSON(t *testing.T) {
	tests := []struct {
		name string
		msg  llm.Message
		wire string
	}{
		{name: "text", msg: llm.Message{Role: "user", Content: "hi"}, wire: `{"role":"user","content":"hi"}`},
		{name: "parts",
			msg:  llm.Message{Role: "user", Content: "Page 1\nthe end", Parts: []llm.Part{llm.TextPart("Page 1"), llm.ImagePart("data:image/png;base64,AAAA"), llm.TextPart("the end")}},
			wire: `{"role":"user","content":[{"type":"text","text":"Page 1"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"the end"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.wire {
				t.Errorf("marshal:\n got %s\nwant %s", b, tc.wire)
			}
			var back llm.Message
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.msg, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`{"role":"user","content":5}`, `{"role":"user","content":[{"type":"audio"}]}`, `{"role":"user","content":[{"type":"image_url"}]}`} {
		var m llm.Message
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
	var m llm.Message
	if err := json.Unmarshal([]byte(`{"role":"assistant","content":null}`), &m); err != nil || !cmp.Equal(m, llm.Message{Role: "assistant"}) {
		t.Errorf("null content: %+v, %v", m, err)
	}
}

// TestChatImageParts checks that the HTTP client sends image parts in the
// OpenAI vision format to /chat/completions.
func TestChatImageParts(t *testing.T) {
	var got struct {
		Messages []json.RawMessage `json:"messages"`
	}
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
		io.WriteString(w, `{"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"<answer>x</answer>"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/v1", nil)
	resp, err := c.Generate(context.Background(), llm.Request{MaxTokens: 8, Messages: []llm.Message{
		{Role: "user", Content: "look", Parts: []llm.Part{llm.TextPart("look"), llm.ImagePart("data:image/png;base64,iVBO")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/chat/completions" || resp.Choices[0].Text != "<answer>x</answer>" {
		t.Errorf("path %s, text %q", path, resp.Choices[0].Text)
	}
	want := `{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]}`
	if len(got.Messages) != 1 || string(got.Messages[0]) != want {
		t.Errorf("sent messages %s, want [%s]", got.Messages, want)
	}
}

func FuzzMessageJSON(f *testing.F) {
	for _, s := range []string{`{"role":"user","content":"hi"}`, `{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}`, `{"content":null}`, `{"content":[1]}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m llm.Message
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-marshal of %q: %v", s, err)
		}
		var back llm.Message
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode of our own %s: %v", b, err)
		}
		if back.Content != m.Content && len(m.Parts) == 0 {
			t.Fatalf("content changed: %q → %q", m.Content, back.Content)
		}
	})
}
