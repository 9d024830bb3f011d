package tinker

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/model"
)

var tinyConfig = model.Config{Dim: 16, HiddenDim: 32, Layers: 1, Heads: 2, KVHeads: 2, Vocab: 50, SeqLen: 16,
	RopeTheta: 10000, NormEps: 1e-5, TiedEmbeddings: true, BOS: -1, EOS: -1}

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.NewRandom(tinyConfig, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newTestServer(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	if cfg.Base == nil {
		cfg.Base = func(name string) (*model.Model, error) {
			if name != "tiny" {
				return nil, errUnknownBase
			}
			return tinyModel(t), nil
		}
	}
	ts := httptest.NewServer(NewServer(cfg))
	t.Cleanup(ts.Close)
	return ts
}

var errUnknownBase = &httpError{http.StatusBadRequest, "unknown base"}

// TestClientMatchesTrainer drives the same micro-batches through an
// in-process trainer and through a Client against a Server: losses,
// logprobs, gradient norms, learning rates and the weights after every
// step agree bit for bit, and SaveState/LoadState go back exactly.
func TestClientMatchesTrainer(t *testing.T) {
	ts := newTestServer(t, Config{})
	tc := model.DefaultTrainConfig(2, tinyConfig.SeqLen)
	tc.WarmupSteps, tc.DecaySteps, tc.GradClip = 2, 5, 0.5
	local, err := model.NewTrainer(tinyModel(t), tc, 0)
	if err != nil {
		t.Fatal(err)
	}
	mirror := tinyModel(t)
	clear(mirror.Params) // Dial must fill it from the server
	c, err := Dial(context.Background(), ts.URL, "", "tiny", mirror, tc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mirror.Params, local.Model.Params) {
		t.Fatal("Dial did not copy the server's weights")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batch := func(B, T int, nilWeights bool) (tok, tgt []int, w []float32) {
		tok, tgt = make([]int, B*T), make([]int, B*T)
		if !nilWeights {
			w = make([]float32, B*T)
		}
		for i := range tok {
			tok[i], tgt[i] = rng.IntN(tinyConfig.Vocab), rng.IntN(tinyConfig.Vocab)
			if i%T >= T-2 {
				tgt[i] = -1 // padding
			} else if w != nil {
				w[i] = rng.Float32() / float32(B*T)
			}
		}
		return tok, tgt, w
	}
	var learners = []struct {
		name string
		l    interface {
			SetShape(B, T int) error
			ForwardBackward(tokens, targets []int, weights []float32) (float64, error)
			Loss(tokens, targets []int, weights []float32) (float64, error)
			TokenLogprobs() []float32
			OptimStep() (model.UpdateStats, error)
		}
	}{{"local", local}, {"tinker", c}}
	for step := range 4 {
		if step == 2 {
			if err := c.SaveState(context.Background(), "mid"); err != nil {
				t.Fatal(err)
			}
		}
		B, T := 1+step%2, 8+4*(step%2)
		tok, tgt, w := batch(B, T, step == 1)
		var losses [2]float64
		var logps [2][]float32
		var stats [2]model.UpdateStats
		for i, l := range learners {
			if err := l.l.SetShape(B, T); err != nil {
				t.Fatal(err)
			}
			if _, err := l.l.Loss(tok, tgt, w); err != nil {
				t.Fatal(err)
			}
			logps[i] = slices.Clone(l.l.TokenLogprobs())
			if losses[i], err = l.l.ForwardBackward(tok, tgt, w); err != nil {
				t.Fatalf("%s: %v", l.name, err)
			}
			if stats[i], err = l.l.OptimStep(); err != nil {
				t.Fatalf("%s: %v", l.name, err)
			}
		}
		if losses[0] != losses[1] || stats[0] != stats[1] || !slices.Equal(logps[0], logps[1]) {
			t.Fatalf("step %d: loss %v, stats %+v, logprobs equal %v", step, losses, stats, slices.Equal(logps[0], logps[1]))
		}
		if !slices.Equal(local.Model.Params, mirror.Params) {
			t.Fatalf("step %d: the mirrored weights differ from the in-process trainer's", step)
		}
	}
	if err := c.LoadState(context.Background(), "mid"); err != nil {
		t.Fatal(err)
	}
	if c.step != 2 {
		t.Errorf("LoadState: step %d, want 2", c.step)
	}
	if slices.Equal(local.Model.Params, mirror.Params) {
		t.Error("LoadState left the weights of the last step")
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Loss(make([]int, c.B*c.T), make([]int, c.B*c.T), nil); err == nil || !strings.Contains(err.Error(), "model not found") {
		t.Errorf("a call after Close: %v, want model not found", err)
	}
}

// TestServerRefuses sends bad requests: each gets a 4xx JSON error and
// the server keeps answering.
func TestServerRefuses(t *testing.T) {
	ts := newTestServer(t, Config{MaxSessions: 1, MaxModels: 1, MaxBodyBytes: 4096})
	post := func(op, body string) (int, string) {
		resp, err := http.Post(ts.URL+API+op, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e errorBody
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Detail
	}
	var sess createSessionResponse
	resp, err := http.Post(ts.URL+API+"create_session", "application/json", strings.NewReader(`{"tags":[],"sdk_version":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	var cm createModelResponse
	resp, err = http.Post(ts.URL+API+"create_model", "application/json", strings.NewReader(`{"session_id":"`+sess.SessionID+`","base_model":"tiny","lora_config":{"rank":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&cm)
	resp.Body.Close()
	if cm.ModelID == "" {
		t.Fatal("create_model answered no model id")
	}
	row := func(tokens, targets string) string {
		return `{"model_input":{"chunks":[{"type":"encoded_text","tokens":` + tokens + `}]},"loss_fn_inputs":{"target_tokens":{"data":` + targets + `}}}`
	}
	fb := func(loss string, data ...string) string {
		return `{"model_id":"` + cm.ModelID + `","forward_backward_input":{"loss_fn":"` + loss + `","data":[` + strings.Join(data, ",") + `]}}`
	}
	for _, tc := range []struct {
		name, op, body string
		status         int
		detail         string
	}{
		{"not JSON", "create_session", `{"tags":`, 422, "bad request body"},
		{"too big", "create_session", `{"tags":["` + strings.Repeat("x", 5000) + `"]}`, 413, "body over"},
		{"second session", "create_session", `{"tags":[],"sdk_version":"t"}`, 503, "sessions open"},
		{"unknown session", "create_model", `{"session_id":"nope","base_model":"tiny","lora_config":{"rank":0}}`, 404, "session not found"},
		{"second model", "create_model", `{"session_id":"` + sess.SessionID + `","base_model":"tiny","lora_config":{"rank":0}}`, 503, "models held"},
		{"unknown model", "forward_backward", `{"model_id":"nope","forward_backward_input":{"loss_fn":"cross_entropy","data":[]}}`, 404, "model not found"},
		{"unknown future", "retrieve_future", `{"request_id":"999"}`, 404, "future not found"},
		{"bad adam", "optim_step", `{"model_id":"` + cm.ModelID + `","adam_params":{"learning_rate":1e-3,"beta1":1.5,"beta2":0.9,"eps":1e-8}}`, 422, "adam_params"},
		{"bad path", "save_weights", `{"model_id":"` + cm.ModelID + `","path":"../x"}`, 422, "path must match"},
		{"bad load path", "load_weights", `{"model_id":"` + cm.ModelID + `","path":"/etc/passwd"}`, 400, "tinker://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, detail := post(tc.op, tc.body)
			if status != tc.status || !strings.Contains(detail, tc.detail) {
				t.Errorf("got %d %q, want %d with %q", status, detail, tc.status, tc.detail)
			}
		})
	}
	// Refusals found while running are the future's: 400 from retrieve_future.
	for _, tc := range []struct{ name, body, detail string }{
		{"ppo loss", fb("ppo", row("[1,2]", "[2,3]")), "not served"},
		{"ragged rows", fb("cross_entropy", row("[1,2]", "[2,3]"), row("[1]", "[2]")), "rows of one length"},
		{"token outside the vocabulary", fb("cross_entropy", row("[1,99]", "[2,3]")), "vocabulary"},
		{"targets too short", fb("cross_entropy", row("[1,2]", "[2]")), "target_tokens"},
		{"too long", fb("cross_entropy", row("["+strings.Repeat("1,", 20)+"1]", "[2]")), "over 16 tokens"},
		{"unknown checkpoint", `{"model_id":"` + cm.ModelID + `","path":"tinker://` + cm.ModelID + `/weights/none"}`, "checkpoint not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := "forward_backward"
			if strings.Contains(tc.body, `"path"`) {
				op = "load_weights"
			}
			resp, err := http.Post(ts.URL+API+op, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var fr futureResponse
			json.NewDecoder(resp.Body).Decode(&fr)
			resp.Body.Close()
			status, detail := post("retrieve_future", `{"request_id":"`+fr.RequestID+`"}`)
			if status != 400 || !strings.Contains(detail, tc.detail) {
				t.Errorf("got %d %q, want 400 with %q", status, detail, tc.detail)
			}
		})
	}
	if resp, err := http.Get(ts.URL + API + "healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the refusals: %v %v", resp, err)
	}
}

// FuzzDecodeBatch feeds forward_backward_input bodies to the decoder: it
// returns a batch of consistent shape or an error, never panics.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(`{"loss_fn":"cross_entropy","data":[{"model_input":{"chunks":[{"type":"encoded_text","tokens":[1,2,3]}]},"loss_fn_inputs":{"target_tokens":{"data":[2,3,-1]},"weights":{"data":[0.5,0.5,0]}}}]}`)
	f.Add(`{"loss_fn":"cross_entropy","data":[{"model_input":{"chunks":[{"tokens":[1]},{"tokens":[4]}]},"loss_fn_inputs":{"target_tokens":{"data":[4,5]}}}]}`)
	f.Add(`{"loss_fn":"ppo","data":[]}`)
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 1<<16 {
			return
		}
		var in passInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		b, err := decodeBatch(in, 50, 16, 8)
		if err != nil {
			return
		}
		n := b.B * b.T
		if b.B < 1 || b.B > 8 || b.T < 1 || b.T > 16 || len(b.tokens) != n || len(b.targets) != n || len(b.weights) != n {
			t.Fatalf("inconsistent batch %d×%d: %d, %d, %d", b.B, b.T, len(b.tokens), len(b.targets), len(b.weights))
		}
	})
}
