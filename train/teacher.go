package train

import (
	"fmt"

	"github.com/sleuth-research/sleuth/agent"
	"github.com/sleuth-research/sleuth/reward"
	"github.com/sleuth-research/sleuth/rl"
	"github.com/sleuth-research/sleuth/search/bm25"
	"github.com/sleuth-research/sleuth/world"
)

// teacherRunner plays the oracle for qs in preset p's protocol, its roles
// included, against ix (world w's index; w may be nil for a family of
// worlds) with the preset's tools. The closer stops what the tools
// started.
func (r *Run) teacherRunner(p agent.Preset, qs []world.Question, ix *bm25.Index, w *world.World) (*agent.Runner, func(), error) {
	tools, browses, closer, err := r.episodeTools(ix, w)
	if err != nil {
		return nil, nil, err
	}
	return r.teacherWith(p, qs, ix, tools, browses), closer, nil
}

// teacherWith is teacherRunner over tools episodeTools already built for
// ix (browses as it said), shared with the policy's episodes.
func (r *Run) teacherWith(p agent.Preset, qs []world.Question, ix *bm25.Index, tools map[string]agent.Tool, browses bool) *agent.Runner {
	o := rl.NewOracle(p, qs, r.tok.Encode, r.tok.Decode)
	o.Pages, o.Browse = renderedPages(ix), browses
	return &agent.Runner{Preset: p, Policy: o, Clients: o.Clients(), Tools: tools}
}

// goodDemo reports whether a teacher's episode may be imitated: it ended
// with an answer, broke the protocol nowhere (no format error in any
// role) and answered one of answers exactly, with reward's normalisation.
func goodDemo(ep *agent.Episode, answers []string) bool {
	if ep.Status != agent.Answered || ep.FormatErrors > 0 {
		return false
	}
	for _, a := range answers {
		if reward.ExactMatch(ep.Answer, a) {
			return true
		}
	}
	return false
}

// maxBadDemos is the share of a run's teacher episodes SFT may drop before
// it stops: more means the teacher is broken for the preset, and training
// on what is left would teach a protocol nobody checked.
const maxBadDemos = 0.05

// demos is what SFT has seen of the teacher since the run started (or
// resumed): episodes played and dropped.
type demos struct{ seen, dropped int }

// keep returns the episodes of eps that goodDemo accepts (qs[i] is eps[i]'s
// question), counts the rest as dropped, and fails once more than
// maxBadDemos of every episode seen so far was dropped.
func (d *demos) keep(eps []*agent.Episode, answers func(id string) []string) ([]*agent.Episode, int, error) {
	kept := eps[:0:0]
	var bad *agent.Episode
	for _, ep := range eps {
		if goodDemo(ep, answers(ep.ID)) {
			kept = append(kept, ep)
		} else if bad == nil {
			bad = ep
		}
	}
	dropped := len(eps) - len(kept)
	d.seen += len(eps)
	d.dropped += dropped
	if float64(d.dropped) > maxBadDemos*float64(d.seen) {
		return nil, dropped, fmt.Errorf("the teacher's demonstrations are broken: %d of %d were malformed or wrong (at most %.0f%% may be), e.g. %s: status %s (%s), %d format errors, answer %q, want %q",
			d.dropped, d.seen, 100*maxBadDemos, bad.ID, bad.Status, bad.Reason, bad.FormatErrors, bad.Answer, answers(bad.ID))
	}
	return kept, dropped, nil
}

// roleViews are the token streams SFT imitates in eps: each episode's main
// role, and each generation of another role (IM-RAG's refiner, MMOA's
// agents) as its own episode of one prompt and one reply under
// agent.MainRole, since a role reads only its own prompt when it
// generates. Episodes with no other role are returned as they are.
func roleViews(eps []*agent.Episode) []*agent.Episode {
	var views []*agent.Episode
	for _, ep := range eps {
		for i, s := range ep.Context {
			if s.Role == agent.MainRole || s.Source != agent.Policy || i == 0 || ep.Context[i-1].Role != s.Role || ep.Context[i-1].Source != agent.Env {
				continue
			}
			prompt, reply := ep.Context[i-1], s
			prompt.Role, reply.Role = agent.MainRole, agent.MainRole
			views = append(views, &agent.Episode{ID: fmt.Sprintf("%s/%s/%d", ep.ID, s.Role, s.Turn), Context: []agent.Segment{prompt, reply}})
		}
	}
	if views == nil {
		return eps
	}
	return append(eps[:len(eps):len(eps)], views...)
}
