// Package local adapts sleuth's in-process transformer engine (package
// model) to the llm.Client interface, so agents, the evaluator, the trainer
// and the OpenAI-compatible server use the engine exactly as they use a
// remote vLLM or Ollama server.
//
// Text and token ids follow vLLM's conventions: TokenIDs hold every
// generated id (a stop token or the tokens of a stop string included), while
// Text ends before the stop string and omits a final EOS or end-of-turn
// token. RL consumes TokenIDs and Logprobs and never re-tokenises Text.
package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// Config tunes a Client. Zero fields take the defaults noted.
type Config struct {
	Name string // model name reported in responses (default "local")
	// ChatTemplate renders Messages: tokenizer.ChatQwen2, ChatML or
	// ChatLlama3. Empty renders "role: content" lines ending in
	// "assistant:", for small models trained without a chat format.
	ChatTemplate string
	// NoBOS stops the client from prepending the tokenizer's BOS id to text
	// prompts (chat templates that write their own BOS are never doubled).
	NoBOS bool
	// MaxBatch caps the requests merged into one engine batch (default 64).
	MaxBatch int
	// MaxSeqs caps the sequences (requests times their n) in one engine
	// batch, each of which holds a KV cache (default 256). A request with
	// more is refused.
	MaxSeqs int
}

// Client generates with an in-process model. It is safe for concurrent
// use: concurrent requests are batched (see Generate).
type Client struct {
	m    *model.Model
	tok  tokenizer.Tokenizer
	cfg  Config
	stop []int // ids that end a sequence: EOS and end-of-turn tokens

	genMu   sync.Mutex   // one engine call at a time: it uses every core already
	busy    atomic.Int32 // engine calls running (0 or 1), for Busy
	since   atomic.Int64 // when the running engine call started, unix nanoseconds
	qmu     sync.Mutex   // guards queue and leading
	queue   []*job
	leading bool
}

