package atropos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sleuth-research/sleuth/rollout"
)

// Config sets up an environment. Zero fields take the defaults noted,
// which are BaseEnvConfig's.
type Config struct {
	Name           string  // desired_name (default "sleuth")
	GroupSize      int     // episodes per group (default 4)
	MaxTokenLength int     // max_token_length registered (default 2048)
	Weight         float64 // inference weight (default 1)
	// Groups is how many groups to roll out; 0 runs until the trainer has
	// taken its steps.
	Groups int
	// TotalSteps stops the environment once the trainer's step plus the
	// queued batches pass it; 0 takes the API's num_steps.
	TotalSteps int
	// MaxBatchesOffPolicy is how many batches may wait in the API's queue
	// before the environment pauses (default 3).
	MaxBatchesOffPolicy int
	// KeepEqualScores posts groups whose scores are all equal; by default
	// they are skipped, as BaseEnv does (ensure_scores_are_not_same): they
	// carry no advantage.
	KeepEqualScores bool
	Poll            time.Duration // wait while the queue is full (default 1s)
	// Concurrency is how many groups are rolled out at once (default 1;
	// BaseEnv runs 8 workers per inference server).
	Concurrency int
	// MaxFailures stops the run after this many groups in a row could not
	// be rolled out (default 3): a policy server that is down ends the run.
	MaxFailures int
	Logger      *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "sleuth"
	}
	if c.GroupSize <= 0 {
		c.GroupSize = 4
	}
	if c.MaxTokenLength <= 0 {
		c.MaxTokenLength = 2048
	}
	if c.Weight == 0 {
		c.Weight = 1
	}
	if c.MaxBatchesOffPolicy <= 0 {
		c.MaxBatchesOffPolicy = 3
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 3
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Source rolls out the n-th group: GroupSize scored episodes of one
// question.
type Source func(ctx context.Context, n int) ([]rollout.Scored, error)

// Stats counts what a run did.
type Stats struct {
	EnvID   int `json:"env_id"`
	Groups  int `json:"groups"`  // rolled out
	Posted  int `json:"posted"`  // accepted by the API
	Skipped int `json:"skipped"` // equal scores, too long, or an episode without policy tokens
	Failed  int `json:"failed"`  // the source failed
}

// Run registers with the API, then rolls out groups from src,
// cfg.Concurrency at a time, and posts them until cfg.Groups are done, the
// trainer's steps are reached or ctx ends, and disconnects. A group whose
// episodes lack token ids ends the run with ErrNoTokenIDs: training on
// re-tokenised text is refused.
func Run(ctx context.Context, c *Client, cfg Config, role string, src Source) (Stats, error) {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	reg, err := c.Register(ctx, Registration{MaxTokenLength: cfg.MaxTokenLength, DesiredName: cfg.Name, Weight: cfg.Weight, GroupSize: cfg.GroupSize})
	if err != nil {
		return Stats{}, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := c.Disconnect(dctx, reg.EnvID); err != nil {
			log.Warn("atropos: disconnect failed", "err", err)
		}
	}()
	info, err := c.Info(ctx)
	if err != nil {
		return Stats{EnvID: reg.EnvID}, err
	}
	batch := info.BatchSize
	if batch < cfg.GroupSize {
		batch = cfg.GroupSize // unknown (-1) or smaller than a group: one group is a batch
	}
	total := cfg.TotalSteps
	if total == 0 {
		total = reg.NumSteps
	}
	log.Info("atropos: registered", "env_id", reg.EnvID, "name", reg.WandbName, "step", reg.StartingStep, "batch_size", info.BatchSize, "max_token_len", info.MaxTokenLen, "num_steps", total)

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{c: c, cfg: cfg, role: role, src: src, envID: reg.EnvID, maxLen: info.MaxTokenLen, cancel: cancel, st: Stats{EnvID: reg.EnvID}}
	inflight := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
loop:
	for started := 0; cfg.Groups == 0 || started < cfg.Groups; {
		s, err := c.Status(rctx, reg.EnvID)
		if err != nil {
			r.fail(err)
			break
		}
		// Groups still being rolled out will join the queue: count them.
		queued := s.QueueSize + len(inflight)
		if total > 0 && s.CurrentStep+queued*cfg.GroupSize/batch > total {
			log.Info("atropos: the trainer has its steps", "step", s.CurrentStep, "queue", s.QueueSize)
			break
		}
		if queued*cfg.GroupSize >= cfg.MaxBatchesOffPolicy*batch {
			select { // enough waits in the queue: let the trainer catch up
			case <-time.After(cfg.Poll):
				continue
			case <-rctx.Done():
				break loop
			}
		}
		select {
		case inflight <- struct{}{}:
		case <-rctx.Done():
			break loop
		}
		n := started
		started++
		r.mu.Lock()
		r.st.Groups++
		r.mu.Unlock()
		wg.Go(func() {
			defer func() { <-inflight }()
			r.group(rctx, n)
		})
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.st, r.err
	}
	return r.st, ctx.Err()
}

// run is one Run's shared state; mu guards st, failures and err.
type run struct {
	c      *Client
	cfg    Config
	role   string
	src    Source
	envID  int
	maxLen int
	cancel context.CancelFunc

	mu       sync.Mutex
	st       Stats
	failures int   // groups failed in a row
	err      error // the first error that ends the run
}

// fail ends the run with err (the first one wins).
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel()
}

// group rolls out, builds and posts group n.
func (r *run) group(ctx context.Context, n int) {
	log := r.cfg.Logger
	eps, err := r.src(ctx, n)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Warn("atropos: group failed", "group", n, "err", err)
		r.mu.Lock()
		r.st.Failed++
		r.failures++
		stop := r.failures >= r.cfg.MaxFailures
		r.mu.Unlock()
		if stop {
			r.fail(fmt.Errorf("atropos: %d groups in a row failed, the last: %w", r.cfg.MaxFailures, err))
		}
		return
	}
	r.mu.Lock()
	r.failures = 0
	r.mu.Unlock()
	d, err := Group(eps, r.role)
	if err == nil {
		if why := skip(d, r.maxLen, r.cfg.KeepEqualScores); why != "" {
			err = errors.New(why)
		}
	}
	switch {
	case errors.Is(err, ErrNoTokenIDs):
		r.fail(err)
		return
	case err != nil:
		log.Info("atropos: group skipped", "group", n, "why", err)
		r.mu.Lock()
		r.st.Skipped++
		r.mu.Unlock()
		return
	}
	d.EnvID = &r.envID
	if err := r.c.Post(ctx, d); err != nil {
		if ctx.Err() == nil {
			r.fail(err)
		}
		return
	}
	log.Debug("atropos: group posted", "group", n, "scores", d.Scores)
	r.mu.Lock()
	r.st.Posted++
	r.mu.Unlock()
}

// skip says why BaseEnv.handle_send_to_api would drop group d, or "".
func skip(d ScoredData, maxLen int, keepEqual bool) string {
	if !keepEqual {
		same := true
		for _, s := range d.Scores[1:] {
			same = same && s == d.Scores[0]
		}
		if same {
			return "all scores are equal"
		}
	}
	for _, t := range d.Tokens {
		if maxLen > 0 && len(t) >= maxLen {
			return fmt.Sprintf("a sequence of %d tokens reaches the trainer's limit of %d", len(t), maxLen)
		}
	}
	return ""
}
