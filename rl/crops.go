package rl

import (
	"strings"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
)

// CropStats is how a step's VRAG crops went: how many the episodes made
// and the share of them whose text (the crop's text layer, as the policy
// read it) holds one of the question's gold answers as whole words. As
// RL teaches the policy where to look, the share should rise.
type CropStats struct {
	Crops      int     `json:"crops"`
	WithAnswer float64 `json:"with_answer"`
}

// stepCrops measures the crops of a step's episodes (in batch order, group
// per sample); nil when no episode cropped.
func stepCrops(eps []*agent.Episode, batch []Sample, group int) *CropStats {
	var st CropStats
	with := 0
	for i, ep := range eps {
		if group <= 0 || i/group >= len(batch) {
			continue
		}
		gold := batch[i/group].Gold.Answers
		for _, turn := range ep.Turns {
			for _, c := range turn.Calls {
				if c.Tool != agent.ToolCrop || c.Error != "" {
					continue
				}
				st.Crops++
				if CropHolds(c.Observation, gold) {
					with++
				}
			}
		}
	}
	if st.Crops == 0 {
		return nil
	}
	st.WithAnswer = float64(with) / float64(st.Crops)
	return &st
}

// CropHolds reports whether a crop's observation holds one of answers as
// whole words (after reward.Normalize), its first line (which crop of
// which page) left out.
func CropHolds(obs string, answers []string) bool {
	_, text, _ := strings.Cut(obs, "\n")
	t := " " + reward.Normalize(text) + " "
	for _, a := range answers {
		if n := reward.Normalize(a); n != "" && strings.Contains(t, " "+n+" ") {
			return true
		}
	}
	return false
}
