package agent

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/examples"
	"github.com/sleuth-research/sleuth/guard"
)

// Preset is a seed system as configuration: how the policy is prompted and
// parsed, which tools it may call, and the budgets that bound it. Presets
// are YAML files (examples/*.yaml); the built-in ones are embedded.
type Preset struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Mode is how an episode runs (see the Mode constants).
	Mode Mode `yaml:"mode"`
	Tags Tags `yaml:"tags"`
	// Prompt is the instruction template; {question} and, in rag mode,
	// {documents} are replaced.
	Prompt string `yaml:"prompt"`
	TopK   int    `yaml:"top_k"` // passages per search (default 3)
	// DedupHits drops from an observation the passages this episode has
	// already been shown.
	DedupHits bool `yaml:"dedup_hits"`
	// OnFormatError is "observe" (tell the policy and go on, as Search-R1
	// does) or "end" (end the episode with status format_error).
	OnFormatError string `yaml:"on_format_error"`
	FormatHint    string `yaml:"format_hint"` // the observation for a malformed turn
	// Observation wraps each turn's tool results; {observation} is
	// replaced. Default: "\n\n<information>{observation}</information>\n\n".
	Observation string `yaml:"observation"`
	// Tools are the system's tools by registry name, each with its
	// options (package toolset builds them). A preset without the key
	// gets the set its mode and tags imply: search unless direct, and
	// page search with crop when it has a region action.
	Tools []ToolSpec `yaml:"tools"`
	// Reward names the reward config the system is scored and trained
	// with (a reward preset); empty: answer F1.
	Reward string `yaml:"reward,omitempty"`
	// ToolNames maps the names a policy calls to the runner's tools, e.g.
	// web_search: search. "search" always maps to itself.
	ToolNames map[string]string `yaml:"tool_names"`
	// Roles configures the other agents: "refiner" (IM-RAG: condenses each
	// search's documents before the policy reads them) in tags mode;
	// "rewriter", "selector" and "generator" (MMOA-RAG) in pipeline mode.
	Roles  map[string]RoleConfig `yaml:"roles"`
	Budget Budget                `yaml:"budget"`
	// Guard screens every retrieved passage and page for prompt injection
	// and annotates, quotes or drops what it flags ("", annotate, quote,
	// drop). Protocol tags are escaped regardless.
	Guard    guard.Mode `yaml:"guard"`
	Sampling Sampling   `yaml:"sampling"`
}

// Mode is how a preset's episodes run; the constants are the YAML
// spellings.
type Mode string

const (
	ModeTags     Mode = "tags"     // multi-turn, tag protocol
	ModeRAG      Mode = "rag"      // retrieve with the question once, then one answer turn
	ModeDirect   Mode = "direct"   // answer at once
	ModePipeline Mode = "pipeline" // MMOA-RAG's rewriter, selector and generator
)

// ToolSpec names one tool of a preset and its options. Optional tools are
// left out when what they need is not supplied (browse without a fetcher).
type ToolSpec struct {
	Name     string         `yaml:"name"`
	Optional bool           `yaml:"optional,omitempty"`
	Options  map[string]any `yaml:"options,omitempty"`
}

// HasTool reports whether p lists the tool registered as name.
func (p *Preset) HasTool(name string) bool {
	return slices.ContainsFunc(p.Tools, func(t ToolSpec) bool { return t.Name == name })
}

// impliedTools is the tool set of a preset that lists none: what the
// command line chose from its mode and tags before presets named tools.
func (p *Preset) impliedTools() []ToolSpec {
	switch {
	case p.Mode == ModeDirect:
		return []ToolSpec{}
	case p.Tags.Region != "":
		return []ToolSpec{{Name: ToolSearch, Options: map[string]any{"pages": true}}, {Name: ToolCrop}}
	}
	return []ToolSpec{{Name: ToolSearch}}
}

