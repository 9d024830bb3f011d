package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// baseFiles are the files of a base checkpoint, hashed in its manifest.
var baseFiles = []string{"config.json", "model.safetensors", "tokenizer.json"}

// baseManifest is base.json: what made a base checkpoint and the hashes
// that tie the files to it.
type baseManifest struct {
	// Recipe is the training config's name and ConfigSHA256 the hash of
	// the config as the run wrote it (config.yaml), seed included.
	Recipe       string `json:"recipe"`
	ConfigSHA256 string `json:"config_sha256"`
	Seed         int64  `json:"seed"`
	// Steps is how many pre-training steps the reading gate let it take;
	// ProbeOpen and ProbeClosed the reading probe's losses at the end.
	Steps       int               `json:"steps"`
	ProbeOpen   float64           `json:"probe_open"`
	ProbeClosed float64           `json:"probe_closed"`
	Files       map[string]string `json:"files"` // name → SHA-256
	Command     string            `json:"command"`
}

// baseModel is an opened base: its model, tokenizer and manifest.
type baseModel struct {
	model    *model.Model
	tok      *tokenizer.BPE
	manifest baseManifest
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// openBase copies the base named by ref ("builtin": the embedded
// examples/base; otherwise a directory) into dir, checks every file
// against the manifest's hash and loads it. The run keeps its own copy so
// that it still resumes when the base it named has changed.
func openBase(ref, dir string) (*baseModel, error) {
	var src fs.FS
	if ref == "builtin" {
		sub, err := fs.Sub(examples.Base, "base")
		if err != nil {
			return nil, err
		}
		src = sub
	} else {
		src = os.DirFS(ref)
	}
	mb, err := fs.ReadFile(src, "base.json")
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	var man baseManifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return nil, fmt.Errorf("base %s: base.json: %w", ref, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	for _, name := range baseFiles {
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", ref, err)
		}
		if got := sha256Hex(b); got != man.Files[name] {
			return nil, fmt.Errorf("base %s: %s has SHA-256 %s, base.json says %s: the file is not the one the recipe made", ref, name, got, man.Files[name])
		}
		if err := atomicfile.Write(filepath.Join(dir, name), b); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "base.json"), mb); err != nil {
		return nil, err
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	t, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	tok, ok := t.(*tokenizer.BPE)
	if !ok {
		return nil, fmt.Errorf("base %s: tokenizer.json is not a BPE tokenizer", ref)
	}
	return &baseModel{model: m, tok: tok, manifest: man}, nil
}

// exportBase writes the run's policy with its manifest into dir: what
// `sleuth train --config base --export examples/base` commits.
func (r *trainRun) exportBase(dir, recipe string) error {
	if r.cfg.SFT.Steps > 0 || r.cfg.RL.Steps > 0 || r.cfg.Base != "" {
		return fmt.Errorf("export %s: only a pre-training run (no base, no SFT or RL steps) makes a base", dir)
	}
	cfgYAML, err := os.ReadFile(r.path("config.yaml"))
	if err != nil {
		return err
	}
	lines, err := readJSONL[metricLine](r.path("metrics.jsonl"))
	if err != nil {
		return err
	}
	steps := 0
	for _, m := range lines {
		if m.Phase == phasePretrain {
			steps = max(steps, m.Step+1)
		}
	}
	man := baseManifest{Recipe: recipe, ConfigSHA256: sha256Hex(cfgYAML), Seed: r.cfg.Seed, Steps: steps,
		Files: map[string]string{}, Command: "sleuth train --config " + recipe + " --out DIR --export examples/base"}
	if man.ProbeOpen, man.ProbeClosed, err = r.probeReading(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	for _, name := range baseFiles {
		b, err := os.ReadFile(filepath.Join(r.path("policy"), name))
		if err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
		man.Files[name] = sha256Hex(b)
		if err := atomicfile.Write(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "base.json"), append(mb, '\n'))
}

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
// config.yaml.
func (id runIdentity) check(dir string, hasRun bool) error {
	var old runIdentity
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &old); err != nil {
			return fmt.Errorf("train %s: run.json: %w", dir, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("train %s: %w", dir, err)
	case !hasRun:
		return nil
	default:
		cfg, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
		if err != nil {
			return nil
		}
		var c runConfig
		if yaml.Unmarshal(cfg, &c) == nil {
			old = runIdentity{ConfigSHA256: sha256Hex(cfg), Seed: c.Seed}
		}
	}
	if old.ConfigSHA256 == id.ConfigSHA256 && old.BaseSHA256 == id.BaseSHA256 {
		return nil
	}
	what := "another config"
	switch {
	case old.Seed != id.Seed:
		what = fmt.Sprintf("seed %d (this run has seed %d)", old.Seed, id.Seed)
	case old.BaseSHA256 != id.BaseSHA256:
		what = "another base checkpoint"
	}
	return fmt.Errorf("%s holds a run made with %s; give --out another directory, or --force-new to discard it", dir, what)
}

func (id runIdentity) write(dir string) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "run.json"), append(b, '\n'))
}

// runEntries are what a training run writes into its directory; --force-new
// removes these and nothing else.
var runEntries = []string{"checkpoints", "metrics.jsonl", "samples.jsonl", "config.yaml", "run.json", "preset.yaml",
	"tokenizer.json", "index", "rl-index", "sft-index", "pretrain-index", "sft", "sft-state", "policy", "best-sft",
	"base", "report.html"}

// discardRun removes a run's files from dir (--force-new).
func discardRun(dir string, entries []string) error {
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e)); err != nil {
			return fmt.Errorf("--force-new: %w", err)
		}
	}
	return nil
}