// New wraps m and its tokenizer. tok may be nil, in which case only
// PromptIDs requests are served and choices carry no text.
func New(m *model.Model, tok tokenizer.Tokenizer, cfg Config) *Client {
	if cfg.Name == "" {
		cfg.Name = "local"
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.MaxSeqs <= 0 {
		cfg.MaxSeqs = 256
	}
	c := &Client{m: m, tok: tok, cfg: cfg}
	if m.Config.EOS >= 0 && (tok == nil || tok.EOS() != m.Config.EOS) {
		c.stop = append(c.stop, m.Config.EOS)
	}
	if tok != nil {
		if eos := tok.EOS(); eos >= 0 {
			c.stop = append(c.stop, eos)
		}
		for _, s := range []string{"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end_of_text|>"} {
			if id, ok := tok.TokenID(s); ok && id != tok.EOS() {
				c.stop = append(c.stop, id)
			}
		}
	}
	return c
}

// Busy reports whether the engine is generating now. A server's health
// check and tests of cancellation read it.
func (c *Client) Busy() bool { return c.busy.Load() > 0 }

// BusyFor returns how long the running engine call has run (0 when idle):
// a call far longer than any request's timeout means a wedged engine.
func (c *Client) BusyFor() time.Duration {
	if !c.Busy() {
		return 0
	}
	return time.Since(time.Unix(0, c.since.Load()))
}

// engine runs one engine call under genMu; nothing else holds genMu.
func (c *Client) engine(ctx context.Context, prompts [][]int, opt model.GenerateOptions) ([]model.Sequence, error) {
	c.genMu.Lock()
	defer c.genMu.Unlock()
	c.since.Store(time.Now().UnixNano())
	c.busy.Add(1)
	defer c.busy.Add(-1)
	return c.m.Generate(ctx, prompts, opt)
}

// Model returns the wrapped engine.
func (c *Client) Model() *model.Model { return c.m }

// Tokenizer returns the wrapped tokenizer (nil when there is none).
func (c *Client) Tokenizer() tokenizer.Tokenizer { return c.tok }

// Tokenize implements llm.Tokenizer: the ids of text with no BOS added.
// It returns nil when the client has no tokenizer.
func (c *Client) Tokenize(text string) []int {
	if c.tok == nil {
		return nil
	}
	return c.tok.Encode(text)
}

// Encode renders a request's prompt as token ids, the way Generate will.
func (c *Client) Encode(req llm.Request) ([]int, error) {
	switch {
	case len(req.PromptIDs) > 0:
		return req.PromptIDs, nil
	case c.tok == nil:
		return nil, &llm.InvalidRequestError{Msg: "this model has no tokenizer: send the prompt as token ids"}
	case req.Prompt != "" || len(req.Messages) == 0:
		return c.withBOS(c.tok.Encode(req.Prompt)), nil
	}
	text, err := c.renderChat(req.Messages)
	if err != nil {
		return nil, &llm.InvalidRequestError{Msg: err.Error()}
	}
	return c.withBOS(c.tok.Encode(text)), nil
}

func (c *Client) withBOS(ids []int) []int {
	bos := c.tok.BOS()
	if c.cfg.NoBOS || bos < 0 || (len(ids) > 0 && ids[0] == bos) {
		return ids
	}
	return append([]int{bos}, ids...)
}

func (c *Client) renderChat(msgs []llm.Message) (string, error) {
	if c.cfg.ChatTemplate == "" {
		var b strings.Builder
		for _, m := range msgs {
			fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
		}
		b.WriteString("assistant:")
		return b.String(), nil
	}
	tm := make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return tokenizer.ApplyChatTemplate(c.cfg.ChatTemplate, tm, true)
}

// Generate implements llm.Client. Concurrent requests with the same
// sampling settings are merged into one batch through the engine (the
// prompts share each decoding step), which is how an RL step's episodes
// are generated together; each request's samples are seeded on their own,
// so they do not depend on which requests shared the batch.
//
// When ctx ends the request leaves the queue, or, if its batch is running,
// the batch stops as soon as every request in it has ended: a client that
// goes away does not leave the engine working for nobody.
func (c *Client) Generate(ctx context.Context, req llm.Request) (llm.Response, error) {
	j, err := c.newJob(req)
	if err != nil {
		return llm.Response{}, err
	}
	j.ctx = ctx
	c.enqueue(j)
	select {
	case r := <-j.reply:
		if r.err != nil {
			return llm.Response{}, r.err
		}
		return c.response(j, r.seqs), nil
	case <-ctx.Done():
		return llm.Response{}, ctx.Err()
	}
}

// GenerateStream implements llm.Streamer: the request runs alone and
// each token is reported as it is generated.
//
// emit is called on the caller's goroutine, never while the engine is
// held: the engine writes tokens to a queue (at most N times MaxTokens of
// them) and goes on to the next request, so a client that reads its
// stream slowly, or not at all, delays only itself. When emit fails the
// generation is cancelled.
func (c *Client) GenerateStream(ctx context.Context, req llm.Request, emit func(int, llm.Token) error) (llm.Response, error) {
	j, err := c.newJob(req)
	if err != nil {
		return llm.Response{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := &tokenQueue{wake: make(chan struct{}, 1)}
	decs := make([]*tokenizer.StreamDecoder, j.opt.N)
	opt := j.options()
	opt.Seed, opt.Seeds = j.seed, nil
	// OnToken may be called from several decoding goroutines; the queue
	// orders them and decoding to text happens on the caller's side.
	opt.OnToken = func(seq, token int, logprob float32) { q.push(streamed{seq, token, logprob}) }
	type result struct {
		seqs []model.Sequence
		err  error
	}
	done := make(chan result, 1)
	go func() {
		seqs, err := c.engine(ctx, [][]int{j.prompt}, opt)
		done <- result{seqs, err}
	}()
	var emitErr error
	send := func() {
		for _, t := range q.take() {
			if emitErr != nil {
				return
			}
			text := ""
			if c.tok != nil {
				if decs[t.seq] == nil {
					decs[t.seq] = tokenizer.NewStreamDecoder(c.tok, j.prompt[len(j.prompt)-1])
				}
				text = decs[t.seq].Add(t.token)
			}
			if emitErr = emit(t.seq, llm.Token{ID: t.token, Text: text, Logprob: float64(t.logprob)}); emitErr != nil {
				cancel()
			}
		}
	}
	for {
		select {
		case <-q.wake:
			send()
		case r := <-done:
			send() // what was queued before the engine finished
			if emitErr != nil {
				return llm.Response{}, emitErr
			}
			if r.err != nil {
				return llm.Response{}, c.generateError(ctx, r.err)
			}
			return c.response(j, r.seqs), nil
		}
	}
}

// streamed is one generated token on its way to emit.
type streamed struct {
	seq, token int
	logprob    float32
}

// tokenQueue hands tokens from the engine to the streaming caller without
// ever blocking the engine. Its length is bounded by the request's
// sequences times its max tokens.
type tokenQueue struct {
	mu   sync.Mutex
	toks []streamed
	wake chan struct{} // capacity 1: a token is waiting
}

func (q *tokenQueue) push(t streamed) {
	q.mu.Lock()
	q.toks = append(q.toks, t)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *tokenQueue) take() []streamed {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.toks
	q.toks = nil
	return t
}

// job is one request waiting for, or riding in, a batch.
type job struct {
	ctx    context.Context // the caller's; nil never ends
	prompt []int
	opt    batchKey
	seed   uint64
	stops  []string
	reply  chan jobResult
}

type jobResult struct {
	seqs []model.Sequence
	err  error
}

// batchKey holds the settings requests must share to ride one batch.
type batchKey struct {
	MaxTokens, N, TopK int
	Temperature, TopP  float64
	Stops              string // the stop strings, joined with NUL
}

func (c *Client) newJob(req llm.Request) (*job, error) {
	prompt, err := c.Encode(req)
	if err != nil {
		return nil, err
	}
	switch {
	case len(prompt) == 0:
		return nil, &llm.InvalidRequestError{Msg: "empty prompt"}
	case req.MaxTokens <= 0:
		return nil, &llm.InvalidRequestError{Msg: "max tokens must be positive"}
	case len(prompt) >= c.m.Config.SeqLen:
		return nil, &llm.InvalidRequestError{Msg: fmt.Sprintf("prompt of %d tokens leaves no room in the model's context of %d", len(prompt), c.m.Config.SeqLen), ContextExceeded: true}
	case max(req.N, 1) > c.cfg.MaxSeqs:
		return nil, &llm.InvalidRequestError{Msg: fmt.Sprintf("n = %d is more than the %d sequences this server generates at once", req.N, c.cfg.MaxSeqs)}
	case len(req.Stop) > 0 && c.tok == nil:
		return nil, &llm.InvalidRequestError{Msg: "stop strings need a tokenizer"}
	}
	for _, id := range prompt {
		if id < 0 || id >= c.m.Config.Vocab {
			return nil, &llm.InvalidRequestError{Msg: fmt.Sprintf("token id %d is outside the vocabulary of %d", id, c.m.Config.Vocab)}
		}
	}
	j := &job{prompt: prompt, stops: req.Stop, reply: make(chan jobResult, 1),
		opt: batchKey{MaxTokens: req.MaxTokens, N: max(req.N, 1), TopK: req.TopK, Temperature: req.Temperature, TopP: req.TopP, Stops: strings.Join(req.Stop, "\x00")}}
	if req.Seed != nil {
		j.seed = uint64(*req.Seed)
	} else {
		j.seed = rand.Uint64()
	}
	return j, nil
}

func (j *job) options() model.GenerateOptions {
	return model.GenerateOptions{MaxTokens: j.opt.MaxTokens, N: j.opt.N, Temperature: j.opt.Temperature, TopK: j.opt.TopK, TopP: j.opt.TopP, StopStrings: j.stops}
}

// enqueue adds j to the queue; the first caller to find no batch running
// becomes the leader and runs batches until the queue is empty, so no
// goroutine outlives the work.
func (c *Client) enqueue(j *job) {
	c.qmu.Lock()
	c.queue = append(c.queue, j)
	lead := !c.leading
	c.leading = true
	c.qmu.Unlock()
	if lead {
		go c.lead()
	}
}

func (c *Client) lead() {
	for {
		c.qmu.Lock()
		// Drop requests whose callers have gone.
		live := c.queue[:0]
		for _, j := range c.queue {
			if j.ctx == nil || j.ctx.Err() == nil {
				live = append(live, j)
			}
		}
		clear(c.queue[len(live):])
		c.queue = live
		if len(c.queue) == 0 {
			c.leading = false
			c.qmu.Unlock()
			return
		}
		// Take the oldest request's settings and every queued request that
		// shares them, up to the batch limits.
		key := c.queue[0].opt
		var batch, rest []*job
		for _, j := range c.queue {
			if j.opt == key && len(batch) < c.cfg.MaxBatch && (len(batch)+1)*key.N <= c.cfg.MaxSeqs {
				batch = append(batch, j)
			} else {
				rest = append(rest, j)
			}
		}
		c.queue = rest
		c.qmu.Unlock()
		c.runBatch(batch)
	}
}

func (c *Client) runBatch(batch []*job) {
	prompts := make([][]int, len(batch))
	seeds := make([]uint64, len(batch))
	for i, j := range batch {
		prompts[i], seeds[i] = j.prompt, j.seed
	}
	opt := batch[0].options()
	opt.Seeds = seeds
	opt.StopTokens = c.stop
	if len(opt.StopStrings) > 0 {
		opt.Decode = c.tok.Decode
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cancelWhenAllEnd(ctx, cancel, batch)
	seqs, err := c.engine(ctx, prompts, opt)
	n := batch[0].opt.N
	for i, j := range batch {
		if err != nil {
			j.reply <- jobResult{err: fmt.Errorf("local generate: %w", err)}
			continue
		}
		j.reply <- jobResult{seqs: seqs[i*n : (i+1)*n]}
	}
}

// cancelWhenAllEnd calls cancel once every job's context has ended, or
// returns when ctx (the batch's) ends first. A job without a context
// keeps the batch alive.
func cancelWhenAllEnd(ctx context.Context, cancel context.CancelFunc, batch []*job) {
	for _, j := range batch {
		if j.ctx == nil {
			return
		}
		select {
		case <-j.ctx.Done():
		case <-ctx.Done():
			return
		}
	}
	cancel()
}

func (c *Client) generateError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("local generate: %w", err)
}

func (c *Client) response(j *job, seqs []model.Sequence) llm.Response {
	resp := llm.Response{Model: c.cfg.Name, PromptIDs: j.prompt, Usage: llm.Usage{PromptTokens: len(j.prompt)}}
	for _, s := range seqs {
		ch := c.choice(j.prompt, s, j.stops)
		resp.Usage.CompletionTokens += len(ch.TokenIDs)
		resp.Choices = append(resp.Choices, ch)
	}
	return resp
}

func (c *Client) choice(prompt []int, s model.Sequence, stops []string) llm.Choice {
	ch := llm.Choice{TokenIDs: s.Tokens, FinishReason: string(s.FinishReason), Logprobs: make([]float64, len(s.Logprobs))}
	for i, v := range s.Logprobs {
		ch.Logprobs[i] = float64(v)
	}
	if c.tok == nil {
		return ch
	}
	dec := tokenizer.NewStreamDecoder(c.tok, prompt[len(prompt)-1])
	ch.Tokens = make([]string, len(s.Tokens))
	var text strings.Builder
	for i, id := range s.Tokens {
		ch.Tokens[i] = dec.Add(id)
		if i == len(s.Tokens)-1 {
			ch.Tokens[i] += dec.Flush()
		}
		if !(i == len(s.Tokens)-1 && c.isStopToken(id)) {
			text.WriteString(ch.Tokens[i])
		}
	}
	ch.Text = text.String()
	if s.Stop != "" {
		ch.StopString = s.Stop
		if i := strings.Index(ch.Text, s.Stop); i >= 0 {
			ch.Text = ch.Text[:i]
		}
	} else if len(stops) > 0 && ch.FinishReason == string(model.FinishStop) {
		for _, st := range stops {
			if i := strings.Index(ch.Text, st); i >= 0 {
				ch.Text = ch.Text[:i]
			}
		}
	}
	return ch
}

func (c *Client) isStopToken(id int) bool {
	for _, s := range c.stop {
		if s == id {
			return true
		}
	}
	return false
}
