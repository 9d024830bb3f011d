package generation

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPublishCycle(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ix")
	if _, err := Current(dir); err == nil {
		t.Fatal("Current of a missing index succeeded")
	}
	name, path, err := Next(dir)
	if err != nil {
		t.Fatal(err)
	}
	if name != "gen-000001" || path != filepath.Join(dir, name) {
		t.Fatalf("Next = %s, %s", name, path)
	}
	os.WriteFile(filepath.Join(path, "data"), []byte("one"), 0o644)
	if err := Publish(dir, name); err != nil {
		t.Fatal(err)
	}
	// A stray generation (a killed build) is skipped by the next number
	// and removed by the next publish.
	stray, _, _ := Next(dir)
	name3, _, _ := Next(dir)
	if stray != "gen-000002" || name3 != "gen-000003" {
		t.Fatalf("next names %s, %s", stray, name3)
	}
	if cur, _ := Current(dir); cur != path {
		t.Errorf("Current = %s before the publish, want %s", cur, path)
	}
	if err := Publish(dir, name3); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"CURRENT", "gen-000003"}, names); diff != "" {
		t.Errorf("after publish (-want +got):\n%s", diff)
	}
	os.WriteFile(filepath.Join(dir, CurrentFile), []byte("../etc\n"), 0o644)
	if _, err := Current(dir); err == nil {
		t.Error("a CURRENT naming no generation was accepted")
	}
}
