package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/model/kernels"
	"github.com/sleuth-research/sleuth/tinker"
	"github.com/sleuth-research/sleuth/train"
)

// tinkerServeFlags are serve's flags for the Tinker API (package tinker).
type tinkerServeFlags struct {
	bases     string
	maxModels int
}

func (f *tinkerServeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.bases, "tinker", "", "serve the Tinker training API at /api/v1/ over the in-process engine, creating models from these bases (comma-separated: builtin, builtin:NAME or base directories, as train's base: takes), for sleuth train's backend: {tinker: URL}")
	fl.IntVar(&f.maxModels, "tinker-max-models", 4, "with --tinker: most models held at once; create_model beyond it gets 503")
}

// baseNames lists the bases --tinker names.
func (f *tinkerServeFlags) baseNames() []string {
	var out []string
	for _, b := range strings.Split(f.bases, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// newTinkerServer builds the Tinker server; the caller closes the
// returned func when done.
func newTinkerServer(f tinkerServeFlags) (*tinker.Server, func()) {
	k := kernels.New(0)
	bases := f.baseNames()
	return tinker.NewServer(tinker.Config{
		Base: func(name string) (*model.Model, error) {
			if !slices.Contains(bases, name) {
				return nil, fmt.Errorf("not served here (serve --tinker %s)", strings.Join(bases, ","))
			}
			dir, err := os.MkdirTemp("", "sleuth-tinker-base-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			return train.OpenBase(name, dir, examples.Base)
		},
		Matmuls:   k,
		MaxModels: f.maxModels,
		Logger:    slog.Default(),
	}), k.Close
}

// withTinker mounts the Tinker server at /api/v1/ beside h (nil: alone).
func withTinker(h http.Handler, ts *tinker.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(tinker.API, ts)
	if h != nil {
		mux.Handle("/", h)
	}
	return mux
}
