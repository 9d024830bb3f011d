package model

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Checkpoint directories hold Hugging Face files (config.json and
// model.safetensors with HF tensor names), plus train_state.safetensors
// (AdamW moments under "adam_m."/"adam_v." prefixes; step, RNG state and
// TrainConfig in its metadata) when a Trainer saved them. Every file is
// written atomically.
const (
	configFile = "config.json"
	modelFile  = "model.safetensors"
	stateFile  = "train_state.safetensors"
)

// Save writes config.json and model.safetensors (F32) into dir. An
// interleaved-RoPE model (llama2.c) is written in the HF rotate-half
// layout, its q/k rows permuted, so any HF reader gets the same function.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	cfg, err := m.Config.HFConfigJSON()
	if err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	err = writeAtomic(filepath.Join(dir, configFile), func(w *bufio.Writer) error {
		_, err := w.Write(append(cfg, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	return writeSafetensors(filepath.Join(dir, modelFile), hfTensors(m.Config, m.Params, ""), map[string]string{"format": "pt"})
}

// Load opens a checkpoint: a llama2.c .bin file, a directory with
// config.json and model.safetensors, or a .safetensors file with
// config.json beside it.
func Load(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	switch {
	case st.IsDir():
		return loadHF(filepath.Join(path, configFile), filepath.Join(path, modelFile))
	case strings.HasSuffix(path, ".safetensors"):
		return loadHF(filepath.Join(filepath.Dir(path), configFile), path)
	}
	return LoadLlama2C(path)
}

func loadHF(configPath, weightsPath string) (*Model, error) {
	cfg, err := ReadHFConfig(configPath)
	if err != nil {
		return nil, err
	}
	files := []string{weightsPath}
	index := strings.TrimSuffix(weightsPath, ".safetensors") + ".safetensors.index.json"
	if _, err := os.Stat(weightsPath); err != nil {
		if files, err = shardFiles(index); err != nil {
			return nil, err
		}
	}
	tensors := map[string]*stTensor{}
	for _, f := range files {
		data, release, err := mapFile(f)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", f, err)
		}
		defer release()
		ts, _, err := parseSafetensors(data)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", f, err)
		}
		for name, t := range ts {
			tensors[name] = t
		}
	}
	where := strings.Join(files, ", ")
	// Check every tensor before allocating what config.json claims.
	if err := fillFromSafetensors(cfg, nil, tensors, ""); err != nil {
		return nil, fmt.Errorf("load %s: %w", where, err)
	}
	params := make([]float32, NumParams(cfg))
	if err := fillFromSafetensors(cfg, params, tensors, ""); err != nil {
		return nil, fmt.Errorf("load %s: %w", where, err)
	}
	return New(cfg, params)
}

// shardFiles lists the files of a sharded checkpoint from its
// model.safetensors.index.json, in sorted order.
func shardFiles(index string) ([]string, error) {
	b, err := os.ReadFile(index)
	if err != nil {
		return nil, fmt.Errorf("load model: no weights (%w)", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("load %s: %w", index, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range idx.WeightMap {
		if f != filepath.Base(f) {
			return nil, fmt.Errorf("load %s: shard %q must be a file name in the same directory", index, f)
		}
		if !seen[f] {
			seen[f] = true
			files = append(files, filepath.Join(filepath.Dir(index), f))
		}
	}
	slices.Sort(files)
	return files, nil
}

// Save writes the model and the optimizer state (moments, step, RNG,
// config) into dir. Call it between optimizer steps: accumulated but
// unapplied gradients are not saved.
func (t *Trainer) Save(dir string) error {
	if err := t.Model.Save(dir); err != nil {
		return err
	}
	rng, err := t.RNGSrc.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save trainer %s: %w", dir, err)
	}
	tc, err := json.Marshal(t.Cfg)
	if err != nil {
		return fmt.Errorf("save trainer %s: %w", dir, err)
	}
	meta := map[string]string{"step": strconv.Itoa(t.Step), "rng": hex.EncodeToString(rng), "train_config": string(tc)}
	tensors := append(hfTensors(t.Model.Config, t.M, "adam_m."), hfTensors(t.Model.Config, t.V, "adam_v.")...)
	return writeSafetensors(filepath.Join(dir, stateFile), tensors, meta)
}

// LoadTrainer resumes training from a directory written by Trainer.Save:
// the same parameters, moments, step and RNG state.
func LoadTrainer(dir string) (*Trainer, error) {
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, stateFile)
	data, release, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	defer release()
	tensors, meta, err := parseSafetensors(data)
	if err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	var tc TrainConfig
	if err := json.Unmarshal([]byte(meta["train_config"]), &tc); err != nil {
		return nil, fmt.Errorf("load trainer %s: train_config: %w", path, err)
	}
	t, err := NewTrainer(m, tc, 0)
	if err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	if t.Step, err = strconv.Atoi(meta["step"]); err != nil {
		return nil, fmt.Errorf("load trainer %s: step: %w", path, err)
	}
	rng, err := hex.DecodeString(meta["rng"])
	if err == nil {
		err = t.RNGSrc.UnmarshalBinary(rng)
	}
	if err != nil {
		return nil, fmt.Errorf("load trainer %s: rng: %w", path, err)
	}
	if err := fillFromSafetensors(m.Config, t.M, tensors, "adam_m."); err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	if err := fillFromSafetensors(m.Config, t.V, tensors, "adam_v."); err != nil {
		return nil, fmt.Errorf("load trainer %s: %w", path, err)
	}
	return t, nil
}
