package local

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/model/tokenizer"
)

// LoadOptions say how Load reads a checkpoint.
type LoadOptions struct {
	// Tokenizer is the tokenizer file (llama2.c tokenizer.bin or
	// tokenizer.json); "" uses tokenizer.json beside the model when there
	// is one, and none otherwise.
	Tokenizer string
	// ChatTemplate is Config.ChatTemplate.
	ChatTemplate string
	// Deterministic is model.Model.Deterministic: a row's tokens do not
	// depend on what shares its batch.
	Deterministic bool
}

// Load loads the checkpoint at modelPath (a llama2.c .bin, or a directory
// with config.json and model.safetensors) and its tokenizer into a client
// named after the file. The model's kernels (a worker pool) live as long
// as the process.
func Load(modelPath string, o LoadOptions) (*Client, error) {
	m, err := model.Load(modelPath)
	if err != nil {
		return nil, err
	}
	m.Deterministic = o.Deterministic
	m.SetMatmuls(kernels.New(0))
	tokPath := o.Tokenizer
	if tokPath == "" {
		dir := modelPath
		if st, err := os.Stat(modelPath); err == nil && !st.IsDir() {
			dir = filepath.Dir(modelPath)
		}
		if cand := filepath.Join(dir, "tokenizer.json"); fileExists(cand) {
			tokPath = cand
		}
	}
	var tok tokenizer.Tokenizer
	if tokPath != "" {
		if tok, err = tokenizer.Load(tokPath); err != nil {
			return nil, err
		}
		if tok.VocabSize() > m.Config.Vocab {
			return nil, fmt.Errorf("tokenizer %s has %d tokens but model %s only %d", tokPath, tok.VocabSize(), modelPath, m.Config.Vocab)
		}
	}
	return New(m, tok, Config{Name: filepath.Base(modelPath), ChatTemplate: o.ChatTemplate}), nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
