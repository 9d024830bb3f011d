package world

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// small is a world big enough to exercise every question shape, quick to
// generate.
var small = Config{Seed: 11, Entities: 300, Questions: 600}

func mustGenerate(t testing.TB, cfg Config) *World {
	t.Helper()
	w, err := Generate(cfg)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", cfg, err)
	}
	return w
}

// files reads every file under dir, keyed by relative path.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{small, {Seed: -3, Entities: 60, Questions: 80}, {Seed: 1}} {
		t.Run(strconv.FormatInt(cfg.Seed, 10), func(t *testing.T) {
			a, b := t.TempDir(), t.TempDir()
			if err := mustGenerate(t, cfg).Write(a); err != nil {
				t.Fatal(err)
			}
			if err := mustGenerate(t, cfg).Write(b); err != nil {
				t.Fatal(err)
			}
			fa, fb := files(t, a), files(t, b)
			want := []string{"corpus.jsonl", "kb.jsonl", "questions/dev.jsonl", "questions/test.jsonl", "questions/train.jsonl", "world.json"}
			var got []string
			for name := range fa {
				got = append(got, filepath.ToSlash(name))
			}
			slices.Sort(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("files (-want +got):\n%s", d)
			}
			for name, x := range fa {
				if !bytes.Equal(x, fb[name]) {
					t.Errorf("%s differs between two runs with the same seed", name)
				}
			}
		})
	}
}

func TestDefaultSize(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, Config{Seed: 5})
	s := w.Summary()
	if s.Passages < 2000 || s.Passages > 6000 || s.Questions != DefaultQuestions {
		t.Errorf("default world: %d passages, %d questions; want a few thousand of each", s.Passages, s.Questions)
	}
	want := []SplitCount{{Train, 3200}, {Dev, 400}, {Test, 400}}
	if d := cmp.Diff(want, s.Splits); d != "" {
		t.Errorf("splits (-want +got):\n%s", d)
	}
	if len(s.ByHops) != 4 {
		t.Fatalf("hop counts %+v, want 1 to 4", s.ByHops)
	}
	for _, h := range s.ByHops {
		if h.Chain == 0 {
			t.Errorf("no %d-hop chain questions", h.Hops)
		}
	}
	if s.ByHops[1].Comparison == 0 {
		t.Error("no comparison questions")
	}
}

func TestSeedsDisjoint(t *testing.T) {
	t.Parallel()
	names := func(w *World) map[string]bool {
		m := map[string]bool{}
		for _, e := range w.Entities {
			m[e.Name] = true
			for _, a := range e.Aliases {
				m[a] = true
			}
		}
		return m
	}
	for _, seeds := range [][2]int64{{1, 2}, {0, -1}, {2, 3}} {
		a, b := mustGenerate(t, Config{Seed: seeds[0]}), mustGenerate(t, Config{Seed: seeds[1]})
		na := names(a)
		var shared []string
		for _, e := range b.Entities {
			if na[e.Name] {
				shared = append(shared, e.Name)
			}
		}
		if len(shared) > 0 {
			t.Errorf("seeds %d and %d share entity names %q", seeds[0], seeds[1], shared)
		}
		if a.Passages[0].ID == b.Passages[0].ID || a.Questions[0].ID == b.Questions[0].ID {
			t.Errorf("seeds %d and %d share ids", seeds[0], seeds[1])
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"too few entities", Config{Entities: 10}, "at least 60"},
		{"negative questions", Config{Questions: -1}, "negative"},
		{"too many questions", Config{Entities: 60, Questions: 50000}, "use more entities"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Generate(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, small)
	dir := t.TempDir()
	if err := w.Write(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, got); d != "" {
		t.Fatalf("Load(Write(w)) (-want +got):\n%s", d)
	}
	// Writing again over an existing world replaces it cleanly.
	if err := got.Write(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	w := mustGenerate(t, Config{Seed: 2, Entities: 60, Questions: 40})
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"missing meta", MetaFile, "", "world.json"},
		{"new version", MetaFile, `{"version": 99}`, "version 99"},
		{"bad corpus line", CorpusFile, "{\"id\":\"a\",\"text\":\"x\"}\n{oops\n", "corpus.jsonl:2"},
		{"repeated passage", CorpusFile, "{\"id\":\"a\",\"text\":\"x\"}\n\n{\"id\":\"a\",\"text\":\"y\"}\n", "corpus.jsonl:3: passage id \"a\" repeated"},
		{"wrong split", "questions/dev.jsonl", `{"id":"q","split":"train","question":"Q?","answers":["a"]}`, "dev.jsonl:1"},
		{"no answers", "questions/test.jsonl", `{"id":"q","question":"Q?"}`, "no answers"},
		{"foreign passage", "questions/train.jsonl", `{"id":"q","question":"Q?","answers":["a"],"supporting":["nope"]}`, "cites passage nope"},
		{"kb line with both", KBFile, `{"entity":{"id":"e","name":"E"},"fact":{"subject":"e","relation":"r"}}`, "kb.jsonl:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := w.Write(dir); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(tc.file))
			var err error
			if tc.content == "" {
				err = os.Remove(p)
			} else {
				err = os.WriteFile(p, []byte(tc.content), 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
