package local_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

func aidreamsWith(t *testing.T, cfg local.Config) *local.Client {
	t.Helper()
	m, err := model.LoadLlama2C(shareddata.Path(t, "models/aidreams260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(shareddata.Path(t, "models/aidreams260K_tok512.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return local.New(m, tok, cfg)
}

// waitIdle polls c.Busy for up to d.
func waitIdle(c *local.Client, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !c.Busy() {
			return true
		}
	}
	return !c.Busy()
}

// A caller that stops consuming its stream (a client that never reads its
// socket) must not hold the engine: another request still gets answered.
func TestStalledStreamDoesNotHoldEngine(t *testing.T) {
	c := aidreams(t)
	release := make(chan struct{})
	streamDone := make(chan error, 1)
	first := make(chan struct{})
	go func() {
		once := false
		_, err := c.GenerateStream(context.Background(), llm.Request{PromptIDs: []int{1}, MaxTokens: 100, N: 4, Temperature: 1}, func(int, llm.Token) error {
			if !once {
				once = true
				close(first)
				<-release // the socket write that never returns
			}
			return nil
		})
		streamDone <- err
	}()
	<-first
	other := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Generate(context.Background(), llm.Request{Prompt: "Echoes", MaxTokens: 10})
		other <- err
	}()
	select {
	case err := <-other:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("other request answered in %v while a stream was stalled", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Error("another request waited more than 2 s behind a stalled stream")
		close(release)
		<-other
		<-streamDone
		return
	}
	close(release)
	if err := <-streamDone; err != nil {
		t.Errorf("stream: %v", err)
	}
}

// stories is the 260K-parameter model with a 512-token context and no
// tokenizer: 32 sequences of 500 tokens take about 3.5 s.
func stories(t *testing.T) *local.Client {
	t.Helper()
	m, err := model.LoadLlama2C(shareddata.Path(t, "models/stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return local.New(m, nil, local.Config{})
}

// A caller that goes away stops its batch: the engine is idle within 1 s,
// though the generation asked for takes about 3.5 s here. (Setting up the
// sequences, about 10 ms each here, is not interruptible: model.Generate
// checks its context once per decoding step. That is one reason MaxSeqs
// is 256 by default.)
func TestCancelledRequestFreesEngine(t *testing.T) {
	c := stories(t)
	for _, stream := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		req := llm.Request{PromptIDs: []int{1}, MaxTokens: 500, N: 32, Temperature: 1}
		errc := make(chan error, 1)
		go func() {
			var err error
			if stream {
				_, err = c.GenerateStream(ctx, req, func(int, llm.Token) error { return nil })
			} else {
				_, err = c.Generate(ctx, req)
			}
			errc <- err
		}()
		for !c.Busy() {
			time.Sleep(time.Millisecond)
		}
		// Into decoding on an idle machine (setup is a few ms a sequence
		// there; on a loaded one the cancel may land in the setup, which
		// still ends well within the second).
		time.Sleep(100 * time.Millisecond)
		select {
		case err := <-errc:
			cancel()
			t.Skipf("stream %v: the whole generation finished (err %v) before the caller could go away; nothing to measure", stream, err)
		default:
		}
		cancel()
		at := time.Now()
		if !waitIdle(c, time.Second) {
			t.Errorf("stream %v: engine still busy 1 s after the caller went away", stream)
		}
		t.Logf("stream %v: idle %v after the caller went away", stream, time.Since(at))
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("stream %v: err = %v, want context.Canceled", stream, err)
		}
	}
}

func TestSequenceCap(t *testing.T) {
	c := aidreamsWith(t, local.Config{MaxSeqs: 8})
	_, err := c.Generate(context.Background(), llm.Request{PromptIDs: []int{1}, MaxTokens: 2, N: 9})
	var inv *llm.InvalidRequestError
	if !errors.As(err, &inv) {
		t.Errorf("n above MaxSeqs: err = %v, want an InvalidRequestError", err)
	}
}
