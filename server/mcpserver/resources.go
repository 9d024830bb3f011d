package mcpserver

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runFiles are the files of a run a client may read, with their types.
var runFiles = map[string]string{
	"report.html":   "text/html",
	"report.md":     "text/markdown",
	"summary.json":  "application/json",
	"metrics.jsonl": "application/jsonl",
	"traces.jsonl":  "application/jsonl",
	"results.jsonl": "application/jsonl",
	"preset.yaml":   "application/yaml",
}

// maxResourceBytes bounds what one resource read returns.
const maxResourceBytes = 16 << 20

// runURI is the resource URI of file of run.
func runURI(run, file string) string {
	return "sleuth://runs/" + url.PathEscape(run) + "/" + file
}

// addResources offers the run files under dir: each one present now as a
// resource, and any run's (present later too) through the template
// sleuth://runs/{run}/{file}.
func addResources(s *mcp.Server, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("mcpserver: runs directory: %w", err)
	}
	defer root.Close()
	read := func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return readRunFile(dir, req.Params.URI)
	}
	names := make([]string, 0, len(runFiles))
	for n := range runFiles {
		names = append(names, n)
	}
	slices.Sort(names)
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "run-file", Title: "A file of a sleuth run", URITemplate: "sleuth://runs/{run}/{file}",
		Description: "A run's report, summary, metrics or traces; file is one of " + strings.Join(names, ", ")}, read)
	ents, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return fmt.Errorf("mcpserver: runs directory: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		for _, n := range names {
			st, err := root.Stat(e.Name() + "/" + n)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			s.AddResource(&mcp.Resource{URI: runURI(e.Name(), n), Name: e.Name() + "/" + n, MIMEType: runFiles[n], Size: st.Size()}, read)
		}
	}
	return nil
}

// readRunFile reads the run file uri names, through an os.Root so that
// nothing outside dir can be named.
func readRunFile(dir, uri string) (*mcp.ReadResourceResult, error) {
	rest, ok := strings.CutPrefix(uri, "sleuth://runs/")
	esc, file, ok2 := strings.Cut(rest, "/")
	mime, known := runFiles[file]
	run, err := url.PathUnescape(esc)
	if !ok || !ok2 || !known || err != nil || run == "" || run == "." || run == ".." || strings.ContainsAny(run, `/\`) {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("runs directory: %w", err)
	}
	defer root.Close()
	f, err := root.Open(run + "/" + file)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxResourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", uri, err)
	}
	if len(b) > maxResourceBytes {
		return nil, fmt.Errorf("%s is over %d MiB; read it with sleuth ui", uri, maxResourceBytes>>20)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: mime, Text: string(b)}}}, nil
}
