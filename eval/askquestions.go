package eval

import (
	"fmt"
	"os"
	"strings"

	"github.com/sleuth-research/sleuth/agent"
)

// LoadAgentQuestions reads questions to ask, without their answers: one a
// line from a .txt file (ids line1, line2, …), or any question file
// LoadQuestions reads.
func LoadAgentQuestions(path string) ([]agent.Question, error) {
	if strings.HasSuffix(path, ".txt") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("questions %s: %w", path, err)
		}
		var qs []agent.Question
		for i, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				qs = append(qs, agent.Question{ID: fmt.Sprintf("line%d", i+1), Text: line})
			}
		}
		return qs, nil
	}
	eqs, err := LoadQuestions(path)
	if err != nil {
		return nil, err
	}
	qs := make([]agent.Question, len(eqs))
	for i, q := range eqs {
		qs[i] = agent.Question{ID: q.ID, Text: q.Question}
	}
	return qs, nil
}
