// Package toolset turns a preset into a running system: it builds the
// tools a preset names, by registry name and with their options, from the
// dependencies a command opened (an index, a web search provider, a
// fetcher, page images, the policy), and checks a preset's tool and reward
// names when it is loaded. Every command that runs a preset (ask, eval,
// serve, bench, the environment server, MCP, the rollout harnesses)
// builds it here, so a system is the same whoever runs it.
package toolset

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/llm"
	"github.com/sleuth-research/sleuth/search"
	"github.com/sleuth-research/sleuth/vision"
)

// Deps are what tools are built from: the things a command opened. A nil
// field is something the command does not offer; a tool that needs it
// fails to build (ErrUnavailable), or is left out when the preset marks
// it optional.
type Deps struct {
	// Policy is the main model; the browser reads pages with it.
	Policy llm.Client
	// Retriever is the corpus the search tool reads (an index, a web
	// search provider).
	Retriever search.Retriever
	// Pages are page images with their own ranking (a directory of
	// scans); without them page search renders the retriever's passages.
	Pages PageIndex
	// Fetcher fetches the pages the browser reads.
	Fetcher agent.Fetcher
	// PageSide is the longer side of pages and crops as shown (0: the
	// agent's default); ImageOnly leaves their text out.
	PageSide  int
	ImageOnly bool
}

// PageIndex is a set of page images that ranks them itself.
type PageIndex interface {
	search.Retriever
	vision.Source
}

// ErrUnavailable marks a tool whose dependency the command did not supply.
var ErrUnavailable = errors.New("not available")

// Env is what a builder builds from: the dependencies and the preset the
// tool serves.
type Env struct {
	Deps
	Preset  *agent.Preset
	closers []func()
}

// Corpus returns the retriever the command supplied; ErrUnavailable when
// there is none.
func (e *Env) Corpus() (search.Retriever, error) {
	if e.Retriever == nil {
		return nil, fmt.Errorf("%w: no corpus to search", ErrUnavailable)
	}
	return e.Retriever, nil
}

// OnClose adds f to what the system's closer releases (a builder that
// opened something).
func (e *Env) OnClose(f func()) { e.closers = append(e.closers, f) }

// Options are a tool's options as its preset gives them.
type Options map[string]any

// Decode sets v (a pointer to a struct with yaml tags) from o; an option
// v has no field for is an error.
func (o Options) Decode(v any) error {
	if len(o) == 0 {
		return nil
	}
	b, err := yaml.Marshal(map[string]any(o))
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// Builder builds one tool from env with its options.
type Builder func(env *Env, opts Options) (agent.Tool, error)

// Registry maps tool names to builders. The name a tool is registered
// under is the name it must answer to (agent.Tool.Name): Build refuses a
// tool that says otherwise, because the runner finds tools by that name.
type Registry struct {
	builders map[string]Builder
}

// New returns a registry of the built-in tools: search (page search with
// option pages), crop and browse.
func New() *Registry {
	r := &Registry{builders: map[string]Builder{}}
	r.Register(agent.ToolSearch, buildSearch)
	r.Register(agent.ToolCrop, buildCrop)
	r.Register(agent.ToolBrowse, buildBrowse)
	return r
}

// Register adds a tool; registering a name twice is a programming error
// and panics, as http.ServeMux does.
func (r *Registry) Register(name string, b Builder) {
	if _, dup := r.builders[name]; dup {
		panic("toolset: tool " + name + " registered twice")
	}
	r.builders[name] = b
}

// Names lists the registered tools, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.builders))
	for n := range r.builders {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Has reports whether name is registered.
func (r *Registry) Has(name string) bool {
	_, ok := r.builders[name]
	return ok
}

// Tools builds p's tools from d. The closer releases what was opened for
// them (it is never nil when err is nil).
func (r *Registry) Tools(p *agent.Preset, d Deps) (map[string]agent.Tool, func(), error) {
	env := &Env{Deps: d, Preset: p}
	closeAll := func() {
		for i := len(env.closers) - 1; i >= 0; i-- {
			env.closers[i]()
		}
	}
	tools := make(map[string]agent.Tool, len(p.Tools))
	for _, spec := range p.Tools {
		b, ok := r.builders[spec.Name]
		if !ok {
			closeAll()
			return nil, nil, fmt.Errorf("preset %s: unknown tool %q (registered: %s)", p.Name, spec.Name, strings.Join(r.Names(), ", "))
		}
		if _, dup := tools[spec.Name]; dup {
			closeAll()
			return nil, nil, fmt.Errorf("preset %s: tool %q listed twice", p.Name, spec.Name)
		}
		t, err := b(env, Options(spec.Options))
		if spec.Optional && errors.Is(err, ErrUnavailable) {
			continue
		}
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("preset %s: tool %s: %w", p.Name, spec.Name, err)
		}
		if t.Name() != spec.Name {
			closeAll()
			return nil, nil, fmt.Errorf("preset %s: the tool registered as %q calls itself %q", p.Name, spec.Name, t.Name())
		}
		tools[spec.Name] = t
	}
	return tools, closeAll, nil
}

// Runner builds p into a runner over d's policy and p's tools: the one way
// every command makes a system. The closer releases the tools.
func (r *Registry) Runner(p agent.Preset, d Deps) (*agent.Runner, func(), error) {
	tools, closeTools, err := r.Tools(&p, d)
	if err != nil {
		return nil, nil, err
	}
	return &agent.Runner{Preset: p, Policy: d.Policy, Tools: tools}, closeTools, nil
}
