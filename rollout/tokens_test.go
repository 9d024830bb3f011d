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
