package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/eval"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
)

// RecipeEval is a recipe's evaluation (the config's eval section): after
// training, the SFT and RL policies answer the held-out questions and are
// compared on the run's own reward and on exact match.
type RecipeEval struct {
	// QuestionsPerHop held-out chain questions of each hop count 1 to
	// MaxHops (default 3); 0 evaluates nothing.
	QuestionsPerHop int `yaml:"questions_per_hop"`
	MaxHops         int `yaml:"max_hops,omitempty"`
	// Split is the world: test (default; what a recipe reports) or
	// validation (what its settings are chosen on).
	Split string `yaml:"split,omitempty"`
}

// RecipeTable is a recipe's result on the held-out world: SFT against RL
// on the preset's reward and on exact match, with paired differences.
type RecipeTable struct {
	Preset      string        `json:"preset"`
	Reward      string        `json:"reward"`
	Split       string        `json:"split"`
	HeldOutSeed int64         `json:"held_out_seed"`
	SFT         PolicyRow     `json:"sft"`
	RL          PolicyRow     `json:"rl"`
	SFTReward   eval.Interval `json:"sft_reward"`
	RLReward    eval.Interval `json:"rl_reward"`
	// RewardDiff and EMDiff are RL − SFT over the same questions, with
	// paired bootstrap intervals.
	RewardDiff eval.Paired `json:"rl_minus_sft_reward"`
	EMDiff     eval.Paired `json:"rl_minus_sft_em"`
	// Roles splits RL's gain among a multi-agent preset's roles (MMOA's
	// rewriter, selector and generator; IM-RAG's reasoner and refiner):
	// one row per role, its episodes played with that role's RL weights
	// and every other role's SFT weights.
	Roles []RoleShare `json:"roles,omitempty"`
}

// RoleShare is one role's part of RL's gain: the policy that is RL in
// that role alone, against SFT on the same questions. Share is its reward
// gain over RL's whole gain, set only when RL's gain is told from zero
// (its paired interval excludes 0): a ratio of two noises says nothing.
// The shares need not sum to 1, since roles can help or undo each other.
type RoleShare struct {
	Role       string        `json:"role"`
	Questions  int           `json:"questions"`
	Reward     eval.Interval `json:"reward"`
	EM         eval.Interval `json:"em"`
	RewardDiff eval.Paired   `json:"minus_sft_reward"`
	EMDiff     eval.Paired   `json:"minus_sft_em"`
	Share      *float64      `json:"share_of_reward_gain,omitempty"`
}

// evaluateRecipe runs the config's eval section, writes recipe.json and
// puts the table in the report.
func (r *Run) evaluateRecipe(ctx context.Context) error {
	e := r.Cfg.Eval
	w, ix, qs, err := heldOut(ctx, r.Dir, r.Cfg, e.Split, e.QuestionsPerHop, e.MaxHops)
	if err != nil {
		return err
	}
	defer ix.Close()
	fn, err := r.reward()
	if err != nil {
		return err
	}
	greedy := r.preset
	greedy.Sampling.Temperature = 0
	tools, _, closeTools, err := r.episodeTools(ix, w)
	if err != nil {
		return err
	}
	defer closeTools()
	dir := r.Path("eval")
	if e.Split == SplitValidation {
		dir += "-validation"
	}
	t := RecipeTable{Preset: r.Cfg.Preset, Reward: r.Cfg.Reward, Split: e.Split, HeldOutSeed: heldOutSeed(r.Cfg.Seed, e.Split)}
	var rewards [2][]float64
	var clients [2]llm.Client
	for i, p := range []struct {
		name, role, dir string
		row             *PolicyRow
	}{{"SFT", "sft", "sft", &t.SFT}, {"RL (" + string(r.Cfg.RL.Estimator) + ")", "rl", "policy", &t.RL}} {
		client, err := LoadPolicy(r.Path(p.dir), r.k)
		if err != nil {
			return err
		}
		clients[i] = client
		res, err := evalPolicy(ctx, &agent.Runner{Preset: greedy, Policy: client, Tools: tools}, qs, filepath.Join(dir, p.role), fn, r.Log)
		if err != nil {
			return err
		}
		*p.row = rowOf(p.name, p.role, res)
		rewards[i] = totals(res)
	}
	var bs eval.Bootstrap
	t.SFTReward, t.RLReward = bs.Mean(rewards[0]), bs.Mean(rewards[1])
	if t.RewardDiff, err = bs.PairedDiff(rewards[1], rewards[0]); err != nil {
		return err
	}
	sftEM := emWhere(t.SFT.results, anyHops)
	if t.EMDiff, err = bs.PairedDiff(emWhere(t.RL.results, anyHops), sftEM); err != nil {
		return err
	}
	for _, role := range roleNames(r.preset) {
		// RL in role alone: the main policy is RL only for the main role.
		policy := clients[0]
		if role == agent.MainRole {
			policy = clients[1]
		}
		cs := map[string]llm.Client{}
		for name := range r.preset.Roles {
			cs[name] = clients[0]
			if name == role {
				cs[name] = clients[1]
			}
		}
		res, err := evalPolicy(ctx, &agent.Runner{Preset: greedy, Policy: policy, Clients: cs, Tools: tools}, qs, filepath.Join(dir, "rl-"+role+"-only"), fn, r.Log)
		if err != nil {
			return err
		}
		tot, em := totals(res), emWhere(res, anyHops)
		rs := RoleShare{Role: role, Questions: len(res), Reward: bs.Mean(tot), EM: bs.Mean(em)}
		if rs.RewardDiff, err = bs.PairedDiff(tot, rewards[0]); err != nil {
			return err
		}
		if rs.EMDiff, err = bs.PairedDiff(em, sftEM); err != nil {
			return err
		}
		rs.Share = shareOf(rs.RewardDiff, t.RewardDiff)
		t.Roles = append(t.Roles, rs)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(r.Path("recipe.json"), append(b, '\n')); err != nil {
		return err
	}
	var text strings.Builder
	PrintRecipe(&text, t)
	r.Extra = text.String()
	fmt.Fprint(r.Log, r.Extra)
	return nil
}

// shareOf is part's mean over whole's, when whole's interval excludes 0.
func shareOf(part, whole eval.Paired) *float64 {
	if d := whole.Diff; d.Lo > 0 || d.Hi < 0 {
		v := part.Diff.Mean / d.Mean
		return &v
	}
	return nil
}

// totals is each result's reward (0 where it has none).
func totals(res []eval.Result) []float64 {
	out := make([]float64, len(res))
	for i, x := range res {
		if x.Reward != nil {
			out[i] = x.Reward.Total
		}
	}
	return out
}

// roleNames are the parts a preset's episodes are played in, when it has
// several: its other agents' roles, sorted, and the main policy's unless
// the roles play the whole episode (MMOA's pipeline). Nil for a
// single-agent preset.
func roleNames(p agent.Preset) []string {
	if len(p.Roles) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(p.Roles))
	if p.Mode != agent.ModePipeline {
		names = append([]string{agent.MainRole}, names...)
	}
	return names
}

