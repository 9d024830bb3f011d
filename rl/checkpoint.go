package rl

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/model"
)

// State is where a training run stands: enough, with the trainer's
// weights, moments and RNG, to continue exactly as if never stopped.
// Every other source of randomness in a run is a function of the seed and
// the step, so nothing else needs saving.
type State struct {
	Phase string     `json:"phase"` // "sft", "rl" or "done"
	Step  int        `json:"step"`  // steps completed in Phase
	Value *ValueHead `json:"value,omitempty"`
	Extra any        `json:"extra,omitempty"` // the caller's own resumable state
}

const (
	currentFile = "CURRENT"
	stateJSON   = "state.json"
)

// SaveCheckpoint writes the trainer and st as a new checkpoint under dir
// and publishes it atomically: the checkpoint is written to a temporary
// directory, renamed into place, and only then named in dir/CURRENT (itself
// replaced by rename). A run killed at any moment leaves the previous
// checkpoint current and intact. It keeps the newest keep checkpoints
// (at least 2).
func SaveCheckpoint(dir string, tr *model.Trainer, st State, keep int) (string, error) {
	name := fmt.Sprintf("%s-%06d", st.Phase, st.Step)
	final := filepath.Join(dir, name)
	tmp := final + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := tr.Save(tmp); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := atomicfile.Write(filepath.Join(tmp, stateJSON), b); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, currentFile), []byte(name+"\n")); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", final, err)
	}
	prune(dir, name, max(keep, 2))
	return final, nil
}

// LoadCheckpoint opens dir's current checkpoint. It returns os.ErrNotExist
// (wrapped) when dir holds none.
func LoadCheckpoint(dir string) (*model.Trainer, State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, currentFile))
	if err != nil {
		return nil, st, fmt.Errorf("checkpoint in %s: %w", dir, err)
	}
	name := strings.TrimSpace(string(b))
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, st, fmt.Errorf("checkpoint in %s: CURRENT names %q, not a checkpoint", dir, name)
	}
	path := filepath.Join(dir, name)
	tr, err := model.LoadTrainer(path)
	if err != nil {
		return nil, st, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	b, err = os.ReadFile(filepath.Join(path, stateJSON))
	if err != nil {
		return nil, st, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, st, fmt.Errorf("checkpoint %s: %s: %w", path, stateJSON, err)
	}
	return tr, st, nil
}

// HasCheckpoint reports whether dir holds a published checkpoint.
func HasCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, currentFile))
	return !errors.Is(err, os.ErrNotExist)
}

// prune removes checkpoints older than the newest keep, and leftover
// temporaries, never the current one.
func prune(dir, current string, keep int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	// A checkpoint sorts by its phase's place in the run, then its step.
	rank := func(n string) string {
		for i, p := range [...]string{"pretrain-", "sft-", "rl-", "done-"} {
			if strings.HasPrefix(n, p) {
				return fmt.Sprintf("%d%s", i, n)
			}
		}
		return ""
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case !e.IsDir() || n == current:
		case strings.HasSuffix(n, ".tmp"):
			os.RemoveAll(filepath.Join(dir, n))
		case rank(n) != "":
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for len(names) > keep-1 {
		os.RemoveAll(filepath.Join(dir, names[0]))
		names = names[1:]
	}
}
