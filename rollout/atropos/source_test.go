package atropos_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rollout/atropos"
	"github.com/sleuth-research/sleuth/search/searchtest"
	"github.com/sleuth-research/sleuth/toolset"
)

// answerer answers every question at once, or fails when broken.
type answerer struct{ broken bool }

func (a answerer) Generate(context.Context, llm.Request) (llm.Response, error) {
	if a.broken {
		return llm.Response{}, errors.New("the model server went away")
	}
	return llm.Response{Choices: []llm.Choice{{Text: " <answer> Paris </answer>", FinishReason: "stop", StopString: "</answer>"}}}, nil
}

// TestGroupSource: group n is size episodes of one task, the tasks taken
// in a seeded cycle; a broken episode fails its group.
func TestGroupSource(t *testing.T) {
	tasks := []atropos.Task{
		{Question: agent.Question{ID: "q1", Text: "Capital of France?"}, Gold: reward.Gold{Answers: []string{"Paris"}}},
		{Question: agent.Question{ID: "q2", Text: "Capital of Spain?"}, Gold: reward.Gold{Answers: []string{"Madrid"}}},
	}
	p, err := toolset.New().Load("searchr1")
	if err != nil {
		t.Fatal(err)
	}
	runner := func(pol llm.Client) *agent.Runner {
		r, closeTools, err := toolset.New().Runner(p, toolset.Deps{Policy: pol, Retriever: searchtest.Words{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeTools)
		return r
	}
	src := atropos.GroupSource(runner(answerer{}), reward.Answer{}, tasks, 3, 1)
	seen := map[string]float64{}
	for n := range 4 {
		g, err := src(context.Background(), n)
		if err != nil || len(g) != 3 {
			t.Fatalf("group %d: %d episodes (%v)", n, len(g), err)
		}
		id, _, _ := strings.Cut(g[0].Episode.ID, "#")
		for i, s := range g {
			if s.Episode.ID != id+"#"+string(rune('0'+i)) || s.Score.Total != g[0].Score.Total {
				t.Errorf("group %d episode %d: %s scored %v", n, i, s.Episode.ID, s.Score.Total)
			}
		}
		if prev, ok := seen[id]; ok && n < 2 || ok && prev != g[0].Score.Total {
			t.Errorf("group %d: task %s again before the cycle ended, or scored differently", n, id)
		}
		seen[id] = g[0].Score.Total
	}
	if seen["q1"] != 1 || seen["q2"] != 0 {
		t.Errorf("scores %v: want q1 right, q2 wrong", seen)
	}
	if _, err := atropos.GroupSource(runner(answerer{broken: true}), reward.Answer{}, tasks, 2, 1)(context.Background(), 0); err == nil {
		t.Error("a group of failed episodes was returned without an error")
	}
}
