package guard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDenyList(t *testing.T) {
	d, err := ParseDenyList([]byte("# comment\nhuggingface.co/datasets\nhttps://HotpotQA.github.io/  # trailing comment\n*.example.org/a/b/\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 {
		t.Fatalf("%d rules, want 3", d.Len())
	}
	for u, want := range map[string]string{
		"https://huggingface.co/datasets/hotpotqa/hotpot_qa":   "huggingface.co/datasets",
		"https://huggingface.co/datasets":                      "huggingface.co/datasets",
		"https://HuggingFace.co/Datasets?search=musique":       "huggingface.co/datasets",
		"http://www.huggingface.co/datasets/x":                 "huggingface.co/datasets",
		"https://huggingface.co/datasets%2Fnq_open":            "huggingface.co/datasets", // escaped slash still under the prefix
		"https://huggingface.co/datasetsfoo":                   "",
		"https://huggingface.co/models/x":                      "",
		"https://nothuggingface.co/datasets/x":                 "",
		"https://hotpotqa.github.io/":                          "https://HotpotQA.github.io/",
		"https://hotpotqa.github.io.:443/explorer.html":        "https://HotpotQA.github.io/",
		"https://example.org/a/b/c":                            "*.example.org/a/b/",
		"https://sub.example.org/a/b":                          "*.example.org/a/b/",
		"https://example.org/a/bc":                             "",
		"https://en.wikipedia.org/wiki/HotpotQA":               "",
		"not a url":                                            "",
		"huggingface.co/datasets/x (no scheme: not fetchable)": "",
	} {
		rule, blocked := d.Blocks(u)
		if rule != want || blocked != (want != "") {
			t.Errorf("Blocks(%q) = %q, %v; want %q", u, rule, blocked, want)
		}
	}
	var none *DenyList
	if _, b := none.Blocks("https://huggingface.co/datasets/x"); b || none.Len() != 0 {
		t.Error("a nil list blocks")
	}
	if m := none.Merge(d); m.Len() != 3 {
		t.Errorf("merged %d rules", m.Len())
	}
	for _, bad := range []string{"localhost", "*", "exa mple.org", "/datasets", "user@host.org", "a.org/b c"} {
		if _, err := ParseDenyList([]byte(bad), "bad"); err == nil || !strings.Contains(err.Error(), "bad:1") {
			t.Errorf("rule %q: err %v", bad, err)
		}
	}
}

func TestDefaultDenyList(t *testing.T) {
	d := DefaultDenyList()
	if d.Len() < 20 {
		t.Fatalf("built-in list has %d rules", d.Len())
	}
	for _, u := range []string{"https://huggingface.co/datasets/RUC-NLPIR/FlashRAG_datasets", "https://github.com/StonyBrookNLP/musique/blob/main/README.md",
		"https://raw.githubusercontent.com/hotpotqa/hotpot/master/hotpot_evaluate_v1.py", "https://www.kaggle.com/datasets/x/y"} {
		if _, b := d.Blocks(u); !b {
			t.Errorf("built-in list lets %s through", u)
		}
	}
	for _, u := range []string{"https://en.wikipedia.org/wiki/Natural_Questions", "https://github.com/golang/go", "https://huggingface.co/Qwen/Qwen2.5-3B"} {
		if rule, b := d.Blocks(u); b {
			t.Errorf("built-in list blocks %s (rule %s)", u, rule)
		}
	}
}

func FuzzDenyList(f *testing.F) {
	f.Add([]byte("huggingface.co/datasets\n# c\nhotpotqa.github.io"), "https://huggingface.co/datasets/x")
	f.Add([]byte("*.a.org/b/"), "http://x.a.org/b/c?d#e")
	f.Fuzz(func(t *testing.T, rules []byte, u string) {
		if len(rules) > 1<<14 || len(u) > 1<<12 {
			return
		}
		d, err := ParseDenyList(rules, "fuzz")
		if err != nil {
			return
		}
		if rule, b := d.Blocks(u); b != (rule != "") {
			t.Fatalf("Blocks(%q) = %q, %v", u, rule, b)
		}
	})
}

func TestLoadDenyList(t *testing.T) {
	base := DefaultDenyList().Len()
	d, err := LoadDenyList("")
	if err != nil || d.Len() != base {
		t.Fatalf("no file: %d rules (%v), want the built-in %d", d.Len(), err, base)
	}
	f := filepath.Join(t.TempDir(), "deny.txt")
	if err := os.WriteFile(f, []byte("# extra\nanswers.example.org/key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = LoadDenyList(f)
	if err != nil || d.Len() != base+1 {
		t.Fatalf("with a file: %d rules (%v), want %d", d.Len(), err, base+1)
	}
	if _, blocked := d.Blocks("https://answers.example.org/key/1"); !blocked {
		t.Error("the file's rule does not block")
	}
	if err := os.WriteFile(f, []byte("not a rule\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDenyList(f); err == nil {
		t.Error("a malformed rule loaded")
	}
	if _, err := LoadDenyList(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file loaded")
	}
}
