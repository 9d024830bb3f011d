package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/rl"
)

// runIdentity is run.json: what a run directory was made by. A run
// resumed, or a quickstart re-run, with another config, seed or base
// would reuse the old worlds' indexes and print the old table under the
// new name, so open refuses it.
type runIdentity struct {
	ConfigSHA256 string `json:"config_sha256"`
	Seed         int64  `json:"seed"`
	BaseSHA256   string `json:"base_sha256,omitempty"` // the base's model.safetensors
	// Revision is the code's VCS revision where the binary knows it:
	// recorded, not enforced (a fix between runs is allowed to resume).
	Revision string `json:"revision,omitempty"`
}

func newRunIdentity(cfgYAML []byte, seed int64, base *baseModel) runIdentity {
	id := runIdentity{ConfigSHA256: sha256Hex(cfgYAML), Seed: seed}
	if base != nil {
		id.BaseSHA256 = base.manifest.Files["model.safetensors"]
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				id.Revision = s.Value
			}
		}
	}
	return id
}

// check refuses a directory made by another config, seed or base. A
// directory of an older sleuth without run.json is compared by its
// config.yaml. Resuming from a checkpoint at st (nil when there is none),
// a config that differs from the run's only in settings that can still
// take effect (resumable) is accepted: the caller then writes the new
// config.yaml and run.json, so they say what is in force. Any other
// changed setting is refused by name, with its old and new values.
func (id runIdentity) check(dir string, hasRun bool, cfgYAML []byte, st *rl.State, pretrainSteps int) (applied []settingChange, err error) {
	var old runIdentity
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	oldYAML, cerr := os.ReadFile(filepath.Join(dir, "config.yaml"))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &old); err != nil {
			return nil, fmt.Errorf("train %s: run.json: %w", dir, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("train %s: %w", dir, err)
	case !hasRun:
		return nil, nil
	default:
		if cerr != nil {
			return nil, nil
		}
		var c Config
		if yaml.Unmarshal(oldYAML, &c) == nil {
			old = runIdentity{ConfigSHA256: sha256Hex(oldYAML), Seed: c.Seed}
		}
	}
	if old.ConfigSHA256 == id.ConfigSHA256 && old.BaseSHA256 == id.BaseSHA256 {
		return nil, nil
	}
	what := "another config"
	switch {
	case old.Seed != id.Seed:
		what = fmt.Sprintf("seed %d (this run has seed %d)", old.Seed, id.Seed)
	case old.BaseSHA256 != id.BaseSHA256:
		what = "another base checkpoint"
	case cerr == nil && sha256Hex(oldYAML) == old.ConfigSHA256:
		changes, err := configChanges(oldYAML, cfgYAML)
		if err != nil {
			return nil, fmt.Errorf("train %s: %w", dir, err)
		}
		var refused []string
		for _, c := range changes {
			if st == nil || !resumable(c, *st, pretrainSteps) {
				refused = append(refused, c.String())
			} else {
				applied = append(applied, c)
			}
		}
		if len(refused) == 0 {
			return applied, nil
		}
		what = "other settings: " + strings.Join(refused, ", ")
		if st != nil {
			what += fmt.Sprintf(" (resuming at %s step %d, only checkpoint.keep, rl.steps and, up to pretrain.steps, pretrain.rewarm_lr and rewarm_steps can still change: the checkpoint's weights, optimiser and worlds were made with the rest)", st.Phase, st.Step)
		}
	}
	return nil, fmt.Errorf("%s holds a run made with %s; give --out another directory, or --force-new to discard it", dir, what)
}

// settingChange is one setting that differs between two config.yaml
// files: its dotted key (rl.steps) and both values as YAML writes them.
type settingChange struct{ Key, Old, New string }

func (c settingChange) String() string {
	return fmt.Sprintf("%s %s (this config: %s)", c.Key, c.Old, c.New)
}

// configChanges lists the settings that differ between two marshalled
// configs, in key order.
func configChanges(oldYAML, newYAML []byte) ([]settingChange, error) {
	flat := func(b []byte) (map[string]string, error) {
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("config.yaml: %w", err)
		}
		out := map[string]string{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			if sub, ok := v.(map[string]any); ok {
				for k, x := range sub {
					walk(prefix+k+".", x)
				}
				return
			}
			out[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
		}
		walk("", m)
		return out, nil
	}
	a, err := flat(oldYAML)
	if err != nil {
		return nil, err
	}
	b, err := flat(newYAML)
	if err != nil {
		return nil, err
	}
	var out []settingChange
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, settingChange{k, v, b[k]})
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			out = append(out, settingChange{k, "(unset)", w})
		}
	}
	slices.SortFunc(out, func(x, y settingChange) int { return strings.Compare(x.Key, y.Key) })
	return out, nil
}

// resumable reports whether a changed setting can still take effect in a
// run resumed at st, and so leave it as a run made with the new setting
// would be: how many checkpoints are kept, always; how many RL steps,
// while RL has not ended and the new count is not below the steps done.
// (RL's learning rate is constant, so its steps change no step's update);
// the rate of the steps the reading gate adds, while pre-training has not
// gone past pretrain.steps (pretrainSteps), where those steps begin.
func resumable(c settingChange, st rl.State, pretrainSteps int) bool {
	switch c.Key {
	case "checkpoint.keep":
		return true
	case "pretrain.rewarm_lr", "pretrain.rewarm_steps":
		return st.Phase == phasePretrain && st.Step <= pretrainSteps
	case "rl.steps":
		n, err := strconv.Atoi(c.New)
		if err != nil {
			return false
		}
		return phaseRank(st.Phase) < phaseRank(phaseRL) || (st.Phase == phaseRL && n >= st.Step)
	}
	return false
}

func (id runIdentity) write(dir string) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "run.json"), append(b, '\n'))
}

// RunEntries are what a training run writes into its directory; --force-new
// removes these and nothing else.
var RunEntries = []string{"checkpoints", "metrics.jsonl", "samples.jsonl", "config.yaml", "run.json", "preset.yaml",
	"tokenizer.json", "index", "rl-index", "sft-index", "pretrain-index", "sft", "sft-state", "policy", "best-sft",
	"base", "report.html", "recipe.json", "eval", "eval-validation", "heldout-index", "validation-index"}

// DiscardRun removes a run's files from dir (--force-new).
func DiscardRun(dir string, entries []string) error {
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e)); err != nil {
			return fmt.Errorf("--force-new: %w", err)
		}
	}
	return nil
}

// QuickstartEntries are what a quickstart writes into its directory (the
// run in train/, the evaluations, the held-out indexes, the report).
var QuickstartEntries = []string{"train", "eval", "eval-validation", "heldout-index", "validation-index", "report.html"}
