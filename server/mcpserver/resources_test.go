package mcpserver

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestRunResources(t *testing.T) {
	runs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(runs, "eval 1"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"report.md": "# EM 42%", "summary.json": `{"overall":{}}`, "secret.key": "no"} {
		if err := os.WriteFile(filepath.Join(runs, "eval 1", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(runs, "..", "outside.md"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, Config{Runs: runs, Logger: slog.New(slog.DiscardHandler)}, nil)
	list, err := cs.ListResources(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
	}
	if strings.Join(uris, " ") != "sleuth://runs/eval%201/report.md sleuth://runs/eval%201/summary.json" {
		t.Errorf("resources %q", uris)
	}
	res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "sleuth://runs/eval%201/report.md"})
	if err != nil || len(res.Contents) != 1 || res.Contents[0].Text != "# EM 42%" || res.Contents[0].MIMEType != "text/markdown" {
		t.Fatalf("read: %v %+v", err, res)
	}
	// A run written after the server started is readable through the template.
	if err := os.MkdirAll(filepath.Join(runs, "later"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs, "later", "report.md"), []byte("later"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "sleuth://runs/later/report.md"}); err != nil || res.Contents[0].Text != "later" {
		t.Errorf("later run: %v", err)
	}
	for _, uri := range []string{"sleuth://runs/eval%201/secret.key", "sleuth://runs/..%2F/outside.md", "sleuth://runs/../outside.md", "sleuth://runs/%2E%2E/report.md", "sleuth://runs/nosuch/report.md", "file:///etc/passwd"} {
		if res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri}); err == nil {
			t.Errorf("%s was read: %+v", uri, res)
		}
	}
}
