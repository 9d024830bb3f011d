package atomicfile

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteReplacesWholeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, want := range []string{"first, longer content", "second"} {
		if err := Write(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("temporary left behind: %v", ents)
	}
	if err := Write(filepath.Join(path, "under-a-file"), nil); err == nil {
		t.Error("writing under a regular file: no error")
	}
}

// A symlink planted at the temporary name the old helper used (PATH.tmp)
// must not be written through.
func TestWriteDoesNotFollowPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out.json")
	if err := os.Symlink(victim, path+".tmp"); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim overwritten through the symlink: %q", b)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("target = %q", b)
	}
}

func TestWriteKeepsModeAndFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", st.Mode().Perm())
	}
	err := WriteFunc(path, func(w *bufio.Writer) error {
		w.WriteString("half")
		return fmt.Errorf("boom")
	})
	if err == nil {
		t.Fatal("fill error not returned")
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary left behind: %v", ents)
	}
}

func TestReplaceDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "policy")
	for gen := range 3 {
		err := ReplaceDir(dir, func(tmp string) error { return writeGen(tmp, gen, 10) })
		if err != nil {
			t.Fatal(err)
		}
		if g, err := checkGen(dir); err != nil || g != gen {
			t.Fatalf("after save %d: generation %d, %v", gen, g, err)
		}
	}
	err := ReplaceDir(dir, func(tmp string) error { return fmt.Errorf("disk full") })
	if err == nil {
		t.Fatal("fill error not returned")
	}
	if g, err := checkGen(dir); err != nil || g != 2 {
		t.Errorf("a failed save changed the policy: %d, %v", g, err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// The fallback's crash window: dir gone, dir.prev holds the old one.
	if err := os.Rename(dir, dir+".prev"); err != nil {
		t.Fatal(err)
	}
	if err := RecoverDir(dir); err != nil {
		t.Fatal(err)
	}
	if g, err := checkGen(dir); err != nil || g != 2 {
		t.Errorf("recovered generation %d, %v", g, err)
	}
}

// writeGen writes three files of kib KiB each, every byte telling gen.
func writeGen(dir string, gen, kib int) error {
	body := bytes.Repeat([]byte(strconv.Itoa(gen%10)), kib<<10)
	for _, name := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "gen"), []byte(strconv.Itoa(gen)), 0o644)
}

// checkGen reports the generation in dir, or why dir is not a whole one.
func checkGen(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "gen"))
	if err != nil {
		return 0, err
	}
	gen, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fmt.Errorf("gen file %q", b)
	}
	var size int
	for _, name := range []string{"model.safetensors", "config.json", "tokenizer.json"} {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		if size == 0 {
			size = len(body)
		}
		if len(body) != size || size == 0 || strings.Trim(string(body), strconv.Itoa(gen%10)) != "" {
			return 0, fmt.Errorf("%s torn or from another generation (%d bytes)", name, len(body))
		}
	}
	return gen, nil
}

// TestHelperSaver is the child of TestKilledDuringSaves: it saves a
// policy directory and a file over and over until it is killed.
func TestHelperSaver(t *testing.T) {
	dir := os.Getenv("ATOMICFILE_SAVER_DIR")
	if dir == "" {
		t.Skip("run by TestKilledDuringSaves")
	}
	for gen := 1; ; gen++ {
		if err := ReplaceDir(filepath.Join(dir, "policy"), func(tmp string) error { return writeGen(tmp, gen, 512) }); err != nil {
			t.Fatal(err)
		}
		if err := Write(filepath.Join(dir, "state.json"), bytes.Repeat([]byte{'a' + byte(gen%26)}, 256<<10)); err != nil {
			t.Fatal(err)
		}
	}
}

// kill -9 at random moments during saves (5 tries) always leaves a
// complete policy and a complete state file.
func TestKilledDuringSaves(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ReplaceDir(filepath.Join(dir, "policy"), func(tmp string) error { return writeGen(tmp, 0, 512) }); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "state.json"), bytes.Repeat([]byte{'a'}, 256<<10)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	last := 0
	for try := range 5 {
		cmd := exec.Command(exe, "-test.run=^TestHelperSaver$")
		cmd.Env = append(os.Environ(), "ATOMICFILE_SAVER_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+rng.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		gen, err := checkGen(filepath.Join(dir, "policy"))
		if err != nil {
			t.Fatalf("try %d: policy after kill -9: %v", try, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil || len(b) != 256<<10 || strings.Trim(string(b), string(b[:1])) != "" {
			t.Fatalf("try %d: state file after kill -9: %d bytes, %v", try, len(b), err)
		}
		t.Logf("try %d: killed at generation %d (policy complete)", try, gen)
		last = gen
	}
	if last == 0 {
		t.Log("the saver never finished a save before its kill: the machine is slow")
	}
}
