package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/llm"
)

// fakeServer answers with the choice it holds and records the request.
type fakeServer struct {
	choice llm.Choice
	got    llm.Request
}

func (f *fakeServer) Generate(_ context.Context, req llm.Request) (llm.Response, error) {
	f.got = req
	return llm.Response{Choices: []llm.Choice{f.choice}}, nil
}

func TestProbeTokenIDs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		choice llm.Choice
		want   string // "" for no error, else a fragment of it
	}{
		{"ids and logprobs", llm.Choice{TokenIDs: []int{5}, Logprobs: []float64{-1}}, ""},
		{"text only", llm.Choice{Text: "x"}, "without token ids"},
		{"ids without logprobs", llm.Choice{TokenIDs: []int{5}}, "without a logprob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &fakeServer{choice: tc.choice}
			pol := TokenPolicy{Client: srv, Tok: func(s string) []int { return []int{len(s)} }}
			err := ProbeTokenIDs(context.Background(), pol)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if !srv.got.Logprobs || len(srv.got.PromptIDs) != 1 || srv.got.PromptIDs[0] != 5 {
				t.Errorf("request %+v: want logprobs and the prompt as ids", srv.got)
			}
		})
	}
}

// tokServer is a policy with a tokenizer of its own (as llm/local is).
type tokServer struct{ fakeServer }

func (tokServer) Tokenize(s string) []int { return []int{len(s)} }

func TestNewTokenPolicy(t *testing.T) {
	t.Parallel()
	// A policy with its own tokenizer uses it, whatever the file says.
	p, err := NewTokenPolicy(&tokServer{}, "")
	if err != nil || len(p.Tokenize("abc")) != 1 || p.Tokenize("abc")[0] != 3 {
		t.Fatalf("own tokenizer: %v, %v", p.Tokenize("abc"), err)
	}
	// A server gets the tokenizer file's ids.
	p, err = NewTokenPolicy(&fakeServer{}, "../examples/base/tokenizer.json")
	if err != nil || len(p.Tokenize("the city")) == 0 {
		t.Fatalf("tokenizer file: %v, %v", p.Tokenize("the city"), err)
	}
	if _, err := NewTokenPolicy(&fakeServer{}, ""); err == nil || !strings.Contains(err.Error(), "--tokenizer is required") {
		t.Errorf("a server without a tokenizer file: %v", err)
	}
	if _, err := NewTokenPolicy(&fakeServer{}, "testdata/missing.json"); err == nil {
		t.Error("a missing tokenizer file: no error")
	}
}
