package toolset

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
)

// Load reads a preset (a built-in name or a YAML file, as
// agent.LoadPreset) and checks that every tool it names is registered and
// that its reward is a reward preset; an error names the file and line.
func (r *Registry) Load(nameOrPath string) (agent.Preset, error) {
	src, data, err := agent.ReadPreset(nameOrPath)
	if err != nil {
		return agent.Preset{}, err
	}
	return r.Parse(src, data)
}

// Parse is Load for YAML already read from src.
func (r *Registry) Parse(src string, data []byte) (agent.Preset, error) {
	p, err := agent.ParsePreset(src, data)
	if err != nil {
		return p, err
	}
	// line finds where key's i-th entry sits, reading the YAML again for
	// positions only on the way to an error.
	line := func(key string, i int) int {
		var doc yaml.Node
		_ = yaml.Unmarshal(data, &doc) // ParsePreset has read it
		return lineOf(&doc, key, i)
	}
	for i, t := range p.Tools {
		if !r.Has(t.Name) {
			return p, fmt.Errorf("%s:%d: preset %s: unknown tool %q (registered: %s)", src, line("tools", i), p.Name, t.Name, strings.Join(r.Names(), ", "))
		}
	}
	if err := CheckReward(p); err != nil {
		return p, fmt.Errorf("%s:%d: %w", src, line("reward", -1), err)
	}
	return p, nil
}

// CheckReward reports a preset whose reward is not a reward preset.
func CheckReward(p agent.Preset) error {
	if p.Reward == "" || slices.Contains(reward.Presets(), p.Reward) {
		return nil
	}
	return fmt.Errorf("preset %s: unknown reward %q (reward presets: %s)", p.Name, p.Reward, strings.Join(reward.Presets(), ", "))
}

// RewardName is the reward preset p is scored with: its reward or, for
// a preset that names none, the reward preset of its own name when there
// is one (how presets were scored before they named rewards); "" means
// answer F1.
func RewardName(p agent.Preset) string {
	if p.Reward == "" && slices.Contains(reward.Presets(), p.Name) {
		return p.Name
	}
	return p.Reward
}

// Reward is the reward a preset is scored with outside training
// configs: the reward preset it names (RewardName), else reward.Answer
// (F1). A reward that asks an LLM judge is refused: the servers and
// harnesses that score this way hold no judge.
func Reward(p agent.Preset) (reward.Func, error) {
	name := RewardName(p)
	if name == "" {
		return reward.Answer{}, nil
	}
	rc, err := reward.LoadConfig(name)
	if err != nil {
		return nil, err
	}
	if rc.NeedsJudge() {
		return nil, fmt.Errorf("preset %s: its reward %s asks an LLM judge, which the environment server does not hold", p.Name, name)
	}
	return rc.Build(nil)
}

// lineOf is the line of the top-level key's value in doc or, for a
// sequence and i ≥ 0, of its i-th item's name; 0 when not found.
func lineOf(doc *yaml.Node, key string, i int) int {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	m := doc.Content[0]
	for k := 0; k+1 < len(m.Content); k += 2 {
		if m.Content[k].Value != key {
			continue
		}
		v := m.Content[k+1]
		if i < 0 || v.Kind != yaml.SequenceNode || i >= len(v.Content) {
			return v.Line
		}
		item := v.Content[i]
		for j := 0; j+1 < len(item.Content); j += 2 {
			if item.Content[j].Value == "name" {
				return item.Content[j+1].Line
			}
		}
		return item.Line
	}
	return 0
}