// Budget bounds an episode. Zero fields take the defaults noted.
type Budget struct {
	MaxTurns      int           `yaml:"max_turns"`       // policy generations (default 6)
	TurnTokens    int           `yaml:"turn_tokens"`     // tokens per generation (default 256)
	MaxTokens     int           `yaml:"max_tokens"`      // generated tokens over the episode (default 2048)
	MaxToolCalls  int           `yaml:"max_tool_calls"`  // default 8
	MaxWall       time.Duration `yaml:"max_wall"`        // default 2m
	MaxQueryBytes int           `yaml:"max_query_bytes"` // longer queries are a format error (default 512)
	// MaxFetchedBytes bounds the bytes of pages and results fetched from
	// outside over the episode (default 16 MiB).
	MaxFetchedBytes int64 `yaml:"max_fetched_bytes"`
}

// Sampling is the policy's decoding during episodes.
type Sampling struct {
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	TopK        int     `yaml:"top_k"`
}

// Presets lists the built-in preset names.
func Presets() []string {
	ents, _ := examples.Presets.ReadDir(".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(out)
	return out
}

// LoadPreset returns a built-in preset by name, or reads a YAML file when
// nameOrPath names one.
func LoadPreset(nameOrPath string) (Preset, error) {
	src, data, err := ReadPreset(nameOrPath)
	if err != nil {
		return Preset{}, err
	}
	return ParsePreset(src, data)
}

// ReadPreset returns the YAML of a built-in preset by name, or of the file
// nameOrPath names, and the name to report it by.
func ReadPreset(nameOrPath string) (src string, data []byte, err error) {
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") || strings.Contains(nameOrPath, "/") {
		data, err = os.ReadFile(nameOrPath)
		if err != nil {
			return "", nil, fmt.Errorf("preset %s: %w", nameOrPath, err)
		}
		return nameOrPath, data, nil
	}
	src = nameOrPath + ".yaml"
	data, err = examples.Presets.ReadFile(src)
	if err != nil {
		return "", nil, fmt.Errorf("unknown preset %q (built in: %s)", nameOrPath, strings.Join(Presets(), ", "))
	}
	return "examples/" + src, data, nil
}

// ParsePreset decodes a preset and fills defaults; unknown fields are
// errors, so a misspelt budget never silently falls back to a default.
func ParsePreset(name string, data []byte) (Preset, error) {
	var p Preset
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Preset{}, fmt.Errorf("preset %s: %w", name, err)
	}
	return p.withDefaults(name)
}

// MarshalPreset writes p as YAML that ParsePreset reads back to p.
// yaml.v3 writes a string that starts with blank lines as a literal block
// one blank line short (Node.Encode too, as it encodes and re-parses), and
// the observation template starts with two, so a run's preset.yaml would
// prompt a policy differently from how it was trained. The strings are
// put back from p and every one holding a line break is double-quoted.
func MarshalPreset(p Preset) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(p); err != nil {
		return nil, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	restoreStrings(&n, reflect.ValueOf(p))
	out, err := yaml.Marshal(&n)
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	return out, nil
}

// restoreStrings walks n, the encoding of v, and sets each string scalar
// to v's own string.
func restoreStrings(n *yaml.Node, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			restoreStrings(c, v)
		}
	case yaml.ScalarNode:
		if v.Kind() == reflect.String && n.ShortTag() == "!!str" {
			n.Value = v.String()
			if strings.ContainsAny(n.Value, "\n\r") {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
	case yaml.SequenceNode:
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			for i, c := range n.Content {
				if i < v.Len() {
					restoreStrings(c, v.Index(i))
				}
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			switch v.Kind() {
			case reflect.Struct:
				if f, ok := fieldByYAMLName(v, key); ok {
					restoreStrings(val, f)
				}
			case reflect.Map:
				if v.Type().Key().Kind() == reflect.String {
					if e := v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key())); e.IsValid() {
						restoreStrings(val, e)
					}
				}
			}
		}
	}
}

