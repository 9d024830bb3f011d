package local_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

func aidreams(t *testing.T) *local.Client {
	t.Helper()
	m, err := model.LoadLlama2C(shareddata.Path(t, "models/aidreams260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/aidreams260K_tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return local.New(m, tok, local.Config{Name: "aidreams"})
}

func TestGreedyText(t *testing.T) {
	c := aidreams(t)
	resp, err := c.Generate(context.Background(), llm.Request{Prompt: "", MaxTokens: 40, Temperature: 0, Logprobs: true})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	// The model opens its poem with a quotation mark (token 319 is ` "`).
	if !strings.HasPrefix(strings.TrimPrefix(ch.Text, `"`), "Echoes of vectors unfold") {
		t.Errorf("greedy text = %q, want it to begin %q", ch.Text, "Echoes of vectors unfold")
	}
	if len(ch.TokenIDs) != len(ch.Logprobs) || len(ch.TokenIDs) != len(ch.Tokens) || len(ch.TokenIDs) == 0 {
		t.Fatalf("ids %d, logprobs %d, tokens %d", len(ch.TokenIDs), len(ch.Logprobs), len(ch.Tokens))
	}
	if got := strings.Join(ch.Tokens, ""); !strings.HasPrefix(got, ch.Text) {
		t.Errorf("token texts %q do not spell the text %q", got, ch.Text)
	}
	for i, lp := range ch.Logprobs {
		if lp > 0 {
			t.Errorf("logprob %d = %g > 0", i, lp)
		}
	}
	if resp.PromptIDs[0] != 1 {
		t.Errorf("prompt %v does not start with BOS", resp.PromptIDs)
	}
}

func TestSamplingAndStops(t *testing.T) {
	c := aidreams(t)
	seed := int64(7)
	req := llm.Request{Prompt: "Echoes", MaxTokens: 20, Temperature: 0.9, N: 3, Seed: &seed}
	a, err := c.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Generate(context.Background(), req)
	for i := range a.Choices {
		if a.Choices[i].Text != b.Choices[i].Text {
			t.Errorf("seeded choice %d differs: %q vs %q", i, a.Choices[i].Text, b.Choices[i].Text)
		}
	}
	greedy, _ := c.Generate(context.Background(), llm.Request{Prompt: "", MaxTokens: 40})
	full := greedy.Choices[0].Text
	stop := "vectors"
	cut, err := c.Generate(context.Background(), llm.Request{Prompt: "", MaxTokens: 40, Stop: []string{stop}})
	if err != nil {
		t.Fatal(err)
	}
	if want := full[:strings.Index(full, stop)]; cut.Choices[0].Text != want || cut.Choices[0].FinishReason != "stop" {
		t.Errorf("with stop %q: %q (%s), want %q (stop)", stop, cut.Choices[0].Text, cut.Choices[0].FinishReason, want)
	}
}

func TestInvalidRequests(t *testing.T) {
	c := aidreams(t)
	for _, req := range []llm.Request{
		{PromptIDs: []int{1, 99999}, MaxTokens: 2},
		{PromptIDs: make([]int, 5000), MaxTokens: 2},
		{Prompt: "x", MaxTokens: 0},
	} {
		_, err := c.Generate(context.Background(), req)
		if _, ok := err.(*llm.InvalidRequestError); !ok {
			t.Errorf("request %+v: err = %v, want an InvalidRequestError", req.MaxTokens, err)
		}
	}
}

// TestBatchingKeepsEachRequestsSamples: requests that share a batch get
// exactly the samples they get alone.
func TestBatchingKeepsEachRequestsSamples(t *testing.T) {
	c := aidreams(t)
	alone := make([]string, 8)
	req := func(i int) llm.Request {
		seed := int64(100 + i)
		return llm.Request{Prompt: []string{"Echoes", "The", "A gentle"}[i%3], MaxTokens: 12, Temperature: 1, N: 2, Seed: &seed, Logprobs: true}
	}
	for i := range alone {
		r, err := c.Generate(context.Background(), req(i))
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = r.Choices[0].Text + "|" + r.Choices[1].Text
	}
	var wg sync.WaitGroup
	together := make([]string, 8)
	for i := range together {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Generate(context.Background(), req(i))
			if err != nil {
				t.Error(err)
				return
			}
			together[i] = r.Choices[0].Text + "|" + r.Choices[1].Text
		}()
	}
	wg.Wait()
	for i := range alone {
		if alone[i] != together[i] {
			t.Errorf("request %d: alone %q, batched %q", i, alone[i], together[i])
		}
	}
}

func TestStream(t *testing.T) {
	c := aidreams(t)
	var got strings.Builder
	resp, err := c.GenerateStream(context.Background(), llm.Request{PromptIDs: []int{1}, MaxTokens: 20}, func(i int, tok llm.Token) error {
		got.WriteString(tok.Text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Choices[0].Text, got.String()[:10]) || got.Len() < 20 {
		t.Errorf("streamed %q, response %q", got.String(), resp.Choices[0].Text)
	}
}
