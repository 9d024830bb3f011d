package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sleuth-research/sleuth/internal/atomicfile"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// BaseFiles are the files of a base checkpoint, hashed in its manifest.
var BaseFiles = []string{"config.json", "model.safetensors", "tokenizer.json"}

// baseMetrics is the base's pre-training curve (metrics.jsonl without
// timings): hashed in the manifest when there, not needed to load.
const baseMetrics = "metrics.jsonl"

// BaseManifest is base.json: what made a base checkpoint and the hashes
// that tie the files to it.
type BaseManifest struct {
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
	manifest BaseManifest
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// BuiltinBase reports whether ref names a base built into the program, and
// which: "builtin" is examples/base, "builtin:NAME" examples/NAME. Each is
// made by the training config of the same name (examples/train/NAME.yaml).
func BuiltinBase(ref string) (name string, ok bool) {
	if ref == "builtin" {
		return "base", true
	}
	if name, ok = strings.CutPrefix(ref, "builtin:"); !ok {
		return "", false
	}
	return name, true
}

// builtinRef is the ref that names the built-in base NAME: BuiltinBase's
// inverse.
func builtinRef(name string) string {
	if name == "base" {
		return "builtin"
	}
	return "builtin:" + name
}

// openBase copies the base named by ref (BuiltinBase's names, in builtin,
// the embedded examples; otherwise a directory) into dir, checks every file
// against the manifest's hash and loads it. The run keeps its own copy so
// that it still resumes when the base it named has changed.
func openBase(ref, dir string, builtin fs.FS) (*baseModel, error) {
	var src fs.FS
	name, isBuiltin := BuiltinBase(ref)
	if isBuiltin {
		if builtin == nil {
			return nil, fmt.Errorf("base %s: this program has no built-in base", ref)
		}
		if !fs.ValidPath(name) || strings.Contains(name, "/") {
			return nil, fmt.Errorf("base %s: %q is not a built-in base's name", ref, name)
		}
		sub, err := fs.Sub(builtin, name)
		if err != nil {
			return nil, err
		}
		src = sub
	} else {
		src = os.DirFS(ref)
	}
	mb, err := fs.ReadFile(src, "base.json")
	if isBuiltin && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("base %s: no built-in base %q (the built-in ones: %s)", ref, name, strings.Join(builtinBases(builtin), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	var man BaseManifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return nil, fmt.Errorf("base %s: base.json: %w", ref, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	for _, name := range BaseFiles {
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
	if want, ok := man.Files[baseMetrics]; ok {
		b, err := fs.ReadFile(src, baseMetrics)
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", ref, err)
		}
		if got := sha256Hex(b); got != want {
			return nil, fmt.Errorf("base %s: %s has SHA-256 %s, base.json says %s", ref, baseMetrics, got, want)
		}
		if err := atomicfile.Write(filepath.Join(dir, baseMetrics), b); err != nil {
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

// ExportBase writes the run's policy with its manifest into dir: what
// `sleuth train --config NAME --export examples/NAME` commits (base,
// base3).
func (r *Run) ExportBase(dir, recipe string) error {
	if r.Cfg.SFT.Steps > 0 || r.Cfg.RL.Steps > 0 || r.Cfg.Base != "" {
		return fmt.Errorf("export %s: only a pre-training run (no base, no SFT or RL steps) makes a base", dir)
	}
	cfgYAML, err := os.ReadFile(r.Path("config.yaml"))
	if err != nil {
		return err
	}
	lines, err := readJSONL[metricLine](r.Path("metrics.jsonl"))
	if err != nil {
		return err
	}
	steps := 0
	for _, m := range lines {
		if m.Phase == phasePretrain {
			steps = max(steps, m.Step+1)
		}
	}
	to := "examples/" + recipe // where a built-in recipe's base is committed
	if strings.ContainsAny(recipe, `/\.`) {
		to = "BASE_DIR"
	}
	man := BaseManifest{Recipe: recipe, ConfigSHA256: sha256Hex(cfgYAML), Seed: r.Cfg.Seed, Steps: steps,
		Files: map[string]string{}, Command: "sleuth train --config " + recipe + " --out DIR --export " + to}
	if man.ProbeOpen, man.ProbeClosed, err = r.probeReading(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	for _, name := range BaseFiles {
		b, err := os.ReadFile(filepath.Join(r.Path("policy"), name))
		if err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
		man.Files[name] = sha256Hex(b)
		if err := atomicfile.Write(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	// The pre-training curve goes with the weights, without its timings,
	// so that regenerating the base reproduces every file byte for byte.
	var curve bytes.Buffer
	for _, m := range lines {
		if m.Phase != phasePretrain {
			continue
		}
		m.TokensPS = 0
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		curve.Write(append(b, '\n'))
	}
	man.Files[baseMetrics] = sha256Hex(curve.Bytes())
	if err := atomicfile.Write(filepath.Join(dir, baseMetrics), curve.Bytes()); err != nil {
		return err
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "base.json"), append(mb, '\n'))
}

// builtinBases lists the refs of the bases in builtin, for error messages.
func builtinBases(builtin fs.FS) []string {
	var refs []string
	entries, _ := fs.ReadDir(builtin, ".")
	for _, e := range entries {
		if _, err := fs.Stat(builtin, e.Name()+"/base.json"); e.IsDir() && err == nil {
			refs = append(refs, builtinRef(e.Name()))
		}
	}
	return refs
}
