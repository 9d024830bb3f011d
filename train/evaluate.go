package train

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/llm/local"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// noHits is a retriever that finds nothing: the no-retrieval baseline runs
// the same policy and protocol with an empty search.
type noHits struct{}

func (noHits) Search(_ context.Context, qs []string, _ int) ([][]search.Hit, error) {
	return make([][]search.Hit, len(qs)), nil
}

// heldOut builds the evaluation world (a seed no training phase used), its
// index, and its questions: up to perHop chain questions of each hop count
// from 1 to maxHops (comparisons are a different skill, left out of the
// table).
func heldOut(ctx context.Context, dir string, cfg Config, split string, perHop, maxHops int) (*world.World, *bm25.Index, []eval.Question, error) {
	seed, ixName := heldOutSeed(cfg.Seed, split), "heldout-index"
	if split == SplitValidation {
		ixName = "validation-index"
	}
	w, err := world.Generate(world.Config{Seed: seed, Entities: cfg.World.Entities, Questions: cfg.World.Questions})
	if err != nil {
		return nil, nil, nil, err
	}
	ix, err := openOrBuildIndex(ctx, filepath.Join(dir, ixName), w.Passages)
	if err != nil {
		return nil, nil, nil, err
	}
	count := map[int]int{}
	var qs []eval.Question
	for _, q := range w.Questions {
		if q.Type != world.Chain || q.Hops < 1 || q.Hops > maxHops || count[q.Hops] >= perHop {
			continue
		}
		count[q.Hops]++
		qs = append(qs, eval.Question{ID: q.ID, Question: q.Question, Answers: q.Answers, Supporting: q.Supporting, Hops: q.Hops, Dataset: split})
	}
	return w, ix, qs, nil
}

// The worlds the quickstart evaluates on.
const (
	SplitTest       = "test"
	SplitValidation = "validation"
)

// heldOutSeed is the seed of split's world for run seed seed.
func heldOutSeed(seed int64, split string) int64 {
	if split == SplitValidation {
		return ValidationSeed(seed)
	}
	return HeldOutSeed(seed)
}

// Evaluate answers the held-out questions of split with each
// policy, greedily, through eval.Run (resumable: OUT/eval[-validation]/NAME/results.jsonl).
func Evaluate(ctx context.Context, dir string, r *Run, split string, perHop int, errw io.Writer) (Table, error) {
	w, ix, qs, err := heldOut(ctx, dir, r.Cfg, split, perHop, 3)
	if err != nil {
		return Table{}, err
	}
	defer ix.Close()
	greedy := r.preset
	greedy.Sampling.Temperature = 0
	tools := SearchTools(ix)
	load := func(path string) (llm.Client, error) { return LoadPolicy(path, r.k) }
	sft, err := load(r.Path("sft"))
	if err != nil {
		return Table{}, err
	}
	final, err := load(r.Path("policy"))
	if err != nil {
		return Table{}, err
	}
	type policy struct {
		name, role string
		client     llm.Client
		tools      map[string]agent.Tool
		clients    map[string]llm.Client // the roles' players, when not the policy
	}
	runs := []policy{
		{name: "no retrieval (SFT policy, empty search)", role: "none", client: sft, tools: SearchTools(noHits{})},
		{name: "SFT", role: "sft", client: sft, tools: tools},
	}
	if r.Cfg.SFT.ContinueSteps > 0 {
		best, err := load(r.Path("best-sft"))
		if err != nil {
			return Table{}, err
		}
		runs = append(runs, policy{name: fmt.Sprintf("best SFT (SFT + %d steps, RL's compute)", r.Cfg.SFT.ContinueSteps), role: "best-sft", client: best, tools: tools})
	}
	oracle := rl.NewOracle(greedy, w.Questions, r.tok.Encode, r.tok.Decode)
	runs = append(runs,
		policy{name: "RL (" + string(r.Cfg.RL.Estimator) + ")", role: "rl", client: final, tools: tools},
		policy{name: "oracle", role: "oracle", client: oracle, tools: tools, clients: oracle.Clients()})
	evalDir := filepath.Join(dir, "eval")
	if split == SplitValidation {
		evalDir += "-validation"
	}
	var rows []PolicyRow
	for _, run := range runs {
		runner := &agent.Runner{Preset: greedy, Policy: run.client, Tools: run.tools, Clients: run.clients}
		res, err := evalPolicy(ctx, runner, qs, filepath.Join(evalDir, run.role), nil, errw)
		if err != nil {
			return Table{}, err
		}
		rows = append(rows, rowOf(run.name, run.role, res))
	}
	// As many passages as the agents read a search: a fair baseline.
	once, err := retrieveOnce(ctx, w, ix, qs, greedy.TopK)
	if err != nil {
		return Table{}, err
	}
	rows = append(rows[:1], append([]PolicyRow{rowOf(fmt.Sprintf("retrieve once (question as query, top %d, best-supported entity)", greedy.TopK), "once", once)}, rows[1:]...)...)
	return buildTable(split, heldOutSeed(r.Cfg.Seed, split), rows)
}

