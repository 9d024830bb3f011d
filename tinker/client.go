package tinker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sleuth-research/sleuth/model"
)

// Client drives a model held by a Tinker-API server as an rl.Learner.
// The optimiser's state lives on the server; the client owns the
// learning-rate schedule (Settings, Tinker's optim_step takes the rate
// per step) and, after every step, copies the server's weights into
// Policy, the local model that samples rollouts, evaluates and is saved.
// Not safe for concurrent use.
type Client struct {
	// Policy mirrors the server's weights after Dial and every OptimStep.
	Policy *model.Model

	url       string // up to and without /api/v1/
	key       string // sent as X-API-Key when set
	http      *http.Client
	modelID   string
	cfg       model.TrainConfig
	step      int
	B, T      int
	logp      []float32
	saved     map[string]savedSchedule
	synced    int
	pollLimit time.Duration
}

// savedSchedule is what SaveState keeps here beside the server's
// checkpoint: the schedule and the step it had reached.
type savedSchedule struct {
	cfg  model.TrainConfig
	step int
}

// Dial opens a session on the server at url (http://HOST:PORT), with key,
// when set, as X-API-Key (the Tinker SDK's header; sleuth serve takes it
// too), creates a
// model from base (the server's name for it: sleuth serve --tinker
// knows "builtin") to train with cfg's schedule and AdamW constants, and
// copies its weights into policy, which must have the same shape.
func Dial(ctx context.Context, url, key, base string, policy *model.Model, cfg model.TrainConfig) (*Client, error) {
	c := &Client{Policy: policy, url: strings.TrimSuffix(url, "/"), key: key, http: &http.Client{Timeout: 10 * time.Minute},
		cfg: cfg, saved: map[string]savedSchedule{}, pollLimit: 10 * time.Minute}
	var sess createSessionResponse
	if err := c.post(ctx, "create_session", createSessionRequest{Tags: []string{"sleuth"}, SDKVersion: "sleuth"}, &sess); err != nil {
		return nil, fmt.Errorf("tinker %s: %w", url, err)
	}
	var cm createModelResponse
	if err := c.post(ctx, "create_model", createModelRequest{SessionID: sess.SessionID, BaseModel: base, LoraConfig: loraConfig{Rank: 0}}, &cm); err != nil {
		return nil, fmt.Errorf("tinker %s: create_model %s: %w", url, base, err)
	}
	if cm.RequestID != "" {
		if err := c.wait(ctx, cm.RequestID, &createModelResponse{}); err != nil {
			return nil, fmt.Errorf("tinker %s: create_model %s: %w", url, base, err)
		}
	}
	c.modelID = cm.ModelID
	if err := c.sync(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ModelID is the server's id of the model trained.
func (c *Client) ModelID() string { return c.modelID }

// Settings is the schedule and AdamW constants sent with every step.
func (c *Client) Settings() *model.TrainConfig { return &c.cfg }

// SetShape makes the following micro-batches (B,T).
func (c *Client) SetShape(B, T int) error {
	if B <= 0 || T <= 0 || T > c.Policy.Config.SeqLen {
		return fmt.Errorf("tinker: shape %d×%d must be positive with T at most the model's %d", B, T, c.Policy.Config.SeqLen)
	}
	c.B, c.T = B, T
	return nil
}

// ForwardBackward sends the micro-batch as forward_backward with the
// cross_entropy loss, one datum per row.
func (c *Client) ForwardBackward(tokens, targets []int, weights []float32) (float64, error) {
	return c.pass("forward_backward", tokens, targets, weights)
}

// Loss sends the micro-batch as forward (no gradients).
func (c *Client) Loss(tokens, targets []int, weights []float32) (float64, error) {
	return c.pass("forward", tokens, targets, weights)
}

// TokenLogprobs is log p(target) per token of the last batch (0 where the
// target was ignored), as model.Trainer.TokenLogprobs.
func (c *Client) TokenLogprobs() []float32 { return c.logp }

func (c *Client) pass(op string, tokens, targets []int, weights []float32) (float64, error) {
	B, T := c.B, c.T
	if B == 0 {
		return 0, fmt.Errorf("tinker: %s before SetShape", op)
	}
	if len(tokens) != B*T || len(targets) != B*T || (weights != nil && len(weights) != B*T) {
		return 0, fmt.Errorf("tinker: batch needs %d×%d tokens, targets and weights; got %d, %d, %d", B, T, len(tokens), len(targets), len(weights))
	}
	w := weights
	if w == nil { // the mean over counted targets, as model.Trainer takes nil
		counted := 0
		for _, tg := range targets {
			if tg >= 0 {
				counted++
			}
		}
		v := float32(1 / float64(max(counted, 1)*c.cfg.AccumSteps))
		w = make([]float32, len(targets))
		for i, tg := range targets {
			if tg >= 0 {
				w[i] = v
			}
		}
	}
	in := passInput{LossFn: "cross_entropy", Data: make([]datum, B)}
	for b := range B {
		row := tokens[b*T : (b+1)*T]
		tg := make([]int, T)
		rw := make([]float32, T)
		for k := range T {
			// An ignored target goes as token 0 with weight 0, which every
			// Tinker server accepts and which adds exactly nothing.
			if t := targets[b*T+k]; t >= 0 {
				tg[k], rw[k] = t, w[b*T+k]
			}
		}
		tgJSON, _ := json.Marshal(tg)
		wJSON, _ := json.Marshal(rw)
		in.Data[b] = datum{ModelInput: modelInput{Chunks: []chunk{{Type: "encoded_text", Tokens: row}}},
			LossFnInputs: map[string]tensorData{
				"target_tokens": {Data: tgJSON, Dtype: "int64", Shape: []int{T}},
				"weights":       {Data: wJSON, Dtype: "float32", Shape: []int{T}},
			}}
	}
	var req any = forwardBackwardRequest{ModelID: c.modelID, Input: in}
	if op == "forward" {
		req = forwardRequest{ModelID: c.modelID, Input: in}
	}
	var out forwardBackwardOutput
	if err := c.call(context.Background(), op, req, &out); err != nil {
		return 0, err
	}
	if len(out.LossFnOutputs) != B {
		return 0, fmt.Errorf("tinker %s: %d outputs for %d datums", op, len(out.LossFnOutputs), B)
	}
	c.logp = c.logp[:0]
	for b, o := range out.LossFnOutputs {
		if len(o.Logprobs.Data) != T {
			return 0, fmt.Errorf("tinker %s: datum %d has %d logprobs, want %d", op, b, len(o.Logprobs.Data), T)
		}
		c.logp = append(c.logp, o.Logprobs.Data...)
	}
	for i, tg := range targets {
		if tg < 0 {
			c.logp[i] = 0
		}
	}
	loss, ok := out.Metrics[metricLoss]
	if !ok {
		return 0, fmt.Errorf("tinker %s: no %s in the metrics", op, metricLoss)
	}
	return loss, nil
}

// OptimStep sends optim_step with the schedule's rate for this step and
// the AdamW constants, then copies the new weights into Policy.
func (c *Client) OptimStep() (model.UpdateStats, error) {
	ctx := context.Background()
	lr := c.cfg.LRAt(c.step)
	p := adamParams{LearningRate: lr, Beta1: c.cfg.Beta1, Beta2: c.cfg.Beta2, Eps: c.cfg.Eps,
		WeightDecay: c.cfg.WeightDecay, GradClipNorm: c.cfg.GradClip}
	var out optimStepOutput
	if err := c.call(ctx, "optim_step", optimStepRequest{ModelID: c.modelID, AdamParams: p}, &out); err != nil {
		return model.UpdateStats{}, err
	}
	c.step++
	if err := c.sync(ctx); err != nil {
		return model.UpdateStats{}, err
	}
	// A server that reports no gradient norm (SkyRL's do not) leaves it 0.
	return model.UpdateStats{LR: lr, GradNorm: out.Metrics[metricGradNorm]}, nil
}

// SaveState saves the weights and optimiser on the server under name
// (save_weights), and the schedule here.
func (c *Client) SaveState(ctx context.Context, name string) error {
	if err := c.call(ctx, "save_weights", weightsRequest{ModelID: c.modelID, Path: name}, &weightsOutput{}); err != nil {
		return err
	}
	c.saved[name] = savedSchedule{c.cfg, c.step}
	return nil
}

// LoadState goes back to what SaveState saved under name (load_weights).
func (c *Client) LoadState(ctx context.Context, name string) error {
	s, ok := c.saved[name]
	if !ok {
		return fmt.Errorf("tinker: no state %q saved by this client", name)
	}
	path := tinkerPath{c.modelID, "weights", name}.String()
	if err := c.call(ctx, "load_weights", weightsRequest{ModelID: c.modelID, Path: path}, &weightsOutput{}); err != nil {
		return err
	}
	c.cfg, c.step = s.cfg, s.step
	return c.sync(ctx)
}

// Close unloads the model from the server (unload_model), freeing its
// place there.
func (c *Client) Close(ctx context.Context) error {
	var out unloadModelResponse
	if err := c.post(ctx, "unload_model", unloadModelRequest{ModelID: c.modelID}, &out); err != nil {
		return fmt.Errorf("tinker unload_model: %w", err)
	}
	return nil
}

// sync saves the weights for the sampler and copies them into Policy
// through the checkpoint archive.
func (c *Client) sync(ctx context.Context) error {
	c.synced++
	name := fmt.Sprintf("sleuth-%06d", c.synced)
	var out weightsOutput
	if err := c.call(ctx, "save_weights_for_sampler", weightsRequest{ModelID: c.modelID, Path: name}, &out); err != nil {
		return err
	}
	p, err := parseTinkerPath(out.Path)
	if err != nil {
		return fmt.Errorf("tinker save_weights_for_sampler: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+API+"training_runs/"+p.model+"/checkpoints/"+p.id+"/archive", nil)
	if err != nil {
		return err
	}
	c.authorize(req)
	resp, err := c.http.Do(req) // follows the redirect to the download
	if err != nil {
		return fmt.Errorf("tinker: sampler weights: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("tinker: sampler weights: %s", readError(resp))
	}
	dir, err := os.MkdirTemp("", "sleuth-tinker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := untarGz(resp.Body, dir, 16<<30); err != nil {
		return fmt.Errorf("tinker: sampler weights: %w", err)
	}
	m, err := model.Load(dir)
	if err != nil {
		return fmt.Errorf("tinker: sampler weights: %w", err)
	}
	if !sameLayout(m.Config, c.Policy.Config) || len(m.Params) != len(c.Policy.Params) {
		return fmt.Errorf("tinker: the server's model (%+v) is not shaped as the local policy (%+v)", m.Config, c.Policy.Config)
	}
	copy(c.Policy.Params, m.Params)
	return nil
}

// sameLayout reports whether parameters of a and b lie in one buffer
// the same way (a loaded model also names its architecture, which a new
// one may leave empty).
func sameLayout(a, b model.Config) bool {
	return a.Dim == b.Dim && a.HiddenDim == b.HiddenDim && a.Layers == b.Layers && a.Heads == b.Heads &&
		a.KVHeads == b.KVHeads && a.Vocab == b.Vocab && a.RopeLayout == b.RopeLayout &&
		a.TiedEmbeddings == b.TiedEmbeddings && a.QKVBias == b.QKVBias
}

// untarGz writes the archive's regular files, flat, into dir; at most
// limit bytes in all.
func untarGz(r io.Reader, dir string, limit int64) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := h.Name
		if h.Typeflag != tar.TypeReg || name != filepath.Base(name) || name == "." || name == ".." {
			return fmt.Errorf("archive entry %q: only flat regular files are expected", h.Name)
		}
		if h.Size > limit {
			return fmt.Errorf("archive over %d bytes", limit)
		}
		limit -= h.Size
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, h.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// call posts a heavy call and waits for its future's result.
func (c *Client) call(ctx context.Context, op string, req, out any) error {
	var fr futureResponse
	if err := c.post(ctx, op, req, &fr); err != nil {
		return fmt.Errorf("tinker %s: %w", op, err)
	}
	if err := c.wait(ctx, fr.RequestID, out); err != nil {
		return fmt.Errorf("tinker %s: %w", op, err)
	}
	return nil
}

// wait polls retrieve_future until the result comes; 408 (the server's
// wait ran out) asks again.
func (c *Client) wait(ctx context.Context, id string, out any) error {
	deadline := time.Now().Add(c.pollLimit)
	for {
		err := c.post(ctx, "retrieve_future", retrieveFutureRequest{RequestID: id}, out)
		var se *statusError
		if !errors.As(err, &se) || se.status != http.StatusRequestTimeout || time.Now().After(deadline) {
			return err
		}
	}
}

type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.msg) }

func (c *Client) post(ctx context.Context, op string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+API+op, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	c.authorize(hr)
	resp, err := c.http.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode, readError(resp)}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	return nil
}

func (c *Client) authorize(r *http.Request) {
	if c.key != "" {
		r.Header.Set("X-API-Key", c.key)
	}
}

// readError is an error answer's detail (FastAPI's shape) or its text.
func readError(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e errorBody
	if json.Unmarshal(b, &e) == nil && e.Detail != "" {
		return e.Detail
	}
	return strings.TrimSpace(resp.Status + " " + string(b))
}
