package train

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/sleuth-research/sleuth/model"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/tinker"
)

// Backend is the train config's backend: the zero value is local, the
// in-process engine; Tinker is the base URL of a Tinker-API server
// (http://HOST:PORT) that holds the weights and optimiser while the run
// keeps rollouts, rewards, advantages, health warnings and reports.
//
// With a remote backend the policy's weights are copied back after every
// optimiser step into the local model that samples rollouts (package
// tinker), the KL reference stays local (the SFT policy saved in the run
// directory), and:
//   - the run starts from a base the server knows by name (base: builtin);
//   - PPO is refused: its value head reads hidden states the API does not
//     return;
//   - there are no resumable checkpoints: the optimiser lives on the
//     server, so --resume is refused; the best-SFT baseline resumes SFT
//     through the server's save_weights and load_weights.
type Backend struct {
	Tinker string `yaml:"tinker,omitempty"`
}

// IsZero keeps a local backend out of config.yaml, so configs written
// before backends existed hash as they did.
func (b Backend) IsZero() bool { return b.Tinker == "" }

// UnmarshalYAML reads "local" or {tinker: URL}.
func (b *Backend) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value != "local" {
			return fmt.Errorf("line %d: backend %q: want local or {tinker: URL}", n.Line, n.Value)
		}
		*b = Backend{}
		return nil
	case yaml.MappingNode:
		*b = Backend{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "tinker" || v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: backend: unknown key %q (want tinker: URL)", k.Line, k.Value)
			}
			b.Tinker = v.Value
		}
		return nil
	}
	return fmt.Errorf("line %d: backend: want local or {tinker: URL}", n.Line)
}

func (b Backend) validate(c Config) error {
	if b.Tinker == "" {
		return nil
	}
	u, err := url.Parse(b.Tinker)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("backend tinker %q: want http://HOST:PORT", b.Tinker)
	case c.Base == "":
		return fmt.Errorf("backend tinker: the server creates the model from a base it knows by name; set base (builtin)")
	case c.RL.Steps > 0 && c.RL.Estimator == rl.PPO:
		return fmt.Errorf("backend tinker: PPO's value head reads the policy's hidden states, which the Tinker API does not return; use grpo, rloo, … or backend local")
	}
	return nil
}

// TinkerKeyEnv names the environment variable whose value, when set, a
// run sends to its Tinker backend as the API key.
const TinkerKeyEnv = "TINKER_API_KEY"

// learner makes the engine for m with tc: a fresh in-process trainer, or
// a model created on the Tinker server from the run's base, whose weights
// are then copied into m.
func (r *Run) learner(ctx context.Context, m *model.Model, tc model.TrainConfig) (rl.Learner, error) {
	if r.Cfg.Backend.Tinker == "" {
		return model.NewTrainer(m, tc, uint64(r.Cfg.Seed))
	}
	c, err := tinker.Dial(ctx, r.Cfg.Backend.Tinker, os.Getenv(TinkerKeyEnv), r.Cfg.Base, m, tc)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.Log, "backend: tinker %s, model %s\n", r.Cfg.Backend.Tinker, c.ModelID())
	return c, nil
}

// OpenBase loads the base checkpoint ref (builtin or builtin:NAME, the
// embedded examples/base or examples/NAME in builtin; otherwise a
// directory), checked against its manifest, through a copy in dir: what
// sleuth serve --tinker and redteam create models from.
func OpenBase(ref, dir string, builtin fs.FS) (*model.Model, error) {
	b, err := openBase(ref, dir, builtin)
	if err != nil {
		return nil, err
	}
	return b.model, nil
}