// LoadPolicy loads a policy directory the curriculum wrote (its model and
// tokenizer.json) as the quickstart evaluates it: deterministic (the same
// seed gives the same answers at any concurrency), without a BOS token,
// its matrix products on k.
func LoadPolicy(path string, k *kernels.Kernels) (llm.Client, error) {
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(path, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	return policyClient(m, tok, k), nil
}

// LoadBasePolicy opens the base checkpoint ref as OpenBase does (hashes
// checked, through a copy in dir) and serves it as LoadPolicy serves a
// policy: what redteam attacks by default.
func LoadBasePolicy(ref, dir string, builtin fs.FS, k *kernels.Kernels) (llm.Client, error) {
	b, err := openBase(ref, dir, builtin)
	if err != nil {
		return nil, err
	}
	return policyClient(b.model, b.tok, k), nil
}

// policyClient is m with tok as the quickstart evaluates a policy.
func policyClient(m *model.Model, tok tokenizer.Tokenizer, k *kernels.Kernels) llm.Client {
	m.SetMatmuls(k)
	m.Deterministic = true
	return local.New(m, tok, local.Config{NoBOS: true})
}

// retrieveOnce is the classic pipeline: search once with the question, then
// answer with the world entity best supported by the top passages.
func retrieveOnce(ctx context.Context, w *world.World, ix *bm25.Index, qs []eval.Question, k int) ([]eval.Result, error) {
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	hits, err := ix.Search(ctx, texts, k)
	if err != nil {
		return nil, err
	}
	reader := newCandidateReader(w)
	out := make([]eval.Result, len(qs))
	for i, q := range qs {
		guess := reader.answer(q.Question, hits[i])
		out[i] = eval.Result{ID: q.ID, Question: q.Question, Answers: q.Answers, Hops: q.Hops, Prediction: guess, Searches: 1, Status: agent.Answered}
		for _, g := range q.Answers {
			out[i].EM = max(out[i].EM, b2f(reward.ExactMatch(guess, g)))
			out[i].F1 = max(out[i].F1, reward.TokenF1(guess, g).F1)
		}
	}
	return out, nil
}

// FromScratch turns a config that starts from a base into the full
// pipeline: the base recipe's pre-training (and its tokenizer and model
// shape), then the config's SFT and RL. The recipe is the built-in base's
// own (base3 for builtin:base3), base for a base directory.
// configs holds the built-in configs (LoadConfig).
func FromScratch(configs fs.FS, cfg Config) (Config, error) {
	if cfg.Base == "" {
		return cfg, nil
	}
	recipe, ok := BuiltinBase(cfg.Base)
	if !ok {
		recipe = "base"
	}
	b, err := LoadConfig(configs, recipe)
	if err != nil {
		return cfg, err
	}
	cfg.Base = ""
	cfg.Tokenizer, cfg.Model, cfg.LR, cfg.LRDecaySteps, cfg.Pretrain = b.Tokenizer, b.Model, b.LR, b.LRDecaySteps, b.Pretrain
	return cfg, cfg.Validate()
}
