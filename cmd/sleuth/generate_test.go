package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sleuth-research/sleuth/internal/shareddata"
)

func TestGenerateCmd(t *testing.T) {
	t.Parallel()
	modelPath := shareddata.Path(t, "models/aidreams260K.bin")
	tokPath := shareddata.Path(t, "models/aidreams260K_tok512.bin")
	for _, tc := range []struct {
		name string
		args []string
		want string // in stdout, or in the error when err
		err  bool
	}{
		{"ids json", []string{"--prompt-ids", "1", "--max-tokens", "5", "--json"}, `"ids":[319,459,355,260,275]`, false},
		{"text", []string{"--tokenizer", tokPath, "--prompt-ids", "1", "--max-tokens", "4"}, "\"Echoes\nids: [319 459 355 260]", false},
		{"no prompt", []string{"--max-tokens", "4"}, "exactly one of --prompt and --prompt-ids", true},
		{"prompt needs tokenizer", []string{"--prompt", "hi"}, "--prompt needs --tokenizer", true},
		{"bad id", []string{"--prompt-ids", "1,x"}, "--prompt-ids item 2", true},
		{"out of vocab", []string{"--prompt-ids", "1,9999"}, "outside vocabulary", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(append([]string{"generate", "--model", modelPath}, tc.args...))
			err := cmd.Execute()
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output %q lacks %q", out.String(), tc.want)
			}
		})
	}
	t.Run("json fields", func(t *testing.T) {
		var out bytes.Buffer
		cmd := newRootCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs([]string{"generate", "--model", modelPath, "--prompt-ids", "1", "--max-tokens", "3", "--json"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		var got struct {
			IDs      []int     `json:"ids"`
			Logprobs []float64 `json:"logprobs"`
			Finish   string    `json:"finish_reason"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int{319, 459, 355}, got.IDs); diff != "" || len(got.Logprobs) != 3 || got.Finish != "length" {
			t.Errorf("got %+v (ids diff %s)", got, diff)
		}
	})
}