// evalPolicy answers qs with runner (greedily, as its preset says),
// resumably in out, each episode scored by fn when it is set.
func evalPolicy(ctx context.Context, runner *agent.Runner, qs []eval.Question, out string, fn reward.Func, progress io.Writer) ([]eval.Result, error) {
	fmt.Fprintf(progress, "evaluating %s on %d questions\n", filepath.Base(out), len(qs))
	return eval.Run(ctx, runner, qs, eval.RunOptions{Out: out, Concurrency: 64, Progress: progress, Reward: fn})
}

// PrintRecipe writes a recipe's table.
func PrintRecipe(w io.Writer, t RecipeTable) {
	fmt.Fprintf(w, "\n%s (reward %s) on the %s world (seed %d), greedy decoding, %d questions, 95%% bootstrap intervals:\n\n", t.Preset, t.Reward, t.Split, t.HeldOutSeed, t.SFT.Questions)
	fmt.Fprintf(w, "%-14s %-22s %-20s %-17s %s\n", "policy", "reward", "EM", "EM by hops 1/2/3", "searches by hops 1/2/3")
	for _, p := range []struct {
		row PolicyRow
		rw  eval.Interval
	}{{t.SFT, t.SFTReward}, {t.RL, t.RLReward}} {
		fmt.Fprintf(w, "%-14s %-22s %-20s %-17s %s\n", p.row.Policy, fmt.Sprintf("%.3f [%.3f, %.3f]", p.rw.Mean, p.rw.Lo, p.rw.Hi), iv(p.row.EM),
			fmt.Sprintf("%.0f/%.0f/%.0f", 100*p.row.EMByHops["1"], 100*p.row.EMByHops["2"], 100*p.row.EMByHops["3"]),
			fmt.Sprintf("%.2f/%.2f/%.2f", p.row.Searches["1"], p.row.Searches["2"], p.row.Searches["3"]))
	}
	d, e := t.RewardDiff, t.EMDiff
	fmt.Fprintf(w, "\nRL − SFT: reward %+.3f [%+.3f, %+.3f] (paired bootstrap, p = %.3f); EM %+.1f points [%+.1f, %+.1f] (p = %.3f)\n",
		d.Diff.Mean, d.Diff.Lo, d.Diff.Hi, d.PValue, 100*e.Diff.Mean, 100*e.Diff.Lo, 100*e.Diff.Hi, e.PValue)
	if len(t.Roles) > 0 {
		fmt.Fprintf(w, "\nEach role's part (RL weights in that role only, SFT in the others), against SFT:\n\n%-10s %-28s %-26s %s\n", "RL role", "reward − SFT", "EM − SFT (points)", "share of RL's reward gain")
		for _, rs := range t.Roles {
			share := "— (RL's gain is not told from 0)"
			if rs.Share != nil {
				share = fmt.Sprintf("%.2f", *rs.Share)
			}
			fmt.Fprintf(w, "%-10s %-28s %-26s %s\n", rs.Role,
				fmt.Sprintf("%+.3f [%+.3f, %+.3f]", rs.RewardDiff.Diff.Mean, rs.RewardDiff.Diff.Lo, rs.RewardDiff.Diff.Hi),
				fmt.Sprintf("%+.1f [%+.1f, %+.1f]", 100*rs.EMDiff.Diff.Mean, 100*rs.EMDiff.Diff.Lo, 100*rs.EMDiff.Diff.Hi), share)
		}
	}
}