// fieldByYAMLName is the field of struct v that yaml.v3 writes as name.
func fieldByYAMLName(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func (p Preset) withDefaults(src string) (Preset, error) {
	if p.Name == "" {
		p.Name = strings.TrimSuffix(path.Base(src), path.Ext(src))
	}
	switch p.Mode {
	case "":
		p.Mode = ModeTags
	case ModeTags, ModeRAG, ModeDirect, ModePipeline:
	default:
		return p, fmt.Errorf("preset %s: mode %q is not tags, rag, direct or pipeline", src, p.Mode)
	}
	for name, rc := range p.Roles {
		if !strings.Contains(rc.Prompt, "{question}") {
			return p, fmt.Errorf("preset %s: role %s prompt has no {question}", src, name)
		}
		if rc.MaxTokens <= 0 {
			rc.MaxTokens = 128
			p.Roles[name] = rc
		}
	}
	if p.Tags == (Tags{}) {
		p.Tags = DefaultTags()
	}
	if p.Mode == ModeTags && (p.Tags.Search == "" || p.Tags.Answer == "" || p.Tags.Information == "") {
		return p, fmt.Errorf("preset %s: tags mode needs search, answer and information tags", src)
	}
	if p.Tags.Answer == "" {
		return p, fmt.Errorf("preset %s: an answer tag is required", src)
	}
	if p.Mode != ModePipeline && !strings.Contains(p.Prompt, "{question}") {
		return p, fmt.Errorf("preset %s: prompt has no {question}", src)
	}
	if p.Mode == ModeRAG && !strings.Contains(p.Prompt, "{documents}") {
		return p, fmt.Errorf("preset %s: rag prompt has no {documents}", src)
	}
	if p.Tools == nil {
		p.Tools = p.impliedTools()
	}
	for i, t := range p.Tools {
		if t.Name == "" {
			return p, fmt.Errorf("preset %s: tool %d has no name", src, i+1)
		}
	}
	switch p.Guard {
	case guard.Off, guard.Annotate, guard.Quote, guard.Drop:
	default:
		return p, fmt.Errorf("preset %s: guard %q is not annotate, quote or drop", src, p.Guard)
	}
	switch p.OnFormatError {
	case "":
		p.OnFormatError = "observe"
	case "observe", "end":
	default:
		return p, fmt.Errorf("preset %s: on_format_error %q is not observe or end", src, p.OnFormatError)
	}
	if p.FormatHint == "" {
		t := p.Tags
		p.FormatHint = fmt.Sprintf("\nMy previous action is invalid. To search, I should put the query between %s and %s. To answer, I should put the answer between %s and %s. Let me try again.\n",
			openTag(t.Search), closeTag(t.Search), openTag(t.Answer), closeTag(t.Answer))
	}
	if p.TopK <= 0 {
		p.TopK = 3
	}
	if p.Observation == "" {
		p.Observation = "\n\n" + openTag(p.Tags.Information) + "{observation}" + closeTag(p.Tags.Information) + "\n\n"
	}
	if !strings.Contains(p.Observation, "{observation}") {
		return p, fmt.Errorf("preset %s: observation template has no {observation}", src)
	}
	b := &p.Budget
	b.MaxTurns = defaultInt(b.MaxTurns, 6)
	b.TurnTokens = defaultInt(b.TurnTokens, 256)
	b.MaxTokens = defaultInt(b.MaxTokens, 2048)
	b.MaxToolCalls = defaultInt(b.MaxToolCalls, 8)
	b.MaxQueryBytes = defaultInt(b.MaxQueryBytes, 512)
	if b.MaxFetchedBytes <= 0 {
		b.MaxFetchedBytes = 16 << 20
	}
	if b.MaxWall <= 0 {
		b.MaxWall = 2 * time.Minute
	}
	return p, nil
}

func defaultInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
