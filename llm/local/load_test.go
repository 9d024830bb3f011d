package local

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-research/sleuth/internal/shareddata"
	"github.com/sleuth-research/sleuth/llm"
)

// TestLoad loads the shared llama2.c model with its tokenizer and
// generates; a missing checkpoint and a file that is not a tokenizer are
// refused.
func TestLoad(t *testing.T) {
	mp := shareddata.Path(t, "models/aidreams260K.bin")
	c, err := Load(mp, LoadOptions{Tokenizer: shareddata.Path(t, "models/aidreams260K_tok512.bin"), Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Generate(context.Background(), llm.Request{Prompt: "Once", MaxTokens: 3})
	if err != nil || len(resp.Choices) != 1 || resp.Model != "aidreams260K.bin" {
		t.Fatalf("generate: %+v (%v)", resp, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.bin"), LoadOptions{}); err == nil {
		t.Error("a missing checkpoint loaded")
	}
	if _, err := Load(mp, LoadOptions{Tokenizer: shareddata.Path(t, "models/aidreams260K.bin")}); err == nil || strings.Contains(err.Error(), "panic") {
		t.Errorf("a model file as tokenizer: %v", err)
	}
}
