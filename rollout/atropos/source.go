package atropos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rollout"
)

// Task is one question of the data set, with its gold answers.
type Task struct {
	Question agent.Question
	Gold     reward.Gold
}

// GroupSource rolls out group n as size episodes of one task, taken in a
// cycle through tasks shuffled by seed, run concurrently on r and scored
// by rf. An episode that failed (its model call or a tool broke) fails the
// group: its reward would not say how well the policy did.
func GroupSource(r *agent.Runner, rf reward.Func, tasks []Task, size int, seed int64, opts ...agent.RunOption) Source {
	order := rand.New(rand.NewPCG(uint64(seed), 0x5eed)).Perm(len(tasks))
	return func(ctx context.Context, n int) ([]rollout.Scored, error) {
		t := tasks[order[n%len(tasks)]]
		out := make([]rollout.Scored, size)
		errs := make([]error, size)
		var wg sync.WaitGroup
		for i := range size {
			wg.Go(func() {
				aq := agent.Question{ID: fmt.Sprintf("%s#%d", t.Question.ID, i), Text: t.Question.Text}
				out[i], errs[i] = rollout.Play(ctx, r, rf, aq, t.Gold, n*size+i, opts...)
				if errs[i] == nil {
					errs[i] = out[i].Broken()
				}
			})
		}
		wg.Wait()
		return out, errors.Join(errs...)
	}
}
